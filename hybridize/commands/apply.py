"""`hybridize apply`: placeholder until its stage lands."""

from __future__ import annotations

import click

from hybridize.errors import HybridizeError


@click.command("apply", context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def apply(args: tuple[str, ...]) -> None:
    """Not implemented yet."""
    raise HybridizeError("`hybridize apply` is not implemented yet")
