"""Report formats: every format carries the facts, HTML escapes and stays self-contained; the CLI writes files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from hybridize.cli import cli
from hybridize.plan import Plan, Recommendation, Rejection, Settings
from hybridize.planner.report import print_table, render_html, render_json, render_markdown


@pytest.fixture()
def plan() -> Plan:
    rec = Recommendation(rank=1, id=1, function="pkg.mod:<b>step</b>", file="pkg/mod.py", line=10, action="convert",
                         decorator="@tf.function(reduce_retracing=True)", settings=Settings(reduce_retracing=True),
                         speedup=3.5, saved_s=1.25, calls=400, traces_before=0, traces_after=2, confidence="high",
                         evidence={"shapes": {"x": ["float32[?, 3]"]}, "tests_count": 2, "eager_s": 1.8, "graph_s": 0.55,
                                   "coverage": {"lines_covered": 5, "lines_total": 6}, "nested": {"covers": ["pkg.mod:inner"]},
                                   "notes": ["pass `step` as a tensor"]})
    rej = Rejection("pkg.mod:slow", "pkg/mod.py", 30, "measured-slower", "0.5 s as a graph vs 0.2 s eager <script>",
                    evidence={"eager_s": 0.2, "graph_s": 0.5})
    return Plan(recommendations=[rec], rejected=[rej], perf_command=["python", "perf.py"], meta={"baseline_s": 4.0})


def test_json_is_the_plan(plan: Plan) -> None:
    data = json.loads(render_json(plan))
    assert data["schema_version"] == 1
    rec = data["recommendations"][0]
    for key in ("rank", "id", "function", "file", "line", "action", "decorator", "settings", "speedup", "saved_s",
                "calls", "traces_before", "traces_after", "confidence", "evidence"):
        assert key in rec
    assert data["rejected"][0]["reason"] == "measured-slower"


def test_markdown_has_table_and_reasons(plan: Plan) -> None:
    text = render_markdown(plan)
    assert "| 1 | `pkg.mod:<b>step</b>` | pkg/mod.py:10 | convert |" in text
    assert "measured-slower" in text and "covers callees: pkg.mod:inner" in text


def test_html_escapes_and_is_self_contained(plan: Plan) -> None:
    text = render_html(plan)
    assert "<b>step</b>" not in text and "&lt;b&gt;step&lt;/b&gt;" in text
    assert "<script" not in text.lower()
    assert "<svg" in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "src=" not in text and "href=" not in text


def test_table_prints_everything(plan: Plan) -> None:
    console = Console(record=True, width=200)
    print_table(plan, console)
    out = console.export_text()
    assert "@tf.function(reduce_retracing=True)" in out and "3.50x" in out and "measured-slower" in out


@pytest.mark.parametrize("width", [80, 200])
def test_table_is_readable_at_any_width(plan: Plan, width: int) -> None:
    """No shredded cells: names, places and the exact decorator stay whole; nothing wider than the terminal."""
    plan.recommendations[0].function = "pkg.module_with_long_name:SomeClassifier.expected_calibration_error"
    plan.recommendations[0].decorator = ("@tf.function(input_signature=[tf.TensorSpec(shape=[None, 32], dtype=tf.float32), "
                                         "tf.TensorSpec(shape=[], dtype=tf.float32)])")
    plan.meta["runs"] = [{"label": "baseline", "duration_s": 3.25}, {"label": "level0", "duration_s": 2.5}]
    console = Console(record=True, width=width)
    print_table(plan, console, verbose=True)
    out = console.export_text()
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= width
    assert any("SomeClassifier.expected_calibration_error" in line for line in lines)  # qualname unbroken in the table
    assert "pkg/mod.py:10" in out and "pkg/mod.py:30" in out
    assert "tf.TensorSpec(shape=[None, 32]," in " ".join(line.strip() for line in lines)
    assert any(line.startswith("pkg.mod:slow") for line in lines)
    assert "measured-slower: 0.5 s as a graph" in out
    assert "runs: 2 trial run(s), 5.8 s: baseline 3.2, level0 2.5" in out or "baseline 3.2" in out


def test_report_cli(plan: Plan, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    plan.save(tmp_path / ".hybridize" / "plan.json")
    runner = CliRunner()
    out = tmp_path / "r.html"
    result = runner.invoke(cli, ["report", "--root", str(tmp_path), "--format", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "&lt;b&gt;step" in out.read_text(encoding="utf-8")
    result = runner.invoke(cli, ["report", "--root", str(tmp_path), "--format", "json"])
    assert json.loads(result.output)["recommendations"][0]["saved_s"] == 1.25
    result = runner.invoke(cli, ["report", "--root", str(tmp_path), "-v"])
    assert result.exit_code == 0 and "<b>step</b>" in result.output


def test_report_without_plan_is_one_line_error(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["report", "--root", str(tmp_path)])
    assert result.exit_code != 0
    assert "no plan at" in str(result.exception)
