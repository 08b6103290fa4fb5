"""The timing wrapper's steps: a failure in any of the hook's own steps is swallowed (the user's call still runs
and returns its value), while the user's own exception reaches the caller unchanged and is counted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hybridize.planner import hook_wrapper
from hybridize.planner.hook_state import HookState
from hybridize.planner.hook_wrapper import make_wrapper


def _state(tmp_path: Path) -> HookState:
    state = HookState({"out_dir": str(tmp_path), "targets": [], "digest_calls": 5, "record_signatures": True})
    state.gradient_hooked = True  # leave GradientTape alone in the test process
    return state


def _broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the hook's own step failed")


def test_failing_hook_steps_never_reach_the_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hook_wrapper, "digest_value", _broken)
    monkeypatch.setattr(hook_wrapper, "record_signature", _broken)
    state = _state(tmp_path)
    state.recording = lambda: _broken()

    def add(a: int, b: int) -> int:
        return a + b

    wrapped = make_wrapper(state, "m:add", add, _broken, add, is_method=False)
    assert [wrapped(1, 2), wrapped(3, b=4)] == [3, 7]
    stats = state.stats["m:add"].to_json()
    assert stats["calls"] == 2 and stats["errors"] == {} and stats["digests"] == [] and stats["signatures"] == []
    assert stats["trace_calls"] == 0 and "min_s" in stats  # an unreadable tracing count is "did not trace"
    assert state.recording is None  # a tape probe that failed once is not asked again


def test_the_programs_exception_is_counted_and_raised_unchanged(tmp_path: Path) -> None:
    state = _state(tmp_path)
    err = ValueError("bad input\nsecond line")

    def fail() -> None:
        raise err

    wrapped = make_wrapper(state, "m:fail", fail, None, fail, is_method=False)
    with pytest.raises(ValueError) as caught:
        wrapped()
    assert caught.value is err
    stats = state.stats["m:fail"]
    assert stats.calls == 1 and stats.errors == {"ValueError: bad input": 1}
    assert getattr(state.local, "stack", None) == []  # the call stack unwound


def test_caller_edges_digests_and_signatures_are_recorded(tmp_path: Path) -> None:
    state = _state(tmp_path)

    def inner(x: float) -> float:
        return x * 2

    wrapped_inner = make_wrapper(state, "m:inner", inner, None, inner, is_method=False)

    def outer(x: float) -> float:
        return wrapped_inner(x) + wrapped_inner(x)

    wrapped_outer = make_wrapper(state, "m:outer", outer, None, outer, is_method=False)
    assert wrapped_outer(1.5) == 6.0
    assert state.edges == {("m:outer", "m:inner"): 2}
    inner_stats = state.stats["m:inner"].to_json()
    assert inner_stats["calls"] == 2 and inner_stats["digests"][0] == {"in": [[1.5], {}], "out": 3.0}
    assert [s["count"] for s in inner_stats["signatures"]] == [2]
    assert wrapped_outer.__name__ == "outer" and getattr(wrapped_outer, "__hybridize_trial__", False)
