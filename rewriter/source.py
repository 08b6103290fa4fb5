"""Byte-exact reading and atomic writing of the user's source files.

``hybridize.fileio.write_text_atomic`` writes UTF-8 text; source files must come back in their own
encoding, newline style and permission bits, so the rewriter works on bytes end to end (libcst parses
bytes, honours PEP 263 cookies and BOMs, and renders the module back to the same encoding).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from hybridize.errors import HybridizeError
from hybridize.fileio import write_bytes_atomic as write_bytes_atomic  # re-exported for apply


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resolve_inside(root: Path, rel: str) -> Path:
    """The real path of ``rel`` under ``root``; refuses absolute paths, ``..`` and symlinks that leave the root."""
    root_real = root.resolve()
    candidate = Path(rel)
    if not rel or candidate.is_absolute():
        full = candidate
    else:
        full = root_real / candidate
    real = full.resolve()
    if real != root_real and root_real not in real.parents:
        raise HybridizeError(f"{rel}: outside the project root {root_real}, refusing to touch it")
    return real


def check_writable(path: Path) -> None:
    """Both the file and its folder must be writable: the atomic write creates a sibling and renames it."""
    if not path.is_file():
        raise HybridizeError(f"{path}: not a file")
    if not os.access(path, os.W_OK):
        raise HybridizeError(f"{path}: file is not writable")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise HybridizeError(f"{path.parent}: folder is not writable (needed for an atomic write)")
