"""Trace keys and trace counts: what ``tf.function`` keys its trace cache on, read from the profile's signatures.

Why a module of its own: the settings chooser, the candidate builder, the fallback settings and the plan's
break-even all predict traces the same way, and the trial run checks those predictions against the real count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

TENSOR_KINDS = ("tensor", "ndarray")


def freeze(value: Any) -> Any:
    """A hashable form of a JSON value (dicts/lists from the profile)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def shape_of(arg: dict[str, Any]) -> tuple[int | None, ...] | None:
    shape = arg.get("shape")
    return None if shape is None else tuple(shape)


def arg_key(arg: dict[str, Any]) -> Any:
    """The part of TensorFlow's trace key that one recorded argument contributes.

    Tensors by dtype and shape; Python scalars by value; containers by structure and items; other
    objects by type (the profile cannot see identity, so one instance per type is assumed).
    """
    kind = arg.get("kind")
    if kind in TENSOR_KINDS or kind == "variable":
        return ("T", kind == "variable", arg.get("dtype"), shape_of(arg))
    if kind == "python":
        return ("P", arg.get("type"), freeze(arg.get("value")))
    if kind == "none":
        return ("N",)
    if kind == "container":
        return ("C", arg.get("type"), arg.get("len"), freeze(arg.get("keys")), freeze(arg.get("items")))
    return ("O", arg.get("type"))


def signature_key(args: dict[str, Any], skip: Iterable[str] = ()) -> tuple[Any, ...]:
    skipped = set(skip)
    return tuple((name, arg_key(a)) for name, a in args.items() if name not in skipped)


def _compatible(general: tuple[int | None, ...] | None, shape: tuple[int | None, ...] | None) -> bool:
    """Whether a (possibly relaxed) traced shape accepts a concrete one."""
    if general is None:
        return True
    if shape is None or len(general) != len(shape):
        return False
    return all(g is None or g == s for g, s in zip(general, shape, strict=True))


def join_shapes(a: tuple[int | None, ...] | None, b: tuple[int | None, ...] | None) -> tuple[int | None, ...] | None:
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b, strict=True))


def _relaxed_match(traced: tuple[Any, ...], call: tuple[Any, ...]) -> bool:
    if len(traced) != len(call):
        return False
    for (tn, tk), (cn, ck) in zip(traced, call, strict=True):
        if tn != cn:
            return False
        if tk[0] == "T" and ck[0] == "T":
            if tk[1:3] != ck[1:3] or not _compatible(tk[3], ck[3]):
                return False
        elif tk != ck:
            return False
    return True


def _relax(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The most specific trace key covering both, when they differ only in tensor shapes."""
    if len(a) != len(b):
        return None
    out = []
    for (an, ak), (bn, bk) in zip(a, b, strict=True):
        if an != bn:
            return None
        if ak[0] == "T" and bk[0] == "T" and ak[1:3] == bk[1:3]:
            out.append((an, ("T", ak[1], ak[2], join_shapes(ak[3], bk[3]))))
        elif ak == bk:
            out.append((an, ak))
        else:
            return None
    return tuple(out)


def predict_plain(keys: Sequence[tuple[Any, ...]]) -> int:
    """A plain ``tf.function`` traces once per distinct key."""
    return len(set(keys))


def predict_reduce_retracing(keys: Sequence[tuple[Any, ...]]) -> int:
    """Simulate ``reduce_retracing=True``: a new shape retraces once with the varying dims relaxed to None.

    Keys are taken in first-seen order (the profile's signature order); Python values still retrace
    per value, as measured in tf-function-facts.md.
    """
    traced: list[tuple[Any, ...]] = []
    count = 0
    for key in keys:
        if any(_relaxed_match(t, key) for t in traced):
            continue
        count += 1
        relaxed = None
        for i, t in enumerate(traced):
            relaxed = _relax(t, key)
            if relaxed is not None:
                traced[i] = relaxed
                break
        if relaxed is None:
            traced.append(key)
    return count


def is_self(name: str, index: int, arg_kinds: set[str]) -> bool:
    return index == 0 and name in ("self", "cls") and not (arg_kinds & {"tensor", "ndarray", "variable"})


def break_even_calls(eager_per_call_s: float, graph_per_call_s: float, trace_s: float) -> float | None:
    """Calls needed before the tracing cost is paid back; None when graph mode never pays."""
    gain = eager_per_call_s - graph_per_call_s
    if gain <= 0:
        return None
    return trace_s / gain


def per_instance_traces(spec_traces: int, instances: int | None, calls: int | None) -> int:
    """Traces of a method called on ``instances`` distinct objects whose argument specs alone make ``spec_traces``.

    ``tf.function`` binds one Function per object, each with its own trace cache (the profile's signatures key
    ``self`` by type only, so they cannot see it). Combined as ``max(instances, spec_traces)``: every object
    traces at least once and every distinct spec at least once somewhere, so that is the fewest the run can make,
    and it is exact for the two common patterns, one new object per call (``instances == calls``) and several
    objects of one class each seeing its own spec (the layers of an MLP: k objects, k shapes, k traces). The most
    is ``instances * spec_traces`` (every object sees every spec); predicting that would reject or mis-rank the MLP
    case, while an underestimate is only corrected by the trial. Never more than ``calls``: a call traces once.
    """
    traces = spec_traces
    if instances is not None and instances > 1:
        traces = max(traces, instances)
    if calls is not None and calls > 0:
        traces = min(traces, calls)
    return traces


def every_call_on_new_object(instances: int | None, calls: int | None) -> bool:
    """A method called on a different object at every call (``instances >= calls``, more than one call): as a
    ``tf.function`` every call traces whatever its settings, so a trial run can only confirm "every call traced".

    Exact, not "close": with even one call reusing an object a trial can measure a steady call, and the evidence
    over rules principle leaves that to it (the report then explains the traces from the instance count)."""
    return instances is not None and calls is not None and calls > 1 and instances >= calls


def predict_traces(kind: str, signatures: Sequence[dict[str, Any]], instances: int | None = None) -> int:
    """Traces the chosen settings should make on a run that passes ``signatures`` (checked by the trial); with
    ``instances``, the distinct objects a method was called on (``per_instance_traces``)."""
    sigs = [s for s in signatures if isinstance(s.get("args"), dict)]
    if not sigs:
        return 0
    if instances is not None and instances > 1:
        calls = sum(int(s.get("count", 0) or 0) for s in sigs) or None
        return per_instance_traces(predict_traces(kind, sigs), instances, calls)
    if kind == "input_signature":
        return 1
    names = list(sigs[0]["args"])
    skip = []
    if names and names[0] in ("self", "cls"):
        kinds = {str(s["args"].get(names[0], {}).get("kind")) for s in sigs}
        if is_self(names[0], 0, kinds):
            skip.append(names[0])
    keys = [signature_key(s["args"], skip) for s in sigs]
    return predict_reduce_retracing(keys) if kind == "reduce_retracing" else predict_plain(keys)
