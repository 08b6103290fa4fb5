"""The trial runs of one loop extraction (issue #17): which runs, in which order, within which budget.

The program runs through :mod:`hybridize.planner.extract_run` (the extracted source compiled in memory under the
original file name; ``-`` for the unchanged program through the same runner, so both sides pay the same start-up),
every run seeded alike. First one round: eager, then each setting; the fastest setting that exits as eager did is
then confirmed by eager/extracted pairs in alternating order until :func:`extract_decide.want_another` says enough
(at least ``MIN_PAIRS``; up to ``MAX_PAIRS`` while the gain is under ``FIRM_GAIN``). Under the default budget the
pairs run even past it (the extraction is a script's whole plan, as XLA's trial is the setting a hand placement
misses) and only the optional settings must fit; under a user's ``--budget`` nothing runs past it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridize.planner.extract_decide import MIN_PAIRS, Pair, Run, Trial, needs_seed_probe, pick_setting, want_another
from hybridize.planner.extract_run import SEED_ENV, STEP_ENV, TRACES_ENV
from hybridize.planner.extract_settings import SIGNATURE, Variants, add_signature_variant, read_traces
from hybridize.process import run_captured

RUNNER = "hybridize.planner.extract_run"
SEED = 0  # every run's seed (Python, NumPy, TensorFlow), unless the program seeds itself
PROBE_SEED = 1  # the eager run that tells whether the final numbers depend on the seed


def launch(python: str, argv: list[str], main: Path, source: bytes | None, root: Path, folder: Path, label: str,
           typical_s: float, extra_env: dict[str, str] | None = None) -> Run:
    """One whole run of the program (``source`` None: unchanged), timed, its output kept in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    src_arg = "-"
    if source is not None:
        (folder / "main.py").write_bytes(source)
        src_arg = str(folder / "main.py")
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONHASHSEED", "0")  # set/iteration order alike on both sides (the user's own value kept)
    env[SEED_ENV] = str(SEED)
    env.update(extra_env or {})
    cmd = [python, "-m", RUNNER, src_arg, str(main), "--", *argv]
    timeout = max(60.0, 3 * typical_s) if typical_s else None
    started = time.perf_counter()
    done = run_captured(cmd, cwd=root, env=env, timeout_s=timeout, merge=True)  # a script's own children too
    code, text = done.status, done.stdout
    seconds = time.perf_counter() - started
    (folder / "output.log").write_text(text, encoding="utf-8")
    return Run(label, seconds, code, text)


def budget_plan(variants: Variants, one_run: float, budget_s: float | None,
                strict: bool) -> tuple[Variants, str, str]:
    """(The settings that fit, a note, a refusal): one round of every setting plus one more pair must fit, else
    plain only; under a user's ``--budget`` (``strict``), not even ``MIN_PAIRS`` pairs fitting is a refusal."""
    runs = len(variants) + 1 + 2  # eager and each setting, then one more pair
    if budget_s is None or not one_run or one_run * runs <= budget_s:
        return variants, "", ""
    fits_pairs = one_run * 2 * MIN_PAIRS <= budget_s
    if strict and not fits_pairs:
        return {}, "", (f"{MIN_PAIRS} eager/extracted pairs of ~{one_run:.0f} s runs do not fit the budget of "
                        f"{budget_s:.0f} s")
    note = (f"only plain measured: {runs} runs of ~{one_run:.0f} s do not fit the budget of {budget_s:.0f} s"
            + ("" if fits_pairs else " (the eager/plain pairs run past the default budget, as XLA's trial)"))
    return {"plain": variants["plain"]}, note, ""


@dataclass
class Launcher:
    """How this plan runs the program: a loop's runs go to ``work/extract{n}-{label}-{i}``."""

    python: str
    argv: list[str]
    main: Path
    root: Path
    work: Path
    n: int
    typical_s: float = 0.0
    spent_s: float = 0.0

    def run(self, label: str, source: bytes | None, i: int | str, extra_env: dict[str, str] | None = None) -> Run:
        folder = self.work / f"extract{self.n}-{label}-{i}"
        run = launch(self.python, self.argv, self.main, source, self.root, folder, label, self.typical_s, extra_env)
        self.spent_s += run.seconds
        if label == "eager" and not self.typical_s:
            self.typical_s = run.seconds
        return run


def measure_loop(launcher: Launcher, source: bytes, cand: Any, variants: Variants, *, budget_s: float | None,
                 strict: bool, say: Callable[[str], None] = lambda _: None) -> Trial:
    """All runs for one loop: the settings round, then the confirming pairs (``variants`` gains
    ``input_signature`` when the plain step traced more than one shape)."""
    variants_fit, budget_note, refused = budget_plan(variants, launcher.typical_s, budget_s, strict)
    trial = Trial(refused=refused)
    if refused:
        return trial
    for label in [k for k in variants if k not in variants_fit]:
        del variants[label]
    region = cand.region
    say(f"hybridize: measuring the extraction of {launcher.main.name} lines {region.start}-{region.end} "
        f"({len(variants)} settings, then eager/extracted pairs)")
    traces = launcher.work / f"extract{launcher.n}-plain-traces.json"
    for label in ["eager", *variants]:
        env = {STEP_ENV: variants[label][2].name, TRACES_ENV: str(traces)} if label == "plain" else None
        trial.runs.setdefault(label, []).append(
            launcher.run(label, None if label == "eager" else variants[label][1], 0, env))
    if budget_note:
        trial.notes.append(budget_note)
    else:
        sig_note = add_signature_variant(source, cand, read_traces(traces), variants)
        if sig_note:
            trial.notes.append(sig_note)
        if SIGNATURE in variants:
            trial.runs[SIGNATURE] = [launcher.run(SIGNATURE, variants[SIGNATURE][1], 0)]
    if trial.runs["eager"][0].exit_code != 0:
        return trial  # nothing to confirm: the decision rejects a program that fails unchanged
    trial.setting, trial.problems, notes = pick_setting(trial.runs, variants)
    trial.notes.extend(notes)
    if trial.setting is None:
        return trial
    _confirm(launcher, trial, variants[trial.setting][1], budget_s if strict else None, say)
    if needs_seed_probe(trial) and _fits(launcher, 1, budget_s if strict else None):
        trial.probe = launcher.run("eager", None, f"seed{PROBE_SEED}", {SEED_ENV: str(PROBE_SEED)})
    return trial


def _fits(launcher: Launcher, runs: int, budget_s: float | None) -> bool:
    return budget_s is None or launcher.spent_s + runs * launcher.typical_s <= budget_s


def _confirm(launcher: Launcher, trial: Trial, source: bytes, budget_s: float | None,
             say: Callable[[str], None]) -> None:
    """Eager/extracted pairs of the chosen setting, the settings round's own pair first, alternating order."""
    label = trial.setting
    assert label is not None
    trial.pairs = [Pair(trial.runs["eager"][0], trial.runs[label][0])]
    while want_another(trial.pairs):
        if not _fits(launcher, 2, budget_s):
            trial.stopped = (f"another pair of ~{launcher.typical_s:.0f} s runs does not fit the budget of "
                             f"{budget_s:.0f} s")
            return
        i = len(trial.pairs)
        order = [label, "eager"] if i % 2 else ["eager", label]
        done = {lab: launcher.run(lab, None if lab == "eager" else source, i) for lab in order}
        for lab in order:
            trial.runs[lab].append(done[lab])
        trial.pairs.append(Pair(done["eager"], done[label]))
        if done[label].exit_code != trial.runs["eager"][0].exit_code or done["eager"].exit_code != 0:
            return  # the decision rejects a setting whose run failed: a failed run's time is no evidence
        say(f"hybridize: pair {i + 1}: eager {done['eager'].seconds:.1f} s, {label} {done[label].seconds:.1f} s")
