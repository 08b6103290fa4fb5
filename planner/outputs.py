"""The numbers a script prints at its end, compared between the eager baseline and the converted runs.

A training script has no tests: what it runs to completion and prints (a final loss, an accuracy) is its own
check. A graph computes the same values in another order, so the numbers are compared within a tolerance
(:data:`RTOL` relative or :data:`ATOL` absolute), and the verdict is reported, never used to reject: printed
timings and unseeded randomness differ between any two runs, and the eager-replay comparison of each converted
function's outputs is the per-function check.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

RTOL = 0.01
ATOL = 1e-3
TAIL_LINES = 3  # the last lines of the output that hold numbers
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} |WARNING:|INFO:|\d{4}-\d\d-\d\d[ T]\d\d:\d\d|hybridize:|\s*warnings\.warn)")


def final_numbers(text: str) -> list[float]:
    """The numbers of the last :data:`TAIL_LINES` output lines that hold any (TensorFlow/absl log lines and
    progress bars' carriage-return frames left out)."""
    lines = [ln.rsplit("\r", 1)[-1] for ln in text.splitlines()]
    picked: list[list[float]] = []
    for line in reversed(lines):
        if _LOG_LINE.match(line):
            continue
        found = [float(m) for m in _NUMBER.findall(line)]
        if found:
            picked.append(found)
            if len(picked) == TAIL_LINES:
                break
    return [x for numbers in reversed(picked) for x in numbers]


def close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= max(ATOL, RTOL * max(abs(a), abs(b)))


def compare(base: list[float], other: list[float]) -> str | None:
    """None when ``other`` matches ``base`` within the tolerance; else what differs (first three)."""
    if len(base) != len(other):
        return f"{len(base)} number(s) at baseline, {len(other)} converted"
    diffs = [f"{a:g} vs {b:g}" for a, b in zip(base, other, strict=True) if not close(a, b)]
    return None if not diffs else ", ".join(diffs[:3]) + (f" (+{len(diffs) - 3})" if len(diffs) > 3 else "")


def output_note(work: Path, base_label: str, labels: list[str]) -> str | None:
    """One line for the plan's notes: the converted runs' final printed numbers against the baseline's."""
    def numbers(label: str) -> list[float] | None:
        try:
            return final_numbers((work / label / "output.log").read_text(encoding="utf-8", errors="replace"))
        except OSError:
            return None

    base = numbers(base_label)
    if not base:
        return None
    tolerance = f"{RTOL:.0%} relative or {ATOL:g} absolute"
    differing = []
    for label in labels:
        other = numbers(label)
        if other is None:
            continue
        diff = compare(base, other)
        if diff is not None:
            differing.append(f"{label}: {diff}")
    shown = ", ".join(f"{x:g}" for x in base[:6]) + (" ..." if len(base) > 6 else "")
    if not differing:
        return f"final printed numbers ({shown}) match the baseline's in every converted run (within {tolerance})"
    return (f"final printed numbers differ from the baseline's ({shown}) beyond {tolerance}: "
            f"{'; '.join(differing[:3])} (timings or unseeded randomness differ in any two runs: check the values)")
