"""`hybridize profile -- CMD`: run any command under the tracer and store one merged profile.

Without ``--no-measure`` the planner runs afterwards (static analysis, trial runs, ranked plan).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hybridize.errors import HybridizeError
from hybridize.interrupt import watch_sigint
from hybridize.lock import exclusive
from hybridize.project import Config, load_config, resolve_project_root
from hybridize.project import data_dir as resolve_data_dir

if TYPE_CHECKING:
    from rich.console import Console

TRACER_BOOT = "hybridize.tracer.bootstrap:start"
PYTEST_PLUGIN = "hybridize.tracer.pytest_plugin"
PROFILE_LOCK = "profile.lock"
INTERRUPTED_NOTE = "interrupted by Ctrl-C during the traced run: the profile holds what ran until then; no planning was done"


def trace_env(root: Path, shard_dir: Path, command: list[str], include: list[str], exclude: list[str],
              coverage: bool = True) -> dict[str, str]:
    """The variables that switch the tracer on in every Python process of the run."""
    plugins = [p for p in os.environ.get("PYTEST_PLUGINS", "").split(",") if p.strip()]
    if PYTEST_PLUGIN not in plugins:
        plugins.append(PYTEST_PLUGIN)
    # Two coverage measurements in one process fight over the trace function / tool id: let coverage.py win (its data
    # file is read back after the run: tracer/coverage_data.py).
    from hybridize.tracer.coverage_data import measures_coverage

    user_cov = measures_coverage(command, os.environ)
    return {
        "HYBRIDIZE_TRACE_DIR": str(shard_dir), "HYBRIDIZE_ROOT": str(root),
        "HYBRIDIZE_INCLUDE": os.pathsep.join(include), "HYBRIDIZE_EXCLUDE": os.pathsep.join(exclude),
        "HYBRIDIZE_COVERAGE": "0" if user_cov or not coverage else os.environ.get("HYBRIDIZE_COVERAGE", "1"),
        "PYTEST_PLUGINS": ",".join(plugins),
    }


def run_traced(command: list[str], *, root: Path, data: Path, config: Config, timeout_s: float | None,
               coverage: bool = True) -> tuple[int, Path, list[str]]:
    """Run ``command`` traced (the paths of ``config``) and merge its shards into ``data/profile.db``; returns
    (exit status, db path, warnings)."""
    from hybridize import process
    from hybridize.tracer import store

    process.resolve_command(command)
    try:
        shard_dir = Path(tempfile.mkdtemp(prefix=".run-", dir=data))
    except OSError as exc:
        raise HybridizeError(f"data dir {data} is not writable: {exc.strerror}") from None
    started = time.time()
    try:
        env = trace_env(root, shard_dir, command, config.paths, config.exclude, coverage)
        from hybridize.tracer.runmain import traced_command

        with watch_sigint() as sigint:  # the launcher stops the command on Ctrl-C and returns 130
            rc = process.run_command(traced_command(command, root), root=root, boot=[TRACER_BOOT], env=env,
                                     timeout_s=timeout_s)
        duration = time.time() - started
        meta = {"command": command, "root": str(root), "exit_code": rc, "duration_s": round(duration, 3),
                "backend": "sys.monitoring" if sys.version_info >= (3, 12) else "import-hook",
                "hybridize_python": sys.version.split()[0], "interrupted": sigint.hit}
        if sigint.hit:
            meta["notes"] = [INTERRUPTED_NOTE]
        external = None
        from hybridize.tracer.coverage_data import measures_coverage, read_coverage

        if coverage and measures_coverage(command, os.environ):  # the command measured coverage itself: use its data
            external = read_coverage(root, Path.cwd(), os.environ, started)
            if external is not None:
                meta["coverage_files"] = external.files
        try:
            db, agg = store.merge_shards(shard_dir, data, root, meta, coverage=external)
        except OSError as exc:
            raise HybridizeError(f"cannot write the profile into {data}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(shard_dir, ignore_errors=True)
    warnings = [f"skipped a corrupt or truncated shard ({s})" for s in agg.skipped]
    if agg.processes == 0:
        warnings.append("no Python process of the command was traced (is it a Python program? `python -I/-S/-E` "
                        "bypass the tracer's sitecustomize)")
    if agg.errors:
        first = agg.error_samples[0] if agg.error_samples else "?"
        warnings.append(f"the tracer counted {agg.errors} internal errors (first: {first})")
    if rc == 124:
        warnings.append(f"the command timed out after {timeout_s} s and was stopped; the profile is partial")
    return rc, db, warnings


@click.command("profile", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--no-measure", is_flag=True, help="Only trace: no static analysis, no trial runs.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Where to store data (default ROOT/.hybridize).")
@click.option("--root", type=str, default=None, help="Project root (default: nearest folder with pyproject.toml/.git/...).")
@click.option("--perf", "perf", type=str, default=None, help="Performance command for the trial runs (one string).")
@click.option("--budget", type=float, default=None, help="Time budget for the trial runs, in seconds.")
@click.option("--scalene", is_flag=True, help="Also profile the performance command with Scalene.")
@click.option("--timeout", type=float, default=None, help="Stop the traced command after this many seconds.")
@click.option("--no-coverage", is_flag=True, help="Skip line coverage (lines_covered = null): most of the cost on Python 3.11.")
@click.option("--no-warm-start", is_flag=True,
              help="Start every trial run in a fresh process (default: fork them from one that imported TensorFlow).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def profile(no_measure: bool, data_dir: str | None, root: str | None, perf: str | None, budget: float | None,
            scalene: bool, timeout: float | None, no_coverage: bool, no_warm_start: bool,
            command: tuple[str, ...]) -> int:
    """Run COMMAND (after --) with the tracer in every Python process; store one merged profile.

    A notebook alone (`hybridize profile nb.ipynb`) is executed in a Jupyter kernel, like nbconvert --execute.
    """
    from rich.console import Console

    cmd = list(command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if timeout is not None and timeout <= 0:
        raise HybridizeError("--timeout must be a positive number of seconds")
    from hybridize.nbrun import shorthand

    notebook = shorthand(cmd)  # `hybridize profile nb.ipynb`: execute it with nbclient
    if notebook is not None:
        cmd = notebook[0]
    project_root = resolve_project_root(root, notebook[1] if notebook is not None else None, start_is_project=True)
    config = load_config(project_root)
    if not cmd:
        cmd = list(config.test_command or [])
    if not cmd:
        raise HybridizeError("no command given: put the command to run after `--`, e.g. `hybridize profile -- pytest tests/`"
                             " (or set test-command in [tool.hybridize])")
    data = resolve_data_dir(project_root, Path(data_dir) if data_dir else None, create=True)
    guard = ExitStack()  # two runs on one data dir would overwrite each other's profile and plan
    guard.enter_context(exclusive(data, PROFILE_LOCK, "hybridize profile"))
    console = Console(stderr=True, markup=False)  # paths, commands and tracer messages are text, never markup
    perf_cmd = shlex.split(perf) if perf else None
    warm = None
    if not no_measure and not no_warm_start and config.raw.get("warm-start", True) is not False:
        from hybridize.planner.pipeline import start_warm_starter

        warm = start_warm_starter(project_root, data, cmd, perf_cmd, config)  # imports TensorFlow beside the traced run
    try:
        rc, db, warnings = run_traced(cmd, root=project_root, data=data, config=config, timeout_s=timeout,
                                      coverage=not no_coverage)
        for w in warnings:
            console.print(f"hybridize: warning: {w}", highlight=False, soft_wrap=True)
        if not _summarize(console, data, db, rc):
            return 130
        if no_measure:
            return rc
        from hybridize.planner.pipeline import run_after_profile

        status = run_after_profile(root=project_root, data_dir=data, command=cmd, perf_command=perf_cmd,
                                   budget_s=budget, scalene=scalene, console=Console(), config=config, warm=warm)
    finally:
        if warm is not None:
            warm.close()
        guard.close()
    return rc if rc != 0 else int(status or 0)


def _summarize(console: Console, data: Path, db: Path, rc: int) -> bool:
    """One line on what was profiled; False (and why no plan) when the user interrupted the command."""
    from hybridize.tracer.store import load_profile

    prof = load_profile(data)
    n_tests = len(prof.meta.get("tests") or {})
    console.print(f"hybridize: profiled {len(prof.functions)} functions in {prof.meta.get('processes', 0)} "
                  "process(es)" + (f", {n_tests} tests" if n_tests else "")
                  + f"; command exited with status {rc}; profile in {db}", highlight=False, soft_wrap=True)
    if prof.meta.get("interrupted"):
        previous = "; the plan of the previous run is left as it was" if (data / "plan.json").is_file() else ""
        console.print(f"hybridize: interrupted: the partial profile is saved in {db}; no planning was done "
                      f"(run `hybridize profile` again for a plan){previous}", highlight=False, soft_wrap=True)
        return False
    return True
