"""The trial hook must measure what ``hybridize apply`` produces: ``@tf.function`` under the function's own
decorators (``outer(tf.function(f))``), not ``tf.function(outer(f))``, whose signature is the wrapped one's."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from hybridize.planner.acceptance import judge
from hybridize.planner.candidates import Candidate
from hybridize.planner.hook_patch import patch_module
from hybridize.planner.hook_state import HookState
from hybridize.planner.measurement import Measurement
from hybridize.planner.trials import FunctionResult, merge_results

SOURCE = textwrap.dedent('''
    import functools


    def bind_scale(f):
        @functools.wraps(f)
        def w(x):
            return f(x, 2.0)
        return w


    @bind_scale
    def scale(x, factor):
        return x * factor


    class Box:
        def __init__(self, fn):
            self.fn = fn
            functools.update_wrapper(self, fn)

        def __call__(self, x):
            return self.fn(x) + 1


    @Box
    def boxed(x):
        return x * 3


    class Opaque:
        def __init__(self, fn):
            self.__wrapped__ = fn
            self._code = fn.__code__

        def __call__(self, x):
            return types.FunctionType(self._code, globals())(x)


    def hide(fn):
        return Opaque(fn)


    import types


    @hide
    def hidden(x):
        return x - 1


    def plain(x):
        return x + 1
''')


def _module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(SOURCE, f"{name}.py", "exec"), module.__dict__)
    return module


def _patch(tmp_path: Path, name: str, mode: str) -> tuple[types.ModuleType, HookState]:
    module = _module(name)
    targets = [{"function": f"{name}:{f}", "mode": mode} for f in ("scale", "boxed", "hidden", "plain")]
    state = HookState({"out_dir": str(tmp_path), "targets": targets})
    patch_module(state, module)
    return module, state


def test_inner_reference_is_wrapped_outer_decorators_kept(tmp_path: Path) -> None:
    module, state = _patch(tmp_path, "hyb_wrapped_time", "time")
    assert sorted(state.patched) == ["hyb_wrapped_time:boxed", "hyb_wrapped_time:plain", "hyb_wrapped_time:scale"]
    assert module.scale(3.0) == 6.0  # the wrapper still binds factor
    assert module.boxed(2.0) == 7.0  # the callable object still adds 1
    assert module.plain(1.0) == 2.0
    assert state.stats["hyb_wrapped_time:scale"].calls == 1
    assert state.stats["hyb_wrapped_time:boxed"].calls == 1
    assert not getattr(module.scale, "__hybridize_trial__", False)  # the module attribute is the user's wrapper


def test_unreachable_wrapper_is_reported_and_rejected(tmp_path: Path) -> None:
    module, state = _patch(tmp_path, "hyb_wrapped_hidden", "time")
    assert "hyb_wrapped_hidden:hidden" not in state.patched
    assert "hyb_wrapped_hidden:hidden" in state.unreachable
    assert module.hidden(1.0) == 0.0  # untouched
    state.write()
    result = merge_results("baseline", ["x"], 0, 1.0, tmp_path)
    assert "another decorator" in result.unreachable["hyb_wrapped_hidden:hidden"]
    c = Candidate("hyb_wrapped_hidden:hidden", "m.py", 1, "convert", {}, None)
    m = Measurement(c, FunctionResult(calls=5, time_s=1.0), unreachable=result.unreachable[c.function])
    ok, reason, detail = judge(m)
    assert (ok, reason) == (False, "not-reachable") and "closure cell" in detail
    assert json.loads(next(tmp_path.glob("*.json")).read_text())["unreachable"]


@pytest.fixture(scope="module")
def tf() -> Any:
    return pytest.importorskip("tensorflow")


def test_graph_mode_converts_under_the_decorator(tmp_path: Path, tf: Any) -> None:
    name = "hyb_wrapped_graph"
    module, state = _patch(tmp_path, name, "graph")
    sys.modules.pop(name, None)
    out = module.scale(tf.ones([3]))  # tf.function(scale) would fail: missing 'factor'
    assert out.numpy().tolist() == [2.0, 2.0, 2.0]
    assert module.boxed(tf.ones([2])).numpy().tolist() == [4.0, 4.0]
    st = state.stats[f"{name}:scale"]
    assert st.calls == 1 and not st.errors and st.traces == 1


NESTED = textwrap.dedent('''
    import tensorflow as tf


    def clip_sign(x):
        if tf.reduce_sum(x) > 0:  # a tensor condition: only works in a graph when AutoGraph converts this function
            return x
        return -x


    def outer(x):
        return clip_sign(x) * 2.0
''')


def test_timed_callee_inside_a_trace_is_converted_as_autograph_would(tmp_path: Path, tf: Any) -> None:
    name = "hyb_nested_callee"
    src = tmp_path / f"{name}.py"
    src.write_text(NESTED)  # AutoGraph reads the source from the file
    spec = importlib.util.spec_from_file_location(name, src)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state = HookState({"out_dir": str(tmp_path), "targets": [{"function": f"{name}:clip_sign", "mode": "time"}]})
    patch_module(state, module)
    timed = module.clip_sign
    assert getattr(timed, "__hybridize_trial__", False)
    # the wrapper is as transparent as the function: converted by AutoGraph exactly when its caller is
    out = tf.function(module.outer)(tf.constant([-1.0, -2.0]))  # the callee's `if` on a tensor was converted
    assert out.numpy().tolist() == [2.0, 4.0]
    with pytest.raises(Exception, match=r"(?i)bool|tensor"):  # with AutoGraph off the callee stays as written
        tf.function(module.outer, autograph=False)(tf.constant([-1.0]))
    st = state.stats[f"{name}:clip_sign"]
    assert st.nested_calls == 2 and st.calls == 0


FOREIGN = textwrap.dedent('''
    import functools

    import tensorflow as tf

    _ns = {}
    exec("def wrap(f):\\n    def w(x):\\n        return f(x)\\n    return w\\n", _ns)  # no source: AutoGraph runs it as is


    def checked(f):
        return functools.wraps(f)(_ns["wrap"](f))


    @checked
    def clip_sign(x):
        if tf.reduce_sum(x) > 0:  # only works in a graph when AutoGraph converts this function
            return x
        return -x


    def outer(x):
        return clip_sign(x) * 2.0
''')


def test_under_a_wrapper_autograph_cannot_convert_the_function_stays_unconverted(tmp_path: Path, tf: Any) -> None:
    """Called normally, AutoGraph runs a wrapper it cannot convert as it is, so the function inside is not
    converted either; the trial must behave the same (converting it anyway broke GPflow's `check_shapes` code)."""
    outcomes = []
    for hooked in (False, True):
        name = f"hyb_foreign_{int(hooked)}"
        src = tmp_path / f"{name}.py"
        src.write_text(FOREIGN)
        spec = importlib.util.spec_from_file_location(name, src)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hooked:
            state = HookState({"out_dir": str(tmp_path), "targets": [{"function": f"{name}:clip_sign", "mode": "time"}]})
            patch_module(state, module)
            assert f"{name}:clip_sign" in state.patched
        try:
            tf.function(module.outer)(tf.constant([-1.0]))
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]


METHOD = textwrap.dedent('''
    import functools


    def checked(f):
        @functools.wraps(f)
        def w(*args, **kwargs):
            return f(*args, **kwargs)
        return w


    class Kernel:
        @checked
        def diag(self, x):
            return x * 2.0
''')


def test_a_method_under_its_own_decorator_is_called_as_apply_leaves_it(tmp_path: Path, tf: Any) -> None:
    """``apply`` writes ``@checked @tf.function(input_signature=[x]) def diag(self, x)``: the wrapper calls the
    tf.function unbound, ``self`` first, and the one-spec signature fails (GPflow ``K_diag`` under
    ``@inherit_check_shapes``). The trial must fail the same way, and plain settings must work there."""
    name = "hyb_wrapped_method"
    module = types.ModuleType(name)
    exec(compile(METHOD, f"{name}.py", "exec"), module.__dict__)
    sig = [{"shape": [None], "dtype": "float32"}]
    state = HookState({"out_dir": str(tmp_path), "targets": [
        {"function": f"{name}:Kernel.diag", "mode": "graph", "settings": {"input_signature": sig}}]})
    patch_module(state, module)
    assert state.patched == [f"{name}:Kernel.diag"]
    with pytest.raises((TypeError, ValueError)):
        module.Kernel().diag(tf.ones([3]))

    module = types.ModuleType(name + "_plain")
    exec(compile(METHOD, f"{name}_plain.py", "exec"), module.__dict__)
    state = HookState({"out_dir": str(tmp_path), "targets": [
        {"function": f"{name}_plain:Kernel.diag", "mode": "graph", "settings": {}}]})
    patch_module(state, module)
    k = module.Kernel()
    assert k.diag(tf.ones([3])).numpy().tolist() == [2.0, 2.0, 2.0]
    k.diag(tf.ones([3]))
    st = state.stats[f"{name}_plain:Kernel.diag"]
    assert st.calls == 2 and st.traces == 1 and not st.errors
