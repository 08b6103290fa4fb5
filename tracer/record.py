"""One function's record in one process: counts, time, and the bounded set of argument signatures it was called with.

The signature keys come from ``describe.py`` (the one argument encoder, shared with the trial hook); a function
whose keys show a tensor-like argument (:func:`is_heavy`) is a ``tf.function`` candidate.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from hybridize.identity import FunctionId
from hybridize.tracer.describe import Key, to_json
from hybridize.tracer.instances import Instances

MAX_SIGNATURES = 64
LIGHT_AFTER = 256  # calls without any tensor-like argument before a function goes "light"
SAMPLE_EVERY = 64  # a light function's signature is captured on one call in this many
CO_OPTIMIZED = 0x1
CO_VARARGS = 0x4
CO_VARKEYWORDS = 0x8


def param_names(code: CodeType) -> tuple[str, ...]:
    """Parameter names in order: positional, keyword-only, then ``*args`` and ``**kwargs``."""
    n = code.co_argcount + code.co_kwonlyargcount
    names = code.co_varnames[:n]
    if code.co_flags & CO_VARARGS:
        names += (code.co_varnames[n],)
        n += 1
    if code.co_flags & CO_VARKEYWORDS:
        names += (code.co_varnames[n],)
    return names


class Record:
    """What one process saw of one function."""

    __slots__ = ("calls", "candidate", "code", "eager_calls", "file", "graph_calls", "hybrid", "instances", "last_test",
                 "light", "line", "module", "names", "overflow", "qualname", "sample", "sigs", "tests", "total_s",
                 "traces_reported")

    def __init__(self, module: str, qualname: str, file: str, line: int, names: tuple[str, ...], code: CodeType | None) -> None:
        self.module = module
        self.qualname = qualname
        self.file = file  # relative to the root, POSIX
        self.line = line  # co_firstlineno (decorators included); the store maps it to the def line
        self.names = names
        self.code = code
        self.calls = 0
        self.eager_calls = 0
        self.graph_calls = 0
        self.total_s = 0.0
        self.hybrid = False
        self.traces_reported = 0
        self.candidate = False  # has received a tensor, variable, array, Keras or tf.Module object
        self.light = False  # a busy non-candidate: counted exactly, signatures sampled, not timed
        self.sample = 0
        self.last_test: str | None = None
        self.sigs: dict[Key, int] = {}
        self.overflow = 0
        self.tests: set[str] = set()
        # a method (first parameter ``self``): the distinct objects it is called on (tf.function traces per object)
        self.instances: Instances | None = Instances() if names[:1] == ("self",) and "." in qualname else None

    def forget_counts(self) -> None:
        """Clear what this process observed (a forked child's shard holds only the child's calls).

        Every per-process field is reset here and only here: what the function *is* (names, file, ``hybrid``,
        ``candidate``, ``light``) stays.
        """
        self.calls = self.eager_calls = self.graph_calls = self.overflow = self.sample = self.traces_reported = 0
        self.total_s = 0.0
        self.last_test = None
        self.sigs.clear()
        self.tests.clear()
        if self.instances is not None:
            self.instances = Instances()

    def to_json(self) -> dict[str, Any]:
        sigs = sorted(self.sigs.items(), key=lambda kv: -kv[1])
        out = {
            "function": FunctionId.format_name(self.module, self.qualname), "file": self.file, "first_line": self.line,
            "calls": self.calls, "eager_calls": self.eager_calls, "graph_calls": self.graph_calls,
            "total_s": self.total_s, "hybrid": self.hybrid, "traces_reported": self.traces_reported,
            "signatures": [{"count": c, "args": {n: to_json(k) for n, k in zip(self.names, key, strict=False)}}
                           for key, c in sigs],
            "signatures_overflow": self.overflow, "tests": sorted(self.tests),
            "signatures_sampled": self.sample > 0,
        }
        if self.instances is not None:
            out.update(self.instances.to_json())
        return out


def is_heavy(key: Key) -> bool:
    """Is this argument key tensor-like (what makes a function a tf.function candidate)?"""
    kind = key[0]
    if kind in ("tensor", "variable", "ndarray"):
        return True
    if kind == "object":
        return bool(key[2])
    if kind == "container" and key[4]:
        return any(is_heavy(item[1] if key[3] is not None else item) for item in key[4])
    return False
