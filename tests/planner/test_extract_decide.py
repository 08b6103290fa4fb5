"""The decision on a measured loop extraction (issue #17) from injected timings: agreeing pairs, disagreeing pairs,
more pairs for a small gain, the budget, and the seeded comparison of the final printed numbers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hybridize.plan import Settings
from hybridize.planner import extract_decide as dec
from hybridize.planner import extract_measure as meas
from hybridize.planner.extract_decide import Pair, Run, Trial
from hybridize.planner.extract_run import SEED_ENV, AfterImport
from hybridize.static.loops import LoopCandidate, Region

STEP = SimpleNamespace(signature="train_step(x) -> loss", name="train_step")


def _cand() -> LoopCandidate:
    region = Region(start=10, end=13, stmt_lines=[10, 13], params=["x"], returns=["loss"], globals=[],
                    tensor_statements=2)
    return LoopCandidate(file="t.py", line=8, end_line=13, kind="for", scope="<module>", depth=0, region=region)


def _variants() -> dict[str, tuple[Settings, bytes, Any]]:
    return {"plain": (Settings(), b"step", STEP), "reduce_retracing": (Settings(reduce_retracing=True), b"rr", STEP)}


def _trial(pairs: list[tuple[float, float]], eager_out: str | list[str] = "loss 0.5\n", step_out: str = "loss 0.5\n",
           step_exit: int = 0) -> Trial:
    outs = eager_out if isinstance(eager_out, list) else [eager_out] * len(pairs)
    eager = [Run("eager", e, 0, out) for (e, _), out in zip(pairs, outs, strict=True)]
    plain = [Run("plain", x, step_exit, step_out) for _, x in pairs]
    return Trial(runs={"eager": eager, "plain": plain}, setting="plain",
                 pairs=[Pair(e, x) for e, x in zip(eager, plain, strict=True)])


def _decide(trial: Trial) -> tuple[Any, Any]:
    return dec.decide(trial, _variants(), _cand(), "t:<module>", "t.py")


def test_two_agreeing_pairs_recommend_with_the_pairs_as_evidence() -> None:
    rec, rej = _decide(_trial([(10.0, 5.0), (11.0, 5.5)]))
    assert rej is None and rec.action == "extract" and rec.speedup == 2.0 and rec.confidence == "high"
    assert rec.evidence["pairs_s"] == [[10.0, 5.0], [11.0, 5.5]]
    assert rec.evidence["numbers"].startswith("final printed numbers match (2 eager, 2 extracted runs, seeded alike)")


def test_one_pair_is_not_enough_evidence() -> None:
    trial = _trial([(10.0, 5.0)])
    trial.stopped = "another pair of ~10 s runs does not fit the budget of 30 s"
    rec, rej = _decide(trial)
    assert rec is None and rej.reason == "over-budget"
    assert "1 pair(s) measured (x2.00 (10.0 s / 5.0 s)), 2 agreeing pairs needed: another pair" in rej.detail


def test_disagreeing_pairs_are_rejected_inconclusive_with_their_numbers() -> None:
    rec, rej = _decide(_trial([(10.0, 5.0), (10.0, 12.5)]))
    assert rec is None and rej.reason == "inconclusive"
    assert rej.detail == ("loop at line 8, lines 10-13: inconclusive: the 2 interleaved eager/extracted pairs (plain) "
                          "disagree: x2.00 (10.0 s / 5.0 s), x0.80 (10.0 s / 12.5 s)")
    assert rej.evidence["pairs_s"] == [[10.0, 5.0], [10.0, 12.5]]
    # a pair inside the noise margin does not count as faster either
    _, rej = _decide(_trial([(10.0, 5.0), (10.0, 9.9)]))
    assert rej.reason == "inconclusive"


def test_pairs_that_all_say_slower_are_measured_slower() -> None:
    rec, rej = _decide(_trial([(10.0, 12.0), (10.0, 10.0)]))
    assert rec is None and rej.reason == "measured-slower" and "pairs x0.83" in rej.detail


@pytest.mark.parametrize(("pairs", "more"), [
    ([(10.0, 5.0)], True),  # one pair: never enough
    ([(10.0, 5.0), (10.0, 5.0)], False),  # x2.00: two agreeing pairs suffice
    ([(10.0, 8.0), (10.0, 8.0)], True),  # x1.25: under 1.5x, more pairs
    ([(10.0, 8.0)] * 3, True),
    ([(10.0, 8.0)] * 4, False),  # at most four
    ([(10.0, 8.0), (10.0, 12.0)], False),  # a disagreement: no later pair can settle it
    ([(10.0, 12.0), (10.0, 12.0)], False),  # slower: nothing to confirm
])
def test_more_pairs_only_while_a_small_gain_agrees(pairs: list[tuple[float, float]], more: bool) -> None:
    assert dec.want_another(_trial(pairs).pairs) is more


def test_numbers_differing_from_seeded_eager_runs_that_agree_are_a_mismatch() -> None:
    trial = _trial([(10.0, 5.0), (10.0, 5.0)], step_out="loss 0.9\n")
    assert dec.needs_seed_probe(trial)
    rec, rej = _decide(trial)
    assert rec is None and rej.reason == "output-mismatch" and "0.5 vs 0.9" in rej.detail
    trial.probe = Run("eager", 10.0, 0, "loss 0.5\n")  # another seed, same numbers: the seed is not why
    assert _decide(trial)[1].reason == "output-mismatch"
    trial.probe = Run("eager", 10.0, 1, "loss 0.7\nMemoryError\n")  # a failed run tells nothing about the seed
    assert _decide(trial)[1].reason == "output-mismatch"


def test_numbers_are_reported_not_compared_when_the_seed_cannot_make_them_comparable() -> None:
    trial = _trial([(10.0, 5.0), (10.0, 5.0)], step_out="loss 0.9\n")
    trial.probe = Run("eager", 10.0, 0, "loss 0.7\n")  # the numbers depend on the seed; a graph draws in its order
    rec, _ = _decide(trial)
    assert rec.confidence == "medium" and "depend on the random seed" in rec.evidence["numbers"]
    assert rec.evidence["numbers"] in rec.evidence["notes"]
    varies = _trial([(10.0, 5.0), (10.0, 5.0)], eager_out=["acc 0.90\n", "acc 0.86\n"], step_out="acc 0.93\n")
    assert not dec.needs_seed_probe(varies)
    rec, _ = _decide(varies)
    assert rec.confidence == "medium"
    assert "differ between two eager runs seeded alike (0.9 vs 0.86" in rec.evidence["numbers"]
    rec, _ = _decide(_trial([(10.0, 5.0), (10.0, 5.0)], eager_out="done\n", step_out="done\n"))
    assert rec.evidence["numbers"] == "no final numbers printed: not compared"


def test_a_program_failing_unchanged_or_a_failing_step_is_rejected() -> None:
    trial = _trial([(10.0, 5.0)], eager_out="line 94\nFileNotFoundError: images/x.png\n")
    trial.runs["eager"][0].exit_code = 1
    rec, rej = _decide(trial)
    assert rec is None and rej.reason == "baseline-failed"
    assert rej.detail.endswith("the unchanged program exits 1: FileNotFoundError: images/x.png")
    flaky = _trial([(10.0, 5.0), (3.0, 5.0)], eager_out=["loss 0.5\n", "Traceback\nOSError: disk\n"])
    flaky.runs["eager"][1].exit_code = 1
    rej = _decide(flaky)[1]
    assert rej.reason == "baseline-failed" and rej.detail.endswith("exits 1 in 1 of 2 runs: OSError: disk")
    runs = {"eager": [Run("eager", 10.0, 0, "")], "plain": [Run("plain", 5.0, 1, "Traceback\nValueError: x\n")]}
    setting, problems, _ = dec.pick_setting(runs, {"plain": _variants()["plain"]})
    assert setting is None and problems == ["plain: exited 1 (eager 0): ValueError: x"]
    rec, rej = _decide(Trial(runs=runs, problems=problems))
    assert rej.reason == "trial-failed" and rej.detail.endswith("plain: exited 1 (eager 0): ValueError: x")


def test_a_step_run_failing_in_a_later_pair_rejects_the_step() -> None:
    trial = _trial([(10.0, 5.0), (10.0, 0.5)])
    trial.runs["plain"][1].exit_code, trial.runs["plain"][1].output = 1, "MemoryError\n"  # fast because it failed
    rec, rej = _decide(trial)
    assert rec is None and rej.reason == "trial-failed" and rej.detail.endswith("plain: exited 1 (eager 0): MemoryError")


def test_a_setting_is_kept_over_plain_only_when_it_pays() -> None:
    runs = {"plain": [Run("plain", 5.0, 0, "")]}
    notes: list[str] = []
    assert dec.prefer_plain((4.0, "input_signature"), runs, [], notes) == (4.0, "input_signature")
    assert dec.prefer_plain((4.95, "input_signature"), runs, [], notes) == (5.0, "plain")
    assert "under the 1.03x margin, plain kept" in notes[0]
    assert dec.prefer_plain((4.95, "reduce_retracing"), runs, ["plain: exited 1 (eager 0)"], []) == \
        (4.95, "reduce_retracing")  # plain failed: the faster setting stands


def _fake_launch(monkeypatch: pytest.MonkeyPatch, times: dict[str, list[float]], ran: list[str],
                 failing: int = -1) -> None:
    """Runs take ``times`` per label in order; the plain run number ``failing`` exits 1."""
    queues: dict[str, Iterator[float]] = {label: iter(ts) for label, ts in times.items()}

    def launch(python: str, argv: list[str], main: Path, source: bytes | None, root: Path, folder: Path, label: str,
               typical_s: float, extra_env: dict[str, str] | None = None) -> Run:
        ran.append(label)
        code = 1 if label == "plain" and ran.count("plain") - 1 == failing else 0
        return Run(label, next(queues[label]), code, "final loss 0.5\n")

    monkeypatch.setattr(meas, "launch", launch)


def _measure(tmp_path: Path, budget_s: float | None = None, strict: bool = False) -> Trial:
    launcher = meas.Launcher(sys.executable, ["train.py"], tmp_path / "train.py", tmp_path, tmp_path, 0,
                             typical_s=10.0)
    return meas.measure_loop(launcher, b"", _cand(), _variants(), budget_s=budget_s, strict=strict)


@pytest.mark.parametrize(("eager", "plain", "pairs", "reason"), [
    ([10, 10, 10, 10], [5, 5, 5, 5], 2, None),  # x2: the settings round's pair and one more
    ([10, 10, 10, 10], [8, 8, 8, 8], 4, None),  # x1.25: more pairs, up to four
    ([10, 10, 10, 10], [8, 12, 8, 8], 2, "inconclusive"),  # the second pair disagrees: stop there
    ([10, 10, 10, 10], [8, 8, 12, 8], 3, "inconclusive"),
])
def test_the_pairs_run_until_the_evidence_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eager: list[float],
                                                plain: list[float], pairs: int, reason: str | None) -> None:
    ran: list[str] = []
    _fake_launch(monkeypatch, {"eager": eager, "plain": plain, "reduce_retracing": [20.0]}, ran)
    trial = _measure(tmp_path)
    assert ran[:3] == ["eager", "plain", "reduce_retracing"]
    assert ran[3:] == (["plain", "eager", "eager", "plain"] * 2)[:2 * (pairs - 1)]  # alternating order
    assert trial.setting == "plain" and len(trial.pairs) == pairs
    rec, rej = dec.decide(trial, _variants(), _cand(), "t:<module>", "t.py")
    assert (rej.reason if rej else None) == reason and (rec is None) == (reason is not None)


def test_a_users_budget_stops_the_pairs_and_the_default_budget_does_not(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    _fake_launch(monkeypatch, {"eager": [10.0] * 4, "plain": [8.0] * 4, "reduce_retracing": [9.0]}, ran)
    trial = _measure(tmp_path, budget_s=50.0, strict=True)  # 27 s spent, another pair of ~10 s runs fits once
    assert len(trial.pairs) == 2 and "does not fit the budget of 50 s" in trial.stopped
    assert dec.decide(trial, _variants(), _cand(), "t:<module>", "t.py")[0] is not None  # two agreeing pairs
    ran.clear()
    _fake_launch(monkeypatch, {"eager": [10.0] * 4, "plain": [8.0] * 4, "reduce_retracing": [9.0]}, ran)
    trial = _measure(tmp_path, budget_s=50.0, strict=False)
    assert len(trial.pairs) == 4 and not trial.stopped and sum(r.seconds for rs in trial.runs.values() for r in rs) > 50


def test_a_failing_run_stops_the_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    _fake_launch(monkeypatch, {"eager": [10.0] * 4, "plain": [8.0] * 4, "reduce_retracing": [9.0]}, ran, failing=1)
    trial = _measure(tmp_path)
    assert len(trial.pairs) == 2 and ran.count("plain") == 2  # x1.25 would ask for more: the failure stops them
    assert dec.decide(trial, _variants(), _cand(), "t:<module>", "t.py")[1].reason == "trial-failed"


def test_after_import_runs_its_callback_once_the_module_code_ran(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "seedme_lib.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    seen: list[int] = []
    hooks = AfterImport()
    hooks.pending["seedme_lib"] = lambda module: seen.append(module.VALUE)
    monkeypatch.setattr(sys, "meta_path", [hooks, *sys.meta_path])
    import seedme_lib  # noqa: F401 - the import under test

    assert seen == [1] and not hooks.pending
    monkeypatch.delitem(sys.modules, "seedme_lib")


def test_the_runner_seeds_both_sides_alike(tmp_path: Path) -> None:
    script = tmp_path / "draw.py"
    script.write_text("import random\nimport numpy\nprint(random.random(), numpy.random.rand())\n")

    def draw(seed: str) -> str:
        env = {"PATH": "/usr/bin:/bin", SEED_ENV: seed}
        cmd = [sys.executable, "-m", meas.RUNNER, "-", str(script), "--", str(script)]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout

    assert draw("0") == draw("0") != draw("1")


def test_the_runner_seeds_tensorflow_once_the_program_imports_it(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    script = tmp_path / "draw.py"
    script.write_text("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport tensorflow as tf\n"
                      "print(float(tf.random.uniform([])))\n")

    def draw(seed: str) -> str:
        env = {"PATH": "/usr/bin:/bin", SEED_ENV: seed}
        cmd = [sys.executable, "-m", meas.RUNNER, "-", str(script), "--", str(script)]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout

    assert draw("0") == draw("0") != draw("1")
