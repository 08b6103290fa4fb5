"""Issue 18's low items: one file spelled two ways in a plan, and `report -o` into a missing folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridize.cli import main
from hybridize.plan import Plan, Recommendation, Settings, file_sha256
from hybridize.rewriter import apply as rw

SOURCE = "import tensorflow as tf\n\n\ndef f(x):\n    return x\n\n\ndef g(x):\n    return x\n"


def test_two_spellings_of_one_file_keep_both_decorators(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SOURCE)
    digest = file_sha256(tmp_path / "a.py")
    recs = [Recommendation(rank=1, id=1, function="a:f", file="./a.py", line=4, action="convert", decorator="",
                           settings=Settings(jit_compile=True)),
            Recommendation(rank=2, id=2, function="a:g", file="a.py", line=8, action="convert", decorator="")]
    plan = Plan(recommendations=recs, file_hashes={"./a.py": digest, "a.py": digest})
    result = rw.apply_plan(tmp_path, tmp_path / ".hybridize", plan)
    assert [o.status for o in result.outcomes] == ["applied", "applied"]
    text = (tmp_path / "a.py").read_text()
    assert "@tf.function(jit_compile=True)\ndef f" in text and "@tf.function\ndef g" in text
    assert rw.undo_last(tmp_path, tmp_path / ".hybridize") == ["a.py"]
    assert (tmp_path / "a.py").read_text() == SOURCE


def test_report_into_a_missing_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    Plan().save(tmp_path / ".hybridize" / "plan.json")
    target = tmp_path / "nonexistent" / "dir" / "r.html"
    with pytest.raises(SystemExit) as exc:
        main(["report", "--root", str(tmp_path), "--format", "html", "-o", str(target)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("fmt", ["table", "markdown", "html"])
def test_report_of_a_plan_with_odd_evidence_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        fmt: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    rec = Recommendation(rank=1, id=1, function="a:f", file="a.py", line=4, action="convert", decorator="",
                         evidence={"eager_s": ["not", "a", "number"], "shapes": 5})
    Plan(recommendations=[rec]).save(tmp_path / ".hybridize" / "plan.json")
    with pytest.raises(SystemExit) as exc:
        main(["report", "--root", str(tmp_path), "--format", fmt])
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and err.startswith("hybridize: error: plan.json cannot be shown")
    assert len(err.strip().splitlines()) == 1 and "hybridize: recommendations" not in out
