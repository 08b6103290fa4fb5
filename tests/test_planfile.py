"""The strict plan and manifest loader: every field checked, one-line errors naming it, no code from the plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hybridize.cli import main
from hybridize.errors import HybridizeError
from hybridize.plan import Plan, Settings, TensorSpecModel, file_sha256
from hybridize.planfile import check_manifest, settings_from_decorator

SOURCE = "import tensorflow as tf\n\n\ndef f(x):\n    return x * 2\n"


def plan_doc(root: Path, **rec: Any) -> dict[str, Any]:
    base = {"rank": 1, "id": 1, "function": "mod:f", "file": "mod.py", "line": 4, "action": "convert",
            "decorator": "@tf.function", "settings": {}}
    base.update(rec)
    return {"schema_version": 1, "project_root": str(root), "file_hashes": {"mod.py": file_sha256(root / "mod.py")},
            "recommendations": [base], "rejected": []}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "mod.py").write_text(SOURCE)
    return tmp_path


def run_cli(root: Path, doc: Any, *args: str, raw: bytes | None = None) -> int:
    data = root / ".hybridize"
    data.mkdir(exist_ok=True)
    (data / "plan.json").write_bytes(raw if raw is not None else json.dumps(doc).encode())
    with pytest.raises(SystemExit) as exc:
        main([*args, "--root", str(root)])
    assert isinstance(exc.value.code, int)
    return exc.value.code


INJECTION = '__import__("os").system("touch /tmp/x")'


@pytest.mark.parametrize("settings, field", [
    ({"reduce_retracing": INJECTION}, "settings.reduce_retracing: expected a boolean, got a string"),
    ({"jit_compile": 1}, "settings.jit_compile: expected a boolean, got an integer"),
    ({"autograph": "True"}, "settings.autograph: expected a boolean, got a string"),
    ({"input_signature": [{"shape": [1], "dtype": "float32), __import__('os').system('x'"}]},
     "settings.input_signature[0].dtype:"),
    ({"input_signature": [{"shape": ["__import__('os')"], "dtype": "float32"}]},
     "settings.input_signature[0].shape[0]: expected an integer, got a string"),
    ({"input_signature": [{"shape": [True], "dtype": "float32"}]},
     "settings.input_signature[0].shape[0]: expected an integer, got a boolean"),
    ({"input_signature": [{"shape": [-1], "dtype": "float32"}]},
     "settings.input_signature[0].shape[0]: expected an integer from 0"),
    ({"input_signature": [{"shape": None, "dtype": "float32", "name": 5}]},
     "settings.input_signature[0].name: expected a string"),
    ({"input_signature": [{"shape": None}]}, "settings.input_signature[0].dtype: missing"),
    ({"experimental_follow_type_hints": True}, "settings.experimental_follow_type_hints: unknown setting"),
    ([], "settings: expected an object, got a list"),
])
def test_injected_settings_are_refused_with_the_field_named(project: Path, capsys: pytest.CaptureFixture[str],
                                                             settings: Any, field: str) -> None:
    rc = run_cli(project, plan_doc(project, settings=settings), "apply")
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("hybridize: error: plan.json: recommendations[0]." + field.split(":")[0])
    assert field in err and len(err.strip().splitlines()) == 1
    assert (project / "mod.py").read_text() == SOURCE  # nothing written


def test_decorator_text_is_never_copied_into_source(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The decorator field is for display; a hand-written plan's text is read as settings, never pasted."""
    evil = f"@tf.function(reduce_retracing={INJECTION})"
    assert run_cli(project, plan_doc(project, decorator=evil), "apply") == 1
    assert "decorator text is not a plain tf.function decorator" in capsys.readouterr().err
    assert (project / "mod.py").read_text() == SOURCE
    # Display text that disagrees with valid settings: the settings win.
    assert run_cli(project, plan_doc(project, decorator=evil, settings={"jit_compile": True}), "apply") == 0
    assert (project / "mod.py").read_text() == SOURCE.replace("def f", "@tf.function(jit_compile=True)\ndef f")


def test_settings_from_decorator_reads_only_the_plain_grammar() -> None:
    text = "@tf.function(input_signature=[tf.TensorSpec([None, 3], tf.int32, name='x')], experimental_relax_shapes=True)"
    assert settings_from_decorator(text) == {
        "input_signature": [{"shape": [None, 3], "dtype": "int32", "name": "x"}], "reduce_retracing": True}
    assert settings_from_decorator("@tf.function") == {}
    for bad in ("@tf.function(jit_compile=__import__('os'))", "@tf.function(f=1)", "@evil()",
                "@tf.function(input_signature=[tf.TensorSpec([x], tf.float32)])",
                "@tf.function(input_signature=[tf.TensorSpec([1], tf.evil)])", "@tf.function(\n"):
        with pytest.raises(ValueError):
            settings_from_decorator(bad)


def test_settings_built_in_code_are_checked_before_rendering() -> None:
    with pytest.raises(HybridizeError, match="reduce_retracing: expected a boolean"):
        Settings(reduce_retracing=INJECTION).decorator_args()  # type: ignore[arg-type]
    with pytest.raises(HybridizeError, match="dtype"):
        Settings(input_signature=[TensorSpecModel([1], "float32); evil(")]).decorator_args()


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["recommendations"][0].update(file=5), "recommendations[0].file: expected a string, got an integer"),
    (lambda d: d["recommendations"][0].update(file=None), "recommendations[0].file: expected a string, got null"),
    (lambda d: d.update(recommendations={}), "recommendations: expected a list, got an object"),
    (lambda d: d["recommendations"][0].pop("rank"), "recommendations[0].rank: missing"),
    (lambda d: d["recommendations"][0].update(rank="1"), "recommendations[0].rank: expected an integer, got a string"),
    (lambda d: d["recommendations"][0].update(line=True), "recommendations[0].line: expected an integer, got a boolean"),
    (lambda d: d["recommendations"][0].update(action="exec"), "recommendations[0].action: expected one of"),
    (lambda d: d["recommendations"][0].update(evidence=None), "recommendations[0].evidence: expected an object, got null"),
    (lambda d: d["recommendations"][0].update(calls="7"), "recommendations[0].calls: expected an integer"),
    (lambda d: d.update(meta=None), "meta: expected an object, got null"),
    (lambda d: d.update(file_hashes=[]), "file_hashes: expected an object, got a list"),
    (lambda d: d.update(perf_command="pytest"), "perf_command: expected a list, got a string"),
    (lambda d: d.update(rejected=[{"function": "m:f", "file": "m.py", "line": "3", "reason": "x"}]),
     "rejected[0].line: expected an integer, got a string"),
])
@pytest.mark.parametrize("command", ["apply", "report"])
def test_malformed_plans_are_one_line_errors_exit_2(project: Path, capsys: pytest.CaptureFixture[str],
                                                    mutate: Any, message: str, command: str) -> None:
    doc = plan_doc(project)
    mutate(doc)
    rc = run_cli(project, doc, command)
    err = capsys.readouterr().err
    assert rc == 2 and err == f"hybridize: error: plan.json: {message}" + err.split(message, 1)[1]
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("raw, message", [
    (json.dumps({"schema_version": 1}).encode("utf-16"), "is not UTF-8 text"),
    (b"[]", "is not a plan object"),
    (b"null", "is not a plan object"),
    (b"[" * 100000 + b"]" * 100000, "plan"),
])
def test_unreadable_plans_are_one_line_errors(project: Path, capsys: pytest.CaptureFixture[str], raw: bytes,
                                              message: str) -> None:
    assert run_cli(project, None, "apply", raw=raw) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_planner_output_passes_the_loader(tmp_path: Path) -> None:
    """What the planner writes (every field, specs, evidence) loads back unchanged."""
    from hybridize.plan import Recommendation, Rejection

    sig = [TensorSpecModel([None, 64], "float32", "x"), TensorSpecModel(None, "int64")]
    rec = Recommendation(rank=1, id=3, function="p.m:A.f", file="p/m.py", line=10, action="tune", decorator="@tf.function",
                         settings=Settings(reduce_retracing=True, input_signature=sig, jit_compile=False),
                         speedup=2.5, saved_s=-0.1, calls=9, traces_before=4, traces_after=1,
                         evidence={"tests": ["t::a"], "nested": {"x": [1, None]}})
    plan = Plan(recommendations=[rec], rejected=[Rejection("p.m:g", "p/m.py", 3, "blocker-finding", "print", {"a": 1})],
                file_hashes={"p/m.py": "ab"}, perf_command=["pytest", "-q"], meta={"interrupted": False})
    plan.save(tmp_path / "plan.json")
    assert Plan.load(tmp_path / "plan.json").to_json() == plan.to_json()


def good_manifest() -> dict[str, Any]:
    return {"created": "x", "root": "/r", "plan_digest": "d", "recommendations": [1],
            "files": {"a.py": {"before": "0" * 64, "after": "1" * 64, "mode": 0o644}}}


@pytest.mark.parametrize("mutate, message", [
    (lambda m: m["files"]["a.py"].update(mode="rwx"), "files['a.py'].mode: expected an integer, got a string"),
    (lambda m: m["files"]["a.py"].update(mode=0o17777), "files['a.py'].mode: expected an integer from 0 to 4095"),
    (lambda m: m["files"]["a.py"].update(before=None), "files['a.py'].before: expected a string, got null"),
    (lambda m: m["files"]["a.py"].update(after="abc"), "files['a.py'].after: expected a sha256 hex digest"),
    (lambda m: m.update(files={"../../etc/passwd": m["files"]["a.py"]}),
     "files['../../etc/passwd']: expected a relative path inside the project"),
    (lambda m: m.update(files=[]), "files: expected an object, got a list"),
    (lambda m: m.pop("files"), "files: missing"),
    (lambda m: m.update(recommendations=["1"]), "recommendations[0]: expected an integer"),
])
def test_manifest_fields_are_checked(mutate: Any, message: str) -> None:
    doc = good_manifest()
    check_manifest(doc)
    mutate(doc)
    with pytest.raises(HybridizeError) as exc:
        check_manifest(doc)
    assert str(exc.value) == f"manifest.json: {message}" + str(exc.value).split(message, 1)[1]


def test_undo_with_a_bad_manifest_mode_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(project, plan_doc(project, settings={"reduce_retracing": True}), "apply") == 0
    manifest = project / ".hybridize" / "backups" / "0001" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["files"]["mod.py"]["mode"] = "rwx"
    manifest.write_text(json.dumps(doc))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["apply", "--undo", "--root", str(project)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "manifest.json: files['mod.py'].mode: expected an integer, got a string" in err


def test_control_characters_in_a_plan_never_reach_the_terminal(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = plan_doc(project)
    doc["recommendations"][0]["settings"] = {"\x1b[2Jevil\n": True}
    assert run_cli(project, doc, "apply") == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and len(err.strip().splitlines()) == 1
    doc = plan_doc(project, function="m:f\x1b[31m")
    assert run_cli(project, doc, "apply") == 2
    assert "recommendations[0].function: expected one line of text" in capsys.readouterr().err


def test_huge_numbers_are_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = json.dumps(plan_doc(project)).replace('"rank": 1', '"rank": ' + "9" * 5000).encode()
    assert run_cli(project, None, "apply", raw=raw) == 2
    assert "is not a plan" in capsys.readouterr().err
    assert run_cli(project, plan_doc(project, line=10**40), "apply") == 2
    err = capsys.readouterr().err
    assert "recommendations[0].line: expected an integer from 0 to 2147483647, got a larger number" in err
