"""`hybridize functions`: placeholder until its stage lands."""

from __future__ import annotations

import click

from hybridize.errors import HybridizeError


@click.command("functions", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def functions(args: tuple[str, ...]) -> None:
    """Not implemented yet."""
    raise HybridizeError("`hybridize functions` is not implemented yet")
