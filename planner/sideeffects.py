"""Output side effects a conversion would silently change: refused, not converted as is.

Under ``tf.function`` a ``print`` or a ``logging`` call runs once per trace, not once per call (and prints a symbolic
tensor). No test has to observe that for it to be a behaviour change a maintainer would reject, so static analysis'
warnings ``HY101`` (print) and ``HY102`` (logging) refuse the conversion with the finding and the fix (``tf.print``,
or log outside the function). Not rewritten: ``apply`` would have to rewrite the body and the trial measure that
rewrite, which the in-memory trial hook cannot do. ``warnings.warn`` is let through: Python's default filter shows
a warning once per code location anyway, so the traced function shows what the eager one did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hybridize.static.model import Finding, FunctionReport

OUTPUT_CODES = ("HY101", "HY102")


def output_side_effect(report: FunctionReport | None) -> Finding | None:
    """The first print / logging finding (own or through a project callee) that a graph would run once per trace."""
    for f in report.findings if report is not None else []:
        if f.code in OUTPUT_CODES and "warnings.warn(" not in f.message:
            return f
    return None


def refusal_detail(f: Finding) -> str:
    via = " via " + " -> ".join(f.via) if f.via else ""
    what = "print" if f.code == "HY101" else "log call"
    return (f"{f.code} at line {f.line}{via}: {f.message}; refused: as a graph the {what} would "
            "run once per trace instead of once per call (use tf.print, or move it out of the function, then "
            "profile again)")
