"""Apply a plan's recommendations to the source: select, check, edit, back up, write; and undo.

The user's source is the one thing hybridize must never damage, so every recommendation passes the same
gates before anything is written: the file is inside the project root, exists, is writable, still has the
hash the plan was computed from (or one this rewriter produced from it), parses, and still holds the
function. A recommendation that fails a gate is refused with a one-line reason; the others are applied
(or, with ``strict``, none is). Originals are saved under ``<data dir>/backups/NNNN/`` before the first
byte is written, and ``undo_last`` restores them exactly.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import shutil
import stat
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import libcst as cst

from hybridize.errors import HybridizeError
from hybridize.identity import FunctionId
from hybridize.lock import exclusive
from hybridize.plan import Plan, Recommendation, write_text_atomic
from hybridize.planfile import check_manifest

from . import edits, journal
from . import notebook as nbedit
from .source import check_writable, resolve_inside, sha256_bytes, write_bytes_atomic

BACKUP_DIR = "backups"
STATE_FILE = "rewriter-state.json"
LOCK_FILE = "apply.lock"

Status = Literal["applied", "unchanged", "refused"]


@dataclass
class Outcome:
    """What happened to one recommendation."""

    id: int
    function: str
    file: str
    action: str
    status: Status
    code: str = ""  # stable refusal code ("stale", "function-missing", "parse-error", ...); "" otherwise
    message: str = ""

    def line(self, dry_run: bool = False) -> str:
        head = f"#{self.id} {self.action} {self.function} ({self.file})"
        label = {"applied": "would apply" if dry_run else "applied", "unchanged": "unchanged", "refused": "refused"}
        return f"{label[self.status]:<9} {head}: {self.message}"


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


@dataclass
class _FileWork:
    rel: str
    path: Path
    original: bytes
    new: bytes
    mode: int


def _refuse(rec: Recommendation, code: str, message: str) -> Outcome:
    return Outcome(rec.id, rec.function, rec.file, rec.action, "refused", code, message)


def _edit_file(module: cst.Module, rec: Recommendation) -> tuple[cst.Module, Outcome]:
    if rec.action == "extract":
        return _extract(module, rec)
    try:
        _, qualname = FunctionId.parse_name(rec.function)
    except ValueError as exc:
        return module, _refuse(rec, "bad-function", str(exc))
    try:
        if rec.action == "convert":
            out = edits.convert(module, qualname, rec.line, rec.settings, rec.decorator)
        elif rec.action == "tune":
            out = edits.tune(module, qualname, rec.line, rec.settings, rec.decorator)
        elif rec.action == "dehybridize":
            out = edits.dehybridize(module, qualname, rec.line)
        else:
            return module, _refuse(rec, "bad-action", f"unknown action {rec.action!r}")
    except edits.EditError as exc:
        return module, _refuse(rec, exc.code, str(exc))
    except Exception as exc:  # a rewriter bug must cost one recommendation, never the user's file
        return module, _refuse(rec, "internal", f"rewriter error ({type(exc).__name__}: {exc}); please report it")
    status: Status = "applied" if out.changed else "unchanged"
    note = out.note + (" (and `import tensorflow`)" if out.import_added else "")
    return out.module, Outcome(rec.id, rec.function, rec.file, rec.action, status, "", note)


def _extract(module: cst.Module, rec: Recommendation) -> tuple[cst.Module, Outcome]:
    from .extract import extract_planned

    try:
        new, note, imported = extract_planned(module, rec)
    except edits.EditError as exc:
        return module, _refuse(rec, exc.code, str(exc))
    except Exception as exc:  # a rewriter bug must cost one recommendation, never the user's file
        return module, _refuse(rec, "internal", f"rewriter error ({type(exc).__name__}: {exc}); please report it")
    note += " (and `import tensorflow`)" if imported else ""
    return new, Outcome(rec.id, rec.function, rec.file, rec.action, "applied", "", note)


def _prepare(root: Path, plan: Plan, recs: list[Recommendation], derived: dict[str, list[str]], check_write: bool
             ) -> tuple[list[Outcome], list[_FileWork]]:
    outcomes: list[Outcome] = []
    work: list[_FileWork] = []
    for rel, path, file_recs in _group_by_file(root, recs, outcomes):
        def refuse_all(code: str, message: str, file_recs: list[Recommendation] = file_recs) -> None:
            outcomes.extend(_refuse(r, code, message) for r in file_recs)

        if not path.is_file():
            refuse_all("file-missing", f"{rel}: file no longer exists")
            continue
        try:
            original = path.read_bytes()
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            refuse_all("unreadable", f"{rel}: cannot read: {exc.strerror}")
            continue
        spellings = {r.file for r in file_recs}
        expected = {plan.file_hashes.get(s) for s in spellings}
        current = sha256_bytes(original)
        if None in expected:
            refuse_all("no-hash", f"{rel}: the plan records no hash for this file, cannot tell whether it changed")
            continue
        norm = path.relative_to(root.resolve()).as_posix()
        if any(current != e and current not in derived.get(norm, []) for e in expected):
            refuse_all("stale", f"{rel}: changed since the plan was made (run `hybridize profile` again)")
            continue
        if check_write:
            try:
                check_writable(path)
            except HybridizeError as exc:
                refuse_all("not-writable", str(exc))
                continue
        nb: nbedit.NotebookText | None = None
        try:
            nb = nbedit.to_module(original, rel) if nbedit.is_notebook(rel) else None
            module = cst.parse_module(nb.module if nb is not None else original)
        except nbedit.NotebookEditError as exc:
            refuse_all("notebook", str(exc))
            continue
        except cst.ParserSyntaxError as exc:
            refuse_all("parse-error", f"{rel}: does not parse (line {exc.raw_line}): {exc.message}")
            continue
        except Exception as exc:  # libcst raises plain errors for undecodable bytes
            refuse_all("parse-error", f"{rel}: cannot be read as Python source: {exc}")
            continue
        # extractions first: their regions are the plan's line numbers; the other edits find functions by name
        for rec in sorted(file_recs, key=lambda r: r.action != "extract"):
            module, outcome = _edit_file(module, rec)
            outcomes.append(outcome)
        new = module.bytes
        if new != (nb.module if nb is not None else original):
            try:
                cst.parse_module(new)  # never write something we cannot read back
                new = nbedit.from_module(nb, new, rel) if nb is not None else new  # only the edited cells change
            except Exception as exc:  # pragma: no cover - a rewriter bug, refuse rather than damage
                for o in outcomes:
                    if o.file == rel and o.status == "applied":
                        o.status, o.code, o.message = "refused", "internal", f"edit produced invalid source: {exc}"
                continue
            # Backups and undo key on the real path under the root, never on the plan's spelling of it
            # (an absolute or ``..`` path in the plan must not steer where a backup is written).
            work.append(_FileWork(norm, path, original, new, mode))
    return outcomes, work


def _group_by_file(root: Path, recs: list[Recommendation], outcomes: list[Outcome]
                   ) -> list[tuple[str, Path, list[Recommendation]]]:
    """The recommendations per real file: ``./a.py`` and ``a.py`` are one file, edited once with both (two
    groups would each edit the original and the second write would drop the first's decorator). A path that
    leaves the root is refused here."""
    groups: dict[Path, tuple[str, list[Recommendation]]] = {}
    for rec in recs:
        try:
            path = resolve_inside(root, rec.file)
        except HybridizeError as exc:
            outcomes.append(_refuse(rec, "outside-root", str(exc)))
            continue
        groups.setdefault(path, (rec.file, []))[1].append(rec)
    return [(rel, path, group) for path, (rel, group) in groups.items()]


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


def _exclusive(data_dir: Path) -> contextlib.AbstractContextManager[None]:
    """One apply/undo at a time per data dir."""
    return exclusive(data_dir, LOCK_FILE, "hybridize apply")


def apply_plan(root: Path, data_dir: Path, plan: Plan, *, ids: list[int] | None = None, top: int | None = None,
               diff_only: bool = False, strict: bool = False) -> ApplyResult:
    """Apply the selected recommendations; see the module docstring for the gates and the backup."""
    if diff_only:
        if journal.journal_path(data_dir).is_file():
            raise HybridizeError("an interrupted apply is pending: run `hybridize apply --undo` (or `hybridize apply`) "
                                 "to roll it back first")
        return _apply_plan(root, data_dir, plan, ids, top, diff_only, strict)
    with _exclusive(data_dir):
        recovered = journal.recover(root, data_dir)
        result = _apply_plan(root, data_dir, plan, ids, top, diff_only, strict)
        result.recovered = recovered
        return result


def _apply_plan(root: Path, data_dir: Path, plan: Plan, ids: list[int] | None, top: int | None, diff_only: bool,
                strict: bool) -> ApplyResult:
    recs = select(plan, ids, top)
    digest = plan_digest(plan)
    derived = _load_state(data_dir, digest)
    outcomes, work = _prepare(root, plan, recs, derived, check_write=not diff_only)
    order = {r.id: i for i, r in enumerate(recs)}
    outcomes.sort(key=lambda o: order.get(o.id, 0))
    result = ApplyResult(outcomes=outcomes)
    result.diff = "".join(nbedit.cell_diff(w.rel, w.original, w.new) if nbedit.is_notebook(w.rel) else
                          unified_diff(w.rel, w.original, w.new, _encoding_of(w.original)) for w in work)
    result.changed_files = [w.rel for w in work]
    if diff_only or not work or (strict and result.refused):
        return result
    result.backup = _write_with_backup(root, data_dir, work, digest, [r.id for r in recs])
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


def _next_backup_dir(data_dir: Path) -> Path:
    base = data_dir / BACKUP_DIR
    base.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in base.iterdir() if p.name.isdigit()]
    numbers += [int(p.name.split("-")[-1]) for p in base.iterdir() if p.name.startswith("undone-")
                and p.name.split("-")[-1].isdigit()]
    return base / f"{max(numbers, default=0) + 1:04d}"


def _write_with_backup(root: Path, data_dir: Path, work: list[_FileWork], digest: str, ids: list[int]) -> str:
    """Back up, journal, then replace the files; any failure or interrupt restores the ones already written."""
    folder: Path | None = None
    try:
        folder = _next_backup_dir(data_dir)
        journal.begin(data_dir, folder)
        for w in work:
            write_bytes_atomic_mkdir(folder / "files" / w.rel, w.original)
            journal.step(f"backup {w.rel}")
        manifest = {
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "root": str(root.resolve()),
            "plan_digest": digest,
            "recommendations": ids,
            "files": {w.rel: {"before": sha256_bytes(w.original), "after": sha256_bytes(w.new), "mode": w.mode}
                      for w in work},
        }
        write_text_atomic(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
        journal.step("manifest")
    except OSError as exc:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        journal.journal_path(data_dir).unlink(missing_ok=True)
        raise HybridizeError(f"cannot save backups under {data_dir}: {exc.strerror}; nothing was changed") from None
    done: list[_FileWork] = []
    current: _FileWork | None = None
    try:
        for current in work:
            journal.step(f"replace {current.rel}")
            write_bytes_atomic(current.path, current.new, current.mode)
            done.append(current)
            journal.step(f"replaced {current.rel}")
    except BaseException as exc:  # OSError, or Ctrl-C: put back what was written; the journal covers a crash here
        for w in done:
            write_bytes_atomic(w.path, w.original, w.mode)
        shutil.rmtree(folder, ignore_errors=True)
        journal.journal_path(data_dir).unlink(missing_ok=True)
        if isinstance(exc, OSError) and current is not None:
            raise HybridizeError(f"writing {current.rel} failed ({exc.strerror}); every file was restored") from None
        raise
    return str(folder)


def write_bytes_atomic_mkdir(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data, 0o600)


def _live_backups(data_dir: Path) -> list[Path]:
    base = data_dir / BACKUP_DIR
    if not base.is_dir():
        return []
    return sorted((p for p in base.iterdir() if p.name.isdigit() and (p / "manifest.json").is_file()),
                  key=lambda p: int(p.name))


def undo_last(root: Path, data_dir: Path, *, force: bool = False,
              notify: Callable[[str], None] | None = None) -> list[str]:
    """Restore the files of the last apply byte for byte; returns their paths relative to the root.

    Refuses (changing nothing) when a file was edited after the apply, unless ``force``. An interrupted apply
    is rolled back instead; ``notify`` hears about the files that rollback had to leave as they are.
    """
    if not _live_backups(data_dir) and not journal.journal_path(data_dir).is_file():
        raise HybridizeError(f"nothing to undo: no apply recorded under {data_dir / BACKUP_DIR}")
    with _exclusive(data_dir):
        recovered = journal.recover(root, data_dir)
        if recovered is not None:  # the interrupted apply was the last one: rolling it back is the undo
            for line in recovered.lines():
                if notify is not None and " kept " in line:
                    notify(line)
            return recovered.restored
        return _undo_last(root, data_dir, force)


def _undo_last(root: Path, data_dir: Path, force: bool) -> list[str]:
    backups = _live_backups(data_dir)
    if not backups:
        raise HybridizeError(f"nothing to undo: no apply recorded under {data_dir / BACKUP_DIR}")
    folder = backups[-1]
    try:
        raw = json.loads((folder / "manifest.json").read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        raise HybridizeError(f"backup {folder} is damaged (manifest unreadable); restore by hand from it") from None
    files: dict[str, dict[str, Any]] = check_manifest(raw, str(folder / "manifest.json"))["files"]
    restores: list[tuple[str, Path, bytes, int]] = []
    for rel, info in files.items():
        path = resolve_inside(root, rel)
        try:
            original = (folder / "files" / rel).read_bytes()
        except OSError:
            raise HybridizeError(f"backup {folder} lacks {rel}; nothing was restored") from None
        if sha256_bytes(original) != info["before"]:
            raise HybridizeError(f"backup of {rel} in {folder} does not match its recorded hash; nothing was restored")
        current = path.read_bytes() if path.is_file() else None
        if current is not None and sha256_bytes(current) == info["before"]:
            continue  # already restored (an undo interrupted half way): nothing to do, nothing to lose
        if not force and (current is None or sha256_bytes(current) != info["after"]):
            raise HybridizeError(f"{rel} changed since that apply; undo would lose those edits (use --force to restore anyway)")
        restores.append((rel, path, original, info["mode"]))
    for _, path, original, mode in restores:
        write_bytes_atomic(path, original, mode)
    folder.rename(folder.parent / f"undone-{folder.name}")
    return [rel for rel, *_ in restores]


def verify(root: Path, data_dir: Path, command: list[str], timeout_s: float | None = None) -> int:
    """Run ``command`` in the project root; if it fails, undo the apply that was just made. Returns its status."""
    try:
        proc = subprocess.run(command, cwd=root, timeout=timeout_s, check=False)
        rc = proc.returncode
    except FileNotFoundError:
        rc = 127
    except subprocess.TimeoutExpired:
        rc = 124
    if rc != 0:
        undo_last(root, data_dir)
    return rc


def write_edited(root: Path, data_dir: Path, edited: dict[Path, tuple[bytes, bytes]]) -> str:
    """Write edits made outside a plan (``hybridize extract --write``: path -> (the bytes the edit was made from,
    the new bytes)) with the same lock, backup and ``apply --undo``; returns the backup folder. A file that
    changed since it was read is refused, nothing written."""
    with _exclusive(data_dir):
        work = [_FileWork(p.resolve().relative_to(root.resolve()).as_posix(), p, old, new,
                          stat.S_IMODE(p.stat().st_mode)) for p, (old, new) in edited.items()]
        for w in work:
            if w.path.read_bytes() != w.original:
                raise HybridizeError(f"{w.rel} changed while it was being edited; nothing was written")
        return _write_with_backup(root, data_dir, work, "", [])
