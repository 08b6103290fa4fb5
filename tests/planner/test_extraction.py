"""Measured loop extraction (issue #17, items 3-4): the plan's `extract` recommendation, its strict loading,
apply/undo through the rewriter's transaction, and a real trial measurement of a tiny training script."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hybridize.plan import Plan, Recommendation, Settings, file_sha256
from hybridize.planfile import SchemaError
from hybridize.planner import extract_measure, extract_settings, extraction
from hybridize.planner.extract_decide import Run
from hybridize.planner.report import render_html, render_markdown
from hybridize.profile_types import FunctionProfile
from hybridize.rewriter import apply as rw
from hybridize.static.loops import find_loops
from hybridize.tracer.store import load_profile

SCRIPT = textwrap.dedent("""\
    import tensorflow as tf

    tf.random.set_seed(0)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4)])
    optimizer = tf.keras.optimizers.SGD(0.1)
    x = tf.ones([8, 3])
    y = tf.zeros([8, 4])
    for step in range(60):
        # forward and backward
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if step % 20 == 0:
            print("step", step)
    print("final loss", round(float(loss), 4))
    """)


def project(tmp_path: Path, source: str = SCRIPT) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    path = tmp_path / "train.py"
    path.write_text(source)
    return path


def extract_rec(tmp_path: Path, settings: Settings | None = None) -> Recommendation:
    path = project(tmp_path)
    cand = find_loops(tmp_path, path)[0]
    assert cand.region is not None
    r = cand.region
    return Recommendation(rank=1, id=1, function="train:<module>", file="train.py", line=cand.line, action="extract",
                          decorator="@tf.function", settings=settings or Settings(), speedup=2.5, saved_s=1.0,
                          extract={"loop_line": cand.line, "start": r.start, "end": r.end, "stmt_lines": r.stmt_lines,
                                   "name": "train_step", "params": r.params, "returns": r.returns})


def test_extract_recommendation_round_trips_through_the_strict_loader(tmp_path: Path) -> None:
    rec = extract_rec(tmp_path, Settings(reduce_retracing=True))
    rec.evidence = {"setting": "reduce_retracing", "pairs_s": [[10.0, 4.0], [11.0, 4.4]]}
    plan = Plan(recommendations=[rec], file_hashes={"train.py": file_sha256(tmp_path / "train.py")})
    plan.save(tmp_path / "plan.json")
    back = Plan.load(tmp_path / "plan.json")
    assert back.recommendations[0].extract == rec.extract
    assert back.recommendations[0].action == "extract"
    assert back.recommendations[0].settings == Settings(reduce_retracing=True)
    assert "extract" not in Recommendation(rank=1, id=2, function="a:f", file="a.py", line=1, action="convert",
                                           decorator="").to_json()  # plans without extractions keep their shape
    text = render_markdown(back) + render_html(back)
    assert "lines 10-13 of the loop at line 8" in text
    assert "(reduce_retracing; 2 agreeing eager/extracted pairs)" in text


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "train_step()\nimport os", "expected a Python identifier"),
    ("name", "class", "expected a Python identifier"),
    ("params", ["model", "os.system('x')"], r"params\[1\]: expected a Python identifier"),
    ("returns", ["loss", "loss"], "expected distinct names"),
    ("start", 3, "expected loop_line < start <= end"),
    ("stmt_lines", [], "expected increasing statement lines"),
    ("bogus", 1, "unknown extract field"),
])
def test_strict_loader_refuses_a_bad_extract(tmp_path: Path, field: str, value: object, message: str) -> None:
    rec = extract_rec(tmp_path).to_json()
    rec["extract"][field] = value
    (tmp_path / "plan.json").write_text(json.dumps({"schema_version": 1, "recommendations": [rec]}))
    with pytest.raises(SchemaError, match=message):
        Plan.load(tmp_path / "plan.json")


def test_strict_loader_wants_the_region_of_an_extract_and_refuses_one_elsewhere(tmp_path: Path) -> None:
    rec = extract_rec(tmp_path).to_json()
    del rec["extract"]
    (tmp_path / "plan.json").write_text(json.dumps({"schema_version": 1, "recommendations": [rec]}))
    with pytest.raises(SchemaError, match=r"recommendations\[0\]\.extract: missing"):
        Plan.load(tmp_path / "plan.json")
    rec = extract_rec(tmp_path).to_json()
    rec["action"] = "convert"
    (tmp_path / "plan.json").write_text(json.dumps({"schema_version": 1, "recommendations": [rec]}))
    with pytest.raises(SchemaError, match="only an extract recommendation"):
        Plan.load(tmp_path / "plan.json")


def test_apply_diff_write_and_undo_of_an_extract(tmp_path: Path) -> None:
    rec = extract_rec(tmp_path, Settings(reduce_retracing=True))
    plan = Plan(recommendations=[rec], file_hashes={"train.py": file_sha256(tmp_path / "train.py")})
    data = tmp_path / ".hybridize"
    preview = rw.apply_plan(tmp_path, data, plan, diff_only=True)
    assert "+@tf.function(reduce_retracing=True)\n+def train_step(model, optimizer, x, y):" in preview.diff
    assert (tmp_path / "train.py").read_text() == SCRIPT
    result = rw.apply_plan(tmp_path, data, plan)
    assert [o.status for o in result.outcomes] == ["applied"], result.outcomes
    text = (tmp_path / "train.py").read_text()
    assert "    loss = train_step(model, optimizer, x, y)\n" in text
    assert "        print(\"step\", step)\n" in text  # the print every N steps stays in the loop
    # re-planning the applied script finds its step already converted: no second extraction
    tree = ast.parse(text)
    cand = find_loops(tmp_path, tmp_path / "train.py")[0]
    assert cand.region is None and extraction.loop_step(tree, cand.line) == "train_step"
    found = extraction.measure_extractions(tmp_path, data / "work", [sys.executable, str(tmp_path / "train.py")],
                                           budget_s=None, baseline_s=None)  # nothing to run: no region left
    assert not found.recommendations and not found.rejected
    assert found.notes == ["train.py:20: the loop calls its step train_step, already a tf.function"]
    assert rw.undo_last(tmp_path, data) == ["train.py"]
    assert (tmp_path / "train.py").read_bytes() == SCRIPT.encode()


def test_apply_refuses_an_extract_whose_region_moved(tmp_path: Path) -> None:
    rec = extract_rec(tmp_path)
    assert rec.extract is not None
    rec.extract["start"] += 1
    rec.extract["stmt_lines"] = [rec.extract["start"], *rec.extract["stmt_lines"][1:]]
    plan = Plan(recommendations=[rec], file_hashes={"train.py": file_sha256(tmp_path / "train.py")})
    result = rw.apply_plan(tmp_path, tmp_path / ".hybridize", plan)
    assert [o.status for o in result.outcomes] == ["refused"]
    assert (tmp_path / "train.py").read_text() == SCRIPT


@dataclass
class EndToEnd:
    """One project profiled with the CLI, its extraction applied, then profiled again (TensorFlow paid once)."""

    root: Path
    first: dict[str, Any]  # plan.json of the first profile
    applied_with: str  # "apply", or "extract --write" when the loaded machine made the step look slower
    applied: str  # train.py after the extraction
    second: dict[str, Any]  # plan.json of the re-profile
    functions: list[FunctionProfile]  # the re-profile's records


def _hybridize(root: Path, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "hybridize", *args], cwd=root, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode in ok, (args, proc.stdout[-2000:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return proc


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory: pytest.TempPathFactory) -> EndToEnd:
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("e2e")
    project(root)
    # exit 1 when nothing paid: a script with no functions whose extraction a loaded machine measured slower
    _hybridize(root, "profile", "--", sys.executable, "train.py", ok=(0, 1))
    first = json.loads((root / ".hybridize" / "plan.json").read_text())
    assert (root / "train.py").read_text() == SCRIPT  # measured in memory, nothing written
    if any(r["action"] == "extract" for r in first["recommendations"]):
        _hybridize(root, "apply")
        how = "apply"
    else:  # the same rewriter edit, for a run the loaded machine judged slower
        _hybridize(root, "extract", "train.py", "--line", "8", "--write")
        how = "extract --write"
    applied = (root / "train.py").read_text()
    _hybridize(root, "profile", "--", sys.executable, "train.py", ok=(0, 1))
    second = json.loads((root / ".hybridize" / "plan.json").read_text())
    return EndToEnd(root, first, how, applied, second, load_profile(root / ".hybridize").functions)


def test_trial_measures_a_tiny_script_eager_vs_extracted(end_to_end: EndToEnd) -> None:
    plan = end_to_end.first
    recs = [r for r in plan["recommendations"] if r["action"] == "extract"]
    measured = recs + [r for r in plan["rejected"] if r["reason"] != "not-extractable"]
    assert len(measured) == 1, plan
    assert set(measured[0]["evidence"]["runs_s"]) == {"eager", "plain", "reduce_retracing"}  # one batch size
    assert 2 <= len(measured[0]["evidence"]["pairs_s"]) <= 4  # eager/extracted pairs, interleaved
    if recs:
        rec = recs[0]
        assert rec["extract"]["name"] == "train_step" and rec["extract"]["returns"] == ["loss"]
        assert rec["extract"]["params"] == ["model", "optimizer", "x", "y"]
        assert "final printed numbers match" in rec["evidence"]["numbers"]
    else:  # a loaded machine may make the step look slower or the pairs disagree; never a mismatch or a failed run
        assert measured[0]["reason"] in ("measured-slower", "inconclusive"), measured[0]


def test_reprofiling_the_applied_script_finds_the_step_converted(end_to_end: EndToEnd) -> None:
    assert "    loss = train_step(model, optimizer, x, y)\n" in end_to_end.applied, end_to_end.applied_with
    assert "\ndef train_step(model, optimizer, x, y):\n" in end_to_end.applied
    step = next(f for f in end_to_end.functions if f.function == "train:train_step")
    assert step.hybrid and step.calls == 60 and step.traces >= 1  # seen as an existing tf.function
    plan = end_to_end.second
    assert not [r for r in plan["recommendations"] if r["action"] == "extract"]
    assert not [r for r in plan["rejected"] if r["reason"] == "not-extractable"]
    assert "train.py:20: the loop calls its step train_step, already a tf.function" in plan["meta"]["notes"]


def test_runner_shows_the_extracted_text_to_source_lookups(tmp_path: Path) -> None:
    import inspect
    import linecache

    from hybridize.planner.extract_run import _hook

    path = project(tmp_path)
    updatecache = linecache.updatecache
    new = b"def train_step(x):\n    return x\n"
    code = _hook(new, str(path))(str(path), "__main__")
    try:
        assert _hook(new, str(path))(str(tmp_path / "other.py"), "other") is None
        namespace: dict[str, object] = {}
        exec(code, namespace)
        # AutoGraph converts a step from inspect.getsource: the extracted text, not the file on disk
        assert inspect.getsource(namespace["train_step"]) == new.decode()  # type: ignore[arg-type]
        linecache.updatecache(str(path))  # what AutoGraph calls first: must not bring the disk's text back
        assert inspect.getsource(namespace["train_step"]) == new.decode()  # type: ignore[arg-type]
    finally:
        linecache.updatecache = updatecache
        linecache.cache.pop(str(path), None)


def test_an_extract_and_a_conversion_above_it_in_one_file_both_apply(tmp_path: Path) -> None:
    helper = "import tensorflow as tf\n\n\ndef scale(v):\n    return v * 2.0\n\n\n"
    path = project(tmp_path, helper + SCRIPT.replace("import tensorflow as tf\n", "", 1))
    cand = find_loops(tmp_path, path)[0]
    assert cand.region is not None
    r = cand.region
    ext = Recommendation(rank=2, id=2, function="train:<module>", file="train.py", line=cand.line, action="extract",
                         decorator="", extract={"loop_line": cand.line, "start": r.start, "end": r.end,
                                                "stmt_lines": r.stmt_lines, "name": "train_step", "params": r.params,
                                                "returns": r.returns})
    conv = Recommendation(rank=1, id=1, function="train:scale", file="train.py", line=4, action="convert", decorator="")
    plan = Plan(recommendations=[conv, ext], file_hashes={"train.py": file_sha256(path)})
    result = rw.apply_plan(tmp_path, tmp_path / ".hybridize", plan)
    assert [o.status for o in result.outcomes] == ["applied", "applied"], result.outcomes
    text = path.read_text()
    assert "@tf.function\ndef scale(v):" in text and "    loss = train_step(" in text


LAST_BATCH_SMALLER = textwrap.dedent("""\
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.layers.Dense(4)])
    optimizer = tf.keras.optimizers.SGD(0.1)
    features = tf.reshape(tf.range(300, dtype=tf.float32), [100, 3]) / 300.0
    targets = tf.zeros([100, 4])
    data = tf.data.Dataset.from_tensor_slices((features, targets)).batch(32).repeat(15)
    for x, y in data:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    print("final loss", round(float(loss), 4))
    """)


def _cand(tmp_path: Path, source: str) -> object:
    cand = find_loops(tmp_path, project(tmp_path, source))[0]
    assert cand.region is not None
    return cand


def _traces(*batches: int) -> list[list[object]]:
    return [[None, None, {"shape": [b, 3], "dtype": "float32"}, {"shape": [b, 4], "dtype": "float32"}] for b in batches]


def test_signature_setting_relaxes_the_batch_dim_and_reads_objects_as_globals(tmp_path: Path) -> None:
    cand = _cand(tmp_path, LAST_BATCH_SMALLER)
    assert cand.region.params == ["model", "optimizer", "x", "y"]  # type: ignore[attr-defined]
    settings, params = extract_settings.signature_setting(cand, _traces(32, 4))  # type: ignore[misc]
    assert params == ["x", "y"]
    assert settings.decorator_args() == ["input_signature=[tf.TensorSpec(shape=[None, 3], dtype=tf.float32), "
                                         "tf.TensorSpec(shape=[None, 4], dtype=tf.float32)]"]
    assert extract_settings.signature_setting(cand, _traces(32)) == ""  # one batch size: plain traces once already
    assert extract_settings.signature_setting(cand, None) == ""
    mixed = _traces(32, 4)
    mixed[1][2] = {"shape": [4, 3], "dtype": "float64"}
    assert "parameter x changes dtype or rank" in str(extract_settings.signature_setting(cand, mixed))


def test_signature_setting_is_refused_for_an_object_parameter_of_a_function(tmp_path: Path) -> None:
    body = "\n".join("    " + ln if ln else ln for ln in LAST_BATCH_SMALLER.splitlines()[2:])
    cand = _cand(tmp_path, "import tensorflow as tf\n\n\ndef main():\n" + body + "\n\n\nmain()\n")
    assert cand.scope == "main"  # type: ignore[attr-defined]
    said = extract_settings.signature_setting(cand, _traces(32, 4))
    assert said == ("input_signature not tried: parameter model is not a tensor and cannot be read as a module global "
                    "(an input_signature must cover every parameter)")


def test_trial_tries_input_signature_when_the_last_batch_is_smaller(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tensorflow")
    project(tmp_path, LAST_BATCH_SMALLER)
    monkeypatch.chdir(tmp_path)
    found = extraction.measure_extractions(tmp_path, tmp_path / "work", [sys.executable, "train.py"],
                                           budget_s=None, baseline_s=None)
    traces = json.loads((tmp_path / "work" / "extract0-plain-traces.json").read_text())
    assert sorted(t[2]["shape"][0] for t in traces) == [4, 32] and traces[0][0] is None  # x's batch; model: object
    measured = found.recommendations + [r for r in found.rejected if r.reason != "not-extractable"]
    assert len(measured) == 1, found
    evidence = measured[0].evidence
    assert set(evidence["runs_s"]) == {"eager", "plain", "reduce_retracing", "input_signature"}, evidence
    assert "the plain step traced 2 shapes: input_signature tried" in evidence["notes"]
    assert not any(n.startswith("input_signature:") for n in evidence["notes"]), evidence  # it ran, same numbers
    if found.recommendations and found.recommendations[0].settings.input_signature is not None:
        rec = found.recommendations[0]
        assert rec.extract is not None and rec.extract["params"] == ["x", "y"]
        assert rec.settings.input_signature[0].shape == [None, 3]
    assert (tmp_path / "train.py").read_text() == LAST_BATCH_SMALLER


@pytest.mark.parametrize(("budget", "strict", "labels", "reason"), [
    (100.0, True, ["eager", "plain", "reduce_retracing"], None),
    (45.0, True, ["eager", "plain"], None),  # a round of three runs and one more pair do not fit: plain only
    (35.0, True, [], "over-budget"),  # not even two eager/plain pairs fit the user's --budget
    (35.0, False, ["eager", "plain"], None),  # the default budget: the eager/plain pairs run past it
])
def test_a_tight_budget_measures_plain_only_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: float,
                                                        strict: bool, labels: list[str], reason: str | None) -> None:
    project(tmp_path)
    monkeypatch.chdir(tmp_path)
    ran: list[str] = []

    def fake_run(python: str, argv: list[str], main: Path, source: bytes | None, root: Path, folder: Path,
                 label: str, typical_s: float, extra_env: dict[str, str] | None = None) -> Run:
        ran.append(label)
        return Run(label, 10.0 if label == "eager" else 5.0, 0, "final loss 0.5\n")

    monkeypatch.setattr(extract_measure, "launch", fake_run)
    found = extraction.measure_extractions(tmp_path, tmp_path / "work", [sys.executable, "train.py"],
                                           budget_s=budget, baseline_s=10.0, strict_budget=strict)
    assert sorted(set(ran)) == sorted(labels)
    if reason is not None:
        assert [r.reason for r in found.rejected] == [reason] and not found.recommendations
        assert "2 eager/extracted pairs of ~10 s runs do not fit the budget of 35 s" in found.rejected[0].detail
        return
    rec = found.recommendations[0]
    assert set(rec.evidence["runs_s"]) == set(labels) and rec.settings == Settings()
    assert len(rec.evidence["pairs_s"]) == 2 and ran.count("eager") == 2  # x2.0: two agreeing pairs suffice
    notes = " ".join(rec.evidence.get("notes", []))
    assert ("only plain measured: 5 runs of ~10 s do not fit the budget" in notes) == (budget < 100)
    assert ("past the default budget" in notes) == (not strict)
