"""The trial hook for real: a tiny TensorFlow project run with functions wrapped in memory.

Few runs, shared through session-scoped fixtures: the baseline starts cold (a fresh process imports TensorFlow),
the other runs warm (forked from a server that imported it once), so each check compares the two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridize.planner.trials import BOOT, TrialResult, run_trial
from hybridize.planner.warmstart import WarmStarter

pytest.importorskip("tensorflow")

MOD = '''
import tensorflow as tf

SEEN = []


def many_ops(x):
    for _ in range(20):
        x = x * 1.0001 + 0.001
    return x


def outer(x):
    return many_ops(x) + 1.0


def side_effect(x):
    SEEN.append(1)
    return x * 2.0


class Block:
    def __init__(self):
        self.w = tf.Variable(tf.ones([4, 4]))

    def __call__(self, x):
        return tf.matmul(x, self.w)


DRIFT = [0]


def drift(x):
    DRIFT[0] += 1  # Python state read at trace time: a graph freezes it, eager does not
    return x + float(DRIFT[0])


@tf.function
def already(x, n):
    return x * n


def loss(x, w):
    y = tf.matmul(x, w)
    for _ in range(10):
        y = tf.tanh(y) * 1.01
    return tf.reduce_sum(y)


def step(x, w):
    with tf.GradientTape() as tape:  # a tape inside a measured function: its own time shows the backward pass
        value = loss(x, w)
    return tape.gradient(value, w)
'''

RUN = '''
import tensorflow as tf
from pkg import mod
b = mod.Block()
for i in range(30):
    x = tf.ones([1 + i % 3, 4])
    mod.outer(x)
    b(x)
    mod.already(x, i % 4)
    mod.drift(tf.ones([2]))
w = tf.Variable(tf.ones([4, 4]))
for i in range(30):
    with tf.GradientTape() as tape:  # the training loop's tape, outside the loss
        value = mod.loss(tf.ones([2, 4]), w)
    tape.gradient(value, w)
for i in range(5):
    mod.step(tf.ones([2, 4]), w)
'''

TESTS = '''
import tensorflow as tf
from pkg import mod

def test_side():
    before = len(mod.SEEN)
    mod.side_effect(tf.ones([2]))
    mod.side_effect(tf.ones([2]))
    assert len(mod.SEEN) == before + 2

def test_outer():
    assert mod.outer(tf.zeros([2])).shape == (2,)
'''


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proj")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "mod.py").write_text(textwrap.dedent(MOD), encoding="utf-8")
    (root / "run.py").write_text(textwrap.dedent(RUN), encoding="utf-8")
    (root / "test_mod.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    (root / "pyproject.toml").write_text("", encoding="utf-8")
    return root


FUNCS = ["pkg.mod:many_ops", "pkg.mod:outer", "pkg.mod:Block.__call__", "pkg.mod:already", "pkg.mod:loss",
         "pkg.mod:step"]


def _run(project: Path, label: str, targets: list[dict[str, object]], **kw: object) -> TrialResult:
    cwd = os.getcwd()
    os.chdir(project)  # commands run in the current folder, as the profile ran them
    try:
        return run_trial([sys.executable, *kw.pop("argv", ["run.py"])], root=project,  # type: ignore[misc]
                         work_dir=project / ".hybridize" / "trials", label=label, targets=targets, **kw)  # type: ignore[arg-type]
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def warm(project: Path) -> Iterator[WarmStarter]:
    starter = WarmStarter(project / ".hybridize" / "warm.log", boot=[BOOT], root=project)
    yield starter
    starter.close()


@pytest.fixture(scope="session")
def baseline(project: Path) -> TrialResult:
    return _run(project, "baseline", [{"function": f, "mode": "time"} for f in FUNCS], digest_calls=2,
                record_signatures=True)


@pytest.fixture(scope="session")
def graph(project: Path, warm: WarmStarter) -> TrialResult:
    sig = {"input_signature": [{"shape": [None, 4], "dtype": "float32"}]}
    targets = [{"function": "pkg.mod:many_ops", "mode": "graph", "settings": {}, "replay": 2},
               {"function": "pkg.mod:drift", "mode": "graph", "settings": {}, "replay": 1},
               {"function": "pkg.mod:Block.__call__", "mode": "graph", "settings": sig},
               {"function": "pkg.mod:outer", "mode": "time"},
               {"function": "pkg.mod:already", "mode": "eager"},
               {"function": "pkg.mod:loss", "mode": "graph", "settings": {}},
               {"function": "pkg.mod:step", "mode": "time"}]
    result = _run(project, "graph", targets, digest_calls=2, warm=warm)
    assert warm.warm_runs == 1, warm.disabled
    return result


def test_baseline_counts_calls_edges_traces_and_signatures(baseline: TrialResult) -> None:
    assert baseline.exit_code == 0, baseline.hook_errors
    assert set(FUNCS) <= baseline.patched
    assert baseline.func("pkg.mod:outer").calls == 30
    assert baseline.func("pkg.mod:Block.__call__").calls == 30
    assert baseline.edges[("pkg.mod:outer", "pkg.mod:many_ops")] == 30
    assert baseline.func("pkg.mod:already").traces == 12  # 3 shapes x 4 Python values, an existing tf.function
    shapes = sorted(s["args"]["x"]["shape"] for s in baseline.func("pkg.mod:many_ops").signatures)
    assert shapes == [[1, 4], [2, 4], [3, 4]]
    assert baseline.func("pkg.mod:many_ops").digests[0]["in"][0][0]["shape"] == [1, 4]
    outer = baseline.func("pkg.mod:outer")  # the fastest call, for the robust estimate: at most the mean
    assert outer.min_s is not None and 0 < outer.min_s <= outer.time_s / outer.calls


def test_graph_mode_traces_as_predicted(baseline: TrialResult, graph: TrialResult) -> None:
    assert graph.exit_code == 0, graph.hook_errors
    assert graph.func("pkg.mod:many_ops").traces == 3  # plain: one trace per shape
    assert graph.func("pkg.mod:Block.__call__").traces == 1  # input_signature with a None batch dim
    assert graph.func("pkg.mod:already").traces == 0  # removed decorator: runs eagerly
    assert graph.func("pkg.mod:many_ops").calls == 30
    steady = graph.func("pkg.mod:many_ops")  # tracing calls are left out of the fastest call
    assert steady.min_s is not None and steady.min_s <= (steady.time_s - steady.trace_time_s) / steady.steady_calls
    assert steady.trace_cpu_s is not None and steady.trace_cpu_s > 0  # the CPU its 3 traces took (no contention)
    base, conv = baseline.func("pkg.mod:many_ops").digests[0], graph.func("pkg.mod:many_ops").digests[0]
    assert base["in"] == conv["in"]
    assert abs(base["out"]["sum"] - conv["out"]["sum"]) < 1e-3


def test_eager_replay_in_the_same_run(graph: TrialResult) -> None:
    """The in-run oracle: the same call under run_functions_eagerly(True); a frozen Python value is caught."""
    from hybridize.planner.compare import compare_replays

    assert len(graph.func("pkg.mod:many_ops").replays) == 2
    assert compare_replays(graph.func("pkg.mod:many_ops").replays)[0] == "match"
    assert graph.func("pkg.mod:many_ops").calls == 30  # the replays are not counted as calls
    check, detail = compare_replays(graph.func("pkg.mod:drift").replays)
    assert check == "mismatch" and "replayed eagerly" in detail
    assert compare_replays([])[0] == "not-checked"
    assert compare_replays([{"error": "ValueError: x"}]) == ("inconclusive", "the eager replay failed: ValueError: x")


def test_xla_compiles_and_runs_in_a_forked_warm_run(project: Path, warm: WarmStarter) -> None:
    """``jit_compile=True`` in a child forked from the server that imported TensorFlow: the server creates no
    TensorFlow context before forking, so XLA's compiler and thread pools start in the child (a fork after the
    runtime has started can leave the child waiting on a lock no thread will release). The run completes warm,
    compiles once per shape and matches its eager replay."""
    from hybridize.planner.compare import compare_replays

    runs = warm.warm_runs
    targets = [{"function": "pkg.mod:many_ops", "mode": "graph", "settings": {"jit_compile": True}, "replay": 2}]
    result = _run(project, "xla", targets, warm=warm, timeout_s=120)
    assert result.exit_code == 0 and not result.timed_out, result.hook_errors
    assert warm.warm_runs == runs + 1, warm.disabled
    xla = result.func("pkg.mod:many_ops")
    assert (xla.calls, xla.traces, xla.errors) == (30, 3, {})
    assert compare_replays(xla.replays)[0] == "match"


def test_pytest_outcomes_and_selection(project: Path, warm: WarmStarter) -> None:
    targets = [{"function": "pkg.mod:side_effect", "mode": "graph", "settings": {}}]
    runs = warm.warm_runs
    result = _run(project, "tests", targets, argv=["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mod.py"],
                  warm=warm)
    assert warm.warm_runs == runs + 1, warm.disabled
    assert result.tests["test_mod.py::test_side"]["outcome"] == "failed"
    assert result.tests["test_mod.py::test_outer"]["outcome"] == "passed"
    only = _run(project, "only", targets, argv=["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mod.py"],
                only_tests=["test_mod.py::test_outer"])
    assert set(only.tests) == {"test_mod.py::test_outer"}


@pytest.mark.skipif(shutil.which("hybridize") is None and not (Path(sys.executable).parent / "hybridize").exists(),
                    reason="hybridize CLI not installed")
def test_profile_pipeline_end_to_end(project: Path, tmp_path: Path) -> None:
    """`hybridize profile` -> plan.json: side effect rejected by static analysis, tiny function not recommended."""
    work = tmp_path / "proj"
    shutil.copytree(project, work, ignore=shutil.ignore_patterns(".hybridize"))
    exe = Path(sys.executable).parent / "hybridize"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run([str(exe), "profile", "--budget", "1", "--", sys.executable, "-m", "pytest", "-q",
                           "-p", "no:cacheprovider", "test_mod.py"], cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    plan = json.loads((work / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    reasons = {r["function"]: r["reason"] for r in plan["rejected"]}
    assert reasons.get("pkg.mod:side_effect") in ("blocker-finding", "test-failure")
    recommended = {r["function"] for r in plan["recommendations"]}
    assert "pkg.mod:side_effect" not in recommended
    assert plan["meta"]["runs"][0]["label"] == "baseline"
    if sys.platform.startswith("linux"):  # every trial forked from the server that imported TensorFlow
        assert plan["meta"]["warm_start"] == {"runs": len(plan["meta"]["runs"]), "cold_runs": 0, "cold_because": None}


def test_gradients_outside_measured_functions_are_timed_apart(baseline: TrialResult, graph: TrialResult) -> None:
    """The backward pass of a function differentiated under a tape outside it: the 30 gradient calls of the loop
    are timed apart (the 5 inside `step` are in step's own time), and the loss's calls are counted as taped."""
    for result in (baseline, graph):
        assert result.gradient_calls == 30
        assert result.func("pkg.mod:loss").taped_calls == 35  # 30 under the loop's tape, 5 under step's
        assert result.func("pkg.mod:outer").taped_calls == 0
    assert baseline.gradient_s > 0 and graph.gradient_s > 0
    assert graph.changed == {"pkg.mod:many_ops", "pkg.mod:drift", "pkg.mod:Block.__call__", "pkg.mod:already",
                             "pkg.mod:loss"}
