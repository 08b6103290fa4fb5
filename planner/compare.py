"""Eager versus graph outputs, from the digests the trial hook records (``planner/hook_digests.py``): the
baseline's against the trial's on identical inputs, or a graph call against its eager replay in the same run.
Floats are compared within a relative tolerance: graph and eager kernels may differ in the last bits."""

from __future__ import annotations

import math
from typing import Any

FLOAT_RTOL = 1e-3  # outputs: graph and eager kernels may differ in the last bits
INPUT_RTOL = 1e-6  # inputs must be the same to compare outputs (a discontinuous function amplifies tiny diffs)


def compare_digests(base: list[dict[str, Any]], trial: list[dict[str, Any]]) -> tuple[str, str]:
    """Eager (baseline) versus converted outputs on the same inputs: match / mismatch / inconclusive."""
    pairs = [(b, t) for b, t in zip(base, trial, strict=False) if "out" in b and "out" in t]
    if not pairs:
        return "not-checked", "no outputs recorded"
    same_inputs = [(b, t) for b, t in pairs if close(b.get("in"), t.get("in"), INPUT_RTOL)]
    if not same_inputs:
        return "inconclusive", "the inputs differed between runs (nondeterministic program)"
    for i, (b, t) in enumerate(same_inputs):
        if not close(b["out"], t["out"]):
            return "mismatch", f"call {i + 1}: eager returned {_short(b['out'])}, graph returned {_short(t['out'])}"
    return "match", f"{len(same_inputs)} call(s) compared on identical inputs"


def compare_replays(replays: list[dict[str, Any]]) -> tuple[str, str]:
    """Graph outputs versus the same calls replayed eagerly in the same run (``run_functions_eagerly``)."""
    if not replays:
        return "not-checked", "no eager replay"
    errors = [r["error"] for r in replays if "error" in r]
    pairs = [(r["graph"], r["eager"]) for r in replays if "graph" in r and "eager" in r]
    for i, (graph, eager) in enumerate(pairs):
        if not close(eager, graph):
            return "mismatch", (f"replayed eagerly in the same run, call {i + 1} returned {_short(eager)}; "
                                f"the graph returned {_short(graph)}")
    if pairs:
        return "match", f"{len(pairs)} call(s) replayed eagerly in the same run: outputs equal within rtol {FLOAT_RTOL:g}"
    return "inconclusive", f"the eager replay failed: {errors[0]}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict) and value.get("shape") == [] and isinstance(value.get("sum"), int | float):
        return float(value["sum"])
    return None


def close(a: Any, b: Any, rtol: float = FLOAT_RTOL) -> bool:
    """Digest equality within float tolerance; Python scalars equal their 0-d tensor (graph outputs are tensors)."""
    na, nb = _as_number(a), _as_number(b)
    if na is not None and nb is not None:
        return math.isclose(na, nb, rel_tol=rtol, abs_tol=rtol * 1e-2)
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        return all(close(a[k], b[k], rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            return math.isclose(float(a), float(b))  # "nan"/"inf" sums
        except ValueError:
            return False
    return bool(a == b)
