"""Benchmark workloads: small eager TensorFlow 2 programs of the kinds users write, each with its oracle placement.

Every workload module is self-contained (imports only tensorflow, keras, numpy and the standard library) and defines:

- the eager functions a user would write;
- ``bench_<name>(quick: bool = False) -> dict``: a fixed, seeded workload returning ``{"wall_s": float,
  "outputs": {name: float}}`` (outputs are compared between eager and converted runs within a tolerance);
- ``ORACLE``: the placement a careful human would choose, ``{qualname: {"action": "convert" | "tune" |
  "dehybridize" | "keep", "settings": <hybridize.plan.Settings JSON>, "why": str}}``. ``keep`` marks a candidate
  that must stay eager (slower in graph mode, or changes meaning); ``"unsafe": True`` on an entry says graph mode
  would change its meaning or fail (side effects, ``.numpy()``, NumPy code); functions not listed are not candidates.

``registry.py`` lists the workloads and applies placements in-process; ``python -m perf_tests.workloads`` prints
eager vs oracle times side by side.
"""
