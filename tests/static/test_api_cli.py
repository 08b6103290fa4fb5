"""The public API's JSON, parse errors, path selection and the `hybridize check` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hybridize.commands.check import check
from hybridize.static import CODES, analyze

from .conftest import write_project

SRC = {
    "pkg/__init__.py": "",
    "pkg/a.py": "import tensorflow as tf\n\ndef good(x):\n    return tf.square(x)\n\n"
                "def bad(x):\n    return x.numpy()\n",
    "pkg/broken.py": "def oops(:\n    pass\n",
    "pkg/b.py": "from pkg.a import bad\n\ndef uses(x):\n    return bad(x)\n",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_project(tmp_path, SRC)
    return tmp_path


def test_json_contract_and_parse_errors(root: Path) -> None:
    a = analyze(root)
    assert [(e.file, e.line) for e in a.errors] == [("pkg/broken.py", 1)]
    data = a.get("pkg.a:bad").to_json()  # type: ignore[union-attr]
    assert set(data) >= {"function", "file", "line", "end_line", "verdict", "hybrid", "decorator_args", "findings",
                         "assumptions", "calls", "params", "precondition"}
    assert data["function"] == "pkg.a:bad" and data["file"] == "pkg/a.py" and data["line"] == 6
    assert data["end_line"] == 7 and data["verdict"] == "unsafe"
    finding = data["findings"][0]
    assert set(finding) >= {"code", "severity", "line", "message", "via", "precondition"}
    assert finding["code"] == "HY201" and finding["severity"] == "blocker" and finding["line"] == 7
    assert data["params"] == [{"name": "x", "kind": "positional", "has_default": False}]
    json.dumps(a.to_json())


def test_paths_restrict_reports_but_resolve_against_the_project(root: Path) -> None:
    a = analyze(root, [root / "pkg" / "b.py"])
    assert [f.function for f in a.functions] == ["pkg.b:uses"]
    assert a.functions[0].verdict == "unsafe" and a.functions[0].calls == ["pkg.a:bad"]


def test_exclude(root: Path) -> None:
    a = analyze(root, exclude=["pkg/broken.py", "pkg/b.py"])
    assert not a.errors and {f.file for f in a.functions} == {"pkg/a.py"}


def test_every_code_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "static-codes.md").read_text()
    for code in CODES:
        assert f"| {code} |" in doc, code


def test_cli_text_and_json(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)
    runner = CliRunner()
    res = runner.invoke(check, ["--all"], standalone_mode=False)
    assert res.exception is None, res.output
    assert "pkg/a.py:7:12: HY201 `x.numpy()` reads a concrete value" in res.output
    assert res.return_value == 0  # `bad` is not a tf.function: its blocker is not a bug today
    assert "pkg/broken.py:1:1: cannot parse" in res.output
    res = runner.invoke(check, ["--json", "pkg/a.py"], standalone_mode=False)
    data = json.loads(res.output)
    assert [f["function"] for f in data["functions"]] == ["pkg.a:good", "pkg.a:bad"]
    assert data["summary"]["verdicts"] == {"safe": 1, "unsafe": 1, "unknown": 0}


def test_cli_bad_path_is_one_line_error(root: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "hybridize", "check", "nope.py"], cwd=root, capture_output=True,
                          text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == "hybridize: error: no such file or folder: nope.py"


def test_cli_filters_verbose_output_file_and_config(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "pyproject.toml").write_text("[project]\nname = 'snip'\n[tool.hybridize]\npaths = ['pkg']\n"
                                         "exclude = ['pkg/broken.py']\n")
    (root / "other.py").write_text("def elsewhere(x):\n    print(x)\n")
    monkeypatch.chdir(root / "pkg")
    runner = CliRunner()
    res = runner.invoke(check, ["--verdict", "unsafe", "-v"], standalone_mode=False)
    assert res.exception is None, res.output
    lines = [ln for ln in res.output.splitlines() if ln and not ln.startswith(" ")]
    assert lines[:2] == ["pkg/a.py:6: unsafe  bad  HY201 `x.numpy()` reads a concrete value: symbolic tensors have none "
                         "(AttributeError while tracing)",
                         "pkg/b.py:3: unsafe  uses  HY201 uses -> bad: `x.numpy()` reads a concrete value: symbolic "
                         "tensors have none (AttributeError while tracing) (pkg/a.py:7)"]
    assert "    HY201 blocker line 7:" in res.output and "elsewhere" not in res.output and "cannot parse" not in res.output
    out = root / "check.json"
    res = runner.invoke(check, ["-o", str(out)], standalone_mode=False)
    assert res.exception is None and res.output == ""
    assert json.loads(out.read_text())["summary"]["functions"] == 3


def test_deeply_nested_expression_does_not_crash(tmp_path: Path) -> None:
    write_project(tmp_path, {"deep.py": "def f(x):\n    return " + " + ".join(["x"] * 5000) + "\n",
                             "deepish.py": "def g(x):\n    return " + " + ".join(["x"] * 700) + "\n",
                             "ok.py": "def h(x):\n    return x\n"})
    a = analyze(tmp_path)
    assert [e.file for e in a.errors] == ["deep.py"]  # too deep for the parser: reported, skipped
    g, h = a.get("deepish:g"), a.get("ok:h")
    assert h is not None and h.verdict == "safe"
    assert g is not None and g.verdict in ("safe", "unknown")  # analysed, or "could not analyse": never a crash
