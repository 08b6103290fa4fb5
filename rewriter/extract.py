"""Extract a loop body's region (found by ``static/loops.py``) into a new ``@tf.function`` step, with libcst.

The region's statements move, with their comments, into ``def train_step(params): ...; return outputs`` and the
loop body calls it: ``outputs = train_step(params)``. Where the new function goes: at module level, right before the
top-level statement that holds the loop (the loop itself in a script, the enclosing ``def``/``class`` for a loop in a
function or method, the ``if __name__ == "__main__":`` block). Module level because a step defined inside the
enclosing function would be a new ``tf.function`` (and a new trace) on every call of that function; locals of the
enclosing function are parameters anyway (``static/loops.py``), module globals stay globals. The name is the first of
``train_step``, ``train_step_2``, ... that appears nowhere in the file. Every byte outside the loop body and the new
function is kept, except blank lines added so the new function is separated by two of them. Unmeasured: whether the
step pays is for the trial runs to say (issue #17, item 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from hybridize.plan import Recommendation, Settings, render_decorator
from hybridize.static.loops import LoopCandidate, Region

from . import edits
from .edits import EditError

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Extraction:
    """The rewritten module and what was done to it."""

    source: bytes
    name: str
    signature: str  # "train_step(model, x) -> loss"
    loop_line: int
    start: int
    end: int
    import_added: bool
    params: list[str] = field(default_factory=list)  # the step's parameters, in order


def step_name(source: str, base: str = "train_step") -> str:
    """``base``, or ``base_2``, ``base_3``...: the first that appears nowhere in the source (strings and comments
    included: a false clash only costs a suffix, a missed one would shadow a user's name)."""
    used = set(IDENT.findall(source))
    if base not in used:
        return base
    n = 2
    while f"{base}_{n}" in used:
        n += 1
    return f"{base}_{n}"


def extract(source: bytes, cand: LoopCandidate, name: str | None = None, settings: Settings | None = None
            ) -> Extraction:
    """Move ``cand.region`` into a new step function decorated with ``settings`` (plain ``@tf.function`` by
    default); raises :class:`EditError` when the source does not match."""
    region = cand.region
    if region is None:
        raise EditError("no-region", f"line {cand.line}: nothing to extract ({cand.refusal})")
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise EditError("parse-error", f"does not parse (line {exc.raw_line}): {exc.message}") from None
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    pos = wrapper.resolve(PositionProvider)

    loop = _find_loop(module, pos, cand.line)
    if not isinstance(loop.body, cst.IndentedBlock):
        raise EditError("one-line-loop", f"line {cand.line}: the loop body is on the loop's line")
    stmts, first, last = _region_statements(loop.body, pos, region)
    fname = name or step_name(module.code)

    body = list(module.body)
    anchor_idx = next((i for i, s in enumerate(body) if pos[s].start.line <= cand.line <= pos[s].end.line), None)
    if anchor_idx is None:  # pragma: no cover - _find_loop found it inside the module
        raise EditError("loop-missing", f"line {cand.line}: no top-level statement holds the loop")
    deco, import_stmt = _decorator(module.with_changes(body=body[:anchor_idx]), settings or Settings())
    params = ", ".join(region.params)
    call = f"{fname}({params})"
    outs = ", ".join(region.returns)
    call_stmt = cst.parse_statement(f"{outs} = {call}\n" if outs else f"{call}\n")
    head = stmts[first]
    blank = [ln for ln in head.leading_lines if ln.comment is None]
    call_stmt = call_stmt.with_changes(leading_lines=blank[:1] if head.leading_lines and
                                       head.leading_lines[0].comment is None else [])
    moved = [head.with_changes(leading_lines=_strip_blank(head.leading_lines)), *stmts[first + 1:last + 1]]
    if outs:
        moved.append(cst.parse_statement(f"return {outs}\n"))
    func = cst.ensure_type(cst.parse_statement(f"@{deco}\ndef {fname}({params}):\n    pass\n"), cst.FunctionDef)
    func = func.with_changes(body=cst.IndentedBlock(body=moved))
    new_loop = loop.with_changes(body=loop.body.with_changes(body=[*stmts[:first], call_stmt, *stmts[last + 1:]]))

    anchor = body[anchor_idx]
    replaced = new_loop if anchor is loop else anchor
    if anchor_idx > 0:
        func = func.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        replaced = replaced.with_changes(leading_lines=_two_blank(replaced.leading_lines))
    body[anchor_idx:anchor_idx + 1] = [func, replaced]
    out = module.with_changes(body=body)
    if anchor is not loop:
        out = cst.ensure_type(out.deep_replace(loop, new_loop), cst.Module)
    if import_stmt is not None:
        out = edits.add_import(out, import_stmt)
    new_source = out.bytes
    try:
        cst.parse_module(new_source)
    except Exception as exc:  # pragma: no cover - a bug here must never reach the user's file
        raise EditError("internal", f"the extraction produced invalid source: {exc}") from None
    sig = f"{fname}({params})" + (f" -> {outs}" if outs else "")
    return Extraction(new_source, fname, sig, cand.line, region.start, region.end, import_stmt is not None,
                      list(region.params))


Stmt = cst.SimpleStatementLine | cst.BaseCompoundStatement


def _region_statements(block: cst.IndentedBlock, pos: Mapping[cst.CSTNode, CodeRange], region: Region
                       ) -> tuple[list[Stmt], int, int]:
    """The loop body's statements and the first and last index of the region's: they must be whole statements,
    every small statement of the region's lines and nothing else."""
    stmts: list[Stmt] = [s for s in block.body if isinstance(s, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
    chosen = [i for i, s in enumerate(stmts) if region.start <= pos[s].start.line <= region.end]
    small = sum(len(s.body) if isinstance(s, cst.SimpleStatementLine) else 1 for s in (stmts[i] for i in chosen))
    if not chosen or chosen != list(range(chosen[0], chosen[-1] + 1)) or small != len(region.stmt_lines) \
            or pos[stmts[chosen[0]]].start.line != region.start:
        raise EditError("region-mismatch", f"lines {region.start}-{region.end} do not line up with whole statements "
                                           "(a line shared with other statements?)")
    return stmts, chosen[0], chosen[-1]


def _decorator(above: cst.Module, settings: Settings) -> tuple[str, str | None]:
    """The step's decorator text (without ``@``) and the import it needs, if any. The decorator runs when the new
    function is defined, so only the imports ``above`` it count (an ``import tensorflow as tf`` inside
    ``if __name__ == "__main__":`` comes too late, so one is added at the top)."""
    tf_alias, deco_fn, import_stmt = edits.alias_for(edits.collect_aliases(above), settings)
    module_form = deco_fn == f"{tf_alias}.function"
    deco = render_decorator(settings, tf_alias if module_form else "", "function" if module_form else deco_fn)
    return deco.removeprefix("@"), import_stmt


def _find_loop(module: cst.Module, pos: object, line: int) -> cst.For | cst.While:
    found: list[cst.For | cst.While] = []

    class Finder(cst.CSTVisitor):
        def visit_For(self, node: cst.For) -> None:
            if node.asynchronous is None and pos[node].start.line == line:  # type: ignore[index]
                found.append(node)

        def visit_While(self, node: cst.While) -> None:
            if pos[node].start.line == line:  # type: ignore[index]
                found.append(node)

    module.visit(Finder())
    if len(found) != 1:
        raise EditError("loop-missing", f"no single loop starts at line {line}")
    return found[0]


def _strip_blank(lines: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    out = list(lines)
    while out and out[0].comment is None:
        out.pop(0)
    return out


def _two_blank(lines: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    out = list(lines)
    have = 0
    while have < len(out) and out[have].comment is None:
        have += 1
    return [cst.EmptyLine()] * max(0, 2 - have) + out


def candidate_of(rec: Recommendation) -> LoopCandidate:
    """The loop region an ``extract`` recommendation (checked by ``planfile.check_extract``) names."""
    spec = rec.extract or {}
    region = Region(start=int(spec["start"]), end=int(spec["end"]), stmt_lines=list(spec["stmt_lines"]),
                    params=list(spec["params"]), returns=list(spec["returns"]), globals=[], tensor_statements=0)
    line = int(spec["loop_line"])
    return LoopCandidate(file=rec.file, line=line, end_line=region.end, kind="for", scope="", depth=0, region=region)


def extract_planned(module: cst.Module, rec: Recommendation) -> tuple[cst.Module, str, bool]:
    """Apply an ``extract`` recommendation to ``module``: ``(new module, note, import added)``. The region must
    still line up with whole statements of the loop (``extract`` checks), and the name must still be free."""
    if rec.extract is None:
        raise EditError("bad-extract", "the recommendation names no region")
    source = module.bytes
    name = str(rec.extract["name"])
    if step_name(module.code, name) != name:
        raise EditError("name-taken", f"{name} is already used in the file")
    result = extract(source, candidate_of(rec), name, rec.settings)
    note = f"extracted lines {result.start}-{result.end} into {result.signature}"
    return cst.parse_module(result.source), note, result.import_added
