"""Kernel cell files map back to the project's notebooks: notebook identity and virtual-module lines."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path
from typing import Any

import pytest

from hybridize.static import analyze
from hybridize.tracer.cells import CellFiles, is_cell_file
from hybridize.tracer.state import Recorder, def_lines

from .helpers import code, markdown, write_notebook

get_file_name = pytest.importorskip("ipykernel.compiler").get_file_name

STEP = "import math\n\n\ndef train_step(x):\n    return math.sqrt(x)\n"
CELLS = [markdown("# t", "m"), code("%env A=1\nx = 2", "a"), code(STEP, "step")]


def run_cell(source: str, filename: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), ns)  # what the kernel does with a cell
    return ns


def test_a_cell_file_is_recorded_with_the_notebook_identity_and_the_static_line(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb" / "train.ipynb", CELLS)
    rec = Recorder(tmp_path, None)
    filename = get_file_name(STEP)
    assert is_cell_file(filename)
    fn = run_cell(STEP, filename)["train_step"]
    record = rec.record_for(fn.__code__, fn.__globals__)
    assert record is not None
    assert (record.module, record.qualname, record.file) == ("nb/train.ipynb", "train_step", "nb/train.ipynb")
    static = analyze(tmp_path).by_name()["nb/train.ipynb:train_step"]
    assert record.line == static.line  # no decorators: co_firstlineno is the def line
    assert def_lines(tmp_path / "nb" / "train.ipynb")[("train_step", record.line)][0] == static.line


def test_cells_matched_by_text_when_the_file_name_is_not_ipykernels(tmp_path: Path) -> None:
    write_notebook(tmp_path / "train.ipynb", CELLS)
    filename = "/tmp/ipykernel_1/123.py"
    linecache.cache[filename] = (len(STEP), None, STEP.splitlines(True), filename)
    try:
        assert CellFiles(tmp_path).lookup(filename) == ("train.ipynb", 4)  # marker of cell 3: line 4
    finally:
        linecache.cache.pop(filename, None)


def test_cells_of_other_notebooks_and_ordinary_files_are_not_project_code(tmp_path: Path) -> None:
    write_notebook(tmp_path / "train.ipynb", CELLS)
    rec = Recorder(tmp_path, None, exclude=["train.ipynb"])
    other = "def g():\n    return 1\n"
    fn = run_cell(other, get_file_name(other))["g"]
    assert rec.record_for(fn.__code__, fn.__globals__) is None
    excluded = run_cell(STEP, get_file_name(STEP))["train_step"]
    assert rec.record_for(excluded.__code__, excluded.__globals__) is None
    assert not is_cell_file("/work/proj/ipykernel_tools.py")


def test_cell_instrumentation_counts_calls_and_keeps_the_cells_own_line_numbers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ast
    import builtins
    import traceback

    from hybridize.tracer.importhook import _Instrumenter
    from hybridize.tracer.kernel import apply_transforms
    from hybridize.tracer.kernel311 import watch_ipython

    source = "def boom(x):\n    raise ValueError(x)\n"
    write_notebook(tmp_path / "nb.ipynb", [code(STEP, "step"), code(source, "boom")])
    hooks = _Instrumenter(Recorder(tmp_path, None))
    hooks.measure_lines()
    for name, value in (("__hybridize_enter__", hooks.enter), ("__hybridize_leave__", hooks.leave),
                        ("__hybridize_L__", hooks.hits)):
        monkeypatch.setattr(builtins, name, value, raising=False)
    monkeypatch.setattr("hybridize.tracer.kernel._ENTRIES", [])
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the IPython import watcher must not outlive the test
    watch_ipython(hooks)  # registers the instrumentation (IPython itself is not needed for the transform)
    filename = get_file_name(source)
    nodes = apply_transforms(ast.parse(source).body, filename)
    ns: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), filename, "exec"), ns)
    with pytest.raises(ValueError) as info:
        ns["boom"](1)
    assert traceback.extract_tb(info.tb)[-1].lineno == 2  # the cell's line, as the user's traceback shows it
    (record,) = hooks.rec.records.values()
    assert (record.module, record.calls, record.line) == ("nb.ipynb", 1, 8)  # cell 2's marker is line 7
    assert hooks.executed_lines() == {"nb.ipynb": [9]}
    other = "def f():\n    pass\n"
    assert apply_transforms(ast.parse(other).body, get_file_name(other))[0].body[0].__class__ is ast.Pass  # type: ignore[attr-defined]


def test_a_notebook_named_in_the_config_paths_is_project_code(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb" / "train.ipynb", CELLS)
    (tmp_path / "lib").mkdir()
    fn = run_cell(STEP, get_file_name(STEP))["train_step"]
    assert Recorder(tmp_path, None, include=["nb/train.ipynb"]).record_for(fn.__code__, fn.__globals__) is not None
    assert Recorder(tmp_path, None, include=["lib"]).record_for(fn.__code__, fn.__globals__) is None
