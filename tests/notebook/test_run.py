"""Running notebooks: `python -m hybridize.nbrun` (a cell that raises), the profile shorthand, missing extras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hybridize.errors import HybridizeError
from hybridize.nbrun import shorthand

from .helpers import code, markdown, write_notebook

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

FUNCS = "def square(x):\n    return x * x\n\n\ndef total(n):\n    return sum(square(i) for i in range(n))\n"


def run(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def test_a_cell_that_raises_is_one_line_and_exit_1_and_the_notebook_is_untouched(tmp_path: Path) -> None:
    before = write_notebook(tmp_path / "nb.ipynb", [code("x = 1", "a"), code("raise ValueError('boom')", "b"),
                                                     code("print('never')", "c")])
    proc = run([sys.executable, "-m", "hybridize.nbrun", "nb.ipynb"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "hybridize: error: nb.ipynb: cell 2 raised: ValueError: boom" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "nb.ipynb").read_bytes() == before


def test_the_kernel_has_time_to_run_its_exit_handlers(tmp_path: Path) -> None:
    # the tracer and the trial hook write their records at the kernel's exit: a loaded kernel that took more than
    # jupyter_client's 2.5 s to get there was killed and its run read as "no function called"
    cell = ("import atexit, pathlib, time\n\n\ndef write():\n    time.sleep(4)\n"
            "    pathlib.Path('written').write_text('done')\n\n\natexit.register(write)\n")
    write_notebook(tmp_path / "nb.ipynb", [code(cell, "a")])
    proc = run([sys.executable, "-m", "hybridize.nbrun", "nb.ipynb"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "written").read_text() == "done"


def test_shorthand_needs_an_existing_notebook_and_the_notebook_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                      ) -> None:
    assert shorthand(["python", "x.py"]) is None
    with pytest.raises(HybridizeError, match="no such notebook"):
        shorthand([str(tmp_path / "missing.ipynb")])
    write_notebook(tmp_path / "nb.ipynb", [code("x = 1", "a")])
    cmd, folder = shorthand([str(tmp_path / "nb.ipynb")])  # type: ignore[misc]
    assert cmd[1:] == ["-m", "hybridize.nbrun", str((tmp_path / "nb.ipynb").resolve())] and folder == tmp_path.resolve()
    monkeypatch.setitem(sys.modules, "nbclient", None)
    with pytest.raises(HybridizeError, match=r"pip install 'hybridize\[notebook\]'"):
        shorthand([str(tmp_path / "nb.ipynb")])


def test_profile_a_notebook_in_a_folder_of_its_own_records_notebook_functions(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", [markdown("# t", "m"), code("%env A=1\nimport math", "setup"),
                                           code(FUNCS, "funcs"), code("print(total(5))", "run")])
    proc = run([sys.executable, "-m", "hybridize", "profile", "--no-measure", "nb.ipynb"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run([sys.executable, "-m", "hybridize", "functions", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    rows = {f["function"]: f for f in (data["functions"] if isinstance(data, dict) else data)}
    assert rows["nb.ipynb:total"]["calls"] == 1 and rows["nb.ipynb:square"]["calls"] == 5
    assert rows["nb.ipynb:square"]["file"] == "nb.ipynb"
    assert rows["nb.ipynb:square"]["line"] == 5  # the static analysis's line: cell 3's marker is line 4
    assert rows["nb.ipynb:square"]["cell"] == {"index": 2, "id": "funcs", "line": 1}
    assert rows["nb.ipynb:total"]["lines_covered"] == rows["nb.ipynb:total"]["lines_total"] == 1
    table = run([sys.executable, "-m", "hybridize", "functions"], tmp_path).stdout
    assert "nb.ipynb[cell 3]:1 " in table and "nb.ipynb[cell 3]:5 " in table
