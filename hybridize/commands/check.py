"""`hybridize check [PATHS] [--json]`: static graph-compatibility verdicts, one line per function."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hybridize.errors import HybridizeError
from hybridize.project import find_project_root, load_config

VERDICT_STYLE = {"safe": "green", "unsafe": "red", "unknown": "yellow"}


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the analysis as JSON (the planner's input).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Project root (default: nearest folder with pyproject.toml / setup.py / .git).")
@click.option("--exclude", multiple=True, help="Glob relative to the root to skip (repeatable; adds to the config's).")
@click.option("--verdict", "only", type=click.Choice(["safe", "unsafe", "unknown"]), multiple=True,
              help="Show only functions with this verdict (repeatable).")
@click.option("-v", "--verbose", is_flag=True, help="Show every finding and assumption under each function.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the JSON to this file instead of stdout (implies --json).")
def check(paths: tuple[Path, ...], as_json: bool, root: Path | None, exclude: tuple[str, ...], only: tuple[str, ...],
          verbose: bool, output: Path | None) -> int:
    """Is each function safe to run as a graph? Verdicts (safe / unsafe / unknown) with coded reasons.

    \b
    hybridize check                   the whole project (or [tool.hybridize] paths)
    hybridize check src/model.py      some files or folders
    hybridize check --json            for scripts and the planner
    Codes are documented in docs/static-codes.md.
    """
    from hybridize.static import analyze
    from hybridize.static.notebooks import where

    project_root = (root.resolve() if root is not None else find_project_root(Path.cwd()))
    if not project_root.is_dir():
        raise HybridizeError(f"--root {project_root} is not a folder")
    config = load_config(project_root)
    targets: list[Path] | None = None
    if paths:
        targets = []
        for p in paths:
            full = p.resolve()
            if not full.exists():
                raise HybridizeError(f"no such file or folder: {p}")
            targets.append(full)
    elif config.paths:
        targets = [project_root / p for p in config.paths]
    analysis = analyze(project_root, targets, [*config.exclude, *exclude])
    reports = [r for r in analysis.functions if not only or r.verdict in only]
    if as_json or output is not None:
        data = analysis.to_json()
        data["functions"] = [r.to_json() for r in reports]
        text = json.dumps(data, indent=2) + "\n"
        if output is not None:
            from hybridize.plan import write_text_atomic

            write_text_atomic(output, text)
        else:
            click.echo(text, nl=False)
        return 0
    for err in analysis.errors:
        click.echo(f"{err.file}:{err.line}: cannot parse: {err.message} (skipped)", err=True)
    for r in reports:
        verdict = click.style(f"{r.verdict:<7}", fg=VERDICT_STYLE[r.verdict])
        tag = " [tf.function]" if r.hybrid else ""
        reasons = _reasons(r)
        click.echo(f"{where(r.file, r.line, r.cell)}: {verdict} {r.qualname}{tag}{'  ' + reasons if reasons else ''}")
        if verbose:
            for f in r.findings:
                at = f"cell {f.cell['index'] + 1} line {f.cell['line']}" if f.cell else f"line {f.line}"
                click.echo(f"    {f.code} {f.severity:<7} {at}: {f.message}")
                click.echo(f"            instead: {f.fix}")
            for a in r.assumptions:
                click.echo(f"    assumed: {a}")
    s = analysis.summary()
    v = s["verdicts"]
    click.echo(f"{s['functions']} functions in {s['files']} files ({s['lines']} lines, {s['duration_s']:.2f}s): "
               f"{v['safe']} safe, {v['unsafe']} unsafe, {v['unknown']} unknown; {s['hybrid']} already tf.function"
               + (f"; {len(analysis.errors)} files could not be parsed" if analysis.errors else ""))
    return 0


def _reasons(r: object) -> str:
    """The most severe findings as `CODE message` (first two), for the one-line view."""
    from hybridize.static.model import FunctionReport

    assert isinstance(r, FunctionReport)
    shown = [f for f in r.findings if f.severity != "info" or f.code.startswith("HY5")]
    shown.sort(key=lambda f: ({"blocker": 0, "warning": 1, "info": 2}[f.severity], len(f.via)))
    parts = [f"{f.code} {f.message}" for f in shown[:2]]
    more = len(shown) - len(parts)
    text = "; ".join(parts)
    return text + (f" (+{more} more)" if more > 0 else "")
