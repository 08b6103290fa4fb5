"""Choosing ``tf.function`` settings from the signatures the profile recorded, and predicting traces.

Why from the profile: the recorded argument specs (tensor dtype/shape, Python values) are exactly what
TensorFlow keys its trace cache on, so they tell us ahead of any trial run whether a plain decorator
traces once, whether an ``input_signature`` can cover every parameter, and which parameters will
retrace whatever we choose. The trial run then checks the prediction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hybridize.plan import Settings, TensorSpecModel
from hybridize.planfile import TF_DTYPES
from hybridize.static.model import Param

# static analysis' parameters: its ``Param`` records (``check --json`` entries or bare names are read too)
Params = Sequence[Param | Mapping[str, Any] | str]

TENSOR_KINDS = ("tensor", "ndarray")
_NUMBER_TYPES = ("int", "float")


@dataclass
class ParamInfo:
    """What static analysis says about one parameter (the ``params`` entries of ``check --json``)."""

    name: str
    kind: str = "positional"  # positional | keyword-only | var-positional | var-keyword
    has_default: bool = False


@dataclass
class SettingsChoice:
    """The chosen settings for one function, with the predicted trace count and why."""

    kind: str  # "plain" | "input_signature" | "reduce_retracing"
    settings: Settings
    predicted_traces: int
    predicted_exact: bool  # False when the profile overflowed its signature table: a lower bound
    notes: list[str] = field(default_factory=list)
    retrace_params: dict[str, int] = field(default_factory=dict)  # Python params that retrace: name -> distinct values
    shapes: dict[str, list[Any]] = field(default_factory=dict)  # tensor param -> merged shape (None dims varied)
    alternatives: list[tuple[str, Settings, int]] = field(default_factory=list)
    instances: int | None = None  # distinct objects a method was called on (None: not a method, or not recorded)
    # what an input_signature would freeze; shown only when the final settings use one (a later variant may not)
    signature_note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "settings": self.settings.to_json(),
            "predicted_traces": self.predicted_traces,
            "predicted_exact": self.predicted_exact,
            "notes": list(self.notes),
            "retrace_params": dict(self.retrace_params),
            "shapes": dict(self.shapes),
            "alternatives": [{"kind": k, "settings": s.to_json(), "predicted_traces": n} for k, s, n in self.alternatives],
            "instances": self.instances,
        }


def _freeze(value: Any) -> Any:
    """A hashable form of a JSON value (dicts/lists from the profile)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _shape(arg: dict[str, Any]) -> tuple[int | None, ...] | None:
    shape = arg.get("shape")
    return None if shape is None else tuple(shape)


def arg_key(arg: dict[str, Any]) -> Any:
    """The part of TensorFlow's trace key that one recorded argument contributes.

    Tensors by dtype and shape; Python scalars by value; containers by structure and items; other
    objects by type (the profile cannot see identity, so one instance per type is assumed).
    """
    kind = arg.get("kind")
    if kind in TENSOR_KINDS or kind == "variable":
        return ("T", kind == "variable", arg.get("dtype"), _shape(arg))
    if kind == "python":
        return ("P", arg.get("type"), _freeze(arg.get("value")))
    if kind == "none":
        return ("N",)
    if kind == "container":
        return ("C", arg.get("type"), arg.get("len"), _freeze(arg.get("keys")), _freeze(arg.get("items")))
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


def _join(a: tuple[int | None, ...] | None, b: tuple[int | None, ...] | None) -> tuple[int | None, ...] | None:
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
            out.append((an, ("T", ak[1], ak[2], _join(ak[3], bk[3]))))
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


def _param_infos(params: Params | None, names: Sequence[str]) -> list[ParamInfo]:
    if params:
        out = []
        for p in params:
            if isinstance(p, str):
                out.append(ParamInfo(p))
            elif isinstance(p, Param):
                out.append(ParamInfo(p.name, p.kind, p.has_default))
            else:
                out.append(ParamInfo(str(p.get("name")), str(p.get("kind", "positional")),
                                     bool(p.get("has_default", p.get("default", False)))))
        return out
    return [ParamInfo(n) for n in names]


def _is_self(name: str, index: int, arg_kinds: set[str]) -> bool:
    return index == 0 and name in ("self", "cls") and not (arg_kinds & {"tensor", "ndarray", "variable"})


def derive_settings(
    signatures: Sequence[dict[str, Any]],
    params: Params | None = None,
    *,
    overflow: bool = False,
    control_params: Iterable[str] = (),
) -> SettingsChoice:
    """Pick plain / ``input_signature`` / ``reduce_retracing`` for one function.

    ``signatures`` are the profile's ``[{"count", "args"}]``; ``params`` the static ``params`` list
    (ordered; gives kinds and defaults); ``control_params`` names parameters static analysis saw used
    in Python control flow (they would be frozen or break under a signature).
    """
    sigs = [s for s in signatures if isinstance(s.get("args"), dict)]
    names: list[str] = list(sigs[0]["args"]) if sigs else []
    infos = _param_infos(params, names)
    order = [p.name for p in infos] or names
    controls = set(control_params)
    skip: list[str] = []
    for i, name in enumerate(order):
        kinds = {str(s["args"].get(name, {}).get("kind")) for s in sigs}
        if _is_self(name, i, kinds):
            skip.append(name)
    keys = [signature_key(s["args"], skip) for s in sigs]
    plain = predict_plain(keys)
    notes: list[str] = []
    if overflow:
        notes.append("the profile saw more distinct signatures than it kept: trace counts are lower bounds")

    # Per-parameter observations.
    retrace: dict[str, int] = {}
    shapes: dict[str, list[Any]] = {}
    specs: list[TensorSpecModel] = []
    dtypes_seen: list[str] = []  # the tensor parameters' only dtype, which a signature makes the only one accepted
    blockers: list[str] = []
    shapes_vary = False
    for info in infos:
        if info.name in skip:
            continue
        obs = [s["args"][info.name] for s in sigs if info.name in s["args"]]
        if info.kind in ("var-positional", "var-keyword", "keyword-only"):
            blockers.append(f"`{info.name}` is {info.kind}")
            continue
        if not obs:
            blockers.append(f"`{info.name}` was never observed")
            continue
        kinds = {o.get("kind") for o in obs}
        if kinds <= set(TENSOR_KINDS):
            dtypes = {o.get("dtype") for o in obs}
            merged: tuple[int | None, ...] | None = _shape(obs[0])
            for o in obs[1:]:
                merged = _join(merged, _shape(o))
            distinct_shapes = {_shape(o) for o in obs}
            if len(distinct_shapes) > 1:
                shapes_vary = True
            shapes[info.name] = None if merged is None else list(merged)  # type: ignore[assignment]
            if len(dtypes) != 1:
                blockers.append(f"`{info.name}` had several dtypes ({', '.join(sorted(map(str, dtypes)))})")
                continue
            if next(iter(dtypes)) not in TF_DTYPES:  # a spec is written as `dtype=tf.<name>`: the plan accepts no other
                blockers.append(f"`{info.name}` has dtype {next(iter(dtypes))}, which is no `tf.<name>`")
                continue
            specs.append(TensorSpecModel(shape=None if merged is None else list(merged), dtype=str(dtypes.pop())))
            dtypes_seen.append(f"`{info.name}` {specs[-1].dtype}")
            if info.has_default:
                notes.append(f"`{info.name}` has a default but always received a tensor")
            continue
        if kinds == {"python"}:
            values = {_freeze(o.get("value")) for o in obs}
            types = {o.get("type") for o in obs}
            if len(values) > 1:
                retrace[info.name] = len(values)
            if info.name in controls:
                blockers.append(f"`{info.name}` drives Python control flow")
                continue
            if types <= {"bool"}:
                blockers.append(f"`{info.name}` is a Python bool (a flag: freezing it would change behaviour)")
                continue
            if len(values) > 1 and types <= set(_NUMBER_TYPES):  # callers pass it: a default is not frozen
                dtype = "float32" if "float" in types else "int32"
                specs.append(TensorSpecModel(shape=[], dtype=dtype))
                continue
            if info.has_default:
                blockers.append(f"`{info.name}` is a keyword with a default (it would be frozen)")
            else:
                blockers.append(f"`{info.name}` is a constant Python value")
            continue
        blockers.append(f"`{info.name}` receives {'/'.join(sorted(map(str, kinds)))} values")

    alternatives: list[tuple[str, Settings, int]] = []
    rr = predict_reduce_retracing(keys)
    if plain <= 1:
        choice = SettingsChoice("plain", Settings(), max(plain, 1), not overflow, notes, retrace, shapes)
        return choice
    if not blockers and specs:
        settings = Settings(input_signature=specs)
        choice = SettingsChoice("input_signature", settings, 1, not overflow, notes, {}, shapes)
        if shapes_vary:
            alternatives.append(("reduce_retracing", Settings(reduce_retracing=True), rr))
        alternatives.append(("plain", Settings(), plain))
        choice.alternatives = alternatives
        for name, n in retrace.items():
            notes.append(f"`{name}` took {n} Python values: the signature turns it into a scalar tensor (one trace)")
        if dtypes_seen:  # the recorded calls cannot show it: a library's other callers may pass int64 or float64
            choice.signature_note = (f"the signature accepts only the dtypes seen ({', '.join(dtypes_seen)}): a call "
                                     "with another dtype raises TypeError where the eager function worked; "
                                     "`reduce_retracing=True` accepts any")
        return choice
    if blockers:
        notes.append("no input_signature: " + "; ".join(blockers))
    if shapes_vary and rr < plain:
        choice = SettingsChoice("reduce_retracing", Settings(reduce_retracing=True), rr, not overflow, notes, retrace, shapes)
        choice.alternatives = [("plain", Settings(), plain)]
    else:
        choice = SettingsChoice("plain", Settings(), plain, not overflow, notes, retrace, shapes)
        if shapes_vary:
            choice.alternatives = [("reduce_retracing", Settings(reduce_retracing=True), rr)]
    for name, n in retrace.items():
        notes.append(f"`{name}` took {n} distinct Python values and retraces once per value whatever the settings: "
                     f"pass `{name}` as a tensor (`tf.constant({name})`) at its call sites")
    return choice


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
        if _is_self(names[0], 0, kinds):
            skip.append(names[0])
    keys = [signature_key(s["args"], skip) for s in sigs]
    return predict_reduce_retracing(keys) if kind == "reduce_retracing" else predict_plain(keys)


def settings_for_workload(
    signatures: Sequence[dict[str, Any]],
    workload: Sequence[dict[str, Any]] | None,
    params: Params | None = None,
    *,
    overflow: bool = False,
) -> SettingsChoice:
    """The settings that pay on the performance run: derived from its own signatures (``workload``) when they need
    nothing the tests' calls (the rest of ``signatures``, the union) would refuse, else from the union.

    Why: an ``input_signature`` must cover every call, so one test on a 257-vector beside a workload on 8192-vectors
    relaxes the spec to ``[None]``, and a graph traced for an unknown dimension loses the static shapes its kernels
    and XLA use (measured slower than the plain decorator on ``xla_fusion``). On the workload a plain decorator
    traces once per shape it sees; the tests' shapes trace graphs of their own, outside the timed run. So the
    workload's choice is kept when it accepts any call (plain or ``reduce_retracing``; a spec derived from the
    workload alone could refuse a test's shape or dtype) and traces no more on the workload than the union's."""
    merged = derive_settings(signatures, params, overflow=overflow)
    if not workload:
        return merged
    own = derive_settings(workload, params, overflow=overflow)
    if own.kind not in ("plain", "reduce_retracing") or own.kind == merged.kind:
        return merged
    if predict_traces(own.kind, workload) > predict_traces(merged.kind, workload):
        return merged
    own.notes.append(f"settings chosen on the performance run's calls ({own.kind}, "
                     f"{predict_traces(own.kind, workload)} trace(s) there): {merged.kind}, which the tests' calls "
                     "would need too, traces no less there and is less specialised")
    return own
