"""Warm-started runs: a child forked from a server that imported a module once must behave like a fresh process.

A tiny probe module stands in for TensorFlow (it records each import in a file), so these run in milliseconds;
tests/planner/test_trials.py runs real TensorFlow trials warm against a cold baseline.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridize.planner.warmstart import WarmStarter, split_command

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="warm start is Linux-only")

PROBE = '''
import os
with open(os.environ["PROBE_LOG"], "a") as fh:
    fh.write("imported\\n")
'''

HOOK = '''
import os

def start():
    with open(os.environ["PROBE_LOG"], "a") as fh:
        fh.write("hook " + os.environ.get("PER_RUN", "-") + "\\n")
'''

SCRIPT = '''
import json, os, sys
import warm_probe
json.dump({"name": __name__, "file": __file__, "argv": sys.argv, "path0": sys.path[0], "cwd": os.getcwd(),
           "per_run": os.environ.get("PER_RUN"), "stdin": sys.stdin.read(),
           "globals": sorted(k for k in globals() if not k.startswith("__"))}, sys.stdout)
sys.exit(int(sys.argv[1]))
'''


@pytest.fixture()
def warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WarmStarter]:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "warm_probe.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    (lib / "warm_hook.py").write_text(textwrap.dedent(HOOK), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(lib))
    monkeypatch.setenv("PROBE_LOG", str(tmp_path / "probe.log"))
    monkeypatch.chdir(tmp_path)
    starter = WarmStarter(tmp_path / "server.log", boot=["warm_hook:start"], root=tmp_path, preload=("warm_probe",))
    yield starter
    starter.close()


def _run(warm: WarmStarter, tmp_path: Path, cmd: list[str], label: str, timeout_s: float | None = 60.0,
         per_run: str = "x") -> tuple[int | None, str]:
    log = tmp_path / f"{label}.log"
    code = warm.run(cmd, dict(os.environ), {"PER_RUN": per_run}, log=log, timeout_s=timeout_s)
    return code, log.read_text(encoding="utf-8") if log.exists() else ""


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / "scripts" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_the_child_is_the_script_as_a_fresh_process_runs_it(warm: WarmStarter, tmp_path: Path) -> None:
    script = _script(tmp_path, "s.py", SCRIPT)
    code1, out1 = _run(warm, tmp_path, [sys.executable, "scripts/s.py", "0"], "a", per_run="first")
    code2, out2 = _run(warm, tmp_path, [sys.executable, "scripts/s.py", "3"], "b", per_run="second")
    assert (code1, code2) == (0, 3)
    assert json.loads(out1)["argv"] == ["scripts/s.py", "0"]
    seen = json.loads(out2)
    assert seen["name"] == "__main__" and seen["file"] == str(script)
    assert seen["argv"] == ["scripts/s.py", "3"]
    assert seen["path0"] == str(script.parent) and seen["cwd"] == str(tmp_path)
    assert seen["per_run"] == "second" and seen["stdin"] == ""
    assert seen["globals"] == ["json", "os", "sys", "warm_probe"]  # nothing of the server's own module
    # imported once, by the server; the boot hook ran in each child with that run's variables
    assert (tmp_path / "probe.log").read_text().splitlines() == ["hook -", "imported", "hook first", "hook second"]
    assert warm.warm_runs == 2 and warm.disabled is None


def test_dash_m_and_console_scripts(warm: WarmStarter, tmp_path: Path) -> None:
    (tmp_path / "mymod.py").write_text("import sys\nprint(__name__, sys.argv)\n", encoding="utf-8")
    code, out = _run(warm, tmp_path, [sys.executable, "-m", "mymod", "--flag"], "m")
    assert code == 0
    assert out.strip() == f"__main__ {[str(tmp_path / 'mymod.py'), '--flag']}"
    tool = _script(tmp_path, "tool", f"#!{sys.executable}\nimport sys\nprint('tool', sys.argv[1:])\nsys.exit(5)\n")
    tool.chmod(0o755)
    code, out = _run(warm, tmp_path, [str(tool), "a"], "tool")
    assert (code, out.strip()) == (5, "tool ['a']")


def test_a_crash_is_the_commands_exit_status_with_its_traceback(warm: WarmStarter, tmp_path: Path) -> None:
    _script(tmp_path, "boom.py", "raise ValueError('boom in the user program')\n")
    code, out = _run(warm, tmp_path, [sys.executable, "scripts/boom.py"], "boom")
    assert code == 1 and "ValueError: boom in the user program" in out
    assert warm.disabled is None


def test_a_hung_run_is_killed_at_the_timeout_and_the_server_goes_on(warm: WarmStarter, tmp_path: Path) -> None:
    _script(tmp_path, "hang.py", "import time\ntime.sleep(60)\n")
    _script(tmp_path, "ok.py", "print('ok')\n")
    started = time.monotonic()
    code, _ = _run(warm, tmp_path, [sys.executable, "scripts/hang.py"], "hang", timeout_s=1.0)
    assert code == 124 and time.monotonic() - started < 30
    assert _run(warm, tmp_path, [sys.executable, "scripts/ok.py"], "ok") == (0, "ok\n")


def test_a_program_that_sets_tensorflow_variables_goes_cold(warm: WarmStarter, tmp_path: Path) -> None:
    _script(tmp_path, "quiet.py", "import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n")
    assert _run(warm, tmp_path, [sys.executable, "scripts/quiet.py"], "quiet")[0] == 0  # log level: harmless
    _script(tmp_path, "onednn.py", "import os\nos.environ['TF_ENABLE_ONEDNN_OPTS'] = '0'\n")
    assert _run(warm, tmp_path, [sys.executable, "scripts/onednn.py"], "onednn")[0] is None
    assert warm.disabled is not None and "TF_ENABLE_ONEDNN_OPTS" in warm.disabled
    assert _run(warm, tmp_path, [sys.executable, "scripts/quiet.py"], "after")[0] is None  # cold from then on
    assert (warm.warm_runs, warm.cold_runs) == (1, 2) and warm.cold_because == warm.disabled


def test_a_run_killed_by_a_signal_goes_cold(warm: WarmStarter, tmp_path: Path) -> None:
    _script(tmp_path, "die.py", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert _run(warm, tmp_path, [sys.executable, "scripts/die.py"], "die")[0] is None
    assert warm.disabled == "a warm-started run was killed by signal 9"


def test_what_cannot_start_warm(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("", encoding="utf-8")
    exe = sys.executable
    bindir = os.path.dirname(exe)
    assert split_command([exe, str(script), "a"]) == (exe, [str(script), "a"])
    assert split_command([exe, "-m", "pytest", "-q"]) == (exe, ["-m", "pytest", "-q"])
    for cmd in ([exe, "-X", "dev", str(script)], [exe, "-c", "pass"], [exe, str(tmp_path / "missing.py")], [exe],
                ["sh", "-c", "true"], [str(tmp_path / "nowhere")], []):
        assert split_command(cmd) is None, cmd
    for shebang, expected in ((f"#!{exe}", exe), ("#!/usr/bin/env python3", os.path.join(bindir, "python3")),
                              (f"#!{exe} -u", None), ("#!/bin/sh", None), ("import sys", None)):
        tool = tmp_path / "tool"
        tool.write_text(shebang + "\nprint(1)\n", encoding="utf-8")
        got = split_command([str(tool), "x"], path=bindir)
        assert got == (None if expected is None else (expected, [str(tool), "x"])), shebang


def test_a_command_it_cannot_fork_is_handed_back(warm: WarmStarter, tmp_path: Path) -> None:
    assert _run(warm, tmp_path, ["sh", "-c", "true"], "sh")[0] is None
    assert warm.cold_runs == 1 and warm.disabled is None
    assert warm.cold_because is not None and warm.cold_because.startswith("`sh` is not `python script`")


def test_closing_does_not_wait_for_an_unfinished_import(warm: WarmStarter, tmp_path: Path) -> None:
    """A traced run that fails at once (command not found) must not wait for TensorFlow's import to finish."""
    (tmp_path / "lib" / "slow_import.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    slow = WarmStarter(tmp_path / "slow.log", boot=[], root=tmp_path, preload=("slow_import",))
    _script(tmp_path, "ok.py", "")
    slow.prepare([sys.executable, "scripts/ok.py"], dict(os.environ))
    started = time.monotonic()
    slow.close()
    assert time.monotonic() - started < 3


def test_keras_backend_set_to_the_loaded_one_stays_warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example project sets KERAS_BACKEND=tensorflow before importing TensorFlow: the backend the server's
    import already loaded, so nothing changes; another backend would have been read at import: cold."""
    lib = tmp_path / "lib"
    (lib / "keras").mkdir(parents=True)
    (lib / "keras" / "__init__.py").write_text(
        "class backend:\n    @staticmethod\n    def backend():\n        return 'tensorflow'\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(lib))
    monkeypatch.chdir(tmp_path)
    starter = WarmStarter(tmp_path / "server.log", boot=[], root=tmp_path, preload=("keras",))
    try:
        _script(tmp_path, "same.py", "import os\nos.environ.setdefault('KERAS_BACKEND', 'tensorflow')\n")
        _script(tmp_path, "other.py", "import os\nos.environ['KERAS_BACKEND'] = 'jax'\n")
        assert _run(starter, tmp_path, [sys.executable, "scripts/same.py"], "same")[0] == 0
        assert starter.disabled is None
        assert _run(starter, tmp_path, [sys.executable, "scripts/other.py"], "other")[0] is None
        assert starter.disabled is not None and "KERAS_BACKEND" in starter.disabled
    finally:
        starter.close()
