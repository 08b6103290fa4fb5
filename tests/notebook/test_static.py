"""`hybridize check` and the planner's static pass read notebooks: cell locations in every report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from hybridize.cli import cli
from hybridize.static import analyze

from .helpers import code, markdown, write_notebook

CELLS = [
    markdown("# Training", "intro"),
    code("%pip install -q tensorflow\nimport tensorflow as tf\n!nvidia-smi", "setup"),
    code("def helper(x):\n    print('step')\n    return x\n", "helpers"),
    code("def broken(:\n", "oops"),
    code("def train_step(x):\n    y = helper(x)\n    return tf.reduce_sum(y)\n", "step"),
]


def test_notebook_functions_have_notebook_identities_cells_and_propagated_findings(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    write_notebook(tmp_path / "nb" / "train.ipynb", CELLS)
    (tmp_path / "lib.py").write_text("def g(x):\n    return x\n")
    analysis = analyze(tmp_path)
    by = analysis.by_name()
    assert set(by) == {"nb/train.ipynb:helper", "nb/train.ipynb:train_step", "lib:g"}
    step = by["nb/train.ipynb:train_step"]
    assert step.file == "nb/train.ipynb" and step.cell == {"index": 4, "id": "step", "line": 1}
    assert by["lib:g"].cell is None and "cell" not in by["lib:g"].to_json()
    # the print in helper reaches train_step through the call graph, located in helper's cell
    (found,) = [f for f in step.findings if f.via]
    assert found.cell == {"index": 2, "id": "helpers", "line": 2}
    assert step.calls == ["nb/train.ipynb:helper"]
    (err,) = analysis.errors
    assert err.file == "nb/train.ipynb" and "cell 4 (id oops): syntax error" in err.message


def test_check_cli_shows_cell_and_line_in_cell(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    write_notebook(tmp_path / "train.ipynb", CELLS)
    result = CliRunner().invoke(cli, ["check", "-v", "--root", str(tmp_path), str(tmp_path / "train.ipynb")])
    assert result.exit_code == 0, result.output
    assert "train.ipynb[cell 5]:1: " in result.output and "train_step" in result.output
    assert "cell 4 (id oops): syntax error" in result.output
    # the linter lines locate a finding as ruff does in notebooks: cell N:line:col, the column inside the cell's line
    result = CliRunner().invoke(cli, ["check", "--all", "--root", str(tmp_path), str(tmp_path / "train.ipynb")])
    assert "train.ipynb:cell 3:2:5: HY101 " in result.output, result.output
    result = CliRunner().invoke(cli, ["check", "--json", "--root", str(tmp_path)])
    data = json.loads(result.output)
    step = next(f for f in data["functions"] if f["function"] == "train.ipynb:train_step")
    assert step["cell"] == {"index": 4, "id": "step", "line": 1}


def test_a_file_that_is_not_a_notebook_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "bad.ipynb").write_text("{oops")
    (tmp_path / "ok.py").write_text("def f(x):\n    return x\n")
    analysis = analyze(tmp_path)
    assert [f.function for f in analysis.functions] == ["ok:f"]
    assert analysis.errors[0].file == "bad.ipynb" and "invalid JSON" in analysis.errors[0].message
