"""Notebooks in the static analysis: their code cells are read as one module (``hybridize.notebook``).

The index parses the virtual module like any ``.py`` file, so every rule works unchanged; this module
supplies that source, reports cells that were skipped, and adds the cell location (index, id, line in the
cell) to the reports of notebook functions and findings.
"""

from __future__ import annotations

from pathlib import Path

from hybridize.errors import HybridizeError
from hybridize.notebook import NotebookSource, is_notebook, read_source
from hybridize.static.model import Analysis, ParseError


def is_source_file(name: str) -> bool:
    """Files the analysis reads: Python modules and notebooks."""
    return name.endswith(".py") or is_notebook(name)


def virtual_source(path: Path, rel: str, notebooks: dict[str, NotebookSource],
                   errors: list[ParseError]) -> bytes | None:
    """The bytes to parse for ``path``: the file itself, or a notebook's virtual module (None: skip the file)."""
    if not is_notebook(path.name):
        return path.read_bytes()
    try:
        src = read_source(path)
    except HybridizeError as exc:
        errors.append(ParseError(rel, 0, str(exc).split(": ", 1)[-1]))
        return None
    notebooks[rel] = src
    errors.extend(ParseError(rel, line, message) for line, message in src.notes)
    return src.text.encode("utf-8")


def annotate(analysis: Analysis, notebooks: dict[str, NotebookSource]) -> None:
    """Give every report and finding located in a notebook its cell location (JSON key ``cell``); skipped cells
    are already named in their ``ParseError`` messages."""
    if not notebooks:
        return
    for report in analysis.functions:
        src = notebooks.get(report.file)
        if src is not None:
            loc = src.locate(report.line)
            report.cell = loc.to_json() if loc is not None else None
        for finding in report.findings:
            fsrc = notebooks.get(finding.file or report.file)
            if fsrc is not None:
                floc = fsrc.locate(finding.line)
                finding.cell = floc.to_json() if floc is not None else None


def where(file: str, line: int, cell: dict[str, object] | None) -> str:
    """``file:line`` for a module, ``nb.ipynb[cell 3]:5`` (cell number from 1, line in the cell) for a notebook."""
    if cell:
        index = cell.get("index")
        return f"{file}[cell {index + 1 if isinstance(index, int) else '?'}]:{cell.get('line')}"
    return f"{file}:{line}"
