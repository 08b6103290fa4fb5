"""`hybridize check` as a linter: ruff-style lines, exit status, formats, excludes and suppression comments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hybridize.commands.check import check
from hybridize.static.suppress import ALL, file_suppressions, parse_comment

from .conftest import write_project

SRC = {
    "pkg/__init__.py": "",
    "pkg/mod.py": (
        "import tensorflow as tf\n"
        "\n"
        "STEPS = 0\n"
        "\n"
        "\n"
        "@tf.function\n"
        "def step(x):\n"
        "    global STEPS\n"
        "    STEPS = STEPS + 1\n"
        "    return helper(x)\n"
        "\n"
        "\n"
        "def helper(x):\n"
        "    print(x)\n"
        "    return x * 2\n"
        "\n"
        "\n"
        "def eager_only(x):\n"
        "    return x.numpy()\n"
    ),
    "tests/test_mod.py": "def test_tiny():\n    global X\n    X = 1\n",
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_project(tmp_path, SRC)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(check, list(args), standalone_mode=False)
    assert res.exception is None, res.output
    return res.return_value, res.output


def test_decorated_global_write_is_a_ruff_style_line_and_exits_1(root: Path) -> None:
    status, out = run()
    lines = out.splitlines()
    assert status == 1
    assert lines[0].startswith("pkg/mod.py:9:5: HY103 global write: `STEPS` is module state")
    # the callee's print, reached from the tf.function, is reported at the print with the call path
    assert any(ln.startswith("pkg/mod.py:14:5: HY101 ") and "(via step -> helper)" in ln for ln in lines)
    # undecorated eager code and tests are not linted by default
    assert "eager_only" not in out and "HY201" not in out and "tests/" not in out
    assert lines[-1].startswith("Found 2 problems (1 blocker in tf.functions)")


def test_all_shows_undecorated_findings_without_failing(root: Path) -> None:
    (root / "pkg" / "mod.py").write_text(SRC["pkg/mod.py"].replace("@tf.function\n", ""))
    status, out = run()
    assert status == 0 and out.splitlines() == [out.splitlines()[-1]] and out.startswith("All checks passed")
    status, out = run("--all")
    assert status == 0
    assert any(ln.startswith("pkg/mod.py:18:12: HY201 ") and ln.endswith("[not a tf.function]")
               for ln in out.splitlines())


def test_exit_zero_and_suppression_comments(root: Path) -> None:
    assert run("--exit-zero")[0] == 0
    src = SRC["pkg/mod.py"].replace("    STEPS = STEPS + 1\n", "    STEPS = STEPS + 1  # hybridize: ignore[HY103]\n")
    (root / "pkg" / "mod.py").write_text(src)
    status, out = run()
    assert status == 0 and "HY103" not in out and "1 suppressed" in out.splitlines()[-1]
    # a code that does not match leaves the finding; a bare marker silences every code on the line
    (root / "pkg" / "mod.py").write_text(src.replace("ignore[HY103]", "ignore[HY101]"))
    assert run()[0] == 1
    bare = src.replace("ignore[HY103]", "ignore").replace("print(x)", "print(x)  # hybridize: ignore")
    (root / "pkg" / "mod.py").write_text(bare)
    status, out = run()
    assert status == 0 and "2 suppressed" in out and out.startswith("All checks passed")


def test_suppression_parsing_ignores_strings() -> None:
    assert parse_comment("# hybridize: ignore[HY101, hy103]") == {"HY101", "HY103"}
    assert parse_comment("#hybridize:ignore") == {ALL}
    assert parse_comment("# noqa") is None
    src = 's = "# hybridize: ignore"\nprint(s)  # hybridize: ignore[HY101]\n'
    assert file_suppressions(src) == {2: {"HY101"}}


def test_tests_excluded_unless_named_or_configured(root: Path) -> None:
    (root / "tests" / "test_mod.py").write_text(
        "import tensorflow as tf\n\n@tf.function\ndef test_tiny(x):\n    global X\n    X = x\n")
    assert "tests/test_mod.py" not in run()[1]
    out = run("tests/test_mod.py")[1]
    assert "tests/test_mod.py:6:5: HY103" in out
    (root / "pyproject.toml").write_text("[project]\nname = 'snip'\n[tool.hybridize]\ncheck-exclude = []\n")
    assert "tests/test_mod.py:6:5: HY103" in run()[1]
    (root / "pyproject.toml").write_text("[project]\nname = 'snip'\n[tool.hybridize]\ncheck-exclude = 'tests'\n")
    res = CliRunner().invoke(check, [], standalone_mode=False)
    assert "check-exclude must be a list" in str(res.exception)


def test_github_format(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(root.parent))  # the project is a folder of the checked-out repository
    status, out = run("--output-format", "github")
    assert status == 1
    first = out.splitlines()[0]
    assert first.startswith(f"::error title=HY103 global / nonlocal write,file={root.name}/pkg/mod.py,line=9,col=5::HY103 ")
    assert any(ln.startswith("::warning ") and "line=14" in ln for ln in out.splitlines())


def test_sarif_structure(root: Path) -> None:
    status, out = run("--output-format", "sarif")
    data = json.loads(out)
    assert status == 1 and data["version"] == "2.1.0" and "sarif-2.1.0" in data["$schema"]
    (run_,) = data["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["HY101", "HY103"]
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning") and result["message"]["text"]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": "pkg/mod.py", "uriBaseId": "%SRCROOT%"}
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_json_keeps_the_analysis_and_adds_diagnostics(root: Path) -> None:
    status, out = run("--json")
    data = json.loads(out)
    assert status == 1 and data["schema_version"] == 1
    assert {f["function"] for f in data["functions"]} == {"pkg.mod:step", "pkg.mod:helper", "pkg.mod:eager_only"}
    assert [(d["code"], d["line"], d["in_tf_function"]) for d in data["diagnostics"]] == [
        ("HY103", 9, True), ("HY101", 14, True)]
    assert data["summary"]["failing"] == 1 and data["summary"]["suppressed"] == 0


def test_exit_status_through_the_real_entry_point(root: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "hybridize", "check"], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout.startswith("pkg/mod.py:9:5: HY103 "), proc.stderr
