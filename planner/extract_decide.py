"""Whether a measured loop extraction is recommended (issue #17): the decision over the runs that
:mod:`hybridize.planner.extract_measure` made.

Whole runs on a loaded machine vary by up to 2x between neighbours, so one eager/extracted pair proves nothing: a
recommendation needs ``MIN_PAIRS`` interleaved pairs that agree (each extracted run faster than its eager neighbour
by ``MIN_SPEEDUP``). Pairs that disagree are rejected ``inconclusive`` with their ratios; pairs that all say slower
are ``measured-slower``. Every run is seeded alike (the runner seeds Python, NumPy and TensorFlow where the program
does not), so the final printed numbers are compared; the plan says when they could not be: two seeded eager runs
disagree (randomness no seed reaches), or the numbers depend on the seed (an eager run with another seed differs)
and the step's graph draws its random numbers in another order than eager code does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hybridize.plan import Recommendation, Rejection, render_decorator
from hybridize.planner.extract_settings import Variants
from hybridize.planner.outputs import compare, final_numbers

MIN_SPEEDUP = 1.03  # a pair whose extracted run is not this much faster does not count as faster
SETTING_MARGIN = 1.03  # a setting other than plain must beat plain by this factor to be kept
MIN_PAIRS = 2  # agreeing eager/extracted pairs a recommendation needs
MAX_PAIRS = 4  # pairs run at most (a gain under FIRM_GAIN asks for more than MIN_PAIRS)
FIRM_GAIN = 1.5  # at or above this measured gain, MIN_PAIRS agreeing pairs are enough


@dataclass
class Run:
    label: str
    seconds: float
    exit_code: int
    output: str


@dataclass
class Pair:
    """An eager run and an extracted run made one right after the other (their order alternates between pairs)."""

    eager: Run
    extracted: Run

    @property
    def ratio(self) -> float:
        return self.eager.seconds / self.extracted.seconds if self.extracted.seconds > 0 else float("inf")

    @property
    def faster(self) -> bool:
        return self.ratio >= MIN_SPEEDUP


@dataclass
class Trial:
    """Everything measured for one loop: the runs per label ("eager" and each setting), the setting the pairs
    confirm, the pairs, an eager run with another seed (only when the step's numbers differed), notes."""

    runs: dict[str, list[Run]] = field(default_factory=lambda: {"eager": []})
    setting: str | None = None
    pairs: list[Pair] = field(default_factory=list)
    probe: Run | None = None
    problems: list[str] = field(default_factory=list)  # settings that failed or were excluded
    notes: list[str] = field(default_factory=list)
    stopped: str = ""  # why fewer than MIN_PAIRS pairs ran
    refused: str = ""  # why nothing ran (the user's budget)


def verdict(pairs: list[Pair]) -> str:
    """``faster`` (every pair), ``slower`` (no pair), ``mixed``, or ``none`` (no pairs)."""
    if not pairs:
        return "none"
    fast = sum(p.faster for p in pairs)
    return "faster" if fast == len(pairs) else "slower" if fast == 0 else "mixed"


def gain(pairs: list[Pair]) -> float:
    """Best eager over best extracted run of the pairs (the speedup a recommendation reports)."""
    best = min(p.extracted.seconds for p in pairs)
    return min(p.eager.seconds for p in pairs) / best if best > 0 else float("inf")


def want_another(pairs: list[Pair]) -> bool:
    """Run one more pair? Until ``MIN_PAIRS``, and while every pair says faster but by less than ``FIRM_GAIN``;
    never after a disagreement (no later pair can settle it) or ``MAX_PAIRS``."""
    if len(pairs) >= MAX_PAIRS or verdict(pairs) == "mixed":
        return False
    if len(pairs) < MIN_PAIRS:
        return True
    return verdict(pairs) == "faster" and gain(pairs) < FIRM_GAIN


def pick_setting(runs: dict[str, list[Run]], variants: Variants) -> tuple[str | None, list[str], list[str]]:
    """The fastest setting that exited as eager did (plain unless another beats it by ``SETTING_MARGIN``), the
    settings that failed, and notes."""
    base_code = runs["eager"][0].exit_code
    problems: list[str] = []
    notes: list[str] = []
    best: tuple[float, str] | None = None
    for label in variants:
        rs = runs.get(label, [])
        if not rs:
            continue
        bad = next((r for r in rs if r.exit_code != base_code), None)
        if bad is not None:
            said = _last_line(bad.output)
            problems.append(f"{label}: exited {bad.exit_code} (eager {base_code})" + (f": {said}" if said else ""))
            continue
        seconds = min(r.seconds for r in rs)
        if best is None or seconds < best[0]:
            best = (seconds, label)
    best = prefer_plain(best, runs, problems, notes)
    return (None if best is None else best[1]), problems, notes


def prefer_plain(best: tuple[float, str] | None, runs: dict[str, list[Run]], problems: list[str],
                 notes: list[str]) -> tuple[float, str] | None:
    """Plain instead of a faster setting that does not beat it by ``SETTING_MARGIN`` (when plain ran cleanly)."""
    if best is None or best[1] == "plain" or any(p.startswith("plain:") for p in problems) or not runs.get("plain"):
        return best
    plain_s = min(r.seconds for r in runs["plain"])
    if best[0] * SETTING_MARGIN <= plain_s:
        return best
    notes.append(f"{best[1]} {best[0]:.2f} s vs plain {plain_s:.2f} s: under the {SETTING_MARGIN:.2f}x margin, plain kept")
    return plain_s, "plain"


def _numbers(run: Run) -> list[float]:
    return final_numbers(run.output)


def _eager_disagree(trial: Trial) -> str | None:
    eager = trial.runs["eager"]
    base = _numbers(eager[0])
    return next((d for d in (compare(base, _numbers(r)) for r in eager[1:]) if d), None)


def _step_differs(trial: Trial) -> str | None:
    base = _numbers(trial.runs["eager"][0])
    runs = trial.runs.get(trial.setting or "", [])
    return next((d for d in (compare(base, _numbers(r)) for r in runs) if d), None)


def needs_seed_probe(trial: Trial) -> bool:
    """An eager run with another seed tells a step's random numbers drawn in graph order (the numbers depend on the
    seed) from a step that computes something else: worth a run only when the step's numbers differ from eager
    runs that agree with each other."""
    return (trial.setting is not None and trial.probe is None and len(trial.runs["eager"]) > 1
            and _eager_disagree(trial) is None and _step_differs(trial) is not None)


def numbers_verdict(trial: Trial) -> tuple[str, str | None, bool]:
    """(What the plan says about the final printed numbers, the mismatch that rejects the step or None, compared)."""
    eager = trial.runs["eager"]
    if not _numbers(eager[0]):
        return "no final numbers printed: not compared", None, False
    varies = _eager_disagree(trial)
    if varies is not None:
        return (f"final printed numbers differ between two eager runs seeded alike ({varies}: randomness the seed "
                "does not reach): not compared"), None, False
    differs = _step_differs(trial)
    if differs is None:
        n = len(trial.runs.get(trial.setting or "", []))
        return f"final printed numbers match ({len(eager)} eager, {n} extracted runs, seeded alike)", None, True
    if trial.probe is not None and trial.probe.exit_code == 0:
        by_seed = compare(_numbers(eager[0]), _numbers(trial.probe))
        if by_seed is not None:
            return (f"final printed numbers depend on the random seed (eager with another seed: {by_seed}) and the "
                    f"step draws its random numbers in graph order ({differs}): not compared"), None, False
    return "", differs, True


def _last_line(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ""


def _ratios(pairs: list[Pair]) -> str:
    return ", ".join(f"x{p.ratio:.2f} ({p.eager.seconds:.1f} s / {p.extracted.seconds:.1f} s)" for p in pairs)


def decide(trial: Trial, variants: Variants, cand: Any, function: str,
           rel: str) -> tuple[Recommendation | None, Rejection | None]:
    """One recommendation of action ``extract``, or one rejection with the reason and the runs as evidence."""
    region = cand.region
    where = f"loop at line {cand.line}, lines {region.start}-{region.end}"
    if trial.refused:
        return None, Rejection(function, rel, cand.line, "over-budget", f"loop at line {cand.line}: {trial.refused}")
    eager = trial.runs["eager"]
    evidence: dict[str, Any] = {
        "runs_s": {label: [round(r.seconds, 3) for r in rs] for label, rs in trial.runs.items()},
        "timed": "whole run, eager and extracted runs interleaved, seeded alike"}
    if trial.probe is not None:
        evidence["runs_s"]["eager-other-seed"] = [round(trial.probe.seconds, 3)]
    bad = next((r for r in eager if r.exit_code != 0), None)
    if bad is not None:  # a failing program's timings (and its traceback's lines) say nothing about a step
        said = _last_line(bad.output)
        return None, Rejection(function, rel, cand.line, "baseline-failed",
                               f"{where}: the unchanged program exits {bad.exit_code}"
                               + (f" in {sum(r.exit_code != 0 for r in eager)} of {len(eager)} runs" if bad is not eager[0]
                                  else "") + (f": {said}" if said else ""), evidence)
    if trial.setting is None:
        return None, Rejection(function, rel, cand.line, "trial-failed", f"{where}: {'; '.join(trial.problems)}",
                               evidence)
    label = trial.setting
    evidence["setting"] = label
    failed = pick_setting(trial.runs, {label: variants[label]})[1]  # a later pair's run counts as much as the first
    if failed:
        return None, Rejection(function, rel, cand.line, "trial-failed", f"{where}: {'; '.join(failed)}", evidence)
    numbers, mismatch, compared = numbers_verdict(trial)
    if mismatch is not None:
        return None, Rejection(function, rel, cand.line, "output-mismatch",
                               f"{where}: {label}: final printed numbers differ ({mismatch})", evidence)
    evidence["numbers"] = numbers
    evidence["pairs_s"] = [[round(p.eager.seconds, 3), round(p.extracted.seconds, 3)] for p in trial.pairs]
    notes = [*trial.notes, *trial.problems] + ([] if compared else [numbers])
    if notes:
        evidence["notes"] = notes
    pairs = trial.pairs
    if len(pairs) < MIN_PAIRS:
        return None, Rejection(function, rel, cand.line, "over-budget",
                               f"{where}: {len(pairs)} pair(s) measured ({_ratios(pairs) or 'none'}), {MIN_PAIRS} "
                               f"agreeing pairs needed: {trial.stopped or 'not run'}", evidence)
    said = verdict(pairs)
    if said == "mixed":
        return None, Rejection(function, rel, cand.line, "inconclusive",
                               f"{where}: inconclusive: the {len(pairs)} interleaved eager/extracted pairs ({label}) "
                               f"disagree: {_ratios(pairs)}", evidence)
    base_s = min(r.seconds for r in eager)
    seconds = min(r.seconds for r in trial.runs[label])
    speedup = base_s / seconds if seconds > 0 else float("inf")
    if said == "slower" or speedup < MIN_SPEEDUP:
        return None, Rejection(function, rel, cand.line, "measured-slower",
                               f"{where}: x{speedup:.2f} with {label} ({base_s:.2f} s eager, {seconds:.2f} s "
                               f"extracted; pairs {_ratios(pairs)}): not worth a new function", evidence)
    settings, _, ex = variants[label]
    rec = Recommendation(
        rank=0, id=0, function=function, file=rel, line=cand.line, action="extract",
        decorator=render_decorator(settings), settings=settings, speedup=round(speedup, 3),
        saved_s=round(base_s - seconds, 3), calls=0, confidence="high" if compared else "medium",
        evidence={**evidence, "signature": ex.signature, "baseline_s": round(base_s, 3)},
        extract={"loop_line": cand.line, "start": region.start, "end": region.end,
                 "stmt_lines": list(region.stmt_lines), "name": ex.name,
                 "params": list(getattr(ex, "params", None) or region.params),
                 "returns": list(region.returns)})
    return rec, None
