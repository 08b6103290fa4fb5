"""The workload list, in-process placement (the oracle or any plan), side-by-side timing, standalone copies."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
NAMES: tuple[str, ...] = (
    "keras_training",
    "cnn_inference",
    "rnn_sequence",
    "actor_critic",
    "numeric_library",
    "big_kernel",
    "varying_batch",
    "python_scalars",
    "side_effects",
    "xla_fusion",
    "xla_finetune",
    "train_script",
    "inline_loop",
)
Placement = Mapping[str, Mapping[str, Any]]

# The hand placement for the bundled example project (examples/, ids relative to examples/), same schema as ORACLE.
# Measured in examples/README.md; "keep" = a candidate that must stay eager (slower, or changes meaning).
EXAMPLES_ORACLE: dict[str, dict[str, Any]] = {
    "demo_model.train:train_step": {"action": "convert", "settings": {}, "why": "GradientTape + Adam step, fixed shapes"},
    "demo_model.evaluate:eval_step": {"action": "convert", "settings": {"reduce_retracing": True},
                                      "why": "forward + metrics; batch 64 and a smaller last batch"},
    "demo_model.numerics:expected_calibration_error": {"action": "convert", "settings": {}, "why": "~80 small ops"},
    "demo_model.numerics:summary_statistics": {"action": "convert", "settings": {}, "why": "~25 small ops"},
    "demo_model.train:augment_batch": {
        "action": "convert",
        "settings": {"input_signature": [{"shape": [None, None], "dtype": "float32"}, {"shape": [], "dtype": "float32"}]},
        "why": "Python float strength changes every step: only pays as a tensor",
    },
    "demo_model.evaluate:predict_proba": {"action": "convert", "settings": {"reduce_retracing": True},
                                          "why": "request batch size varies"},
    "demo_model.train:warmup_learning_rate": {"action": "dehybridize", "settings": {},
                                              "why": "decorated, retraces on the Python int step; ~5 ops"},
    "demo_model.evaluate:count_correct": {"action": "dehybridize", "settings": {}, "why": "decorated, 3 ops"},
    "demo_model.numerics:one_hot_labels": {"action": "keep", "settings": {}, "why": "one op"},
    "demo_model.numerics:feature_second_moment": {"action": "keep", "settings": {}, "why": "one big matmul"},
    "demo_model.logging_utils:log_metrics": {"action": "keep", "settings": {}, "why": "print"},
    "demo_model.logging_utils:metrics_to_python": {"action": "keep", "settings": {}, "why": ".numpy()"},
    "demo_model.logging_utils:record_loss": {"action": "keep", "settings": {}, "why": "appends to a caller's list"},
    "demo_model.logging_utils:advance_global_step": {"action": "keep", "settings": {}, "why": "global counters"},
    "demo_model.data:random_feature_mask": {"action": "keep", "settings": {}, "why": "Python random"},
    "demo_model.model:DemoClassifier.call": {"action": "keep", "settings": {},
                                             "why": "inlined by the converted steps; alone a small win at best"},
}


@dataclass(frozen=True)
class Workload:
    name: str
    module: ModuleType

    @property
    def oracle(self) -> dict[str, dict[str, Any]]:
        return dict(self.module.ORACLE)

    @property
    def source(self) -> Path:
        return HERE / f"{self.name}.py"

    @property
    def test_file(self) -> Path:
        return HERE / "tests" / f"test_{self.name}.py"

    def bench(self, quick: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = getattr(self.module, f"bench_{self.name}")(quick=quick)
        return result


def load(name: str) -> Workload:
    if name not in NAMES:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(NAMES)}")
    return Workload(name, importlib.import_module(f"{__package__}.{name}" if __package__ else name))


def all_workloads() -> list[Workload]:
    return [load(name) for name in NAMES]


def _settings_kwargs(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``hybridize.plan.Settings`` JSON -> ``tf.function`` keyword arguments."""
    import tensorflow as tf

    kwargs: dict[str, Any] = {k: v for k, v in settings.items() if k in ("reduce_retracing", "jit_compile", "autograph")}
    if settings.get("input_signature") is not None:
        kwargs["input_signature"] = [
            tf.TensorSpec(shape=spec.get("shape"), dtype=getattr(tf, spec["dtype"]), name=spec.get("name"))
            for spec in settings["input_signature"]
        ]
    return kwargs


@contextlib.contextmanager
def placed(module: ModuleType, placement: Placement) -> Iterator[dict[str, Any]]:
    """Apply a placement to ``module`` in-process (rebinding its globals), restore on exit.

    ``convert``/``tune`` wrap the plain Python function in ``tf.function(**settings)``; ``dehybridize`` unwraps an
    existing tf.function; ``keep`` and unknown actions leave the function alone. Callers inside the module look the
    name up at call time, so they see the new binding. Yields ``{qualname: wrapped object}``.
    """
    import tensorflow as tf

    saved: dict[str, Any] = {}
    applied: dict[str, Any] = {}
    try:
        for qualname, entry in placement.items():
            if "." in qualname or not hasattr(module, qualname):
                continue
            action = entry.get("action")
            original = getattr(module, qualname)
            python_fn = getattr(original, "python_function", original)
            if action in ("convert", "tune"):
                new = tf.function(python_fn, **_settings_kwargs(entry.get("settings") or {}))
            elif action == "dehybridize":
                new = python_fn
            else:
                continue
            saved[qualname] = original
            setattr(module, qualname, new)
            applied[qualname] = new
        yield applied
    finally:
        for qualname, original in saved.items():
            setattr(module, qualname, original)


def convert_everything(module: ModuleType, include_unsafe: bool = False) -> dict[str, dict[str, Any]]:
    """The naive placement: every listed candidate converted with default settings, i.e. "whatever static analysis
    allows"; entries marked ``"unsafe": True`` (side effects, ``.numpy()``, NumPy code) are skipped unless asked for."""
    return {name: {"action": "convert", "settings": {}} for name, entry in module.ORACLE.items()
            if include_unsafe or not entry.get("unsafe")}


REPO = Path(__file__).resolve().parents[2]


def bench_fresh(name: str, placement: Placement, quick: bool = False, timeout_s: float = 900.0) -> dict[str, Any]:
    """One bench of ``placement`` in a new Python process (``perf_tests.workloads.fresh``): one-time costs
    included, as a user's program pays them. Raises ``RuntimeError`` with the last line of its error output."""
    cmd = [sys.executable, "-m", "perf_tests.workloads.fresh", name, "--placement", json.dumps(dict(placement))]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout_s:.0f} s") from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        err = [line for line in proc.stderr.splitlines() if line.strip()]
        raise RuntimeError(err[-1] if err else f"exit {proc.returncode}")
    return dict(json.loads(lines[-1]))


def compare_many(name: str, placements: Mapping[str, Placement], quick: bool = False, repeats: int = 1,
                 fresh: bool = False) -> dict[str, Any]:
    """Eager and each labelled placement side by side, interleaved, best of ``repeats`` each: in this process, or
    with ``fresh`` each bench in a new process (``bench_fresh``).

    Returns ``{"workload", "eager_s", "outputs_eager", label: {"s", "speedup", "max_rel_output_diff", "outputs"} or
    {"error": str}}``; a placement whose run raises (e.g. ``.numpy()`` under tf.function) is reported, not raised.
    """
    workload = load(name)
    eager_runs: list[dict[str, Any]] = []
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in placements}
    errors: dict[str, str] = {}
    # Identical placements are one program: timed once and shared (timing it twice only measured the machine's
    # noise, up to 30 % on a loaded machine); a placement that changes nothing shares eager's runs.
    first: dict[str, str] = {}
    same_as: dict[str, str] = {}
    for label, placement in placements.items():
        key = _effective(workload.module, placement)
        if key == "{}":
            same_as[label] = ""
        elif key in first:
            same_as[label] = first[key]
        else:
            first[key] = label
    def bench(placement: Placement) -> dict[str, Any]:
        if fresh:
            return bench_fresh(name, placement, quick=quick)
        with placed(workload.module, placement):
            return dict(workload.bench(quick=quick))

    for _ in range(repeats):
        eager_runs.append(bench({}))
        for label, placement in placements.items():
            if label in errors or label in same_as:
                continue
            try:
                runs[label].append(bench(placement))
            except Exception as exc:  # a wrong conversion: part of the result
                errors[label] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
    for label, other in same_as.items():
        runs[label] = eager_runs if other == "" else runs[other]
        if other in errors:
            errors[label] = errors[other]
    eager = min(eager_runs, key=lambda r: r["wall_s"])
    result: dict[str, Any] = {"workload": name, "eager_s": eager["wall_s"], "outputs_eager": eager["outputs"],
                              "timed_as": {label: other or "eager" for label, other in same_as.items()}}
    for label in placements:
        if label in errors:
            result[label] = {"error": errors[label]}
            continue
        best = min(runs[label], key=lambda r: r["wall_s"])
        diffs = [abs(best["outputs"][k] - v) / max(abs(v), 1e-6) for k, v in eager["outputs"].items() if k in best["outputs"]]
        result[label] = {
            "s": best["wall_s"],
            "speedup": eager["wall_s"] / best["wall_s"] if best["wall_s"] > 0 else float("nan"),
            "max_rel_output_diff": max(diffs, default=0.0),
            "outputs": best["outputs"],
        }
    return result


def _effective(module: ModuleType, placement: Placement) -> str:
    """What ``placed`` would actually change, as a canonical string ("{}" = nothing)."""
    changes = {q: {"action": e.get("action"), "settings": e.get("settings") or {}} for q, e in placement.items()
               if "." not in q and hasattr(module, q) and e.get("action") in ("convert", "tune", "dehybridize")}
    return json.dumps(changes, sort_keys=True, default=str)


def compare(name: str, quick: bool = False, placement: Placement | None = None, repeats: int = 1) -> dict[str, Any]:
    """Eager vs one placement (default: the oracle): ``eager_s``, ``placed_s``, ``speedup``, ``max_rel_output_diff``,
    ``outputs_eager``, ``outputs_placed``. Raises if the placed run raises."""
    workload = load(name)
    placement = workload.oracle if placement is None else placement
    row = compare_many(name, {"placed": placement}, quick=quick, repeats=repeats)
    placed_row = row["placed"]
    if "error" in placed_row:
        raise RuntimeError(f"{name}: placed run failed: {placed_row['error']}")
    return {
        "workload": name,
        "eager_s": row["eager_s"],
        "placed_s": placed_row["s"],
        "speedup": placed_row["speedup"],
        "max_rel_output_diff": placed_row["max_rel_output_diff"],
        "outputs_eager": row["outputs_eager"],
        "outputs_placed": placed_row["outputs"],
    }


def perf_command(name: str, quick: bool = False) -> str:
    """The workload's perf command: ``python bench.py``, or the workload module itself where it is a script
    (``PERF_COMMAND``: its loop runs at module level); ``--quick`` for the short run."""
    command = str(getattr(load(name).module, "PERF_COMMAND", "python bench.py"))
    return f"{command} --quick" if quick else command


def materialize(name: str, dest: Path) -> Path:
    """Write workload ``name`` as a standalone project in ``dest`` (for ``hybridize profile`` / ``apply``).

    Layout: ``<name>.py``, ``tests/test_<name>.py`` (imports rewritten to top level), ``bench.py`` (the perf
    command) and a ``pyproject.toml`` with ``[tool.hybridize]``. Function ids there are ``"<name>:<qualname>"``.
    """
    load(name)  # validates the name
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HERE / f"{name}.py", dest / f"{name}.py")
    (dest / "tests").mkdir(exist_ok=True)
    (dest / "tests" / "__init__.py").write_text("", encoding="utf-8")
    test_src = (HERE / "tests" / f"test_{name}.py").read_text(encoding="utf-8")
    test_src = re.sub(rf"^from \.\. import {name} as wl$", f"import {name} as wl", test_src, flags=re.M)
    (dest / "tests" / f"test_{name}.py").write_text(test_src, encoding="utf-8")
    (dest / "bench.py").write_text(
        f'"""Perf command for the {name} workload: prints the wall time of its fixed workload."""\n'
        "import json\nimport os\nimport sys\n\n"
        'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")\n\n'
        f"import {name}\n\n"
        f'result = {name}.bench_{name}(quick="--quick" in sys.argv)\n'
        'print(json.dumps(result))\n',
        encoding="utf-8",
    )
    (dest / "pyproject.toml").write_text(
        f'[project]\nname = "workload-{name.replace("_", "-")}"\nversion = "0"\n\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\naddopts = "-p no:cacheprovider"\n\n'
        f'[tool.hybridize]\npaths = ["{name}.py"]\nperf-command = "{perf_command(name)}"\n'
        'test-command = "python -m pytest -q tests"\n',
        encoding="utf-8",
    )
    return dest


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``(fn(*args, **kwargs), seconds)``: the workloads' own timer."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start
