"""Results of the static analysis: the ``hybridize check --json`` objects (a public contract).

Add keys freely; never rename or remove one (the planner and scripts read them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hybridize.identity import FunctionId
from hybridize.static.codes import CODES

SCHEMA_VERSION = 1


@dataclass
class Finding:
    """One reason a function may not behave the same as a graph."""

    code: str
    line: int
    message: str
    via: list[str] = field(default_factory=list)  # call path ["mod:caller", ..., "mod:culprit"]; [] = own code
    file: str = ""  # file of ``line`` (differs from the function's file when propagated across modules)
    # Name of a variable of an enclosing function the finding is about (closures): dropped when propagated there.
    closure_name: str | None = None
    # The culprit's own message, without the call-path prefix that propagation adds (linters print the path apart).
    plain: str = ""
    cell: dict[str, Any] | None = None  # notebooks: {"index", "id", "line"} of ``line`` (docs/notebooks.md)

    @property
    def severity(self) -> str:
        return CODES[self.code].severity

    @property
    def precondition(self) -> str:
        return CODES[self.code].precondition

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "line": self.line,
            "file": self.file,
            "message": self.message,
            "via": list(self.via),
            "precondition": self.precondition,
            "fix": self.fix,
            **({"cell": self.cell} if self.cell is not None else {}),
        }

    @property
    def fix(self) -> str:
        """What to do instead (from the code table)."""
        return CODES[self.code].fix

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """Back from ``to_json`` (severity, precondition and fix come from the code table, not the JSON)."""
        return cls(code=str(data["code"]), line=int(data.get("line") or 0), message=str(data.get("message", "")),
                   via=[str(v) for v in data.get("via") or []], file=str(data.get("file", "")), cell=data.get("cell"))


@dataclass
class Param:
    name: str
    kind: str  # "positional" | "keyword-only" | "var-positional" | "var-keyword"
    has_default: bool
    default: Any = None  # the default when it is a literal (else None)
    annotation: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "has_default": self.has_default}
        if self.has_default and self.default is not None:
            data["default"] = self.default
        if self.annotation:
            data["annotation"] = self.annotation
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Param:
        return cls(name=str(data.get("name")), kind=str(data.get("kind", "positional")),
                   has_default=bool(data.get("has_default", data.get("default", False))), default=data.get("default"),
                   annotation=data.get("annotation"))


@dataclass
class FunctionReport:
    """Everything the analysis says about one function (identity as in the profile)."""

    function: str  # "module:qualname"
    file: str  # relative to the project root, POSIX
    line: int  # line of the ``def`` keyword
    end_line: int
    verdict: str = "safe"  # "safe" | "unsafe" | "unknown"
    hybrid: bool = False
    decorator_args: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    precondition: dict[str, Any] = field(default_factory=dict)
    control_params: list[str] = field(default_factory=list)  # params whose value drives Python if/while/range
    is_method: bool = False
    class_bases: list[str] = field(default_factory=list)  # resolved base-class names when a method
    cell: dict[str, Any] | None = None  # notebooks: {"index", "id", "line"} of the ``def`` (docs/notebooks.md)

    @property
    def module(self) -> str:
        return FunctionId.split_name(self.function)[0]

    @property
    def qualname(self) -> str:
        return FunctionId.split_name(self.function)[1]

    def codes(self) -> list[str]:
        return sorted({f.code for f in self.findings})

    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocker"]

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "end_line": self.end_line,
            "verdict": self.verdict,
            "hybrid": self.hybrid,
            "decorator_args": self.decorator_args,
            "findings": [f.to_json() for f in self.findings],
            "assumptions": list(self.assumptions),
            "calls": list(self.calls),
            "params": [p.to_json() for p in self.params],
            "precondition": self.precondition,
            "control_params": list(self.control_params),
            **({"cell": self.cell} if self.cell is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FunctionReport:
        """Back from ``to_json`` (a ``check --json`` object); missing keys take their defaults, except a missing
        ``verdict`` (``unknown``: nothing was said) and ``end_line`` (the ``line``: a one-line function)."""
        line = int(data.get("line") or 0)
        return cls(
            function=str(data.get("function", "")), file=str(data.get("file", "")), line=line,
            end_line=int(data.get("end_line") or line), verdict=str(data.get("verdict", "unknown")),
            hybrid=bool(data.get("hybrid")), decorator_args=dict(data.get("decorator_args") or {}),
            findings=[Finding.from_json(f) for f in data.get("findings") or []],
            assumptions=[str(a) for a in data.get("assumptions") or []], calls=[str(c) for c in data.get("calls") or []],
            params=[Param.from_json(p) for p in data.get("params") or []], precondition=dict(data.get("precondition") or {}),
            control_params=[str(c) for c in data.get("control_params") or []], cell=data.get("cell"))


def as_function_report(report: FunctionReport | Mapping[str, Any]) -> FunctionReport:
    """Adapter for callers still holding ``check --json`` objects (dicts): the typed report either way."""
    return report if isinstance(report, FunctionReport) else FunctionReport.from_json(report)


@dataclass
class ParseError:
    """A file that could not be analysed (it is skipped; the rest is analysed)."""

    file: str
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "message": self.message}


@dataclass
class Analysis:
    root: str
    functions: list[FunctionReport] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    files: int = 0
    lines: int = 0
    duration_s: float = 0.0
    file_times: dict[str, float] = field(default_factory=dict)  # seconds per file (parse + rules)

    def by_name(self) -> dict[str, FunctionReport]:
        return {f.function: f for f in self.functions}

    def get(self, name: str) -> FunctionReport | None:
        for f in self.functions:
            if f.function == name:
                return f
        return None

    def summary(self) -> dict[str, Any]:
        counts = {"safe": 0, "unsafe": 0, "unknown": 0}
        for f in self.functions:
            counts[f.verdict] = counts.get(f.verdict, 0) + 1
        slowest = max(self.file_times.items(), key=lambda kv: kv[1]) if self.file_times else None
        return {
            "functions": len(self.functions),
            "verdicts": counts,
            "hybrid": sum(1 for f in self.functions if f.hybrid),
            "files": self.files,
            "lines": self.lines,
            "errors": len(self.errors),
            "duration_s": round(self.duration_s, 4),
            "slowest_file": None if slowest is None else {"file": slowest[0], "seconds": round(slowest[1], 4)},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "root": self.root,
            "summary": self.summary(),
            "functions": [f.to_json() for f in self.functions],
            "errors": [e.to_json() for e in self.errors],
        }
