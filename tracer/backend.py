"""The one interface of the tracer's two cores, so the bootstrap never asks which one it holds.

``sysmon`` (Python 3.12+, ``sys.monitoring``) and ``importhook`` (3.10/3.11, project files compiled with hooks) see
the same things by different mechanisms; everything outside them (the recorder, the shard, fork handling) talks to
this Protocol only.
"""

from __future__ import annotations

import sys
from typing import Protocol

from hybridize.tracer.state import Recorder


class TracerBackend(Protocol):
    """A started core feeding one :class:`Recorder`."""

    def measure_lines(self) -> None:
        """Also record which lines of project functions run (the shard's ``coverage``)."""

    def executed_lines(self) -> dict[str, list[int]]:
        """Executed lines per project file, relative to the root."""

    def after_fork(self) -> None:
        """Drop the parent's per-thread call stacks in a forked child (its calls never return here)."""


def start_backend(rec: Recorder) -> TracerBackend | None:
    """Start the core this Python supports; None (nothing installed) when it cannot start."""
    if sys.version_info >= (3, 12):
        from hybridize.tracer.sysmon import Monitor

        mon = Monitor(rec)
        return mon if mon.start() else None
    from hybridize.tracer.importhook import install

    return install(rec)
