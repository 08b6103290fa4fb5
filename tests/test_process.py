"""The launcher other stages reuse: boot hooks in every Python process, chaining, failures contained, exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hybridize.errors import HybridizeError
from hybridize.process import run_command

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
