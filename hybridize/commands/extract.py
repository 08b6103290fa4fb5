"""`hybridize extract PATH [--line N] [--diff | --write]`: pull a hot loop's tensor work into a `@tf.function` step.

Unmeasured for now: the trial runs that decide whether the step pays (issue #17, item 3) need the scripts support
of issue #12, so every output says so. Writing goes through the rewriter's backup and lock: `hybridize apply --undo`
restores the file byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hybridize.errors import HybridizeError
from hybridize.project import data_dir as resolve_data_dir
from hybridize.project import resolve_project_root

if TYPE_CHECKING:
    from hybridize.rewriter.extract import Extraction
    from hybridize.static.loops import LoopCandidate

UNMEASURED = ("not measured here: `hybridize profile -- python SCRIPT` times the extraction against the eager "
              "script and plans it (action extract) when it pays")


@click.command("extract")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--line", type=int, default=None, help="The loop at (or around) this line; default: the best-ranked.")
@click.option("--diff", "show_diff", is_flag=True, help="Print the edit as a unified diff; change nothing.")
@click.option("--write", is_flag=True, help="Rewrite the file (backed up; undo with `hybridize apply --undo`).")
@click.option("--name", default=None, help="Name of the new step function (default train_step, train_step_2, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the loops and the extraction as JSON.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project root.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the profile and the backups live (default <root>/.hybridize).")
def extract(path: Path, line: int | None, show_diff: bool, write: bool, name: str | None, as_json: bool,
            root: Path | None, data_dir: Path | None) -> int:
    """Find loops whose body does tensor work inline, and extract it into a @tf.function step.

    \b
    hybridize extract train.py                 list loops, regions, what stays in the loop
    hybridize extract train.py --diff          preview the best-ranked extraction
    hybridize extract train.py --line 42 --write
    Ranking is static (no per-line profile data yet); the extraction is NOT measured.
    """
    from hybridize.rewriter.apply import unified_diff, write_edited
    from hybridize.rewriter.edits import EditError
    from hybridize.rewriter.extract import extract as do_extract
    from hybridize.rewriter.source import check_writable
    from hybridize.static.loops import find_loops

    if show_diff and write:
        raise HybridizeError("--diff changes nothing and --write writes: choose one")
    if name is not None and (not name.isidentifier() or name in ("def", "class", "lambda")):
        raise HybridizeError(f"--name {name!r} is not a Python identifier")
    full, project_root, rel = _target(path, root)
    loops = find_loops(project_root, full)
    if not loops:
        raise HybridizeError(f"{rel}: no for/while loop found")
    backups = resolve_data_dir(project_root, data_dir)
    ranking = _rank(loops, backups)
    chosen = _choose(loops, line, rel)
    result, error, source = None, "", b""
    if (show_diff or write or as_json) and chosen.region is not None:
        source = full.read_bytes()
        try:
            result = do_extract(source, chosen, name)
        except EditError as exc:
            error = str(exc)
    elif chosen.region is None:
        error = f"{rel}:{chosen.line}: nothing to extract ({chosen.refusal})"

    if as_json:
        click.echo(json.dumps(_to_json(rel, ranking, loops, chosen, error, source, result), indent=2))
        return 1 if error and (show_diff or write) else 0
    if not (show_diff or write):
        _print_loops(loops, chosen, ranking)
        return 0
    if error or result is None:
        raise HybridizeError(error or f"{rel}:{chosen.line}: nothing to extract", exit_code=1)
    if show_diff:
        click.echo(unified_diff(rel, source, result.source), nl=False)
        click.echo(f"would extract lines {result.start}-{result.end} into {result.signature}")
        click.echo(UNMEASURED)
        return 0
    check_writable(full)
    resolve_data_dir(project_root, data_dir, create=True)
    write_edited(project_root, backups, {full: (source, result.source)})
    click.echo(f"extracted {rel} lines {result.start}-{result.end} into {result.signature} "
               "(undo with `hybridize apply --undo`)")
    click.echo(UNMEASURED)
    return 0


def _target(path: Path, root: Path | None) -> tuple[Path, Path, str]:
    """The script's real path, its project root and its path there; a one-line error for anything else."""
    if not path.is_file():
        raise HybridizeError(f"no such file: {path}")
    if path.suffix != ".py":
        raise HybridizeError(f"{path} is not a Python file (.py)")
    full = path.resolve()
    project_root = resolve_project_root(root, full.parent)
    try:
        rel = full.relative_to(project_root).as_posix()
    except ValueError:
        raise HybridizeError(f"{path} is outside the project root {project_root} (use --root)") from None
    return full, project_root, rel


def _choose(loops: list[LoopCandidate], line: int | None, rel: str) -> LoopCandidate:
    """The innermost loop around ``line``, else the best-ranked."""
    if line is None:
        return loops[0]
    around = [c for c in loops if c.line <= line <= c.end_line]
    if not around:
        raise HybridizeError(f"{rel}: no loop at line {line} (loops start at "
                             f"{', '.join(str(c.line) for c in sorted(loops, key=lambda c: c.line))})")
    return min(around, key=lambda c: c.end_line - c.line)


def _to_json(rel: str, ranking: str, loops: list[LoopCandidate], chosen: LoopCandidate, error: str, source: bytes,
             result: Extraction | None) -> dict[str, Any]:
    """``--json``: the loops in rank order, the chosen one, and its extraction with the diff (or the error)."""
    from hybridize.rewriter.apply import unified_diff

    return {"file": rel, "ranking": ranking, "measured": False, "loops": [c.to_json() for c in loops],
            "chosen": chosen.line, "error": error or None,
            "extraction": None if result is None else {
                "name": result.name, "signature": result.signature, "lines": [result.start, result.end],
                "diff": unified_diff(rel, source, result.source)}}


def _print_loops(loops: list[LoopCandidate], chosen: LoopCandidate, ranking: str) -> None:
    """Every loop in rank order with what stays in it, the one --diff / --write would extract marked."""
    from hybridize.static.loops import describe

    for c in loops:
        mark = "*" if c is chosen else " "
        click.echo(f"{mark} {describe(c)}")
        for s in c.stays:
            click.echo(f"      stays line {s.line}: {s.reason}")
    how = ("statically (training steps, then more tensor statements, then deeper loops)" if ranking == "static"
           else "by the profiled time of the function holding each loop, then statically (no per-line times "
                "yet; module-level loops have no time until scripts are profiled)")
    click.echo(f"{len(loops)} loop(s) ranked {how}; * = the one --diff / --write would extract")
    click.echo(UNMEASURED)


def _rank(loops: list[LoopCandidate], data: Path) -> str:
    """"profile" when the data dir holds a profile that times a function holding one of the loops, else "static"."""
    from hybridize.static.loops import rank_by_profile
    from hybridize.tracer.store import PROFILE_FILE, load_profile

    if not (data / PROFILE_FILE).is_file():
        return "static"
    try:
        functions = load_profile(data).functions
    except HybridizeError:
        return "static"  # an old or damaged profile must not stop a static answer
    return "profile" if rank_by_profile(loops, functions) else "static"
