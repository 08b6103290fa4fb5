"""Time outside project functions' calls: a loop whose body runs inline in module-level code (or in a function's own
body, such as ``main()``) and holds a large share of the run, from the tracer's stack samples (tracer/sampler.py).

No function-level conversion can help there: the report names the loop's lines and its share and suggests extracting
its body into a step function (``hybridize extract``; the extraction is not measured here). A sample is charged to
the innermost project frame, so a loop's share includes the library calls its lines make inline (TensorFlow ops), but
not the project functions they call (those have their own records). A share is reported from ``SHARE_THRESHOLD`` of
the main process's samples (30 %: below that, extracting one loop cannot change much of the run) and with at least
``MIN_SAMPLES`` samples (fewer say nothing; on a loaded machine a second of run may give only 10-20). Loops are found
with ``ast`` in the sampled file; nested loops narrow to the innermost one that still holds the threshold (the
per-batch loop, not the epoch loop). A function's own body counts only for a function called at most ``FEW_CALLS``
times (``main()``, ``train()``): the time of one called more often is measured by the trial runs as a conversion of
the whole function.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hybridize.profile_types import FunctionProfile

SHARE_THRESHOLD = 0.30
MIN_SAMPLES = 10
FEW_CALLS = 2
MODULE_SCOPE = "<module>"
_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


@dataclass
class OutsideLoop:
    """One loop that holds a large share of the run in its scope's own body."""

    file: str
    scope: str  # "<module>" or the function's qualified name
    line: int
    end_line: int
    kind: str  # "for" / "while"
    share: float  # of the main process's samples
    samples: int
    seconds: float | None  # share x the traced run's duration (an estimate)
    note: str = ""


def _loops_in(body: list[ast.stmt]) -> list[ast.For | ast.AsyncFor | ast.While]:
    """The outermost loops of a block (through if/with/try, not into nested functions or classes)."""
    out: list[ast.For | ast.AsyncFor | ast.While] = []
    for stmt in body:
        if isinstance(stmt, _LOOPS):
            out.append(stmt)
        elif not isinstance(stmt, _SCOPES):
            for name in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(stmt, name, None) or []:  # statements, or except handlers / match cases
                    out.extend(_loops_in([child] if isinstance(child, ast.stmt) else getattr(child, "body", [])))
    return out


def _scope_body(tree: ast.Module, scope: str) -> list[ast.stmt] | None:
    """The statements of ``<module>`` or of the function ``qualname@first_line`` (first line: decorators included)."""
    if scope == MODULE_SCOPE:
        return tree.body
    _, _, first = scope.rpartition("@")
    try:
        first_line = int(first)
    except ValueError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if min([d.lineno for d in node.decorator_list] + [node.lineno]) == first_line:
                return node.body
    return None


def _parse(root: Path, file: str) -> ast.Module | None:
    path = root / file
    if path.suffix != ".py":
        return None  # notebooks: their cells are not one Python file here
    try:
        return ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None


def _called_often(functions: Sequence[FunctionProfile] | None) -> set[tuple[str, str]]:
    """(file, qualname) of the functions called more than ``FEW_CALLS`` times: a loop in their own body is the
    function's time, which the trial runs measure as a conversion of the whole function (no extraction needed)."""
    out: set[tuple[str, str]] = set()
    for f in functions or []:
        if f.calls > FEW_CALLS:
            out.add((f.file, f.qualname))
    return out


def find_outside(root: Path, meta: dict[str, Any], functions: Sequence[FunctionProfile] | None = None
                 ) -> list[OutsideLoop]:
    """The loops holding at least ``SHARE_THRESHOLD`` of the profile's samples in their scope's own body: module-level
    code, or a function called at most ``FEW_CALLS`` times (``main()``; ``functions``: the profile's records).
    A hint only: samples edited into a shape this does not read give no loop rather than an error."""
    try:
        return _find(root, meta, functions)
    except (TypeError, ValueError, AttributeError):
        return []


def _find(root: Path, meta: dict[str, Any], functions: Sequence[FunctionProfile] | None) -> list[OutsideLoop]:
    samples = meta.get("samples")
    if not isinstance(samples, dict):
        return []
    total = int(samples.get("total") or 0)
    files = samples.get("files")
    if total < MIN_SAMPLES or not isinstance(files, dict):
        return []
    duration = meta.get("duration_s")
    often = _called_often(functions)
    found: list[OutsideLoop] = []
    for file, scopes in files.items():
        tree: ast.Module | None = None
        for scope, lines in scopes.items():
            if (file, scope.rpartition("@")[0]) in often:
                continue
            counts = {int(n): int(c) for n, c in lines.items()}
            if sum(counts.values()) < SHARE_THRESHOLD * total:
                continue
            tree = tree or _parse(root, file)
            body = _scope_body(tree, scope) if tree is not None else None
            if body is None:
                continue
            for loop in _loops_in(body):
                hit = _narrow(loop, counts, total)
                if hit is None:
                    continue
                node, n = hit
                share = n / total
                found.append(OutsideLoop(
                    file, scope.rpartition("@")[0] or scope, node.lineno, node.end_lineno or node.lineno,
                    "while" if isinstance(node, ast.While) else "for", round(share, 3), n,
                    round(share * float(duration), 2) if isinstance(duration, int | float) else None))
    found.sort(key=lambda f: -f.share)
    for f in found:
        f.note = outside_note(f)
    return found


def _narrow(loop: ast.For | ast.AsyncFor | ast.While, counts: dict[int, int], total: int
            ) -> tuple[ast.For | ast.AsyncFor | ast.While, int] | None:
    """The innermost loop (this one or one nested in it) that still holds the threshold, with its samples."""
    n = sum(c for line, c in counts.items() if loop.lineno <= line <= (loop.end_lineno or loop.lineno))
    if n < SHARE_THRESHOLD * total:
        return None
    for inner in _loops_in([*loop.body, *loop.orelse]):
        hit = _narrow(inner, counts, total)
        if hit is not None:
            return hit
    return loop, n


def outside_note(f: OutsideLoop) -> str:
    where = "module-level code" if f.scope == MODULE_SCOPE else f"the own body of {f.scope}()"
    secs = f", about {f.seconds:.1f} s" if f.seconds is not None else ""
    return (f"{f.share:.0%} of the traced run ({f.samples} samples{secs}) is in {where} at "
            f"{f.file}:{f.line}-{f.end_line} (a `{f.kind}` loop body, with the library calls it makes inline), "
            f"which no decorator on a function reaches: extract it into a step function "
            f"(`hybridize extract {f.file} --line {f.line}`)")


def outside_summary(root: Path, meta: dict[str, Any], functions: Sequence[FunctionProfile] | None = None
                    ) -> dict[str, Any] | None:
    """The plan's ``outside`` entry: the sampling totals and the loops found (None when the profile has no samples)."""
    samples = meta.get("samples")
    if not isinstance(samples, dict):
        return None
    total = int(samples.get("total") or 0) if isinstance(samples.get("total"), int) else 0
    try:
        module = sum(int(c) for scopes in (samples.get("files") or {}).values()
                     for lines in [scopes.get(MODULE_SCOPE) or {}] for c in lines.values())
    except (TypeError, ValueError, AttributeError):
        module = 0
    return {"samples": total, "module_share": round(module / total, 3) if total else None,
            "threshold": SHARE_THRESHOLD, "loops": [asdict(f) for f in find_outside(root, meta, functions)]}


def outside_notes(plan_meta: dict[str, Any]) -> list[str]:
    """The report lines (terminal, Markdown, HTML) for a plan's ``outside`` entry."""
    entry = plan_meta.get("outside")
    if not isinstance(entry, dict):
        return []
    return [str(f.get("note")) for f in entry.get("loops") or [] if isinstance(f, dict) and f.get("note")]
