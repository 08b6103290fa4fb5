"""Helpers: notebooks written in nbformat's own JSON layout (what Jupyter, nbconvert and papermill write)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def code(source: str, cell_id: str, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {},
            "outputs": outputs or [], "source": source.splitlines(keepends=True)}


def markdown(source: str, cell_id: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source.splitlines(keepends=True)}


def notebook_bytes(cells: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> bytes:
    nb = {"cells": cells, "metadata": metadata or {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                   "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    return (json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def write_notebook(path: Path, cells: list[dict[str, Any]]) -> bytes:
    data = notebook_bytes(cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data
