"""The settings an extracted step is tried with (issue #17): plain and ``reduce_retracing`` always, and
``input_signature`` with ``None`` where a dimension varied, only when the plain run's step traced more than one shape
(a smaller last batch; the runner writes the step's traces at exit).

Every parameter of an ``input_signature`` step must be a tensor, so object parameters (model, optimizer) are read as
module globals instead, which is possible only for a loop at module level.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from hybridize.plan import Settings, TensorSpecModel

SETTINGS: tuple[tuple[str, Settings], ...] = (("plain", Settings()), ("reduce_retracing", Settings(reduce_retracing=True)))
SIGNATURE = "input_signature"

# label -> (settings, the extracted source, the rewriter's Extraction)
Variants = dict[str, tuple[Settings, bytes, Any]]


def read_traces(path: Path) -> list[list[dict[str, Any] | None]] | None:
    """The plain step's traces written by the runner, or None (the step never ran, or an unreadable file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, list) and all(isinstance(t, list) for t in data) else None


def _joined_spec(entries: list[Any]) -> TensorSpecModel | None:
    """One spec covering every trace's entry of a parameter (``None`` where a dimension varied), or None when
    the parameter was not a tensor of one dtype and rank in every trace."""
    if not entries or not all(isinstance(e, dict) and isinstance(e.get("dtype"), str) for e in entries):
        return None
    dtypes = {e["dtype"] for e in entries}
    shapes = [e.get("shape") for e in entries]
    if len(dtypes) != 1 or any(not isinstance(sh, list) for sh in shapes) or len({len(sh) for sh in shapes}) != 1:
        return None
    joined = [dims[0] if len(set(dims)) == 1 else None for dims in zip(*shapes, strict=True)]
    return TensorSpecModel(shape=joined, dtype=dtypes.pop())


def signature_setting(cand: Any, traces: list[list[Any]] | None) -> tuple[Settings, list[str]] | str:
    """``(Settings with an input_signature, the step's tensor parameters)`` when the plain step traced more than one
    shape and an input_signature can cover it; else why not (one line)."""
    region = cand.region
    params = list(region.params)
    if not traces or len(traces) < 2:
        return ""  # one shape (or none seen): plain already traces once, nothing to say
    if any(len(t) != len(params) for t in traces):
        return "input_signature not tried: the step's traces do not match its parameters"
    specs: list[TensorSpecModel] = []
    tensors: list[str] = []
    for i, name in enumerate(params):
        entries = [t[i] for t in traces]
        spec = _joined_spec(entries)
        if spec is not None:
            specs.append(spec)
            tensors.append(name)
        elif any(e is not None for e in entries):
            return f"input_signature not tried: parameter {name} changes dtype or rank between traces"
        elif cand.scope != "<module>" or name in region.returns:
            return (f"input_signature not tried: parameter {name} is not a tensor and cannot be read as a module "
                    "global (an input_signature must cover every parameter)")
    if not specs or all(s.shape is not None and None not in s.shape for s in specs):
        return ""
    return Settings(input_signature=specs), tensors


def add_signature_variant(source: bytes, cand: Any, traces: list[list[Any]] | None, variants: Variants) -> str:
    """Add the ``input_signature`` extraction to ``variants`` when the plain traces call for one; a note or ""."""
    from hybridize.rewriter.edits import EditError
    from hybridize.rewriter.extract import extract

    found = signature_setting(cand, traces)
    if isinstance(found, str):
        return found
    settings, tensors = found
    narrowed = dataclasses.replace(cand, region=dataclasses.replace(cand.region, params=tensors))
    try:
        ex = extract(source, narrowed, None, settings)
    except EditError as exc:
        return f"input_signature not tried: {exc}"
    variants[SIGNATURE] = (settings, ex.source, ex)
    return f"the plain step traced {len(traces or [])} shapes: input_signature tried"
