"""Work that must run before ``os._exit``: forked workers (``multiprocessing``, pools) end with it and skip
``atexit``, so the tracer's shard and a trial run's results would be lost without it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_before: list[Callable[[], None]] = []
_orig_exit: Callable[[int], Any] | None = None


def before_os_exit(callback: Callable[[], None]) -> None:
    """Run ``callback`` (which must not raise) before the process ends through ``os._exit``; once per callback."""
    global _orig_exit
    if callback not in _before:
        _before.append(callback)
    if _orig_exit is None:
        _orig_exit = os._exit
        original = _orig_exit

        def _exit(status: int) -> Any:
            for fn in list(_before):
                fn()
            return original(status)

        os._exit = _exit
