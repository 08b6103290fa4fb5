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
from hybridize.planner.traces import (
    TENSOR_KINDS,
    freeze,
    is_self,
    join_shapes,
    predict_plain,
    predict_reduce_retracing,
    predict_traces,
    shape_of,
    signature_key,
)
from hybridize.static.model import Param

# static analysis' parameters: its ``Param`` records (``check --json`` entries or bare names are read too)
Params = Sequence[Param | Mapping[str, Any] | str]

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


def _param_infos(params: Params | None, names: Sequence[str]) -> list[ParamInfo]:
    if params:
        out = []
        for p in params:
            if isinstance(p, str):
                out.append(ParamInfo(p))
            else:
                param = p if isinstance(p, Param) else Param.from_json(p)
                out.append(ParamInfo(param.name, param.kind, param.has_default))
        return out
    return [ParamInfo(n) for n in names]


@dataclass
class _Observed:
    """What the recorded calls say about the parameters a signature would cover."""

    specs: list[TensorSpecModel] = field(default_factory=list)
    retrace: dict[str, int] = field(default_factory=dict)  # Python params that took several values
    shapes: dict[str, list[Any]] = field(default_factory=dict)
    dtypes_seen: list[str] = field(default_factory=list)  # the tensor parameters' only dtype, which a signature
    # makes the only one accepted
    blockers: list[str] = field(default_factory=list)  # why no input_signature covers every parameter
    notes: list[str] = field(default_factory=list)
    shapes_vary: bool = False


def _observe_tensor(info: ParamInfo, obs: list[dict[str, Any]], out: _Observed) -> None:
    dtypes = {o.get("dtype") for o in obs}
    merged: tuple[int | None, ...] | None = shape_of(obs[0])
    for o in obs[1:]:
        merged = join_shapes(merged, shape_of(o))
    if len({shape_of(o) for o in obs}) > 1:
        out.shapes_vary = True
    out.shapes[info.name] = None if merged is None else list(merged)  # type: ignore[assignment]
    if len(dtypes) != 1:
        out.blockers.append(f"`{info.name}` had several dtypes ({', '.join(sorted(map(str, dtypes)))})")
        return
    if next(iter(dtypes)) not in TF_DTYPES:  # a spec is written as `dtype=tf.<name>`: the plan accepts no other
        out.blockers.append(f"`{info.name}` has dtype {next(iter(dtypes))}, which is no `tf.<name>`")
        return
    out.specs.append(TensorSpecModel(shape=None if merged is None else list(merged), dtype=str(dtypes.pop())))
    out.dtypes_seen.append(f"`{info.name}` {out.specs[-1].dtype}")
    if info.has_default:
        out.notes.append(f"`{info.name}` has a default but always received a tensor")


def _observe_python(info: ParamInfo, obs: list[dict[str, Any]], controls: set[str], out: _Observed) -> None:
    values = {freeze(o.get("value")) for o in obs}
    types = {o.get("type") for o in obs}
    if len(values) > 1:
        out.retrace[info.name] = len(values)
    if info.name in controls:
        out.blockers.append(f"`{info.name}` drives Python control flow")
    elif types <= {"bool"}:
        out.blockers.append(f"`{info.name}` is a Python bool (a flag: freezing it would change behaviour)")
    elif len(values) > 1 and types <= set(_NUMBER_TYPES):  # callers pass it: a default is not frozen
        out.specs.append(TensorSpecModel(shape=[], dtype="float32" if "float" in types else "int32"))
    elif info.has_default:
        out.blockers.append(f"`{info.name}` is a keyword with a default (it would be frozen)")
    else:
        out.blockers.append(f"`{info.name}` is a constant Python value")


def _observe(infos: list[ParamInfo], sigs: list[dict[str, Any]], skip: list[str], controls: set[str]) -> _Observed:
    out = _Observed()
    for info in infos:
        if info.name in skip:
            continue
        obs = [s["args"][info.name] for s in sigs if info.name in s["args"]]
        if info.kind in ("var-positional", "var-keyword", "keyword-only"):
            out.blockers.append(f"`{info.name}` is {info.kind}")
        elif not obs:
            out.blockers.append(f"`{info.name}` was never observed")
        elif (kinds := {o.get("kind") for o in obs}) <= set(TENSOR_KINDS):
            _observe_tensor(info, obs, out)
        elif kinds == {"python"}:
            _observe_python(info, obs, controls, out)
        else:
            out.blockers.append(f"`{info.name}` receives {'/'.join(sorted(map(str, kinds)))} values")
    return out


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
    skip: list[str] = []
    for i, name in enumerate(order):
        kinds = {str(s["args"].get(name, {}).get("kind")) for s in sigs}
        if is_self(name, i, kinds):
            skip.append(name)
    keys = [signature_key(s["args"], skip) for s in sigs]
    plain = predict_plain(keys)
    notes: list[str] = []
    if overflow:
        notes.append("the profile saw more distinct signatures than it kept: trace counts are lower bounds")
    seen = _observe(infos, sigs, skip, set(control_params))
    notes.extend(seen.notes)
    if plain <= 1:
        return SettingsChoice("plain", Settings(), max(plain, 1), not overflow, notes, seen.retrace, seen.shapes)
    if not seen.blockers and seen.specs:
        return _with_signature(seen, notes, plain, predict_reduce_retracing(keys), overflow)
    return _without_signature(seen, notes, plain, predict_reduce_retracing(keys), overflow)


def _with_signature(seen: _Observed, notes: list[str], plain: int, rr: int, overflow: bool) -> SettingsChoice:
    """Every parameter can be covered by a spec: one trace, the others kept as alternatives to measure."""
    choice = SettingsChoice("input_signature", Settings(input_signature=seen.specs), 1, not overflow, notes, {},
                            seen.shapes)
    if seen.shapes_vary:
        choice.alternatives.append(("reduce_retracing", Settings(reduce_retracing=True), rr))
    choice.alternatives.append(("plain", Settings(), plain))
    for name, n in seen.retrace.items():
        notes.append(f"`{name}` took {n} Python values: the signature turns it into a scalar tensor (one trace)")
    if seen.dtypes_seen:  # the recorded calls cannot show it: a library's other callers may pass int64 or float64
        choice.signature_note = (f"the signature accepts only the dtypes seen ({', '.join(seen.dtypes_seen)}): a "
                                 "call with another dtype raises TypeError where the eager function worked; "
                                 "`reduce_retracing=True` accepts any")
    return choice


def _without_signature(seen: _Observed, notes: list[str], plain: int, rr: int, overflow: bool) -> SettingsChoice:
    if seen.blockers:
        notes.append("no input_signature: " + "; ".join(seen.blockers))
    if seen.shapes_vary and rr < plain:
        choice = SettingsChoice("reduce_retracing", Settings(reduce_retracing=True), rr, not overflow, notes,
                                seen.retrace, seen.shapes)
        choice.alternatives = [("plain", Settings(), plain)]
    else:
        choice = SettingsChoice("plain", Settings(), plain, not overflow, notes, seen.retrace, seen.shapes)
        if seen.shapes_vary:
            choice.alternatives = [("reduce_retracing", Settings(reduce_retracing=True), rr)]
    for name, n in seen.retrace.items():
        notes.append(f"`{name}` took {n} distinct Python values and retraces once per value whatever the settings: "
                     f"pass `{name}` as a tensor (`tf.constant({name})`) at its call sites")
    return choice


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
