"""Apply a plan's recommendations to the source: select, check, edit, back up, write; and undo.

The user's source is the one thing hybridize must never damage, so every recommendation passes the same
gates (``gates.py``) before anything is written: the file is inside the project root, exists, is writable,
still has the hash the plan was computed from (or one this rewriter produced from it), parses, and still holds
the function. A recommendation that fails a gate is refused with a one-line reason; the others are applied
(or, with ``strict``, none is). Originals are saved under ``<data dir>/backups/NNNN/`` before the first byte
is written, and ``undo_last`` restores them exactly (``backup.py``). This module selects, keeps the hashes it
produced, and drives the two.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst

from hybridize.errors import HybridizeError
from hybridize.plan import Plan, Recommendation, write_text_atomic
from hybridize.process import run_captured

from . import journal
from . import notebook as nbedit
from .backup import BACKUP_DIR as BACKUP_DIR
from .backup import LOCK_FILE as LOCK_FILE
from .backup import exclusive, write_with_backup
from .backup import undo_last as undo_last
from .backup import write_edited as write_edited
from .gates import Outcome as Outcome
from .gates import Status as Status
from .gates import prepare
from .source import sha256_bytes

STATE_FILE = "rewriter-state.json"


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    diff: str = ""
    changed_files: list[str] = field(default_factory=list)
    written: bool = False
    backup: str | None = None  # the backup folder of this apply (for undo), when something was written
    recovered: journal.Recovery | None = None  # an interrupted earlier apply this run rolled back first

    @property
    def applied(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "applied"]

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    def to_json(self) -> dict[str, Any]:
        return {
            "outcomes": [asdict(o) for o in self.outcomes],
            "changed_files": self.changed_files,
            "written": self.written,
            "backup": self.backup,
            "diff": self.diff,
            "recovered": None if self.recovered is None else asdict(self.recovered),
        }


def select(plan: Plan, ids: Sequence[int] | None, top: int | None) -> list[Recommendation]:
    """The chosen recommendations in rank order: ``ids`` if given, then the first ``top``."""
    recs = sorted(plan.recommendations, key=lambda r: (r.rank, r.id))
    if ids:
        known = {r.id for r in recs}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise HybridizeError(
                f"no recommendation with id {', '.join(map(str, unknown))} in the plan "
                f"(ids: {', '.join(str(r.id) for r in recs) or 'none'})")
        wanted = set(ids)
        recs = [r for r in recs if r.id in wanted]
    if top is not None:
        if top < 1:
            raise HybridizeError("--top must be at least 1")
        recs = recs[:top]
    return recs


def plan_digest(plan: Plan) -> str:
    return sha256_bytes(json.dumps(plan.to_json(), sort_keys=True).encode())


def _load_state(data_dir: Path, digest: str) -> dict[str, list[str]]:
    """Hashes this rewriter produced from the plan's files (so a second apply of the same plan is not "stale")."""
    try:
        data = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("plan_digest") != digest:
        return {}
    derived = data.get("derived", {})
    return {k: list(v) for k, v in derived.items()} if isinstance(derived, dict) else {}


def _save_state(data_dir: Path, digest: str, derived: dict[str, list[str]]) -> None:
    write_text_atomic(data_dir / STATE_FILE, json.dumps({"plan_digest": digest, "derived": derived}, indent=2) + "\n")


def unified_diff(rel: str, before: bytes, after: bytes, encoding: str = "utf-8") -> str:
    """A ``git diff``-style unified diff; CRLF is shown as plain line ends (the file keeps its own)."""
    a = before.decode(encoding, errors="replace").splitlines(keepends=True)
    b = after.decode(encoding, errors="replace").splitlines(keepends=True)
    out: list[str] = []
    for line in difflib.unified_diff(a, b, f"a/{rel}", f"b/{rel}"):
        if line.endswith("\r\n"):
            line = line[:-2] + "\n"
        elif line.endswith("\r"):
            line = line[:-1] + "\n"
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def _encoding_of(data: bytes) -> str:
    try:
        return cst.parse_module(data).encoding
    except Exception:
        return "utf-8"


def apply_plan(root: Path, data_dir: Path, plan: Plan, *, ids: list[int] | None = None, top: int | None = None,
               diff_only: bool = False, strict: bool = False) -> ApplyResult:
    """Apply the selected recommendations; see the module docstring for the gates and the backup."""
    if diff_only:
        if journal.journal_path(data_dir).is_file():
            raise HybridizeError("an interrupted apply is pending: run `hybridize apply --undo` (or `hybridize apply`) "
                                 "to roll it back first")
        return _apply_plan(root, data_dir, plan, ids, top, diff_only, strict)
    with exclusive(data_dir):
        recovered = journal.recover(root, data_dir)
        result = _apply_plan(root, data_dir, plan, ids, top, diff_only, strict)
        result.recovered = recovered
        return result


def _apply_plan(root: Path, data_dir: Path, plan: Plan, ids: list[int] | None, top: int | None, diff_only: bool,
                strict: bool) -> ApplyResult:
    recs = select(plan, ids, top)
    digest = plan_digest(plan)
    derived = _load_state(data_dir, digest)
    outcomes, work = prepare(root, plan, recs, derived, check_write=not diff_only)
    order = {r.id: i for i, r in enumerate(recs)}
    outcomes.sort(key=lambda o: order.get(o.id, 0))
    result = ApplyResult(outcomes=outcomes)
    result.diff = "".join(nbedit.cell_diff(w.rel, w.original, w.new) if nbedit.is_notebook(w.rel) else
                          unified_diff(w.rel, w.original, w.new, _encoding_of(w.original)) for w in work)
    result.changed_files = [w.rel for w in work]
    if diff_only or not work or (strict and result.refused):
        return result
    result.backup = write_with_backup(root, data_dir, work, digest, [r.id for r in recs])
    result.written = True
    for w in work:
        chain = derived.setdefault(w.rel, [])
        for h in (sha256_bytes(w.original), sha256_bytes(w.new)):
            if h not in chain:
                chain.append(h)
    journal.step("state")
    try:
        _save_state(data_dir, digest, derived)
    except OSError:
        pass  # the files are written and backed up; a later apply of this plan will just call them stale
    journal.commit(data_dir)
    return result


def verify(root: Path, data_dir: Path, command: list[str], timeout_s: float | None = None) -> int:
    """Run ``command`` in the project root; if it fails, undo the apply that was just made. Returns its status
    (127 when the program is missing, 124 past ``timeout_s``); Ctrl-C stops it and leaves the apply in place."""
    try:
        rc = run_captured(command, cwd=root, timeout_s=timeout_s, capture=False).status
    except FileNotFoundError:
        rc = 127
    if rc != 0:
        undo_last(root, data_dir)
    return rc
