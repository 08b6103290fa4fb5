"""Counting the distinct objects a method is called on, for the tracer and the trial hook.

Why: ``tf.function`` on a method binds a separate Function, with its own trace cache, to each instance (through
``__get__``), so a method called on a new object every call traces on every call whatever its argument specs say
(GPflow's ``SVGP.predict_f`` builds a new posterior object per call). The planner needs the count to predict that.

Runs inside the user's program on every call of a method, so it must be cheap and bounded and must never keep an
object alive: it holds weak references, so a short-lived object freed and replaced by a new one at the same
``id()`` (exactly the per-call pattern) counts as a new object. Objects without weak reference support are
compared by ``id()`` alone (a recycled id then counts as the same object: an undercount). At most ``MAX_LIVE``
objects are tracked at once; past that the count stops and is marked a lower bound (``capped``).
"""

from __future__ import annotations

import weakref
from typing import Any

MAX_LIVE = 64


def _no_ref() -> Any:
    """Stands in for a weak reference to an object that does not support one (compared by id only)."""
    return None


class Instances:
    """The distinct objects seen so far; ``count`` is exact unless ``capped`` (then a lower bound)."""

    __slots__ = ("_seen", "capped", "count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.capped = False
        self._seen: dict[int, Any] = {}  # id(obj) -> weakref.ref(obj), or _no_ref
        # the weak reference to the object of the last call: callers test ``last is not None and last() is obj``
        # first and skip ``add`` (the common case, a method called again on the same object, costs one dereference)
        self.last: Any = None

    def add(self, obj: Any) -> None:
        """Note one call on ``obj``."""
        if self.capped:
            return
        seen = self._seen
        key = id(obj)
        ref = seen.get(key)
        if ref is not None:
            if ref is _no_ref:
                return
            if ref() is obj:
                self.last = ref
                return
            # the id was recycled: the object it stood for is gone, this is a new one
        elif len(seen) >= MAX_LIVE:
            for k in [k for k, r in seen.items() if r is not _no_ref and r() is None]:
                del seen[k]
            if len(seen) >= MAX_LIVE:  # that many live objects: stop tracking, the count is a lower bound
                self.count += 1
                self.capped = True
                self.last = None
                seen.clear()
                return
        try:
            seen[key] = self.last = weakref.ref(obj)
        except TypeError:
            seen[key] = _no_ref
            self.last = None
        self.count += 1

    def to_json(self) -> dict[str, Any]:
        return {"instances": self.count, "instances_capped": self.capped}
