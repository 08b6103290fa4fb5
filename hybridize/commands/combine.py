"""`hybridize combine DIR...`: merge profiles taken on several machines or CI shards (like `coverage combine`)."""

from __future__ import annotations

from pathlib import Path

import click

from hybridize.errors import HybridizeError
from hybridize.project import data_dir as resolve_data_dir
from hybridize.project import resolve_project_root


@click.command("combine")
@click.argument("sources", nargs=-1, type=click.Path())
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where to write the result (default ROOT/.hybridize).")
@click.option("--root", type=str, default=None, help="Project root (default: found from the current folder).")
def combine(sources: tuple[str, ...], data_dir: str | None, root: str | None) -> None:
    """Merge SOURCES (data dirs holding profile.db, profile.db files, or folders of raw shard-*.json) into one profile."""
    from hybridize.tracer.store import PROFILE_FILE, Aggregate, load_profile

    if not sources:
        raise HybridizeError("nothing to combine: give one or more data dirs or profile.db files")
    project_root = resolve_project_root(root)
    out = resolve_data_dir(project_root, Path(data_dir) if data_dir else None, create=True)
    agg = Aggregate(project_root)
    commands: list[list[str]] = []
    exit_code = 0
    duration = 0.0
    for src in sources:
        path = Path(src)
        if not path.exists():
            raise HybridizeError(f"nothing to combine at {src}: no such file or folder")
        if path.is_file() or (path / PROFILE_FILE).is_file():
            prof = load_profile(path)
            agg.add_profile(prof)
            commands.append(list(prof.meta.get("command") or []))
            exit_code = exit_code or int(prof.meta.get("exit_code") or 0)
            duration += float(prof.meta.get("duration_s") or 0.0)
        else:
            shards = sorted(path.glob("shard-*.json"))
            if not shards:
                raise HybridizeError(f"nothing to combine at {src}: no {PROFILE_FILE} and no shard-*.json files")
            for shard in shards:
                agg.add_shard_file(shard)
    for skipped in agg.skipped:
        click.echo(f"hybridize: warning: skipped a corrupt or truncated shard ({skipped})", err=True)
    meta = {"command": commands[0] if commands else [], "commands": commands, "root": str(project_root),
            "exit_code": exit_code, "duration_s": round(duration, 3), "combined_from": [str(Path(s).resolve()) for s in sources]}
    db = agg.write(out, meta)
    click.echo(f"combined {len(sources)} source(s): {len(agg.fns)} functions, {len(agg.tests)} tests -> {db}")
