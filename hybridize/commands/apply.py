"""`hybridize apply`: rewrite the source with the plan's recommendations (preview, verify, undo)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hybridize.errors import HybridizeError
from hybridize.plan import PLAN_FILE, Plan
from hybridize.project import data_dir as resolve_data_dir
from hybridize.project import load_config, resolve_project_root

if TYPE_CHECKING:
    from hybridize.rewriter.apply import ApplyResult


def _print_diff(diff: str) -> None:
    color = sys.stdout.isatty()
    for line in diff.splitlines(keepends=True):
        fg: str | None = None
        if line.startswith(("+++", "---")):
            fg = "white"
        elif line.startswith("+"):
            fg = "green"
        elif line.startswith("-"):
            fg = "red"
        elif line.startswith("@@"):
            fg = "cyan"
        click.echo(click.style(line, fg=fg) if (color and fg) else line, nl=False)


@click.command("apply", context_settings={"ignore_unknown_options": True})
@click.option("--top", type=int, default=None, help="Apply the N best-ranked recommendations.")
@click.option("--id", "ids", type=int, multiple=True, help="Apply this recommendation id (repeatable).")
@click.option("--diff", "diff_only", is_flag=True, help="Only print the unified diff; change nothing.")
@click.option("--strict", is_flag=True, help="Apply nothing if any chosen recommendation is refused.")
@click.option("--undo", is_flag=True, help="Restore the files as they were before the last apply.")
@click.option("--force", is_flag=True, help="With --undo: restore even files edited since the apply.")
@click.option("--verify", is_flag=True,
              help="After applying, run the command after `--` (default: [tool.hybridize] test-command); undo if it fails.")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None, help="Project root.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the plan and backups live (default <root>/.hybridize).")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Plan file (default <data dir>/plan.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def apply(top: int | None, ids: tuple[int, ...], diff_only: bool, strict: bool, undo: bool, force: bool, verify: bool,
          root: Path | None, data_dir: Path | None, plan_path: Path | None, as_json: bool, command: tuple[str, ...]) -> int:
    """Rewrite the source with the plan's recommendations (all of them unless --top/--id).

    Each edit adds, tunes or removes one tf.function decorator (and at most one import); files changed
    since the plan was made are refused, originals are saved under the data dir for --undo.

    \b
    hybridize apply --top 3            the three best recommendations
    hybridize apply --id 5 --id 7      chosen ones
    hybridize apply --top 3 --diff     show the diff, change nothing
    hybridize apply --undo             restore the files of the last apply
    hybridize apply --top 3 --verify -- pytest tests/
    """
    from hybridize.rewriter.apply import apply_plan, undo_last
    from hybridize.rewriter.apply import verify as run_verify

    project_root = resolve_project_root(root)
    data = resolve_data_dir(project_root, data_dir)
    if command and command[0] == "--":
        command = command[1:]
    if command and not verify:
        raise HybridizeError(f"unexpected arguments {' '.join(command)!r}: a command after `--` needs --verify")
    if undo:
        if top is not None or ids or diff_only or verify:
            raise HybridizeError("--undo takes no other option than --force")
        restored = undo_last(project_root, data, force=force, notify=lambda line: click.echo(line, err=True))
        for rel in restored:
            click.echo(f"restored {rel}")
        return 0
    if diff_only and verify:
        raise HybridizeError("--diff changes nothing, so there is nothing to --verify")
    verify_cmd = _verify_command(project_root, command) if verify else None

    plan = Plan.load(plan_path or data / PLAN_FILE)
    result = apply_plan(project_root, data, plan, ids=list(ids) or None, top=top, diff_only=diff_only, strict=strict)
    _print_result(result, diff_only=diff_only, strict=strict, as_json=as_json)
    status = 1 if result.refused else 0
    if verify_cmd and result.written:
        click.echo(f"verifying: {' '.join(verify_cmd)}")
        rc = run_verify(project_root, data, verify_cmd)
        if rc != 0:
            click.echo(f"verification failed (exit {rc}): the apply was undone", err=True)
            return 1
        click.echo("verification passed")
    return status


def _verify_command(project_root: Path, command: tuple[str, ...]) -> list[str]:
    """The command after ``--``, else the configured test command: --verify needs one of them."""
    verify_cmd = list(command) or load_config(project_root).test_command
    if not verify_cmd:
        raise HybridizeError("--verify needs a command after `--` or test-command in [tool.hybridize]")
    return verify_cmd


def _print_result(result: ApplyResult, *, diff_only: bool, strict: bool, as_json: bool) -> None:
    """The outcome as JSON, or the diff and one line per recommendation (refusals on stderr)."""
    if result.recovered is not None and not as_json:
        for line in result.recovered.lines():
            click.echo(line, err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    if diff_only:
        _print_diff(result.diff)
    for outcome in result.outcomes:
        click.echo(outcome.line(dry_run=diff_only), err=outcome.status == "refused")
    if not result.outcomes:
        click.echo("the plan has no recommendations to apply")
    if strict and result.refused:
        click.echo(f"--strict: {len(result.refused)} refused, nothing written", err=True)
    elif result.written:
        click.echo(f"wrote {len(result.changed_files)} file(s): {', '.join(result.changed_files)} "
                   "(undo with `hybridize apply --undo`)")
