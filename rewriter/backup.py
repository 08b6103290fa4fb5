"""Backups, the write of edited files, and undo: the part of an apply that touches the user's files.

Originals are saved under ``<data dir>/backups/NNNN/`` (with a manifest of before/after hashes and modes) before
the first byte is written, every step is journalled (``journal.py``), and a failure or Ctrl-C while writing puts
back what was already written. ``undo_last`` restores the last apply byte for byte and refuses, changing nothing,
when a file was edited since.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.lock import exclusive as _lock
from hybridize.plan import write_text_atomic
from hybridize.planfile import check_manifest

from . import journal
from .source import resolve_inside, sha256_bytes, write_bytes_atomic

BACKUP_DIR = "backups"
LOCK_FILE = "apply.lock"


@dataclass
class FileWork:
    """One file to write: where it lives, its bytes before and after, its permission bits."""

    rel: str
    path: Path
    original: bytes
    new: bytes
    mode: int


def exclusive(data_dir: Path) -> contextlib.AbstractContextManager[None]:
    """One apply/undo at a time per data dir."""
    return _lock(data_dir, LOCK_FILE, "hybridize apply")


def _next_backup_dir(data_dir: Path) -> Path:
    base = data_dir / BACKUP_DIR
    base.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in base.iterdir() if p.name.isdigit()]
    numbers += [int(p.name.split("-")[-1]) for p in base.iterdir() if p.name.startswith("undone-")
                and p.name.split("-")[-1].isdigit()]
    return base / f"{max(numbers, default=0) + 1:04d}"


def _save_backup(root: Path, data_dir: Path, work: list[FileWork], digest: str, ids: list[int]) -> Path:
    """The originals and the manifest, journalled; on an OSError nothing is left behind and nothing was changed."""
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
    return folder


def write_with_backup(root: Path, data_dir: Path, work: list[FileWork], digest: str, ids: list[int]) -> str:
    """Back up, journal, then replace the files; any failure or interrupt restores the ones already written."""
    folder = _save_backup(root, data_dir, work, digest, ids)
    done: list[FileWork] = []
    current: FileWork | None = None
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


def write_edited(root: Path, data_dir: Path, edited: dict[Path, tuple[bytes, bytes]]) -> str:
    """Write edits made outside a plan (``hybridize extract --write``: path -> (the bytes the edit was made from,
    the new bytes)) with the same lock, backup and ``apply --undo``; returns the backup folder. A file that
    changed since it was read is refused, nothing written."""
    with exclusive(data_dir):
        work = [FileWork(p.resolve().relative_to(root.resolve()).as_posix(), p, old, new,
                         stat.S_IMODE(p.stat().st_mode)) for p, (old, new) in edited.items()]
        for w in work:
            if w.path.read_bytes() != w.original:
                raise HybridizeError(f"{w.rel} changed while it was being edited; nothing was written")
        return write_with_backup(root, data_dir, work, "", [])


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
    with exclusive(data_dir):
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
        original = journal.backed_up(folder, rel, info["before"], "nothing was restored")
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
