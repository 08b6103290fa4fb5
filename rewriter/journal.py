"""The apply journal: a multi-file apply is a transaction that a crash, kill -9 or Ctrl-C cannot leave half done.

``<data dir>/apply-journal.json`` names the backup folder of the apply in progress. It is written before the
backups (so before the first source file is replaced) and removed only after every file is written and the
rewriter state saved: that removal is the commit. Whoever takes the apply lock next (``apply`` or
``apply --undo``) and finds a journal rolls the interrupted apply back from its backups: each file still
holding the apply's output gets its original bytes again, files never reached are left alone, stray
temporary files are removed, and a file edited since the crash is left as it is and named.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from hybridize.errors import HybridizeError
from hybridize.fileio import write_bytes_atomic, write_text_atomic
from hybridize.planfile import check_manifest

from .source import resolve_inside, sha256_bytes

JOURNAL_FILE = "apply-journal.json"
BACKUP_DIR = "backups"

# Tests set this to kill or interrupt the process at a named step ("journal", "backup pkg/a.py", "manifest",
# "replace pkg/a.py", "replaced pkg/a.py", "state", "commit"); never set in normal runs.
step_hook: Callable[[str], None] | None = None


def step(name: str) -> None:
    if step_hook is not None:
        step_hook(name)


def journal_path(data_dir: Path) -> Path:
    return data_dir / JOURNAL_FILE


def begin(data_dir: Path, backup: Path) -> None:
    """Record that an apply into ``backup`` is starting (before any backup or source file is written)."""
    doc = {"backup": backup.name, "pid": os.getpid(),
           "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_text_atomic(journal_path(data_dir), json.dumps(doc) + "\n")
    step("journal")


def commit(data_dir: Path) -> None:
    """The apply is complete: drop the journal (the backups stay, for ``apply --undo``)."""
    step("commit")
    journal_path(data_dir).unlink(missing_ok=True)


def temp_siblings(path: Path) -> list[Path]:
    """Temporary files an atomic write of ``path`` leaves when killed between create and rename."""
    try:
        return [p for p in path.parent.glob(f".{path.name}.*.hybridize-tmp") if p.is_file()]
    except OSError:
        return []


def backed_up(folder: Path, rel: str, before: str, advice: str) -> bytes:
    """The copy of ``rel`` saved in the backup ``folder``, checked against the hash recorded before the edit; a
    missing or altered copy is refused with ``advice`` (restoring it would lose the original)."""
    try:
        original = (folder / "files" / rel).read_bytes()
    except OSError:
        raise HybridizeError(f"backup {folder} lacks {rel}; {advice}") from None
    if sha256_bytes(original) != before:
        raise HybridizeError(f"backup of {rel} in {folder} does not match its recorded hash; {advice}")
    return original


@dataclass
class Recovery:
    """What rolling back an interrupted apply did."""

    restored: list[str] = field(default_factory=list)  # files that got their original bytes back
    kept: list[str] = field(default_factory=list)  # files edited since the crash: left as they are

    def lines(self) -> list[str]:
        out = [f"rolled back an interrupted apply: restored {rel}" for rel in self.restored]
        out += [f"rolled back an interrupted apply: kept {rel} (edited since; its original is in the undone backup)"
                for rel in self.kept]
        return out or ["rolled back an interrupted apply (no file had been changed yet)"]


def recover(root: Path, data_dir: Path) -> Recovery | None:
    """Roll back the apply a journal says was interrupted; ``None`` when there is none. Call under the lock."""
    path = journal_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HybridizeError(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
        name = doc["backup"]
        if not isinstance(name, str) or not name.isdigit():
            raise ValueError(name)
    except (ValueError, KeyError, TypeError, RecursionError):
        raise HybridizeError(f"{path} is damaged: restore the files from {data_dir / BACKUP_DIR} by hand, "
                             "then delete it") from None
    folder = data_dir / BACKUP_DIR / name
    recovery = Recovery()
    manifest_file = folder / "manifest.json"
    if not manifest_file.is_file():
        # Interrupted while saving backups: the manifest precedes the first source write, so none was written.
        shutil.rmtree(folder, ignore_errors=True)
        path.unlink(missing_ok=True)
        return recovery
    try:
        manifest = json.loads(manifest_file.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        raise HybridizeError(f"backup {folder} of an interrupted apply is damaged; restore by hand from it") from None
    files = check_manifest(manifest, str(manifest_file))["files"]
    for rel, info in files.items():
        target = resolve_inside(root, rel)
        for tmp in temp_siblings(target):
            tmp.unlink(missing_ok=True)
        try:
            current = sha256_bytes(target.read_bytes())
        except OSError:
            recovery.kept.append(rel)
            continue
        if current == info["before"]:
            continue  # never reached
        if current != info["after"]:
            recovery.kept.append(rel)
            continue
        original = backed_up(folder, rel, info["before"], "restore by hand from it")
        try:
            write_bytes_atomic(target, original, info["mode"])
        except OSError as exc:
            raise HybridizeError(f"rolling back {rel} failed ({exc.strerror}); run the command again") from None
        recovery.restored.append(rel)
    folder.rename(folder.parent / f"undone-{folder.name}")
    path.unlink(missing_ok=True)
    return recovery
