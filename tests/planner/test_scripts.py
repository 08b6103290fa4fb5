"""Trial runs of training scripts: functions of the main program (and of modules whose import runs the workload)
are wrapped as they are defined, so a module-level loop's calls are measured; the program runs as a plain run.

Pure Python (the trial hook's ``time`` mode needs no TensorFlow), cold and warm-started, so these run on 3.11 and
3.12 in seconds; ``test_script_end_to_end`` profiles, applies and verifies a TensorFlow script.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from hybridize.planner.placement import place
from hybridize.planner.trials import BOOT, TrialResult, run_trial
from hybridize.planner.warmstart import WarmStarter

SCRIPT = '''
import functools
import sys


def deco(fn):
    @functools.wraps(fn)
    def inner(*a, **k):
        return fn(*a, **k)
    return inner


def step(x):
    return x + 1


@deco
def decorated(x):
    return x * 2


class Model:
    def call(self, x):
        return step(x)

    @staticmethod
    def helper(x):
        return x


alias = step  # a reference taken at definition time: post-execution patching never sees calls through it

total = 0
for i in range(5):  # the hot loop at module level
    total += alias(i) + decorated(i) + Model().call(i) + Model.helper(i)

if __name__ == "__main__":
    for i in range(3):
        total += step(i)
    print("total", total, "argv", sys.argv[1:], "name", __name__, "file", __file__, "path0", sys.path[0])
    if len(sys.argv) > 1 and sys.argv[1] == "raise":
        raise ValueError("boom in the script")
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
'''

TARGETS = ["step", "decorated", "Model.call", "Model.helper"]


def _targets(module: str) -> list[dict[str, object]]:
    return [{"function": f"{module}:{q}", "mode": "time"} for q in TARGETS]


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "train.py").write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    (root / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    (root / "pkg" / "helpers.py").write_text("def scale(x):\n    return 3 * x\n", encoding="utf-8")
    (root / "pkg" / "work.py").write_text(  # an imported module whose import runs the workload
        "from .helpers import scale\n\n\ndef step(x):\n    return scale(x)\n\n\nDONE = [step(i) for i in range(4)]\n",
        encoding="utf-8")
    (root / "pkg" / "run.py").write_text(  # run as `python -m pkg.run`: relative imports of siblings
        "import sys\nfrom . import work\nfrom .helpers import scale\n\n\ndef main():\n    return scale(2)\n\n\n"
        "if __name__ == '__main__':\n    for _ in range(6):\n        main()\n    print('pkg', __name__, "
        "__package__, __spec__.name, sys.argv)\n    sys.exit(7)\n", encoding="utf-8")
    monkeypatch.chdir(root)
    return root


@pytest.fixture(params=["cold", "warm"])
def warm(request: pytest.FixtureRequest, project: Path) -> Iterator[WarmStarter | None]:
    if request.param == "cold":
        yield None
        return
    if not sys.platform.startswith("linux"):
        pytest.skip("warm start is Linux-only")
    starter = WarmStarter(project / "server.log", boot=[BOOT], root=project, preload=("json",))
    yield starter
    assert starter.cold_runs == 0, starter.cold_because
    starter.close()


def _run(project: Path, cmd: list[str], targets: list[dict[str, object]], warm: WarmStarter | None,
         label: str = "run", stop: dict[str, object] | None = None) -> tuple[TrialResult, str]:
    result = run_trial(cmd, root=project, work_dir=project / ".work", label=label, targets=targets, warm=warm,
                       stop=stop)
    log = (project / ".work" / label / "output.log").read_text(encoding="utf-8")
    return result, log


def test_a_scripts_module_level_loop_is_measured(project: Path, warm: WarmStarter | None) -> None:
    result, log = _run(project, [sys.executable, "train.py", "0"], _targets("train"), warm)
    assert result.exit_code == 0, log
    calls = {q: result.func(f"train:{q}").calls for q in TARGETS}
    # step: 5 through the alias, 5 from Model.call, 3 under __main__; the others 5 each, all in the module's loop
    assert calls == {"step": 13, "decorated": 5, "Model.call": 5, "Model.helper": 5}, result.hook_errors
    assert result.edges[("train:Model.call", "train:step")] == 5
    assert not result.hook_errors
    # the program saw what a plain run shows it
    line = next(ln for ln in log.splitlines() if ln.startswith("total"))
    assert line == f"total 66 argv ['0'] name __main__ file {project / 'train.py'} path0 {project}"


def test_exit_status_and_exceptions_are_the_scripts(project: Path, warm: WarmStarter | None) -> None:
    result, log = _run(project, [sys.executable, "train.py", "3"], _targets("train"), warm, "exit3")
    assert result.exit_code == 3 and result.func("train:step").calls == 13
    result, log = _run(project, [sys.executable, "train.py", "raise"], _targets("train"), warm, "raise")
    assert result.exit_code == 1
    assert "ValueError: boom in the script" in log
    line = textwrap.dedent(SCRIPT).splitlines().index('        raise ValueError("boom in the script")') + 1
    # the script's own file, line numbers and source lines
    assert f'File "{project / "train.py"}", line {line}, in <module>\n    raise ValueError(' in log
    assert "runmain" not in log  # our frames are not part of the traceback
    assert result.func("train:step").calls == 13  # the results of a failing run are still written


def test_python_dash_m_with_relative_imports(project: Path, warm: WarmStarter | None) -> None:
    targets = [{"function": "pkg.run:main", "mode": "time"}, {"function": "pkg.work:step", "mode": "time"},
               {"function": "pkg.helpers:scale", "mode": "time"}]
    result, log = _run(project, [sys.executable, "-m", "pkg.run", "x"], targets, warm)
    assert result.exit_code == 7, log
    assert f"pkg __main__ pkg pkg.run ['{project / 'pkg' / 'run.py'}', 'x']" in log
    assert result.func("pkg.run:main").calls == 6
    assert result.func("pkg.work:step").calls == 4  # called while pkg.work was being imported
    assert result.func("pkg.helpers:scale").calls == 10
    assert result.edges[("pkg.run:main", "pkg.helpers:scale")] == 6


def test_an_imported_module_whose_import_runs_the_workload(project: Path) -> None:
    """``python -c`` has no main file: the command runs as given, and the import hook places the conversions."""
    result, _ = _run(project, [sys.executable, "-c", "import pkg.work"], [{"function": "pkg.work:step",
                                                                                "mode": "time"}], None)
    assert result.exit_code == 0 and result.func("pkg.work:step").calls == 4


def test_placement_keeps_lines_source_and_decorator_order(tmp_path: Path) -> None:
    source = textwrap.dedent('''
        import functools

        def outer(fn):
            @functools.wraps(fn)
            def w(*a):
                return ("outer", fn(*a))
            return w

        @outer
        def f(x):
            return x

        class C:
            @staticmethod
            def s(x):
                return x

            @classmethod
            def c(cls):
                return cls

            def m(self):
                def inner():
                    return 1
                return inner()
        ''')
    path = tmp_path / "mod.py"
    path.write_text(source, encoding="utf-8")
    code, placed, skipped = place(source, str(path), ["f", "C.s", "C.c", "C.m", "C.m.<locals>.inner"])
    assert placed == ["f", "C.s", "C.m", "C.m.<locals>.inner"] and "C.c" in skipped
    seen: list[tuple[str, bool, bool]] = []

    def placer(qualname: str, is_method: bool, bound: bool) -> object:
        seen.append((qualname, is_method, bound))
        return lambda fn: fn

    namespace = {"__name__": "mod", "__hybridize_place__": placer}
    exec(code, namespace)
    # innermost: under @outer (so a method there would be called unbound), under @staticmethod not a method
    assert seen == [("f", False, False), ("C.s", False, True), ("C.m", True, True)]
    assert namespace["f"](2) == ("outer", 2)  # type: ignore[operator]
    inner_code = namespace["C"].m.__code__  # type: ignore[attr-defined]
    assert inner_code.co_firstlineno == source.splitlines().index("    def m(self):") + 1
    assert inspect.getsource(namespace["C"].m).lstrip().startswith("def m(self):")  # type: ignore[attr-defined]
    namespace["C"]().m()  # type: ignore[operator]
    assert seen[-1] == ("C.m.<locals>.inner", False, True)


def test_placement_wraps_an_existing_tf_function_decorator_from_above() -> None:
    source = "import deco\n\n@deco.other\n@tf.function(jit_compile=True)\n@deco.inner\ndef g(x):\n    return x\n"
    code, placed, _ = place(source, "g.py", ["g"])
    assert placed == ["g"]
    order: list[str] = []

    def rec(name: str) -> object:
        def deco(fn: object) -> object:
            order.append(name)
            return fn
        return deco

    class Ns:
        other = staticmethod(rec("other"))
        inner = staticmethod(rec("inner"))

    class Tf:
        @staticmethod
        def function(**kw: object) -> object:
            return rec("tf.function")

    def placer(qualname: str, is_method: bool, bound: bool) -> object:
        assert (qualname, is_method, bound) == ("g", False, False)
        return rec("placed")

    exec(code, {"deco": Ns, "tf": Tf, "__hybridize_place__": placer, "__name__": "g",
                "__builtins__": {"__import__": lambda *a, **k: Ns}})
    assert order == ["inner", "tf.function", "placed", "other"]  # the tf.function object is what is timed


PURE_TRAIN = '''
def step(x):
    return x + 1


class Trainer:
    def fit(self, n):
        return sum(step(i) for i in range(n))


for i in range(4):
    step(i)

if __name__ == "__main__":
    Trainer().fit(3)
'''


def test_the_profile_traces_the_main_script_on_every_python(tmp_path: Path) -> None:
    """3.10/3.11's import-hook tracer instruments the script too; its functions get the name static analysis
    and the rewriter use (``train:step`` for ``train.py`` at the root), never ``__main__``; a folder holding just
    a script is a project (its root)."""
    root = tmp_path / "scripts_only"
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(PURE_TRAIN), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-m", "hybridize", "profile", "--no-measure", "--", sys.executable,
                           "train.py"], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    out = subprocess.run([sys.executable, "-m", "hybridize", "functions", "--json"], cwd=root, capture_output=True,
                         text=True, timeout=120, env=env)
    data = json.loads(out.stdout)
    functions = data["functions"] if isinstance(data, dict) and "functions" in data else data
    by_name = {f["name"] if "name" in f else f["function"]: f for f in functions} if isinstance(functions, list) \
        else functions
    assert by_name["train:step"]["calls"] == 7
    assert by_name["train:Trainer.fit"]["calls"] == 1
    assert by_name["train:step"]["file"] == "train.py"
    assert not any(name.startswith("__main__") for name in by_name)


TF_TRAIN = '''
import tensorflow as tf

W = tf.Variable(tf.zeros([32, 1]))
b = tf.Variable(0.0)
opt = tf.keras.optimizers.SGD(0.05)


def step(x, y):
    with tf.GradientTape() as tape:
        pred = tf.matmul(x, W) + b
        loss = tf.reduce_mean(tf.square(pred - y)) + 1e-4 * tf.reduce_sum(tf.square(W))
    grads = tape.gradient(loss, [W, b])
    opt.apply_gradients(zip(grads, [W, b]))
    return loss


if __name__ == "__main__":
    x = tf.random.stateless_normal([256, 32], seed=[3, 4])
    y = tf.matmul(x, tf.random.stateless_normal([32, 1], seed=[5, 6])) + 0.5
    for i in range(200):
        loss = step(x, y)
    print(f"final loss {float(loss):.6f}")
'''


def test_script_end_to_end(tmp_path: Path) -> None:
    """`profile -- python train.py` on a script whose loop is under ``if __name__ == "__main__":`` recommends
    its step function (before: rejected not-exercised), and `apply --verify -- python train.py` rewrites the script.
    (The final-numbers check of whole runs: test_outputs.py.)"""
    root = tmp_path / "tfscript"
    root.mkdir()
    (root / "train.py").write_text(textwrap.dedent(TF_TRAIN), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "TF_CPP_MIN_LOG_LEVEL": "2"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hybridize", *args], cwd=root, capture_output=True, text=True,
                              timeout=600, env=env)

    proc = cli("profile", "--", sys.executable, "train.py")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads((root / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    assert [r["function"] for r in plan["recommendations"]] == ["train:step"], plan["rejected"]
    assert plan["recommendations"][0]["file"] == "train.py"
    # 200 calls: the trial runs stopped after 31 (the baseline's rule) and extrapolated to the 200
    assert any("stopped early" in n for n in plan["meta"]["notes"]), plan["meta"]["notes"]
    assert plan["recommendations"][0]["calls"] == 200
    proc = cli("apply", "--verify", "--", sys.executable, "train.py")
    assert proc.returncode == 0 and "verification passed" in proc.stdout, proc.stdout + proc.stderr
    assert "@tf.function\ndef step(x, y):" in (root / "train.py").read_text(encoding="utf-8")


LONG = '''
import sys


def step(x):
    return x + 1


def evaluate(x):
    return step(x) * 2


for epoch in range(400):
    for i in range(10):
        step(i)
    evaluate(epoch)
print("finished")  # never reached when the run stops early
'''


def test_early_stop_ends_every_run_at_the_same_event(project: Path, warm: WarmStarter | None) -> None:
    from hybridize.planner.earlystop import EarlyStop, baseline_need

    (project / "long.py").write_text(textwrap.dedent(LONG), encoding="utf-8")
    targets: list[dict[str, object]] = [{"function": "long:step", "mode": "time"},
                                        {"function": "long:evaluate", "mode": "time"}]
    need = baseline_need({"long:step": 4400, "long:evaluate": 400})
    assert need == {"long:step": 31, "long:evaluate": 31}
    assert baseline_need({"long:step": 4400, "long:evaluate": 50}) is None  # would stop past half the run
    early = EarlyStop(need, {"long:step": 4400, "long:evaluate": 400}, {"long:step", "long:evaluate"})
    base, log = _run(project, [sys.executable, "long.py"], targets, warm, "base", stop=early.rule())
    assert base.exit_code == 0 and "finished" not in log
    # evaluate reaches 31 calls last (epoch 30): the run stops as that top-level call returns
    assert base.stopped is not None and base.stopped["at"] == ["long:evaluate", 31]
    assert base.stopped["calls"] == {"long:evaluate": 31, "long:step": 31 * 10 + 31}
    assert early.after_baseline(base.stopped) is not None and early.rule() == {"at": ["long:evaluate", 31]}
    # a later run stops at the same event (the same top-level call), whatever it converted
    again, log = _run(project, [sys.executable, "long.py"], targets, warm, "again", stop=early.rule())
    assert again.exit_code == 0 and "finished" not in log and again.stopped == base.stopped
    whole, log = _run(project, [sys.executable, "long.py"], targets, warm, "whole")
    assert "finished" in log and whole.stopped is None and whole.func("long:evaluate").calls == 400


def test_a_stopped_runs_totals_are_extrapolated_from_its_per_call_times() -> None:
    from hybridize.planner.earlystop import EarlyStop
    from hybridize.planner.trials import FunctionResult

    early = EarlyStop({"m:step": 31, "m:tuned": 31}, {"m:step": 1000, "m:tuned": 4}, {"m:step"})
    result = TrialResult("level0", [], 0, 1.0, stopped={"at": ["m:step", 101], "calls": {}})
    # step: 1 tracing call (0.5 s) and 100 steady calls of 1 ms; tuned is an existing tf.function (its profiled
    # count is its traces): scaled by the share of the script covered (101 of step's 1000 calls)
    result.functions = {"m:step": FunctionResult(calls=101, time_s=0.6, trace_calls=1, trace_time_s=0.5, min_s=0.001),
                        "m:tuned": FunctionResult(calls=11, time_s=0.11, trace_calls=1, trace_time_s=0.01)}
    result.gradient_s, result.gradient_calls = 1.01, 101
    early.extrapolate(result)
    step, tuned = result.func("m:step"), result.func("m:tuned")
    assert step.calls == 1000 and abs(step.time_s - (0.5 + 0.1 * 999 / 100)) < 1e-9
    assert step.per_call_s() == pytest.approx(0.001) and step.trace_time_s == 0.5
    assert tuned.calls == round(1 + 10 / 0.101) and tuned.time_s == pytest.approx(0.01 + 0.1 / 0.101)
    assert result.gradient_s == pytest.approx(10.0) and result.gradient_calls == 1000
    whole = TrialResult("level0", [], 0, 1.0)
    whole.functions = {"m:step": FunctionResult(calls=101, time_s=0.6, trace_calls=1, trace_time_s=0.5)}
    early.extrapolate(whole)  # a run that was not stopped is left as measured
    assert whole.func("m:step").calls == 101


def test_the_main_file_of_a_command_without_importing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hybridize.tracer.runmain import main_module, wrap_command

    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "__init__.py").write_text("raise SystemExit('imported')\n", encoding="utf-8")
    (tmp_path / "src" / "pkg" / "train.py").write_text("", encoding="utf-8")
    (tmp_path / "tool.py").write_text("", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main_module([sys.executable, "-m", "pkg.train"], tmp_path) == "pkg.train"  # src layout, not imported
    assert main_module([sys.executable, "tool.py", "--x"], tmp_path) == "tool"
    assert main_module([sys.executable, "-m", "pytest"], tmp_path) is None  # not a project file
    assert main_module([sys.executable, "-c", "0"], tmp_path) is None
    assert wrap_command([sys.executable, "tool.py", "a"]) == [sys.executable, "-m", "hybridize.tracer.runscript",
                                                             "tool.py", "a"]
    assert wrap_command(["bash", "-c", "true"]) == ["bash", "-c", "true"]
