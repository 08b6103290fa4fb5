"""Knowing that Ctrl-C happened, not just that a command exited 130.

A traced or trial command runs in its own session, so the launcher catches Ctrl-C, passes SIGINT on and
returns 130 -- which a command may also return by itself. :func:`watch_sigint` records that the SIGINT was
ours (and still raises ``KeyboardInterrupt`` as Python's default handler does), so ``profile`` can stop
instead of planning from a run the user cut short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class SigintSeen:
    hit: bool = False


@contextmanager
def watch_sigint() -> Iterator[SigintSeen]:
    """Within the block, a SIGINT sets ``.hit`` and raises ``KeyboardInterrupt`` (main thread only; elsewhere
    the flag just stays false and Python's handling is unchanged)."""
    seen = SigintSeen()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        seen.hit = True
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)
