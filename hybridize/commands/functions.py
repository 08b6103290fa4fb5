"""`hybridize functions [--json]`: what the last profile saw, per function, most expensive first."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hybridize.project import data_dir as resolve_data_dir
from hybridize.project import resolve_project_root


@click.command("functions")
@click.option("--json", "as_json", is_flag=True, help="Print the stable JSON list (see the README) instead of a table.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where the profile is (default ROOT/.hybridize).")
@click.option("--root", type=str, default=None, help="Project root (default: found from the current folder).")
@click.option("--limit", type=int, default=None, help="Show at most this many functions in the table.")
def functions(as_json: bool, data_dir: str | None, root: str | None, limit: int | None) -> None:
    """What the last profile saw, per function."""
    from hybridize.tracer.store import load_profile

    data = Path(data_dir).resolve() if data_dir else resolve_data_dir(resolve_project_root(root))
    prof = load_profile(data)
    from hybridize.notebook import Locator

    locator = Locator(Path(prof.meta.get("root") or data.parent))
    for f in prof.functions:  # notebook functions: where in which cell (docs/notebooks.md)
        loc = locator.cell(f.file, f.line)
        if loc is not None:
            f.cell = loc.to_json()
    if as_json:
        click.echo(json.dumps([f.to_json() for f in prof.functions], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    rows = prof.functions if limit is None else prof.functions[:limit]
    table = Table(title=f"{len(prof.functions)} functions seen by `{' '.join(prof.meta.get('command') or [])}`")
    for col, justify in (("function", "left"), ("file:line", "left"), ("calls", "right"), ("eager", "right"),
                         ("graph", "right"), ("total s", "right"), ("tf.function", "center"), ("signatures", "right"),
                         ("tests", "right"), ("lines", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for f in rows:
        sigs = str(len(f.signatures)) + (f"+{f.signatures_overflow}" if f.signatures_overflow else "")
        lines = "-" if f.lines_covered is None else f"{f.lines_covered}/{f.lines_total}"
        where = locator.where(f.file, f.line)  # `[cell 3]` is text: the console below has markup off
        table.add_row(f.function, where, str(f.calls), str(f.eager_calls),
                      str(f.graph_calls), f"{f.total_s:.4f}", "yes" if f.hybrid else "", sigs,
                      str(len(f.tests)), lines)
    console = Console(markup=False)  # function names and paths are text, never markup
    if not console.is_terminal:  # piped: do not squeeze the table into 80 columns
        console = Console(width=200, markup=False)
    console.print(table)
    meta = prof.meta
    console.print(f"exit status {meta.get('exit_code')}, {meta.get('duration_s')} s, {meta.get('processes')} process(es), "
                  f"Python {', '.join(meta.get('pythons') or [])}, {len(meta.get('tests') or {})} tests",
                  highlight=False, soft_wrap=True)
