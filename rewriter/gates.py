"""The gates every recommendation passes before anything is written, and the edit of each file that passes.

A file is edited only when it is inside the project root, exists, is readable and writable, still has the hash
the plan was computed from (or one this rewriter produced from it), and parses; a recommendation that fails a
gate, or whose edit fails, is refused with a stable code and a one-line reason, and costs no other
recommendation its edit.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import libcst as cst

from hybridize.errors import HybridizeError
from hybridize.identity import FunctionId
from hybridize.plan import Plan, Recommendation

from . import edits
from . import notebook as nbedit
from .backup import FileWork
from .source import check_writable, resolve_inside, sha256_bytes

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


class _Refused(Exception):
    """A gate one file failed: every recommendation for that file is refused with ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def refuse(rec: Recommendation, code: str, message: str) -> Outcome:
    return Outcome(rec.id, rec.function, rec.file, rec.action, "refused", code, message)


def prepare(root: Path, plan: Plan, recs: list[Recommendation], derived: dict[str, list[str]], check_write: bool
            ) -> tuple[list[Outcome], list[FileWork]]:
    """Every recommendation's outcome, and the files whose edits passed the gates (nothing is written here)."""
    outcomes: list[Outcome] = []
    work: list[FileWork] = []
    for rel, path, file_recs in group_by_file(root, recs, outcomes):
        try:
            original, mode, norm = _read_checked(root, plan, rel, path, file_recs, derived, check_write)
            module, nb = _parse(original, rel)
        except _Refused as exc:
            outcomes.extend(refuse(r, exc.code, str(exc)) for r in file_recs)
            continue
        # extractions first: their regions are the plan's line numbers; the other edits find functions by name
        for rec in sorted(file_recs, key=lambda r: r.action != "extract"):
            module, outcome = edit_one(module, rec)
            outcomes.append(outcome)
        if module.bytes == (nb.module if nb is not None else original):
            continue
        new = _checked_output(module.bytes, nb, rel, outcomes)
        if new is not None:
            # Backups and undo key on the real path under the root, never on the plan's spelling of it
            # (an absolute or ``..`` path in the plan must not steer where a backup is written).
            work.append(FileWork(norm, path, original, new, mode))
    return outcomes, work


def group_by_file(root: Path, recs: list[Recommendation], outcomes: list[Outcome]
                  ) -> list[tuple[str, Path, list[Recommendation]]]:
    """The recommendations per real file: ``./a.py`` and ``a.py`` are one file, edited once with both (two
    groups would each edit the original and the second write would drop the first's decorator). A path that
    leaves the root is refused here."""
    groups: dict[Path, tuple[str, list[Recommendation]]] = {}
    for rec in recs:
        try:
            path = resolve_inside(root, rec.file)
        except HybridizeError as exc:
            outcomes.append(refuse(rec, "outside-root", str(exc)))
            continue
        groups.setdefault(path, (rec.file, []))[1].append(rec)
    return [(rel, path, group) for path, (rel, group) in groups.items()]


def _read_checked(root: Path, plan: Plan, rel: str, path: Path, file_recs: list[Recommendation],
                  derived: dict[str, list[str]], check_write: bool) -> tuple[bytes, int, str]:
    """The file's bytes, permission bits and path relative to the root, once it passes the file gates."""
    if not path.is_file():
        raise _Refused("file-missing", f"{rel}: file no longer exists")
    try:
        original = path.read_bytes()
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise _Refused("unreadable", f"{rel}: cannot read: {exc.strerror}") from None
    expected = {plan.file_hashes.get(r.file) for r in file_recs}
    current = sha256_bytes(original)
    if None in expected:
        raise _Refused("no-hash", f"{rel}: the plan records no hash for this file, cannot tell whether it changed")
    norm = path.relative_to(root.resolve()).as_posix()
    if any(current != e and current not in derived.get(norm, []) for e in expected):
        raise _Refused("stale", f"{rel}: changed since the plan was made (run `hybridize profile` again)")
    if check_write:
        try:
            check_writable(path)
        except HybridizeError as exc:
            raise _Refused("not-writable", str(exc)) from None
    return original, mode, norm


def _parse(original: bytes, rel: str) -> tuple[cst.Module, nbedit.NotebookText | None]:
    """The file as one libcst module (a notebook's code cells as its virtual module)."""
    try:
        nb = nbedit.to_module(original, rel) if nbedit.is_notebook(rel) else None
        return cst.parse_module(nb.module if nb is not None else original), nb
    except nbedit.NotebookEditError as exc:
        raise _Refused("notebook", str(exc)) from None
    except cst.ParserSyntaxError as exc:
        raise _Refused("parse-error", f"{rel}: does not parse (line {exc.raw_line}): {exc.message}") from None
    except Exception as exc:  # libcst raises plain errors for undecodable bytes
        raise _Refused("parse-error", f"{rel}: cannot be read as Python source: {exc}") from None


def _checked_output(new: bytes, nb: nbedit.NotebookText | None, rel: str, outcomes: list[Outcome]) -> bytes | None:
    """The bytes to write, once they parse back; None (the file's applied outcomes refused) otherwise."""
    try:
        cst.parse_module(new)  # never write something we cannot read back
        return nbedit.from_module(nb, new, rel) if nb is not None else new  # only the edited cells change
    except Exception as exc:  # pragma: no cover - a rewriter bug, refuse rather than damage
        for o in outcomes:
            if o.file == rel and o.status == "applied":
                o.status, o.code, o.message = "refused", "internal", f"edit produced invalid source: {exc}"
        return None


def edit_one(module: cst.Module, rec: Recommendation) -> tuple[cst.Module, Outcome]:
    """One recommendation's edit of ``module``; any failure refuses this recommendation and leaves ``module``."""
    if rec.action == "extract":
        return _extract(module, rec)
    try:
        _, qualname = FunctionId.parse_name(rec.function)
    except ValueError as exc:
        return module, refuse(rec, "bad-function", str(exc))
    try:
        if rec.action == "convert":
            out = edits.convert(module, qualname, rec.line, rec.settings, rec.decorator)
        elif rec.action == "tune":
            out = edits.tune(module, qualname, rec.line, rec.settings, rec.decorator)
        elif rec.action == "dehybridize":
            out = edits.dehybridize(module, qualname, rec.line)
        else:
            return module, refuse(rec, "bad-action", f"unknown action {rec.action!r}")
    except edits.EditError as exc:
        return module, refuse(rec, exc.code, str(exc))
    except Exception as exc:  # a rewriter bug must cost one recommendation, never the user's file
        return module, refuse(rec, "internal", f"rewriter error ({type(exc).__name__}: {exc}); please report it")
    status: Status = "applied" if out.changed else "unchanged"
    note = out.note + (" (and `import tensorflow`)" if out.import_added else "")
    return out.module, Outcome(rec.id, rec.function, rec.file, rec.action, status, "", note)


def _extract(module: cst.Module, rec: Recommendation) -> tuple[cst.Module, Outcome]:
    from .extract import extract_planned

    try:
        new, note, imported = extract_planned(module, rec)
    except edits.EditError as exc:
        return module, refuse(rec, exc.code, str(exc))
    except Exception as exc:  # a rewriter bug must cost one recommendation, never the user's file
        return module, refuse(rec, "internal", f"rewriter error ({type(exc).__name__}: {exc}); please report it")
    note += " (and `import tensorflow`)" if imported else ""
    return new, Outcome(rec.id, rec.function, rec.file, rec.action, "applied", "", note)
