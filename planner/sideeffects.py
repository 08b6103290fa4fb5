"""Output side effects a conversion would silently change: refused, not converted as is.

Under ``tf.function`` a ``print`` or a ``logging`` call runs once per trace, not once per call (and prints a symbolic
tensor). No test has to observe that for it to be a behaviour change a maintainer would reject, so static analysis'
warnings ``HY101`` (print) and ``HY102`` (logging) refuse the conversion with the finding and the fix (``tf.print``,
or log outside the function). Not rewritten: ``apply`` would have to rewrite the body and the trial measure that
rewrite, which the in-memory trial hook cannot do. ``warnings.warn`` is let through: Python's default filter shows
a warning once per code location anyway, so the traced function shows what the eager one did.
"""

from __future__ import annotations

from typing import Any

OUTPUT_CODES = ("HY101", "HY102")


def output_side_effect(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The first print / logging finding (own or through a project callee) that a graph would run once per trace."""
    for f in (report or {}).get("findings", []) or []:
        if f.get("code") in OUTPUT_CODES and "warnings.warn(" not in str(f.get("message", "")):
            return f
    return None


def refusal_detail(f: dict[str, Any]) -> str:
    via = " via " + " -> ".join(f.get("via", [])) if f.get("via") else ""
    what = "print" if f.get("code") == "HY101" else "log call"
    return (f"{f.get('code')} at line {f.get('line')}{via}: {f.get('message')}; refused: as a graph the {what} would "
            "run once per trace instead of once per call (use tf.print, or move it out of the function, then "
            "profile again)")
