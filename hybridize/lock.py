"""One writer per data dir: an OS advisory lock, so a crashed run leaves nothing to clean up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hybridize.errors import HybridizeError


@contextmanager
def exclusive(data_dir: Path, name: str, what: str) -> Iterator[None]:
    """Hold ``<data_dir>/<name>`` locked for the block; a second holder gets a one-line error naming ``what``
    (``hybridize profile``). Without ``fcntl`` (Windows) the block runs unguarded."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks
        yield
        return
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fh = open(data_dir / name, "a+b")  # held for the whole block
    except OSError as exc:
        raise HybridizeError(f"cannot use data dir {data_dir}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise HybridizeError(f"another `{what}` is running on {data_dir}; try again when it is done") from None
        yield
    finally:
        fh.close()
