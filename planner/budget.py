"""How long one trial run may take, and what to say when a run fails or is cut.

A conversion can make a run far slower than the baseline (a function traced for each of 5,000 shapes),
so every run has a timeout: five baseline runs (at least 120 s), and under a user's ``--budget`` never more
than the budget has left -- with a floor of two baseline runs plus 10 s, since a run cut shorter than that
measures nothing. The baseline run, without which nothing is measured, is limited by the traced run it
repeats (five times its duration, at least 120 s). The words of a rejection come from here too, so a
timeout says how long, why that long, and never ends in a bare line of progress dots.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_TIMEOUT_S = 120.0
TIMEOUT_FACTOR = 5.0
FLOOR_FACTOR = 2.0
FLOOR_SLACK_S = 10.0


@dataclass(frozen=True)
class RunLimit:
    """A run's timeout (``None``: none) and, in words, where it comes from."""

    timeout_s: float | None
    why: str


def run_limit(*, baseline_s: float | None, traced_s: float | None, remaining_s: float | None,
              explicit_s: float | None = None) -> RunLimit:
    """The limit of the next run. ``baseline_s`` is ``None`` for the baseline run itself; ``remaining_s`` is
    what a user's ``--budget`` has left (``None`` without one: the default budget only skips optional runs)."""
    if explicit_s is not None:
        return RunLimit(explicit_s, f"the timeout of {explicit_s:.0f} s")
    if baseline_s is None:
        if not traced_s:
            return RunLimit(None, "no limit")
        limit = max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * traced_s)
        return RunLimit(limit, f"{TIMEOUT_FACTOR:.0f}x the traced run's {traced_s:.1f} s, at least {MIN_TIMEOUT_S:.0f} s")
    natural = max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * baseline_s)
    why = f"{TIMEOUT_FACTOR:.0f}x the baseline's {baseline_s:.1f} s, at least {MIN_TIMEOUT_S:.0f} s"
    if remaining_s is None:
        return RunLimit(natural, why)
    floor = FLOOR_FACTOR * baseline_s + FLOOR_SLACK_S
    capped = max(remaining_s, floor)
    if capped >= natural:
        return RunLimit(natural, why)
    if remaining_s >= floor:
        return RunLimit(capped, f"what the --budget had left, {remaining_s:.0f} s")
    return RunLimit(capped, f"the shortest useful run, {FLOOR_FACTOR:.0f}x the baseline's {baseline_s:.1f} s + "
                            f"{FLOOR_SLACK_S:.0f} s (the --budget had {max(remaining_s, 0.0):.0f} s left)")


_WORDS = re.compile(r"[A-Za-z]{2,}")


def telling_line(tail: str) -> str:
    """The last line of a run's output that says something (not progress dots or percentages), shortened."""
    for line in reversed(tail.strip().splitlines()):
        text = line.strip()
        if len(_WORDS.findall(text)) >= 2:
            return text if len(text) <= 200 else text[:197] + "..."
    return ""


def describe_failure(*, timed_out: bool, exit_code: int, baseline_exit: int, limit: RunLimit | None,
                     own_error: str = "", tail: str = "") -> str:
    """Why a run with a conversion does not count, in words: a rejection's detail."""
    if timed_out:
        if limit is not None and limit.timeout_s is not None:
            text = f"the run with this conversion was stopped after {limit.timeout_s:.0f} s ({limit.why})"
        else:
            text = "the run with this conversion was stopped (timed out)"
    else:
        text = f"the run with this conversion exited {exit_code} where the baseline exited {baseline_exit}"
    said = own_error or telling_line(tail)
    return f"{text}: {said}" if said else text
