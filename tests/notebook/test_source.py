"""The notebook source model: code cells as one module, magics made harmless, the line map both ways."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from hybridize.errors import HybridizeError
from hybridize.identity import module_name_for
from hybridize.notebook import NotebookSource, build_source, parse_notebook, python_lines, read_source

from .helpers import code, markdown, notebook_bytes


def source_of(*cells: dict[str, Any]) -> tuple[str, NotebookSource]:
    nb = parse_notebook(notebook_bytes(list(cells)))
    src = build_source(nb)
    return src.text, src


def test_cells_in_order_with_markers_and_a_line_map_both_ways() -> None:
    text, src = source_of(markdown("# Title", "m0"), code("import tensorflow as tf\nx = 1", "c1"),
                          markdown("text", "m2"), code("def f(x):\n    return x * 2\n", "c3"))
    assert text.splitlines() == ["# %% [cell 2] id=c1", "import tensorflow as tf", "x = 1",
                                 "# %% [cell 4] id=c3", "def f(x):", "    return x * 2"]
    tree = ast.parse(text)
    fdef = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    loc = src.locate(fdef.lineno)
    assert (loc.cell, loc.cell_id, loc.line) == (3, "c3", 1)
    assert src.locate(6).line == 2
    assert src.locate(4) is None  # a marker line belongs to no cell
    assert src.module_line(3, 2) == 6
    assert src.module_line(0, 1) is None  # markdown cells have no code


def test_magics_shell_and_help_become_pass_on_the_same_line() -> None:
    cell = "%matplotlib inline\nfiles = !ls\nfor i in range(2):\n    !echo $i\nprint?\nx = %time f()\ny = 5 % 3\n"
    lines, skipped = python_lines(cell)
    assert skipped is None
    assert lines == ["pass", "files = None", "for i in range(2):", "    pass", "pass", "x = None", "y = 5 % 3"]


def test_cell_magics_keep_a_python_body_and_blank_anything_else() -> None:
    lines, skipped = python_lines("%%time\ndef g():\n    return 1\n")
    assert lines == ["", "def g():", "    return 1"] and skipped is None
    lines, skipped = python_lines("%%bash\nls -l\necho 'def f(: '\n")
    assert lines == ["", "", ""] and skipped is not None and "%%bash" in skipped


def test_a_cell_with_a_syntax_error_is_skipped_with_a_note_and_the_rest_is_kept() -> None:
    text, src = source_of(code("def broken(:\n    pass", "bad"), code("def ok(x):\n    return x", "good"))
    ast.parse(text)  # the module parses as a whole
    assert src.cells[0].skipped and "syntax error" in src.cells[0].skipped
    assert "def ok(x):" in text and "broken" not in text
    (line, note), = src.notes
    assert "cell 1 (id bad)" in note and src.locate(line).cell == 0


def test_a_multiline_string_starting_with_percent_is_left_alone() -> None:
    cell = 'doc = """\n%not a magic\n!not shell\n"""\n'
    assert python_lines(cell) == (['doc = """', "%not a magic", "!not shell", '"""'], None)


def test_form_feed_and_line_separator_inside_strings_do_not_shift_lines() -> None:
    text, src = source_of(code('s = "a\u2028b\x0cc"\ndef f():\n    pass', "c"))
    fdef = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef))
    assert src.locate(fdef.lineno).line == 2


def test_string_and_list_sources_and_cells_without_ids() -> None:
    nb = {"cells": [{"cell_type": "code", "source": "a = 1\nb = 2", "metadata": {}, "outputs": []},
                    {"cell_type": "raw", "source": "not code"}], "nbformat": 4, "nbformat_minor": 4, "metadata": {}}
    src = build_source(parse_notebook(json.dumps(nb)))
    assert src.text == "# %% [cell 1]\na = 1\nb = 2\n" and src.cells[0].id is None


@pytest.mark.parametrize("data, message", [(b"{not json", "invalid JSON"), (b"[1, 2]", "no cell list")])
def test_not_a_notebook_is_a_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "x.ipynb"
    path.write_bytes(data)
    with pytest.raises(HybridizeError, match=message):
        read_source(path)


def test_identity_of_a_notebook_is_its_path() -> None:
    assert module_name_for("notebooks/train.ipynb") == "notebooks/train.ipynb"
    assert module_name_for("src/nb.ipynb") == "src/nb.ipynb"
    assert module_name_for("src/pkg/mod.py") == "pkg.mod"


def test_an_odd_cell_id_never_breaks_the_line_map() -> None:
    text, src = source_of(code("a = 1", "x\ny"), code("def f():\n    pass", "ok"))
    assert text.splitlines()[0] == "# %% [cell 1]" and src.cells[0].id == "x\ny"
    fdef = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef))
    assert src.locate(fdef.lineno).cell_id == "ok"
