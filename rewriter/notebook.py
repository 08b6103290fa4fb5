"""Editing notebooks: the rewriter edits a notebook's virtual module, and only the changed cells go back.

``apply`` treats an ``.ipynb`` like any source file (same gates, backups, undo, staleness hashes): this
module turns its bytes into the virtual module the edits work on (``hybridize.notebook``), and turns the
edited module back into notebook bytes. The edited module is compared line by line with the original;
lines that did not change come back as the cell's original text (magics included), new lines go into the
cell they were inserted in. Only the ``source`` of changed cells is replaced: outputs, metadata, ids and
every other byte stay as they were, because the JSON is written in the layout the file already had
(nbformat's: indent 1, sorted keys, non-ASCII kept, final newline; or another one that reproduces it).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from hybridize.notebook import NotebookSource, build_source, cell_source, is_notebook, parse_notebook, split_lines

__all__ = ["NotebookEditError", "NotebookText", "cell_diff", "from_module", "is_notebook", "to_module"]



class NotebookEditError(Exception):
    """The notebook cannot be edited safely (reason in the message); nothing is written."""


@dataclass(frozen=True)
class Layout:
    indent: int | None
    sort_keys: bool
    ensure_ascii: bool
    final_newline: bool

    def dumps(self, nb: Any) -> str:
        text = json.dumps(nb, indent=self.indent, sort_keys=self.sort_keys, ensure_ascii=self.ensure_ascii)
        return text + ("\n" if self.final_newline else "")


# nbformat's own layout first (Jupyter, nbconvert, papermill), then what other editors write.
LAYOUTS = [Layout(i, s, a, n) for i in (1, 2, 4, None) for s in (True, False) for a in (False, True) for n in (True, False)]


@dataclass
class NotebookText:
    """A notebook being edited: its JSON, its layout and its virtual module."""

    nb: dict[str, Any]
    layout: Layout
    source: NotebookSource

    @property
    def module(self) -> bytes:
        return self.source.text.encode("utf-8")


def detect_layout(text: str, nb: Any) -> Layout | None:
    """The JSON layout that writes ``nb`` back to exactly ``text`` (None: none of the known ones)."""
    for layout in LAYOUTS:
        if layout.dumps(nb) == text:
            return layout
    return None


def to_module(original: bytes, name: str) -> NotebookText:
    """Parse the notebook and check it can be written back byte for byte before anything is edited."""
    try:
        text = original.decode("utf-8")
    except UnicodeDecodeError:
        raise NotebookEditError(f"{name}: not UTF-8, not a notebook") from None
    try:
        nb = parse_notebook(text, name)
    except Exception as exc:
        raise NotebookEditError(str(exc)) from None
    if nb.get("nbformat", 4) < 4 or "worksheets" in nb:
        raise NotebookEditError(f"{name}: an nbformat 3 notebook; save it as nbformat 4 (open and save in Jupyter) first")
    layout = detect_layout(text, json.loads(text))
    if layout is None:
        raise NotebookEditError(f"{name}: its JSON layout is not one hybridize can reproduce byte for byte; "
                                "save it once in Jupyter (or with nbformat) and profile again")
    return NotebookText(nb, layout, build_source(nb))


def from_module(work: NotebookText, edited: bytes, name: str) -> bytes:
    """The notebook bytes with the cells the edits changed; the rest is byte-identical."""
    old = split_lines(work.source.text)
    new = split_lines(edited.decode("utf-8"))
    # which cell each line of the virtual module belongs to, and its line in that cell
    owner: list[tuple[int, int | None]] = []  # (cell index, line in cell from 0; None for the marker)
    originals: dict[int, list[str]] = {}
    for span in work.source.cells:
        owner.append((span.index, None))
        lines = split_lines(work.source.sources[span.index])
        originals[span.index] = lines
        owner.extend((span.index, j) for j in range(len(lines)))
    if len(owner) != len(old):
        raise NotebookEditError(f"{name}: internal line map mismatch; nothing was changed")
    out: dict[int, list[str]] = {idx: [] for idx in originals}
    if not work.source.cells:
        raise NotebookEditError(f"{name}: has no code cells")
    current = work.source.cells[0].index
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal" and any(owner[i][1] is None for i in range(i1, i2)):
            raise NotebookEditError(f"{name}: an edit touched a cell boundary; refusing to guess where it belongs")
        if op == "equal":
            for i in range(i1, i2):
                cell, j = owner[i]
                current = cell
                if j is not None:
                    out[cell].append(originals[cell][j])
            continue
        if i1 < i2:
            current = owner[i1][0]
        out[current].extend(new[j1:j2])
    cells = work.nb["cells"]
    changed = False
    for idx, lines in out.items():
        if lines == originals[idx]:
            continue
        before = cell_source(cells[idx])
        text = "\n".join(lines) + ("\n" if before.endswith(("\n", "\r")) else "")
        raw = cells[idx].get("source")
        cells[idx]["source"] = text.splitlines(keepends=True) if isinstance(raw, list) else text
        changed = True
    if not changed:
        return _dump(work)
    result = _dump(work)
    check = build_source(parse_notebook(result, name))
    if any(span.skipped and not prior.skipped for span, prior in zip(check.cells, work.source.cells, strict=False)):
        raise NotebookEditError(f"{name}: an edited cell no longer parses; nothing was changed")
    return result


def _dump(work: NotebookText) -> bytes:
    return work.layout.dumps(work.nb).encode("utf-8")


def cell_diff(rel: str, before: bytes, after: bytes) -> str:
    """A unified diff per changed code cell, headed ``a/nb.ipynb [cell N id=...]`` (N from 1; the JSON around it is
    unchanged)."""
    try:
        old_cells = json.loads(before).get("cells", [])
        new_cells = json.loads(after).get("cells", [])
    except (ValueError, AttributeError):
        return ""
    out: list[str] = []
    for idx, (a, b) in enumerate(zip(old_cells, new_cells, strict=False)):
        sa, sb = cell_source(a), cell_source(b)
        if sa == sb:
            continue
        label = f"[cell {idx + 1}" + (f" id={a['id']}" if isinstance(a.get("id"), str) else "") + "]"
        lines_a = [ln + "\n" for ln in split_lines(sa)]
        lines_b = [ln + "\n" for ln in split_lines(sb)]
        out.extend(difflib.unified_diff(lines_a, lines_b, f"a/{rel} {label}", f"b/{rel} {label}"))
    return "".join(out)
