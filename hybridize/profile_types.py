"""The profile's per-function record: what the tracer hands the planner (and ``hybridize functions --json`` prints).

A shared type (not in ``tracer/``) so the planner and static analysis read the profile without importing the
tracer's internals. ``FunctionProfile.to_json`` is the public JSON contract: its keys and their order are those of
the README's ``hybridize functions --json``; add keys at the end, never rename or remove one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hybridize.identity import FunctionId

Signature = dict[str, Any]  # {"count": int, "args": {param: the argument encoder's JSON (tracer/describe.py)}}


@dataclass
class FunctionProfile:
    """One project function as the traced run saw it (one row of ``profile.db``'s ``functions`` table)."""

    function: str  # ``FunctionId.name``: "module:qualname"
    file: str  # relative to the project root, POSIX
    line: int  # line of the ``def``
    end_line: int | None = None
    calls: int = 0
    eager_calls: int = 0
    graph_calls: int = 0
    traces: int = 0  # graph traces: at least the graph calls; an existing tf.function's own trace count when higher
    total_s: float = 0.0
    hybrid: bool = False  # already a tf.function
    tf_traces_reported: int = 0
    signatures: list[Signature] = field(default_factory=list)  # most frequent first
    signatures_overflow: int = 0  # calls whose signature was not kept (past the cap)
    signatures_sampled: bool = False
    tests: list[str] = field(default_factory=list)  # test node ids that called it, sorted
    lines_covered: int | None = None  # None: coverage was not measured
    lines_total: int | None = None
    instances: int | None = None  # a method: distinct objects it was called on; None: not recorded
    instances_capped: bool = False  # ``instances`` is a lower bound
    cell: dict[str, Any] | None = None  # notebooks: {"index", "id", "line"} of the ``def`` (docs/notebooks.md)

    @property
    def qualname(self) -> str:
        return FunctionId.split_name(self.function)[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.function, "file": self.file, "line": self.line, "end_line": self.end_line,
            "calls": self.calls, "eager_calls": self.eager_calls, "graph_calls": self.graph_calls,
            "traces": self.traces, "total_s": self.total_s, "hybrid": self.hybrid,
            "tf_traces_reported": self.tf_traces_reported, "signatures": self.signatures,
            "signatures_overflow": self.signatures_overflow, "signatures_sampled": self.signatures_sampled,
            "tests": self.tests, "lines_covered": self.lines_covered, "lines_total": self.lines_total,
            "instances": self.instances, "instances_capped": self.instances_capped,
            **({"cell": self.cell} if self.cell is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FunctionProfile:
        """A record from ``to_json``'s form; missing keys take their defaults (partial rows: tests, old profiles)."""
        def num(key: str) -> int:
            return int(data.get(key) or 0)

        graph = num("graph_calls")
        instances = data.get("instances")
        return cls(
            function=str(data.get("function", "")), file=str(data.get("file", "")), line=num("line"),
            end_line=data.get("end_line"), calls=num("calls"), eager_calls=num("eager_calls"), graph_calls=graph,
            traces=int(data.get("traces", graph) or 0), total_s=float(data.get("total_s") or 0.0),
            hybrid=bool(data.get("hybrid")), tf_traces_reported=num("tf_traces_reported"),
            signatures=list(data.get("signatures") or []), signatures_overflow=num("signatures_overflow"),
            signatures_sampled=bool(data.get("signatures_sampled")), tests=[str(t) for t in data.get("tests") or []],
            lines_covered=data.get("lines_covered"), lines_total=data.get("lines_total"),
            instances=instances if isinstance(instances, int) else None,
            instances_capped=bool(data.get("instances_capped")), cell=data.get("cell"))


def as_function_profile(row: FunctionProfile | Mapping[str, Any]) -> FunctionProfile:
    """Adapter for callers still holding ``functions --json`` rows (dicts): the typed record either way."""
    return row if isinstance(row, FunctionProfile) else FunctionProfile.from_json(row)
