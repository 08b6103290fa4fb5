"""`hybridize report`: render the last plan (table, json, markdown or self-contained html)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from hybridize.errors import HybridizeError
from hybridize.plan import PLAN_FILE, Plan, write_text_atomic
from hybridize.project import data_dir as resolve_data_dir
from hybridize.project import resolve_project_root

T = TypeVar("T")


def _shown(render: Callable[[], T]) -> T:
    """Render, turning a plan whose evidence has unexpected types into one line (evidence is free-form JSON
    that only the planner writes; a hand-edited or damaged plan must not end in a traceback)."""
    try:
        return render()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        raise HybridizeError(f"plan.json cannot be shown: a field has an unexpected type or value ({str(exc)[:100]}); "
                             "run `hybridize profile` again") from None


@click.command("report")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown", "html"]), default="table",
              show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project root.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the plan is (default <root>/.hybridize).")
@click.option("-v", "--verbose", is_flag=True, help="Table: also each trial run's label and seconds.")
def report(fmt: str, output: Path | None, root: Path | None, data_dir: Path | None, verbose: bool = False) -> int:
    """Show the ranked plan again."""
    from hybridize.planner import report as render

    if output is not None and not output.parent.is_dir():  # never create folders the user did not ask for
        raise HybridizeError(f"cannot write {output}: folder {output.parent} does not exist")
    project = resolve_project_root(root)
    plan = Plan.load(resolve_data_dir(project, data_dir) / PLAN_FILE)
    if fmt == "table":
        from rich.console import Console

        width = 160 if output is not None else Console().width
        # A dry run first, so that a damaged plan is one line rather than half a table and a traceback.
        _shown(lambda: render.print_table(plan, Console(file=io.StringIO(), width=width, markup=False), verbose=verbose))
        if output is None:
            render.print_table(plan, Console(markup=False), verbose=verbose)  # plan text is never markup
        else:
            try:
                with open(output, "w", encoding="utf-8") as fh:
                    render.print_table(plan, Console(file=fh, width=160, color_system=None, markup=False), verbose=verbose)
            except OSError as exc:
                raise HybridizeError(f"cannot write {output}: {exc.strerror}") from None
        return 0
    text = _shown(lambda: {"json": render.render_json, "markdown": render.render_markdown,
                           "html": render.render_html}[fmt](plan))
    if output is None:
        click.echo(text, nl=False)
    else:
        try:
            write_text_atomic(output, text)
        except OSError as exc:
            raise HybridizeError(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    return 0
