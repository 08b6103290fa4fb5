"""Trial runs inside the Jupyter kernel: conversions placed as each cell defines its functions (issue #13).

One full ``hybridize profile nb.ipynb`` (traced run, trial runs in nbclient kernels, planning): a function that
pays as a graph is recommended, one whose converted run makes a later cell raise is reported with the error,
and every report format names the cell. No timing is asserted beyond a 10x-plus workload being recommended.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import code, markdown, write_notebook

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("tensorflow")

# `step`: 120 small ops per call, 1000 calls (a graph runs it many times faster, and pays its tracing back several
# times over even when a loaded machine slows the trace: at 300 calls one CI run rejected it); `bad`: `int()` of a tensor, which
# only a graph refuses (the run cell raises TypeError in the trial where `bad` is converted).
FUNCS = ("def step(x):\n    for _ in range(40):\n        x = tf.tanh(x) * 0.5 + 0.1\n    return x\n\n\n"
         "def bad(x):\n    return x * int(x)\n")
RUN = ("y = tf.constant([0.5, 1.0])\nfor i in range(1000):\n    y = step(y)\nprint(float(tf.reduce_sum(y)))\n"
       "z = [bad(tf.constant(2.0)) for _ in range(20)]\nprint(float(z[-1]))\n")


def hybridize(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hybridize", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900, check=False)


def test_a_notebook_function_is_recommended_from_trials_in_the_kernel_and_a_raising_cell_is_reported(
        tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", [markdown("# t", "m"),
                                           code("%env TF_CPP_MIN_LOG_LEVEL=2\nimport tensorflow as tf", "setup"),
                                           code(FUNCS, "funcs"), code(RUN, "run")])
    (tmp_path / "pyproject.toml").write_text("[tool.hybridize]\n", encoding="utf-8")
    before = (tmp_path / "nb.ipynb").read_bytes()
    proc = hybridize(["profile", "--no-warm-start", "nb.ipynb"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "nb.ipynb").read_bytes() == before
    report = json.loads(hybridize(["report", "--format", "json"], tmp_path).stdout)
    recommended = {r["function"]: r for r in report["recommendations"]}
    rejected = {r["function"]: r for r in report["rejected"]}
    assert "nb.ipynb:step" in recommended, rejected.get("nb.ipynb:step")  # the reason, when it was not
    step = recommended["nb.ipynb:step"]  # measured in the kernel: before, notebook functions were not-exercised
    assert step["action"] == "convert" and step["calls"] == 1000
    assert step["cell"] == {"index": 2, "id": "funcs", "line": 1}
    assert rejected["nb.ipynb:bad"]["reason"] == "trial-error"
    assert "TypeError" in rejected["nb.ipynb:bad"]["detail"]
    assert rejected["nb.ipynb:bad"]["cell"] == {"index": 2, "id": "funcs", "line": 7}
    plan = json.loads((tmp_path / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    assert "cell" not in plan["recommendations"][0]  # the saved plan stays as the planner wrote it
    for fmt in ("markdown", "html", "table"):
        text = hybridize(["report", "--format", fmt], tmp_path).stdout
        assert "nb.ipynb[cell 3]:1" in text and "nb.ipynb[cell 3]:7" in text, fmt
