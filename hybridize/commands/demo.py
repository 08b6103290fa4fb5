"""`hybridize demo`: the whole pipeline on a throw-away copy of the bundled example project.

It drives the real CLI in subprocesses (started by ``hybridize.process``), exactly as a user would type it, so the
demo proves the commands work rather than some in-process shortcut; the example project itself is never modified.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

import hybridize
from hybridize.errors import HybridizeError
from hybridize.plan import PLAN_FILE, Plan
from hybridize.process import run_captured

PERF_RUNS = 3


def examples_dir() -> Path:
    """The bundled example project: ``examples/`` of a source checkout, else the copy a wheel installs as package
    data (``hybridize.example``)."""
    package = Path(hybridize.__file__).resolve().parent
    checkout = package.parent / "examples"
    candidates = [checkout, package / "example"]  # pyproject.toml maps examples/ to the package hybridize.example
    for candidate in candidates:
        if (candidate / "pyproject.toml").is_file() and (candidate / "demo_model").is_dir():
            return candidate
    raise HybridizeError(f"the example project is not at {checkout} nor installed with hybridize: reinstall hybridize")


def _run(console: Console, title: str, argv: list[str], cwd: Path, log: Path, show: bool = False) -> tuple[int, float, str]:
    """Run one step with a spinner; keep its output in the log and return (status, seconds, output)."""
    start = time.perf_counter()
    with console.status(f"[bold]{title}[/]  [dim]{escape(shlex.join(argv))}[/]"):
        done = run_captured(argv, cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"}, merge=True)
    elapsed = time.perf_counter() - start
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"$ {shlex.join(argv)}  (exit {done.status}, {elapsed:.1f}s)\n{done.stdout}\n")
    mark = "[green]ok[/]" if done.status == 0 else f"[red]exit {done.status}[/]"
    console.print(f"{mark}  {title} [dim]({elapsed:.1f}s)[/]")
    if show or done.status != 0:
        console.print(done.stdout.rstrip(), markup=False, highlight=False, soft_wrap=True)
    return done.status, elapsed, done.stdout


def _perf_seconds(output: str, fallback: float) -> float:
    """The workload's own wall time (perf.py prints ``N s wall``; interpreter start excluded), else the process's."""
    found = re.findall(r"([0-9]+(?:\.[0-9]+)?)\s*s wall\b", output)
    return float(found[-1]) if found else fallback


@click.command("demo")
@click.option("--keep", is_flag=True, help="Keep the temporary copy and print where it is.")
@click.option("--top", type=int, default=None, help="Apply only the N best recommendations (default: all).")
def demo(keep: bool, top: int | None) -> int:
    """Run profile, report, apply and a measured re-run on a copy of examples/."""
    console = Console()
    source = examples_dir()
    workdir = Path(tempfile.mkdtemp(prefix="hybridize-demo-"))
    project = workdir / "examples"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns(".hybridize", "__pycache__", "*.pyc"))
    log = workdir / "demo.log"
    py = sys.executable
    hz = [py, "-m", "hybridize"]
    tests = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    perf = [py, "perf.py"]
    console.print(Panel.fit(f"hybridize demo on a copy of the example project\n[dim]{escape(str(project))}[/]",
                            border_style="blue"))

    def step(title: str, argv: list[str], failure: str, show: bool = False) -> tuple[str, float]:
        rc, secs, out = _run(console, title, argv, project, log, show=show)
        if rc != 0:
            raise HybridizeError(f"{failure} (exit {rc}); see {log}")
        return out, secs

    def time_workload(which: str, failure: str) -> float:
        """Median of PERF_RUNS runs of perf.py, each as its own process (what a user would time)."""
        runs = [_perf_seconds(*step(f"Time the {which} workload ({i + 1}/{PERF_RUNS})", perf, failure))
                for i in range(PERF_RUNS)]
        return statistics.median(runs)

    try:
        step("Run the example's tests as they are", tests, "the example's tests fail before hybridize touched anything")
        b = time_workload("eager", "the example's perf.py failed")
        step("Profile, analyse, try and rank", [*hz, "profile", "--perf", shlex.join(perf), "--", *tests],
             "`hybridize profile` failed")
        step("The ranked report", [*hz, "report"], "`hybridize report` failed", show=True)
        count = len(Plan.load(project / ".hybridize" / PLAN_FILE).recommendations)
        if count == 0:
            console.print("[yellow]No conversion was measured to pay on this machine; nothing to apply.[/]")
            return 0
        apply_args = [*hz, "apply", "--top", str(count if top is None else min(top, count))]
        step("Preview the edits", [*apply_args, "--diff"], "`hybridize apply --diff` failed", show=True)
        step("Apply them to the copy", apply_args, "`hybridize apply` failed")
        step("Re-run the tests on the rewritten code", tests, "the tests fail after apply: a hybridize bug")
        a = time_workload("rewritten", "perf.py fails after apply: a hybridize bug")
        colour = "green" if a < b else "red"
        console.print(Panel.fit(
            f"workload before: {b:.2f}s   after: {a:.2f}s   speedup: [bold {colour}]{b / a:.2f}x[/]\n"
            f"[dim]medians of {PERF_RUNS} runs each; every step's output is in {escape(str(log))}[/]",
            title="measured speedup", border_style=colour))
    finally:
        if keep:
            console.print(f"kept: {workdir}", markup=False)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0
