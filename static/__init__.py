"""hybridize.static: is each function of a project safe to run as a graph (``tf.function``)?

Public API (the planner's input and ``hybridize check --json``)::

    from hybridize.static import analyze
    analysis = analyze(root, paths=None, exclude=())
    for report in analysis.functions:      # FunctionReport
        report.to_json()                   # the `hybridize check --json` object

Purely static (the standard ``ast`` module): never imports or runs the project.
"""

from hybridize.static.codes import CODES, Code
from hybridize.static.engine import analyze
from hybridize.static.model import Analysis, Finding, FunctionReport, Param, ParseError

__all__ = ["CODES", "Analysis", "Code", "Finding", "FunctionReport", "Param", "ParseError", "analyze"]
