"""The terminal table: a qualified name or a `path:line` is never split across lines, at 80 and 120 columns."""

from __future__ import annotations

import pytest
from rich.console import Console

from hybridize.plan import Plan, Recommendation, Rejection, Settings
from hybridize.planner.report import print_table
from hybridize.planner.table import ELLIPSIS, shorten_path

NAME = "GradientsInputs.compute_gradients_for_xs"  # 40 characters
DEEP = "src/tf_explain_extended/core/attributions/gradient_based/methods/gradients_inputs.py"
SHORT = "tiny"


def plan() -> Plan:
    assert len(NAME) == 40
    recs = [Recommendation(rank=i + 1, id=i + 1, function=f"tf_explain.core.gradients_inputs:{name}", file=file, line=17 + i,
                           action="convert", decorator="@tf.function", settings=Settings(), speedup=12.5, saved_s=1.234,
                           calls=1200, traces_before=0, traces_after=1, confidence="medium", evidence={"tests_count": 1})
            for i, (name, file) in enumerate([(NAME, DEEP), (SHORT, "pkg/a.py"), (NAME + "_again", "pkg/b.py")])]
    rej = [Rejection(f"tf_explain.core.gradients_inputs:{NAME}", DEEP, 99, "measured-slower",
                     "0.080 s as a graph vs 0.007 s eager (0.26x per call)"),
           Rejection(f"demo_model.evaluate:{NAME}", "demo_model/evaluate.py", 29, "too-few-calls", "break-even after 30")]
    return Plan(recommendations=recs, rejected=rej, perf_command=["python", "perf.py"], meta={"baseline_s": 4.0})


def render(width: int) -> list[str]:
    console = Console(record=True, width=width, color_system=None)
    print_table(plan(), console)
    return console.export_text().splitlines()


@pytest.mark.parametrize("width", [80, 120])
def test_names_and_places_are_whole_and_fit(width: int) -> None:
    lines = render(width)
    assert max(len(line.rstrip()) for line in lines) <= width
    text = "\n".join(lines)
    for token in (NAME, NAME + "_again", "tf_explain.core.gradients_inputs:" + NAME, "pkg/a.py:18", "pkg/b.py:19",
                  "demo_model/evaluate.py:29", "gradients_inputs.py:17", "gradients_inputs.py:99"):
        assert token in text, token
    # every place is a whole `path:line` token on some line: dropped folders show as an ellipsis, never a break
    places = [w for line in lines for w in line.split() if w.startswith(("src/", "(src/")) and ".py:" in w]
    assert places and all(p.rstrip(")").endswith(("gradients_inputs.py:17", "gradients_inputs.py:99")) for p in places)
    # the short name shares its line with its numbers; the long one's numbers follow on the next line
    row = next(line for line in lines if line.lstrip().startswith("2  tiny"))
    assert "convert" in row and "12.50x" in row and "1.234" in row
    i = next(i for i, line in enumerate(lines) if line.lstrip().startswith("1  ") and NAME in line)
    assert "12.50x" in lines[i] or "12.50x" in lines[i + 1]


def test_at_120_the_deep_path_is_not_shortened_when_it_fits() -> None:
    text = "\n".join(render(120))
    assert f"{DEEP}:17" in text


def test_shorten_path_keeps_the_file_and_line() -> None:
    where = f"{DEEP}:17"
    for width in (20, 30, 40, 60):
        short = shorten_path(where, width)
        assert short.endswith("/gradients_inputs.py:17") and ELLIPSIS in short
        assert len(short) <= width or short == f"{ELLIPSIS}/gradients_inputs.py:17"
    assert shorten_path(where, 200) == where
    assert shorten_path("a/b/c.py:1", 8) == f"{ELLIPSIS}/c.py:1"
    assert shorten_path("file.py:3", 2) == "file.py:3"
    assert shorten_path("src/pkg/deep/er/mod.py:5", 18).startswith("src/")
