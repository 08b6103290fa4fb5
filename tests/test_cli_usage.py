"""Usage errors are one line on stderr with exit 2, for every command, handled once in `hybridize.cli.main`."""

from __future__ import annotations

import pytest

from hybridize.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.mark.parametrize(("argv", "expected"), [
    (["apply", "--id", "abc"], "Invalid value for '--id': 'abc' is not a valid integer (see `hybridize apply --help`)"),
    (["nope"], "No such command 'nope' (see `hybridize --help`)"),
    (["check", "--output-format", "xml"], "'xml' is not one of 'text', 'json', 'github', 'sarif'"),
    (["report", "--format"], "Option '--format' requires an argument"),
    (["functions", "--no-such-flag"], "No such option '--no-such-flag'"),
])
def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("hybridize: error: ") and expected in err, err


def test_bare_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert "Usage: hybridize" in out and "Commands:" in out and code in (0, 2)
