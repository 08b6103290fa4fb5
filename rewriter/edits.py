"""The three source edits (convert, tune, de-hybridize) as libcst tree surgery.

libcst keeps every byte we do not touch (comments, blank lines, line continuations, tabs, CRLF, the
encoding), so an edit is the replacement of one function's decorator list, one ``f = tf.function(f)``
statement, and at most one added ``import`` line. Each edit is idempotent: applied to its own output it
changes nothing, which is what makes ``hybridize apply`` safe to run twice.

One module per concern: ``sites.py`` finds the function and its existing ``tf.function`` (import aliases
included), ``decorate.py`` converts and tunes, ``dehybridize.py`` removes, ``imports.py`` picks the TensorFlow
name and adds an import, ``surgery.py`` replaces one node. This module is the rewriter's one entry point to them.
"""

from __future__ import annotations

from hybridize.rewriter.decorate import convert, tune
from hybridize.rewriter.dehybridize import dehybridize
from hybridize.rewriter.imports import add_import, alias_for
from hybridize.rewriter.sites import EditError, EditOutcome, FunctionSite, collect_aliases, find_functions, locate

__all__ = ["EditError", "EditOutcome", "FunctionSite", "add_import", "alias_for", "collect_aliases", "convert",
           "dehybridize", "find_functions", "locate", "tune"]
