"""The one launcher every stage uses: boot hooks in every Python process, chaining, failures contained, exit codes,
the process group stopped at a timeout or Ctrl-C, output captured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hybridize.errors import HybridizeError
from hybridize.process import INTERRUPTED, TIMED_OUT, run_captured, run_command, stop_group

PY = sys.executable


def test_hooks_run_in_every_process_and_chain_to_the_users_sitecustomize(tmp_path: Path) -> None:
    (tmp_path / "hookmod.py").write_text(
        "import os\n"
        "def start():\n"
        "    with open(os.environ['MARK'], 'a') as fh:\n"
        "        fh.write(f'{os.getpid()}\\n')\n"
        "def broken():\n"
        "    raise RuntimeError('hook failure must not break the program')\n")
    user = tmp_path / "user"
    user.mkdir()
    (user / "sitecustomize.py").write_text("import os\nos.environ['USER_SITE_RAN'] = '1'\n")
    marks = tmp_path / "marks.txt"
    child = "import os, subprocess, sys; assert os.environ.get('USER_SITE_RAN') == '1'; sys.exit(0)"
    parent = (f"import os, subprocess, sys; assert os.environ.get('USER_SITE_RAN') == '1'; "
              f"subprocess.run([sys.executable, '-c', {child!r}], check=True); sys.exit(7)")
    rc = run_command([PY, "-c", parent], root=tmp_path, boot=["hookmod:broken", "hookmod:start"],
                     env={"MARK": str(marks), "PYTHONPATH": f"{tmp_path}:{user}"})
    assert rc == 7
    assert len(marks.read_text().split()) == 2  # parent and child


def test_timeout_and_missing_program(tmp_path: Path) -> None:
    assert run_command([PY, "-c", "import time; time.sleep(30)"], root=tmp_path, boot=[], timeout_s=1) == 124
    assert run_command([PY, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"], root=tmp_path,
                       boot=[]) == 128 + 15
    with pytest.raises(HybridizeError, match="command not found"):
        run_command(["surely-not-a-program-here"], root=tmp_path, boot=[])
    with pytest.raises(HybridizeError, match="no command given"):
        run_command([], root=tmp_path, boot=[])


def test_output_goes_to_the_log_with_both_streams(tmp_path: Path) -> None:
    log = tmp_path / "out.log"
    log.write_text("stale\n")
    code = "import sys; print('to stdout', flush=True); print('to stderr', file=sys.stderr); sys.exit(3)"
    assert run_command([PY, "-c", code], root=tmp_path, boot=[], log=log) == 3
    text = log.read_text()
    assert "to stdout" in text and "to stderr" in text and "stale" not in text


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (f"import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)")
    proc = subprocess.Popen([PY, "-c", code], start_new_session=True)
    try:
        while not ready.exists() and proc.poll() is None:
            threading.Event().wait(0.05)
        waits: list[float | None] = []

        def stopped(timeout_s: float | None) -> bool:
            waits.append(timeout_s)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                return False
            return True

        stop_group(proc.pid, signal.SIGTERM, 0.5, stopped)
        assert waits == [0.5, None] and proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _interrupted_command(tmp_path: Path) -> tuple[str, Path]:
    """A command that sleeps until it gets SIGINT (then leaves a ``stopped`` file and exits 1), and a thread that
    sends this process SIGINT once the command is running: what a terminal's Ctrl-C does to hybridize."""
    ready, stopped = tmp_path / "ready", tmp_path / "stopped"
    code = (f"import pathlib, time\npathlib.Path({str(ready)!r}).touch()\ntry:\n    time.sleep(60)\n"
            f"except KeyboardInterrupt:\n    pathlib.Path({str(stopped)!r}).touch()\n    raise SystemExit(1)\n")

    def interrupt_when_ready() -> None:
        while not ready.exists():
            threading.Event().wait(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt_when_ready, daemon=True).start()
    return code, stopped


def test_ctrl_c_is_passed_on_and_returns_130_once_the_command_stopped(tmp_path: Path) -> None:
    code, stopped = _interrupted_command(tmp_path)
    assert run_command([PY, "-c", code], root=tmp_path, boot=[]) == INTERRUPTED
    assert stopped.exists()  # the command got the SIGINT and ran its own handler before the launcher returned


def test_run_captured_returns_both_streams_apart_or_merged(tmp_path: Path) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(4)"
    apart = run_captured([PY, "-c", code], cwd=tmp_path)
    assert (apart.status, apart.stdout.strip(), apart.stderr.strip(), apart.timed_out) == (4, "out", "err", False)
    merged = run_captured([PY, "-c", code], merge=True)
    assert sorted(merged.stdout.split()) == ["err", "out"] and merged.stderr == ""
    where = run_captured([PY, "-c", "import os; print(os.getcwd(), os.environ['MARK'])"], cwd=tmp_path,
                         env={**os.environ, "MARK": "m"})
    assert where.stdout.split() == [str(tmp_path.resolve()), "m"]
    with pytest.raises(FileNotFoundError):
        run_captured(["surely-not-a-program-here"])


def test_run_captured_stops_the_whole_group_at_the_timeout_and_keeps_the_output(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    child = "import time; time.sleep(60)"
    code = (f"import pathlib, subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {child!r}]); "
            f"pathlib.Path({str(pid_file)!r}).write_text(str(p.pid)); print('started', flush=True); p.wait()")
    done = run_captured([PY, "-c", code], timeout_s=3)
    assert done.timed_out and done.status == TIMED_OUT and done.stdout.strip() == "started"
    grandchild = int(pid_file.read_text())
    for _ in range(100):  # the grandchild got the group's SIGTERM; wait until it is gone
        if not _alive(grandchild):
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail("the grandchild outlived the timeout")


def _alive(pid: int) -> bool:
    """Running (a zombie no one has reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def test_run_captured_passes_ctrl_c_on_then_raises_it(tmp_path: Path) -> None:
    code, stopped = _interrupted_command(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_captured([PY, "-c", code])
    assert stopped.exists()
