"""A trial run measures the calls a forked worker makes (multiprocessing's fork start method ends a worker with
``os._exit``, which skips ``atexit``: its calls were lost and the function reported not measured)."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from hybridize.planner.trials import run_trial

MAIN = textwrap.dedent('''
    import multiprocessing as mp
    from work import crunch

    def child():
        for _ in range(5):
            crunch(1000)

    if __name__ == "__main__":
        p = mp.get_context("fork").Process(target=child)
        p.start()
        p.join()
        crunch(10)
        raise SystemExit(p.exitcode)
''')


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork start method")
def test_a_forked_workers_calls_are_measured_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text("")
    (proj / "work.py").write_text("def crunch(n):\n    return sum(i * i for i in range(n))\n")
    (proj / "main.py").write_text(MAIN)
    monkeypatch.chdir(proj)
    result = run_trial(["python", "main.py"], root=proj, work_dir=tmp_path / "work", label="fork",
                       targets=[{"function": "work:crunch", "mode": "time"}])
    assert result.exit_code == 0
    assert result.processes == 2
    assert result.func("work:crunch").calls == 6  # 5 in the worker, 1 in the parent: none lost, none counted twice
