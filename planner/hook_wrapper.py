"""The timing wrapper: what a trial run puts in place of each chosen function.

A call made eagerly goes through ``Measurer.measure`` (caller edge, signature, input digest, tracing count
before, the timed call, tracing count after, output digest, eager replay, early stop); a call made while an
enclosing tf.function traces goes straight to the function. Only the timed call may raise, and only the user's
own exception: every other step swallows its failures, so the hook never breaks the user's program.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable
from typing import Any

from hybridize.planner.hook_digests import digest_value, record_signature, replay_eagerly
from hybridize.planner.hook_state import HookState, error_text
from hybridize.planner.hook_tape import executing_eagerly, time_gradients
from hybridize.tracer.instances import Instances

Counter = Callable[[Any], int]  # the tracing count of the tf.function a call goes through (given ``self`` or None)


class Measurer:
    """One wrapped function's measuring body, one method per step of a call."""

    def __init__(self, state: HookState, name: str, call: Callable[..., Any], counter: Counter | None,
                 original: Callable[..., Any], is_method: bool, replay: int) -> None:
        self.state = state
        self.name = name
        self.call = call
        self.counter = counter
        self.is_method = is_method
        self.replay = replay
        # read once, as the gradient hook does: a forked child's ``start_over`` replaces ``state.local`` for
        # wrappers made after the fork only (kept as it was when this was one function)
        self.local = state.local
        self.stats = stats = state.stats_for(name)
        self.signature: inspect.Signature | None = None
        if state.record_signatures:
            try:
                self.signature = inspect.signature(original)
            except (TypeError, ValueError):
                self.signature = None
            if is_method and stats.objects is None:
                stats.objects = Instances()
        self.objects = stats.objects if state.record_signatures and is_method else None
        self.records_arguments = self.signature is not None or self.objects is not None

    def measure(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """One eager call: the optional steps around the timed call (each a method, called only when the run asks
        for it: a wrapped call nested in another is inside that caller's timed region, so the wrapper's own cost
        is kept at what it was as one function)."""
        stats = self.stats
        stack = self.enter()
        if self.records_arguments:
            self.note_arguments(args, kwargs)
        digest = self.digest_inputs(args, kwargs) if len(stats.digests) < self.state.digest_calls else None
        counter = self.counter
        before = self.tracing_count(args) if counter is not None else -1
        self.note_tape()
        # the timed call: only the program's own exception leaves the wrapper (counted, then re-raised unchanged)
        stack.append(self.name)
        cpu_start = time.process_time() if counter is not None else 0.0
        start = time.perf_counter()
        try:
            result = self.call(*args, **kwargs)
        except BaseException as exc:
            err = error_text(exc)
            stats.errors[err] = stats.errors.get(err, 0) + 1
            raise
        finally:
            elapsed = time.perf_counter() - start
            stack.pop()
            stats.calls += 1
            stats.time_s += elapsed
        traced = counter is not None and self.note_trace(before, args, elapsed, cpu_start)
        if not traced and (stats.min_s is None or elapsed < stats.min_s):
            stats.min_s = elapsed
        if digest is not None or len(stats.replays) < self.replay:
            self.note_outputs(digest, args, kwargs, result)
        if self.state.stopper is not None:
            self.state.stopper.after_call(self.state, self.name, stats.calls, not stack)
        return result

    def enter(self) -> list[str]:
        """This thread's stack of wrapped calls; counts the caller -> callee edge."""
        local = self.local
        stack: list[str] | None = getattr(local, "stack", None)
        if stack is None:
            stack = local.stack = []
        if stack:
            edges = self.state.edges
            key = (stack[-1], self.name)
            edges[key] = edges.get(key, 0) + 1
        return stack

    def note_arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """The argument signature and, for a method, its ``self`` (when the run records signatures)."""
        if self.signature is not None:
            try:
                record_signature(self.stats, self.signature, args, kwargs)
            except Exception:
                pass
        if self.objects is not None and args:
            try:
                self.objects.add(args[0])
            except Exception:
                pass

    def digest_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        if len(self.stats.digests) >= self.state.digest_calls:
            return None
        try:
            return {"in": digest_value((args, kwargs))}
        except Exception:
            return None

    def tracing_count(self, args: tuple[Any, ...]) -> int:
        """The tf.function's tracing count now (-1: none, or it could not be read)."""
        if self.counter is None:
            return -1
        try:
            return self.counter(args[0] if self.is_method and args else None)
        except Exception:
            return -1

    def note_tape(self) -> None:
        """Hook ``GradientTape.gradient`` once TensorFlow is loaded; count calls a tape could be recording."""
        state = self.state
        if not state.gradient_hooked and "tensorflow" in sys.modules:  # never imported by us
            time_gradients(state)
        if state.recording is not None:
            try:
                if state.recording():
                    self.stats.taped_calls += 1
            except Exception:
                state.recording = None

    def note_trace(self, before: int, args: tuple[Any, ...], elapsed: float, cpu_start: float) -> bool:
        """Whether the call traced (its time is then counted apart as tracing)."""
        if self.counter is None:
            return False
        stats = self.stats
        try:
            after = self.counter(args[0] if self.is_method and args else None)
            traced = before >= 0 and after > before
            if traced:
                stats.trace_calls += 1
                stats.trace_time_s += elapsed
                stats.trace_cpu_s += time.process_time() - cpu_start
            return traced
        except Exception:
            return False

    def note_outputs(self, digest: dict[str, Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any],
                     result: Any) -> None:
        """The output digest (paired with the input one), then the eager replay when the planner asked for it."""
        stats = self.stats
        if digest is not None:
            try:
                digest["out"] = digest_value(result)
                stats.digests.append(digest)
            except Exception:
                pass
        if len(stats.replays) < self.replay:
            replay_eagerly(stats, self.call, args, kwargs, result)


def make_wrapper(state: HookState, name: str, call: Callable[..., Any], counter: Counter | None,
                 original: Callable[..., Any], is_method: bool, replay: int = 0) -> Callable[..., Any]:
    stats = state.stats_for(name)
    measured = Measurer(state, name, call, counter, original, is_method, replay).measure

    def in_trace() -> bool:
        if executing_eagerly():
            return False
        stats.nested_calls += 1
        return True

    # Inside a caller's trace the wrapper must be invisible: AutoGraph converts it as it would have converted the
    # function (so the function is converted exactly when its caller's code is), and the wrapper stays this small
    # because converting it is paid in the caller's measured trace (the whole measuring body cost 0.2-0.3 s per
    # caller trace; marking the wrapper an AutoGraph artifact and converting the function by hand instead broke
    # GPflow's `check_shapes`-decorated functions, which AutoGraph leaves unconverted when called normally).
    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if in_trace():
            return call(*args, **kwargs)
        return measured(args, kwargs)

    timed.__hybridize_trial__ = True  # type: ignore[attr-defined]
    return timed
