"""Time in module-level code (planner/outside.py): the loop holding the samples is named, with its share, in every
report format; end to end, a profiled script with a module-level hot loop gets the note and a function-only one not."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from rich.console import Console

from hybridize.plan import Plan
from hybridize.planner.outside import find_outside, outside_notes, outside_summary
from hybridize.planner.report import print_table, render_html, render_markdown
from hybridize.profile_types import FunctionProfile
from hybridize.tracer.store import load_profile

TRAIN = '''\
import tensorflow as tf

model = None


def main():
    for epoch in range(2):
        for batch in range(10):
            loss = batch * 2
            print(loss)


for epoch in range(3):
    for batch in range(10):
        loss = batch * 2
        print(loss)
    print(epoch)
'''


def _meta(module: dict[int, int], main: dict[int, int] | None = None, total: int = 100) -> dict[str, Any]:
    scopes: dict[str, dict[str, int]] = {"<module>": {str(k): v for k, v in module.items()}}
    if main:
        scopes["main@6"] = {str(k): v for k, v in main.items()}
    return {"duration_s": 20.0, "samples": {"total": total, "files": {"train.py": scopes}}}


def test_the_innermost_loop_holding_the_share_is_named(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    found = find_outside(tmp_path, _meta({1: 20, 15: 50, 16: 20, 17: 2}))
    assert len(found) == 1
    f = found[0]
    assert (f.scope, f.line, f.end_line, f.kind, f.share, f.samples) == ("<module>", 14, 16, "for", 0.7, 70)
    assert f.seconds == 14.0
    assert "70% of the traced run" in f.note and "train.py:14-16" in f.note
    assert "`hybridize extract train.py --line 14`" in f.note


def test_a_loop_in_a_functions_own_body_is_named_too(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    found = find_outside(tmp_path, _meta({1: 10}, main={9: 60, 10: 5}))
    assert [(f.scope, f.line, f.end_line) for f in found] == [("main", 8, 10)]
    assert "the own body of main()" in found[0].note
    # a function called often: its own time is the trial runs' business (a conversion of the whole function)
    often = [FunctionProfile("train:main", "train.py", 1, calls=50)]
    assert find_outside(tmp_path, _meta({1: 10}, main={9: 60, 10: 5}), often) == []
    once = [FunctionProfile("train:main", "train.py", 1, calls=1)]
    assert len(find_outside(tmp_path, _meta({1: 10}, main={9: 60, 10: 5}), once)) == 1


def test_nothing_below_the_threshold_or_outside_loops(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    assert find_outside(tmp_path, _meta({15: 20, 16: 5})) == []  # 25 % of the run
    assert find_outside(tmp_path, _meta({1: 90})) == []  # importing TensorFlow: no loop to extract
    assert find_outside(tmp_path, _meta({15: 5}, total=5)) == []  # too few samples to say anything
    assert find_outside(tmp_path, {"duration_s": 1.0}) == []  # a profile from before the sampler
    assert outside_summary(tmp_path, {}) is None
    bad = {"samples": {"total": 100, "files": {"train.py": {"<module>": {"x": 70}}}}}  # edited by hand
    assert outside_summary(tmp_path, bad) == {"samples": 100, "module_share": 0.7, "threshold": 0.3, "loops": []}
    assert outside_summary(tmp_path, {"samples": {"total": 100, "files": {"train.py": []}}}) is not None
    (tmp_path / "train.py").write_text("def broken(:\n")
    assert find_outside(tmp_path, _meta({15: 70})) == []  # the file changed since: no loop, no error


def test_every_report_format_carries_the_note(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN)
    meta = {"outside": outside_summary(tmp_path, _meta({15: 70}))}
    plan = Plan.from_json(Plan(recommendations=[], rejected=[], meta=meta).to_json())  # survives plan.json
    note = outside_notes(plan.meta)[0]
    assert "train.py:14-16" in note
    assert "train.py:14-16" in render_markdown(plan) and "train.py:14-16" in render_html(plan)
    console = Console(record=True, width=300)
    print_table(plan, console)
    assert "train.py:14-16" in console.export_text()
    assert outside_notes({}) == [] and outside_notes({"outside": None}) == []


MODULE_LOOP = '''
import sys


def tiny(x):
    return x + 1


total = 0
for step in range(6):
    for i in range(400000):
        total += i * i % 7
    tiny(step)
sys.exit(0 if total else 1)
'''

FUNCTIONS_ONLY = '''
def busy(n):
    return sum(i * i % 7 for i in range(n))


def helper(n):
    return busy(n)


print(sum(helper(400000) for _ in range(6)))
'''


def _profile(base: Path, name: str, script: str) -> tuple[Path, dict[str, Any]]:
    root = base / name
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(script).lstrip("\n"))
    env = {**os.environ, "HYBRIDIZE_SAMPLE_MS": "2"}  # more samples of a short run on a loaded machine
    proc = subprocess.run([sys.executable, "-m", "hybridize", "profile", "--no-measure", "--", sys.executable, "train.py"],
                          cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    return root, load_profile(root / ".hybridize").meta


def test_end_to_end_a_module_level_loop_is_reported_and_functions_are_not(tmp_path: Path) -> None:
    root, meta = _profile(tmp_path, "loop", MODULE_LOOP)
    samples = meta["samples"]
    assert samples["processes"] == 1 and samples["errors"] == 0
    in_loop = sum(c for line, c in samples["files"]["train.py"]["<module>"].items() if 9 <= int(line) <= 12)
    # seconds of a pure-Python loop at module level vs a tiny function: most samples are in the loop
    assert in_loop > 0.5 * samples["total"], samples
    summary = outside_summary(root, meta)
    assert summary is not None and summary["module_share"] > 0.5
    assert [(f["line"], f["end_line"]) for f in summary["loops"]] == [(10, 11)]  # the inner loop: the hot one
    assert "hybridize extract train.py --line 10" in summary["loops"][0]["note"]

    root, meta = _profile(tmp_path, "functions", FUNCTIONS_ONLY)
    summary = outside_summary(root, meta)
    assert summary is not None and summary["samples"] > 0
    assert summary["loops"] == []  # the time is in busy(): a function a decorator reaches
