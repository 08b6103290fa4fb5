"""`hybridize report`: placeholder until its stage lands."""

from __future__ import annotations

import click

from hybridize.errors import HybridizeError


@click.command("report", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def report(args: tuple[str, ...]) -> None:
    """Not implemented yet."""
    raise HybridizeError("`hybridize report` is not implemented yet")
