"""The source-reading side of the result oracle: which calls may be replayed eagerly, which draw random numbers.

A converted call is replayed eagerly in the same run (``trial_hook``) only when its source, and its project
callees' sources, show no randomness or state change: replaying such a call would change the program, or
differ by design.
"""

from __future__ import annotations

from pathlib import Path

from hybridize.planner.candidates import Candidate
from hybridize.tracer.cells import module_text

# Source markers of randomness or state changes: replaying such a call would change the program or differ
# by design, so its outputs are not replayed ("inconclusive" instead).
STATEFUL_MARKERS = ("random", "dropout", "Dropout", ".assign", "apply_gradients", "optimizer", ".append(",
                    ".extend(", ".update(", ".add(", "global ", "nonlocal ", "print(", "training", "py_function",
                    "numpy_function", "Variable(", "setattr(", "open(", "yield")
RANDOM_MARKERS = ("tf.random.", "keras.random.", "stateless_random")


class SourceOracle:
    """Reads candidates' source (from the static reports' line ranges) once per planning session."""

    def __init__(self, root: Path, by_name: dict[str, Candidate]) -> None:
        self.root = root
        self.by_name = by_name
        self._replayable: dict[str, str | None] = {}

    def replayable(self, c: Candidate) -> str | None:
        """None when ``c``'s calls can be replayed eagerly without changing the program, else why not: its
        source (or a project callee's) shows randomness or state changes, or there is no source to read."""
        if c.function in self._replayable:
            return self._replayable[c.function]
        why: str | None = None
        if c.static is None:
            why = "no source to check for state changes"
        else:
            for function, body in self.bodies(c):
                hit = next((mk for mk in STATEFUL_MARKERS if mk in body), None)
                if hit is not None:
                    why = f"`{hit.strip('(. ')}` in {function} (randomness or a state change)"
                    break
        self._replayable[c.function] = why
        return why

    def bodies(self, c: Candidate) -> list[tuple[str, str]]:
        """(qualname, source text) of ``c`` and its project callees, from the static reports' line ranges."""
        if c.static is None:
            return []
        reports = [c.static]
        for callee in c.static.calls:
            other = self.by_name.get(callee)
            if other is not None and other.static is not None:
                reports.append(other.static)
        out = []
        for rep in reports:
            try:
                lines = module_text(self.root / rep.file).splitlines()  # a notebook: its cells in order
            except (OSError, ValueError):
                continue
            body = "\n".join(lines[rep.line - 1: rep.end_line])
            out.append((rep.qualname, body))
        return out

    def draws_random(self, c: Candidate) -> bool:
        """Whether the function or a project callee calls ``tf.random``/``keras.random`` (read from the source)."""
        return any(mk in body for _, body in self.bodies(c) for mk in RANDOM_MARKERS)
