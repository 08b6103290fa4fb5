"""Where a plan's notebook functions are, as their user sees them: the cell and the line inside it.

Plans name a notebook function by its line in the notebook's virtual module (what the static analysis and the
tracer share); nobody can find line 37 of a ``.ipynb``. Every report format shows ``nb.ipynb[cell 6]:3`` instead
(as ``hybridize functions`` does), and the JSON report adds the cell's index, id and line. Each notebook is read
once per rendering; a notebook that cannot be read falls back to ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hybridize.notebook import Locator, is_notebook
from hybridize.plan import Plan


class Places:
    """``file:line`` texts and cell records for one plan's rendering."""

    def __init__(self, plan: Plan) -> None:
        self._locator = Locator(Path(plan.project_root or "."))

    def where(self, file: str, line: int) -> str:
        return self._locator.where(file, line) if is_notebook(file) else f"{file}:{line}"

    def cell(self, file: str, line: int) -> dict[str, Any] | None:
        loc = self._locator.cell(file, line) if is_notebook(file) else None
        return loc.to_json() if loc is not None else None


def with_cells(plan: Plan, data: dict[str, Any]) -> dict[str, Any]:
    """The plan's JSON document with ``cell`` added to each notebook recommendation and rejection (reports only:
    the saved plan stays as the planner wrote it)."""
    places = Places(plan)
    for key in ("recommendations", "rejected"):
        for entry in data.get(key) or []:
            cell = places.cell(str(entry.get("file", "")), int(entry.get("line") or 0))
            if cell is not None:
                entry["cell"] = cell
    return data
