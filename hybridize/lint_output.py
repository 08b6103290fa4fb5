"""``hybridize check`` as a linter: findings as diagnostics, in the formats CI tools read.

One diagnostic per culprit line and code (a callee's finding reached from several functions is printed once,
with the shortest call path), like ruff and flake8: ``path:line:col: CODE message``. Only findings in code that
already runs as a graph (a ``tf.function`` or a function it calls) are bugs today, so only those decide the exit
status; the rest are shown on request.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize import __version__
from hybridize.identity import FunctionId
from hybridize.static.codes import CODES
from hybridize.static.model import Analysis, FunctionReport
from hybridize.static.suppress import Suppressions

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/hybridize/hybridize/blob/main/docs/static-codes.md"
_SNIPPET = re.compile(r"`([^`]+)`")


@dataclass
class Diagnostic:
    file: str  # relative to the project root, POSIX
    line: int
    col: int  # 1-based
    code: str
    message: str
    function: str  # "module:qualname" the finding was reported on
    in_graph: bool  # the function is a tf.function (the finding is in it or in a function it calls)
    via: list[str] = field(default_factory=list)  # qualnames from the reporting function down to the culprit
    suppressed: bool = False
    cell: dict[str, Any] | None = None  # notebooks: {"index", "id", "line"}; ``line`` is the virtual module's

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    @property
    def fails(self) -> bool:
        """Whether this diagnostic makes ``check`` exit 1."""
        return self.in_graph and self.severity == "blocker" and not self.suppressed

    def text_message(self) -> str:
        via = f" (via {' -> '.join(self.via)})" if len(self.via) > 1 else ""
        where = "" if self.in_graph else " [not a tf.function]"
        return f"{self.message}{via}{where}"

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "col": self.col, "code": self.code, "severity": self.severity,
                "message": self.message, "function": self.function, "via": list(self.via),
                "in_tf_function": self.in_graph, "suppressed": self.suppressed, "fix": CODES[self.code].fix,
                **({"cell": self.cell} if self.cell else {})}

    def place(self) -> str:
        """``line:col``, or ``cell N:line:col`` inside a notebook (as ruff prints notebook diagnostics)."""
        if self.cell:
            return f"cell {int(self.cell['index']) + 1}:{self.cell['line']}:{self.col}"
        return f"{self.line}:{self.col}"


def column(line_text: str, message: str) -> int:
    """1-based column: where the message's first quoted snippet is on the line, else the statement's start."""
    for snippet in _SNIPPET.findall(message):
        for candidate in (snippet, snippet.split("(")[0] + "(" if "(" in snippet else ""):
            if candidate and (at := line_text.find(candidate)) >= 0:
                return at + 1
    stripped = line_text.lstrip()
    return len(line_text) - len(stripped) + 1 if stripped else 1


def diagnostics(analysis: Analysis, root: Path, everything: bool) -> list[Diagnostic]:
    """The warnings and blockers of tf.functions (of every function when ``everything``), deduplicated."""
    sup = Suppressions(root)
    best: dict[tuple[str, int, str], Diagnostic] = {}
    for r in analysis.functions:
        if not (r.hybrid or everything):
            continue
        for d in _of_function(r, sup):
            key = (d.file, d.line, d.code)
            old = best.get(key)
            if old is None or (d.in_graph, -len(d.via)) > (old.in_graph, -len(old.via)):
                best[key] = d
    return sorted(best.values(), key=lambda d: (d.file, d.line, d.col, d.code))


def _of_function(r: FunctionReport, sup: Suppressions) -> list[Diagnostic]:
    out = []
    for f in r.findings:
        if f.severity == "info":
            continue
        file = f.file or r.file
        message = f.plain or f.message
        via = [r.qualname, *(FunctionId.qualname_of(x) for x in f.via[1:])] if f.via else []
        col = column(sup.line_text(file, f.line), message)
        out.append(Diagnostic(file=file, line=f.line, col=col, code=f.code, message=message, function=r.function,
                              in_graph=r.hybrid, via=via, suppressed=sup.suppressed(file, f.line, f.code), cell=f.cell))
    return out


def summary_line(shown: list[Diagnostic], suppressed: int, analysis: Analysis) -> str:
    """ruff-style one line: problems, how many fail the check, suppressed, what was read."""
    failing = sum(1 for d in shown if d.fails)
    s = analysis.summary()
    head = (f"Found {len(shown)} problem{'s' if len(shown) != 1 else ''} ({failing} blocker{'s' if failing != 1 else ''}"
            " in tf.functions)") if shown else "All checks passed"
    parts = [head]
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    parts.append(f"{s['functions']} functions ({s['hybrid']} tf.function) in {s['files']} files")
    if analysis.errors:
        parts.append(f"{len(analysis.errors)} file{'s' if len(analysis.errors) != 1 else ''} could not be parsed")
    return "; ".join(parts) + "."


def display_path(file: str, root: Path, cwd: Path) -> str:
    """The path as the user would type it from ``cwd`` (ruff prints paths relative to the working folder)."""
    full = root / file
    try:
        rel = os.path.relpath(full, cwd)
    except ValueError:  # another drive (Windows)
        return file
    return file if rel.startswith("..") else Path(rel).as_posix()


def format_text(shown: list[Diagnostic], root: Path, cwd: Path) -> list[str]:
    return [f"{display_path(d.file, root, cwd)}:{d.place()}: {d.code} {d.text_message()}" for d in shown]


def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def github_path(file: str, root: Path, environ: dict[str, str] | None = None) -> str:
    """``file`` relative to the checkout (``GITHUB_WORKSPACE``), where GitHub looks for it: the project root may be
    a folder of a larger repository."""
    workspace = (os.environ if environ is None else environ).get("GITHUB_WORKSPACE")
    if not workspace:
        return file
    try:
        rel = Path(os.path.relpath((root / file).resolve(), Path(workspace).resolve())).as_posix()
    except ValueError:
        return file
    return file if rel.startswith("..") else rel


def format_github(shown: list[Diagnostic], root: Path) -> list[str]:
    """GitHub Actions workflow commands: each becomes an annotation on the pull request's diff."""
    out = []
    for d in shown:
        level = "error" if d.fails else "warning"
        title = _github_escape(f"{d.code} {CODES[d.code].title}", prop=True)
        path = _github_escape(github_path(d.file, root), prop=True)
        out.append(f"::{level} title={title},file={path},line={d.line},col={d.col}::"
                   f"{_github_escape(d.code + ' ' + d.text_message())}")
    return out


def format_sarif(shown: list[Diagnostic], suppressed: list[Diagnostic], root: Path) -> dict[str, Any]:
    """SARIF 2.1.0 (GitHub code scanning): one rule per code used, suppressed results kept as suppressed."""
    used = sorted({d.code for d in [*shown, *suppressed]})
    index = {code: i for i, code in enumerate(used)}
    rules = [{"id": c, "name": CODES[c].title, "shortDescription": {"text": CODES[c].title},
              "fullDescription": {"text": CODES[c].graph}, "help": {"text": f"Instead: {CODES[c].fix}"},
              "helpUri": INFO_URI, "defaultConfiguration": {"level": _level(CODES[c].severity)},
              "properties": {"precondition": CODES[c].precondition}} for c in used]
    results = []
    for d in [*shown, *suppressed]:
        result: dict[str, Any] = {
            "ruleId": d.code, "ruleIndex": index[d.code], "level": "error" if d.fails else "warning",
            "message": {"text": d.text_message()},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": d.file, "uriBaseId": "%SRCROOT%"},
                                                "region": {"startLine": max(d.line, 1), "startColumn": max(d.col, 1)}},
                           "logicalLocations": [{"fullyQualifiedName": d.function, "kind": "function"}]}],
        }
        if d.suppressed:
            result["suppressions"] = [{"kind": "inSource", "justification": "# hybridize: ignore"}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA, "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "hybridize", "version": __version__, "informationUri": INFO_URI,
                                      "rules": rules}},
                  "originalUriBaseIds": {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}},
                  "results": results}],
    }


def _level(severity: str) -> str:
    return {"blocker": "error", "warning": "warning"}.get(severity, "note")


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"
