"""What the rules found in one function: findings, call edges and the facts propagation needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from hybridize.static.index import FuncInfo
from hybridize.static.model import Finding, Param


@dataclass
class Edge:
    callee: FuncInfo
    line: int
    kind: str  # "call" | "ctor"
    guarded: bool = False  # inside first-call initialisation (`@once`, `if self.w is None:`, build)


@dataclass
class FuncFacts:
    """What the rules found in one function's own body."""

    info: FuncInfo
    findings: list[Finding] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    tensor_params: list[str] = field(default_factory=list)
    primitive_params: list[str] = field(default_factory=list)
    speculative: bool = False
    locals_: set[str] = field(default_factory=set)  # names local to this function (for closure propagation)
    nested_hybrid: list[tuple[str, int]] = field(default_factory=list)  # (name, line) of nested tf.functions
    control_params: list[str] = field(default_factory=list)  # parameters whose value drives Python control flow

    def add(self, code: str, line: int, message: str, closure_name: str | None = None) -> None:
        self.findings.append(Finding(code=code, line=line, message=message, file=self.info.module.file,
                                     closure_name=closure_name))

    def assume(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)

