"""``# hybridize: ignore[HY101]`` suppression comments, read the way ruff reads ``# noqa``.

A comment on the line a finding points at silences that finding in ``hybridize check`` (its output and exit
status). A bare ``# hybridize: ignore`` silences every code on the line. Comments are found with ``tokenize``,
so the marker inside a string literal is not a suppression.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ALL = "*"  # the codes of a bare ``# hybridize: ignore``
_MARKER = re.compile(r"#\s*hybridize\s*:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


def parse_comment(comment: str) -> set[str] | None:
    """The codes a comment suppresses ({ALL} for a bare marker), or None when it holds no marker."""
    m = _MARKER.search(comment)
    if m is None:
        return None
    codes = m.group("codes")
    if codes is None or not codes.strip():
        return {ALL}
    return {c.strip().upper() for c in codes.split(",") if c.strip()}


def file_suppressions(source: str) -> dict[int, set[str]]:
    """Line number -> suppressed codes, for every suppression comment in ``source``."""
    out: dict[int, set[str]] = {}
    if "hybridize" not in source:
        return out
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                codes = parse_comment(tok.string)
                if codes is not None:
                    out.setdefault(tok.start[0], set()).update(codes)
    except (tokenize.TokenError, SyntaxError):  # unfinished source: fall back to a per-line search
        for number, text in enumerate(source.splitlines(), 1):
            codes = parse_comment(text)
            if codes is not None:
                out.setdefault(number, set()).update(codes)
    return out


class Suppressions:
    """Suppression comments of a project's files, read lazily and once per file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, dict[int, set[str]]] = {}
        self._lines: dict[str, list[str]] = {}

    def _load(self, file: str) -> None:
        if file in self._files:
            return
        try:
            if file.endswith(".ipynb"):  # findings of a notebook point into its virtual module (cells in order)
                from hybridize.notebook import read_source

                source = read_source(self.root / file).text
            else:
                source = (self.root / file).read_text(encoding="utf-8", errors="replace")
        except Exception:  # unreadable: no suppressions, no column (never a crash of the linter)
            source = ""
        self._files[file] = file_suppressions(source)
        self._lines[file] = source.splitlines()

    def suppressed(self, file: str, line: int, code: str) -> bool:
        self._load(file)
        codes = self._files[file].get(line)
        return bool(codes) and (ALL in codes or code.upper() in codes)  # type: ignore[operator]

    def line_text(self, file: str, line: int) -> str:
        """The source line (for the column of a finding); "" when unknown."""
        self._load(file)
        lines = self._lines[file]
        return lines[line - 1] if 0 < line <= len(lines) else ""
