"""A script's final printed numbers: which are read, and the tolerance they are compared within."""

from __future__ import annotations

from pathlib import Path

from hybridize.planner.outputs import compare, final_numbers, output_note

LOG = """\
Epoch 1/2
100/100 [====] - loss: 0.9000\r100/100 [====] - 1s - loss: 0.5000 - acc: 0.81
I0000 00:00:1796523437.873038    9910 port.cc:153] oneDNN custom operations are on.
step 300 loss 0.827574
test accuracy: 0.9125 (1e-3 lr)
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
"""


def test_the_last_lines_with_numbers_without_log_lines_or_progress_frames() -> None:
    assert final_numbers(LOG) == [100, 100, 0.5, 0.81, 300, 0.827574, 0.9125, 1e-3]
    assert final_numbers("done\n") == []


def test_tolerance_is_relative_or_absolute() -> None:
    assert compare([0.827574, 300], [0.826760, 300]) is None  # 0.1 %: a graph's other summation order
    assert compare([0.0001], [0.0009]) is None  # below the absolute floor
    assert compare([0.83], [0.95]) == "0.83 vs 0.95"
    assert compare([1.0], [1.0, 2.0]) == "1 number(s) at baseline, 2 converted"


def test_the_note_names_the_runs_that_differ(tmp_path: Path) -> None:
    for label, text in (("baseline", "loss 0.5\n"), ("level0", "loss 0.501\n"), ("level1", "loss 0.7\n")):
        (tmp_path / label).mkdir()
        (tmp_path / label / "output.log").write_text(text, encoding="utf-8")
    assert "match" in str(output_note(tmp_path, "baseline", ["level0"]))
    note = str(output_note(tmp_path, "baseline", ["level0", "level1"]))
    assert "differ" in note and "level1: 0.5 vs 0.7" in note and "level0" not in note
