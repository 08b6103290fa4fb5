"""What the loop finder reports (issue #17): a loop, the region it could extract, the statements that stay."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Stay:
    """A top-level statement of the loop body that must stay in the loop, and why."""

    line: int
    end_line: int
    reason: str


@dataclass
class Region:
    """The statements to move: lines ``start``..``end`` of the loop body, and the step's data flow."""

    start: int
    end: int
    stmt_lines: list[int]  # first line of each top-level statement in the region
    params: list[str]  # read in the region, bound before it in an enclosing function or the script
    returns: list[str]  # assigned in the region and read elsewhere (later, after the loop, next step)
    globals: list[str]  # module-level imports / defs / classes / builtins it reads: stay globals
    tensor_statements: int
    training: bool = False  # holds a GradientTape / gradient / apply_gradients: a training step


@dataclass
class LoopCandidate:
    """One loop: where it is, the region it could extract (or why none), and what stays in the loop."""

    file: str
    line: int
    end_line: int
    kind: str  # "for" | "while"
    scope: str  # qualname of the enclosing function, or "<module>"
    depth: int  # loops enclosing this one
    region: Region | None = None
    stays: list[Stay] = field(default_factory=list)
    refusal: str = ""  # why no region, when ``region`` is None
    assumptions: list[str] = field(default_factory=list)
    time_s: float | None = None  # profiled time of the enclosing function (inclusive), when a profile has it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
