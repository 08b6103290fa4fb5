"""`hybridize extract`: listing, --diff (changes nothing), --write through the backup, `apply --undo`, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hybridize.cli import main

# CRLF and a comment: the undo must give back these exact bytes.
SRC = (b"import tensorflow as tf\r\n\r\nw = tf.Variable(1.0)\r\nfor x in [1.0, 2.0]:  # data\r\n"
       b"    y = tf.square(w * x)\r\n    y = tf.sqrt(y)\r\n    print(float(y))\r\n")


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
def script(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    path = tmp_path / "train.py"
    path.write_bytes(SRC)
    return path


def test_list_diff_write_undo(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = ["--root", str(script.parent)]
    rc, out, _ = _cli(["extract", str(script), *root], capsys)
    assert rc == 0 and "lines 5-6" in out and "stays line 7" in out and "not measured" in out
    rc, out, _ = _cli(["extract", str(script), *root, "--diff"], capsys)
    assert rc == 0 and "+def train_step(w, x):" in out and "+    y = train_step(w, x)" in out
    assert "not measured" in out and script.read_bytes() == SRC
    rc, out, _ = _cli(["extract", str(script), *root, "--json"], capsys)
    data = json.loads(out)
    assert rc == 0 and data["measured"] is False and data["extraction"]["signature"] == "train_step(w, x) -> y"
    rc, out, _ = _cli(["extract", str(script), *root, "--write", "--name", "step"], capsys)
    assert rc == 0 and "apply --undo" in out and "not measured" in out
    new = script.read_bytes()
    assert b"@tf.function\r\ndef step(w, x):\r\n" in new and b"for x in [1.0, 2.0]:  # data\r\n" in new
    rc, out, _ = _cli(["apply", *root, "--undo"], capsys)
    assert rc == 0 and script.read_bytes() == SRC


@pytest.mark.parametrize(("args", "message"), [
    (["missing.py"], "no such file"),
    (["pyproject.toml"], "not a Python file"),
    (["train.py", "--line", "1"], "no loop at line 1"),
    (["train.py", "--diff", "--write"], "choose one"),
    (["train.py", "--name", "not valid"], "not a Python identifier"),
])
def test_bad_input_is_one_line(script: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    root = script.parent
    rc, _, err = _cli(["extract", str(root / args[0]), "--root", str(root), *args[1:]], capsys)
    assert rc != 0 and message in err and err.startswith("hybridize: error:") and err.count("\n") == 1
    assert script.read_bytes() == SRC


def test_nothing_to_extract_exits_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    path = tmp_path / "s.py"
    path.write_text("for i in range(3):\n    print(i)\n")
    rc, _, err = _cli(["extract", str(path), "--root", str(tmp_path), "--write"], capsys)
    assert rc == 1 and "nothing to extract" in err and path.read_text() == "for i in range(3):\n    print(i)\n"


def test_unparsable_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    path = tmp_path / "bad.py"
    path.write_text("for x in y:\n    z = (\n")
    rc, _, err = _cli(["extract", str(path), "--root", str(tmp_path)], capsys)
    assert rc != 0 and "cannot parse" in err and err.startswith("hybridize: error:") and err.count("\n") == 1
