"""Apply into an .ipynb: only the edited cells change, --diff per cell, undo byte for byte, stale refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridize.plan import Plan, Recommendation, Settings, file_sha256
from hybridize.rewriter import apply as rw
from hybridize.rewriter import notebook as nbedit

from .helpers import code, markdown, write_notebook

OUTPUT = {"name": "stdout", "output_type": "stream", "text": ["épоch 0: loss 1.2\n"]}
CELLS = [
    markdown("# Training ✓", "intro"),
    code("%matplotlib inline\nimport tensorflow as tf\nimport numpy as np", "setup"),
    code("def train_step(x):\n    return tf.reduce_sum(x * 2)\n\n\ndef other(x):\n    !echo hi\n    return x", "steps",
         outputs=[OUTPUT]),
    code("for i in range(2):\n    print(train_step(tf.ones(3)))", "loop", outputs=[OUTPUT]),
]


def rec(id: int, function: str, file: str = "train.ipynb", line: int = 0, action: str = "convert",
        **settings: object) -> Recommendation:
    return Recommendation(rank=id, id=id, function=function, file=file, line=line, action=action,  # type: ignore[arg-type]
                          decorator="", settings=Settings(**settings))  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    write_notebook(tmp_path / "train.ipynb", CELLS)
    return tmp_path


def plan_for(root: Path, recs: list[Recommendation]) -> Plan:
    return Plan(recommendations=recs, file_hashes={"train.ipynb": file_sha256(root / "train.ipynb")},
                project_root=str(root))


def test_apply_changes_only_the_edited_cell_and_undo_restores_bytes(project: Path) -> None:
    nb_path = project / "train.ipynb"
    before = nb_path.read_bytes()
    result = rw.apply_plan(project, project / ".hybridize", plan_for(project, [rec(1, "train.ipynb:train_step")]))
    assert [o.status for o in result.outcomes] == ["applied"] and result.written
    after = json.loads(nb_path.read_bytes())
    old = json.loads(before)
    assert after["cells"][2]["source"] == ["@tf.function\n", "def train_step(x):\n", "    return tf.reduce_sum(x * 2)\n",
                                           "\n", "\n", "def other(x):\n", "    !echo hi\n", "    return x"]
    after["cells"][2]["source"] = old["cells"][2]["source"]
    assert after == old  # outputs, ids, metadata, other cells (magics included) untouched
    # the JSON layout is nbformat's, so only the edited cell's lines differ in the file
    assert nb_path.read_bytes().decode().replace('    "@tf.function\\n",\n', "", 1) == before.decode()
    assert "+@tf.function\n" in result.diff and "a/train.ipynb [cell 3 id=steps]" in result.diff
    assert rw.undo_last(project, project / ".hybridize") == ["train.ipynb"]
    assert nb_path.read_bytes() == before


def test_import_goes_into_the_first_code_cell_and_diff_only_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    cells = [code("import numpy as np", "a"), code("def f(x):\n    return x + 1\n", "b")]
    before = write_notebook(tmp_path / "train.ipynb", cells)
    result = rw.apply_plan(tmp_path, tmp_path / ".hybridize", plan_for(tmp_path, [rec(1, "train.ipynb:f")]),
                           diff_only=True)
    assert not result.written and (tmp_path / "train.ipynb").read_bytes() == before
    assert "+import tensorflow as tf" in result.diff and "[cell 1 id=a]" in result.diff
    assert "+@tf.function" in result.diff and "[cell 2 id=b]" in result.diff


def test_a_notebook_edited_since_the_plan_is_refused_as_stale(project: Path) -> None:
    plan = plan_for(project, [rec(1, "train.ipynb:train_step")])
    nb_path = project / "train.ipynb"
    edited = nb_path.read_bytes().replace(b"x * 2", b"x * 3")
    nb_path.write_bytes(edited)
    result = rw.apply_plan(project, project / ".hybridize", plan)
    assert [o.code for o in result.outcomes] == ["stale"] and not result.written
    assert nb_path.read_bytes() == edited


def test_a_second_apply_of_the_same_plan_is_not_stale(project: Path) -> None:
    plan = plan_for(project, [rec(1, "train.ipynb:train_step", reduce_retracing=True)])
    rw.apply_plan(project, project / ".hybridize", plan)
    once = (project / "train.ipynb").read_bytes()
    result = rw.apply_plan(project, project / ".hybridize", plan)
    assert [o.status for o in result.outcomes] == ["unchanged"] and not result.written
    assert (project / "train.ipynb").read_bytes() == once
    cell = json.loads(once)["cells"][2]["source"]
    assert cell[0] == "@tf.function(reduce_retracing=True)\n"


def test_a_layout_we_cannot_reproduce_is_refused_untouched(project: Path) -> None:
    nb_path = project / "train.ipynb"
    odd = json.dumps(json.loads(nb_path.read_bytes()), indent=3).encode()  # no trailing newline, indent 3
    nb_path.write_bytes(odd)
    result = rw.apply_plan(project, project / ".hybridize", plan_for(project, [rec(1, "train.ipynb:train_step")]))
    assert [o.code for o in result.outcomes] == ["notebook"] and "layout" in result.outcomes[0].message
    assert nb_path.read_bytes() == odd


@pytest.mark.parametrize("layout", nbedit.LAYOUTS[:8])
def test_known_layouts_round_trip_byte_for_byte(layout: nbedit.Layout) -> None:
    nb = json.loads(json.dumps({"cells": [c for c in CELLS], "metadata": {"z": 1, "a": "ü"}, "nbformat": 4,
                                "nbformat_minor": 5}))
    data = layout.dumps(nb).encode()
    work = nbedit.to_module(data, "x.ipynb")
    assert work.layout == layout
    assert nbedit.from_module(work, work.module, "x.ipynb") == data


def test_an_edit_across_a_cell_boundary_is_refused() -> None:
    data = json.dumps({"cells": CELLS, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, sort_keys=True,
                      indent=1, ensure_ascii=False).encode() + b"\n"
    work = nbedit.to_module(data, "x.ipynb")
    edited = work.module.replace(b"# %% [cell 3] id=steps\n", b"")
    with pytest.raises(nbedit.NotebookEditError, match="cell boundary"):
        nbedit.from_module(work, edited, "x.ipynb")
