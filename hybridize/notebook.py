"""A Jupyter notebook as one Python module: its code cells in order, with a map back to the cells.

Every stage that reads source (static analysis, the tracer's line numbers, the rewriter) sees a notebook
through the same *virtual module*, so a function's identity agrees everywhere (docs/notebooks.md):

- ``module`` and ``file`` are the notebook's path relative to the project root (``nb/train.ipynb``), so
  the function name is ``nb/train.ipynb:train_step`` (never importable, never confused with a ``.py`` module);
- ``line`` is a line of the virtual module. Each code cell is preceded by one marker line
  ``# %% [cell N] id=...``, then the cell's lines follow unchanged, so a cell's line ``k`` is module line
  ``marker + k``. People read "cell N" counted from 1 over all cells, markdown included (as ruff and nbQA
  report them); JSON carries ``index``, the 0-based position in the notebook's ``cells`` list.

IPython syntax that is not Python (``%magic``, ``%%cell magic``, ``!shell``, ``obj?``) becomes ``pass``
(or ``name = None`` for ``x = !cmd``) on the same line, so line numbers hold and blocks stay valid. A cell
that still does not parse is blanked with a note: one bad cell never hides the rest of the notebook.

Reading needs only the standard library (``json``) for nbformat 4, which every current front end writes;
older notebooks are upgraded with ``nbformat`` when it is installed.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError

SUFFIX = ".ipynb"
MARKER = "# %% [cell {number}]"
# Cell magics whose body is Python: the body is kept for analysis, only the magic line is replaced.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "py", "python", "python3"})
_ASSIGN_ESCAPE = re.compile(r"^(\s*)([A-Za-z_][\w.,\s\[\]()*]*?)\s*=\s*[%!]")
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what Python's tokenizer counts as a line end (not str.splitlines)
_ID = re.compile(r"^[\w-]{1,64}$")  # nbformat's cell id pattern
_HELP = re.compile(r"^\s*[\w.\[\]()'\"]+\?\??\s*$")
INSTALL_HINT = "pip install 'hybridize[notebook]'"


def is_notebook(path: str | Path) -> bool:
    return str(path).endswith(SUFFIX)


@dataclass(frozen=True)
class CellSpan:
    """Where one code cell sits in the virtual module."""

    index: int  # position in the notebook's cells (all kinds), from 0
    id: str | None  # nbformat >= 4.5 cell id
    marker: int  # module line of the ``# %% [cell N]`` marker
    lines: int  # number of lines of the cell
    skipped: str | None = None  # why the cell's code was blanked (syntax error, non-Python cell magic)

    @property
    def start(self) -> int:
        """Module line of the cell's first line."""
        return self.marker + 1

    @property
    def end(self) -> int:
        return self.marker + self.lines


@dataclass(frozen=True)
class CellLocation:
    """A module line expressed as the user sees it: cell index, cell id, line inside the cell (from 1)."""

    cell: int
    cell_id: str | None
    line: int

    def to_json(self) -> dict[str, Any]:
        return {"index": self.cell, "id": self.cell_id, "line": self.line}

    def __str__(self) -> str:
        return f"cell {self.cell + 1}" + (f" (id {self.cell_id})" if self.cell_id else "") + f" line {self.line}"


@dataclass
class NotebookSource:
    """The virtual module of one notebook and its line map."""

    cells: list[CellSpan] = field(default_factory=list)
    sources: dict[int, str] = field(default_factory=dict)  # cell index -> original source text
    text: str = ""  # the virtual module
    notes: list[tuple[int, str]] = field(default_factory=list)  # (module line, message) for skipped code

    def locate(self, line: int) -> CellLocation | None:
        """The cell and line inside it of a module line; None for marker lines and lines outside any cell."""
        for span in self.cells:
            if span.start <= line <= span.end:
                return CellLocation(span.index, span.id, line - span.marker)
        return None

    def module_line(self, cell_index: int, line_in_cell: int) -> int | None:
        for span in self.cells:
            if span.index == cell_index:
                return span.marker + line_in_cell
        return None


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's ``source`` as one string (nbformat stores a string or a list of lines)."""
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def parse_notebook(data: bytes | str, name: str = "notebook") -> dict[str, Any]:
    """The notebook's JSON as a dict (nbformat 4); a clear error for anything else."""
    try:
        nb = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HybridizeError(f"{name}: not a notebook (invalid JSON: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        if isinstance(nb, dict) and "worksheets" in nb:
            return _upgrade(nb, name)
        raise HybridizeError(f"{name}: not a Jupyter notebook (no cell list)")
    if nb.get("nbformat", 4) < 4:
        return _upgrade(nb, name)
    return nb


def _upgrade(nb: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        import nbformat
    except ImportError:
        raise HybridizeError(f"{name}: an nbformat {nb.get('nbformat', '<4')} notebook needs nbformat to read "
                             f"({INSTALL_HINT})") from None
    try:
        upgraded = nbformat.convert(nbformat.from_dict(nb), 4)
    except Exception as exc:
        raise HybridizeError(f"{name}: cannot upgrade this old notebook format: {exc}") from None
    return json.loads(json.dumps(upgraded))


def code_cells(nb: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return [(i, c) for i, c in enumerate(nb.get("cells", [])) if isinstance(c, dict) and c.get("cell_type") == "code"]


def split_lines(text: str) -> list[str]:
    """Lines as Python numbers them (``\\x0c`` or ``\\u2028`` inside a string do not end a line)."""
    lines = _NEWLINE.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def python_lines(source: str) -> tuple[list[str], str | None]:
    """The cell as parseable Python lines (same count as the cell's lines), and why it was blanked, if it was."""
    lines = split_lines(source)
    if not lines:
        return [], None
    if _parses(source):
        return lines, None
    first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    head = lines[first].strip()
    if head.startswith("%%"):
        magic = head[2:].split(None, 1)[0] if head[2:].strip() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return [""] * len(lines), f"cell magic %%{magic}: not Python"
        lines = [*([""] * (first + 1)), *lines[first + 1:]]
    out: list[str] = []
    continued = False
    for ln in lines:
        stripped = ln.lstrip()
        indent = ln[: len(ln) - len(stripped)]
        if continued:  # the next physical line of a `!cmd \` or `%magic \`
            out.append(f"{indent}pass" if stripped else "")
            continued = ln.endswith("\\")
            continue
        m = _ASSIGN_ESCAPE.match(ln)
        if m and not _parses(ln.strip()):
            out.append(f"{m.group(1)}{m.group(2).strip()} = None")
            continued = ln.endswith("\\")
        elif stripped[:1] in ("%", "!", "?") or _HELP.match(ln):
            out.append(f"{indent}pass")
            continued = ln.endswith("\\")
        else:
            out.append(ln)
    text = "\n".join(out) + "\n"
    if _parses(text):
        return out, None
    err = _syntax_error(text)
    return [""] * len(lines), f"syntax error{err}"


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _syntax_error(text: str) -> str:
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return f" at line {exc.lineno} of the cell: {exc.msg}"
    except Exception as exc:
        return f": {type(exc).__name__}"
    return ""


def build_source(nb: dict[str, Any]) -> NotebookSource:
    """The virtual module of a parsed notebook (see the module docstring for its layout)."""
    out = NotebookSource()
    text: list[str] = []
    for index, cell in code_cells(nb):
        src = cell_source(cell)
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        lines, skipped = python_lines(src)
        marker = len(text) + 1
        shown = cell_id if cell_id and _ID.match(cell_id) else None  # a hand-edited id must not break the line
        text.append(MARKER.format(number=index + 1) + (f" id={shown}" if shown else ""))
        text.extend(lines)
        span = CellSpan(index, cell_id, marker, len(lines), skipped)
        out.cells.append(span)
        out.sources[index] = src
        if skipped:
            out.notes.append((span.start, f"cell {index + 1}{f' (id {cell_id})' if cell_id else ''}: {skipped}"))
    out.text = "\n".join(text) + "\n" if text else ""
    return out


def read_source(path: Path) -> NotebookSource:
    """The virtual module of the notebook at ``path`` (HybridizeError when it is not a readable notebook)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HybridizeError(f"{path}: cannot read: {exc.strerror}") from None
    return build_source(parse_notebook(data, path.name))


class Locator:
    """Cell locations of (file, line) pairs for reports; each notebook is read once, other files never."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._sources: dict[str, NotebookSource | None] = {}

    def cell(self, file: str, line: int) -> CellLocation | None:
        if not is_notebook(file):
            return None
        if file not in self._sources:
            try:
                self._sources[file] = read_source(self.root / file)
            except HybridizeError:
                self._sources[file] = None
        src = self._sources[file]
        return src.locate(line) if src is not None else None

    def where(self, file: str, line: int) -> str:
        """``file:line``, or ``nb.ipynb[cell 3]:5`` (cell number from 1, line in the cell) inside a notebook."""
        loc = self.cell(file, line)
        return f"{file}[cell {loc.cell + 1}]:{loc.line}" if loc is not None else f"{file}:{line}"
