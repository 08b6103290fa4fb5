"""`hybridize check [PATHS]`: a linter for graph-unsafe code in tf.functions (ruff/flake8 conventions)."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import click

from hybridize.errors import HybridizeError
from hybridize.lint_output import (
    FORMATS,
    diagnostics,
    dumps,
    format_github,
    format_sarif,
    format_text,
    github_path,
    summary_line,
)
from hybridize.project import load_config, relpath, resolve_project_root

VERDICT_STYLE = {"safe": "green", "unsafe": "red", "unknown": "yellow"}


# Test code is not shipped as graphs; linting it reports fixtures and asserts. Replaced by `check-exclude`.
DEFAULT_EXCLUDE = ("tests", "*/tests", "test", "*/test", "test_*.py", "*/test_*.py", "*_test.py", "conftest.py",
                   "*/conftest.py")


@click.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--output-format", "fmt", type=click.Choice(FORMATS), default=None,
              help="text (path:line:col: CODE message), json, github (Actions annotations) or sarif (code scanning).")
@click.option("--json", "as_json", is_flag=True, help="Same as --output-format json (the planner's input, plus diagnostics).")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Project root (default: nearest folder with pyproject.toml / setup.py / .git).")
@click.option("--exclude", multiple=True, help="Glob relative to the root to skip (repeatable; adds to the config's).")
@click.option("--verdict", "only", type=click.Choice(["safe", "unsafe", "unknown"]), multiple=True,
              help="With -v or JSON: only functions with this verdict (repeatable).")
@click.option("--all", "everything", is_flag=True,
              help="Also report findings in functions that are not tf.functions (they never fail the check).")
@click.option("-v", "--verbose", is_flag=True,
              help="Also list every function's verdict with its findings and assumptions (implies --all).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when a tf.function has a blocker.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the output to this file instead of stdout (JSON unless --output-format says otherwise).")
def check(paths: tuple[Path, ...], fmt: str | None, as_json: bool, root: Path | None, exclude: tuple[str, ...],
          only: tuple[str, ...], everything: bool, verbose: bool, exit_zero: bool, output: Path | None) -> int:
    """Lint: graph-unsafe code in functions that already run as tf.function (exit 1 on a blocker).

    \b
    hybridize check                          the whole project (or [tool.hybridize] paths), tests excluded
    hybridize check src/model.py             some files or folders
    hybridize check --output-format github   annotations in GitHub Actions (also: json, sarif)
    hybridize check --all                    findings in every function, not only tf.functions
    Silence a line with `# hybridize: ignore[HY101]` (or a bare `# hybridize: ignore`).
    Codes are documented in docs/static-codes.md.
    """
    from hybridize.static import analyze

    if as_json and fmt not in (None, "json"):
        raise HybridizeError(f"--json and --output-format {fmt} disagree: give one")
    fmt = "json" if as_json else fmt or ("json" if output is not None else "text")
    project_root = resolve_project_root(root)
    config = load_config(project_root)
    targets = _targets(paths, config.paths, project_root)
    defaults = _default_excludes(config.raw, project_root, targets if paths else None)
    analysis = analyze(project_root, targets, [*defaults, *config.exclude, *exclude])
    found = diagnostics(analysis, project_root, everything or verbose)
    shown = [d for d in found if not d.suppressed]
    hidden = [d for d in found if d.suppressed]
    status = 1 if any(d.fails for d in shown) and not exit_zero else 0
    reports = [r for r in analysis.functions if not only or r.verdict in only]
    if fmt == "json":
        data = analysis.to_json()
        data["functions"] = [r.to_json() for r in reports]
        data["summary"]["suppressed"] = len(hidden)
        data["summary"]["failing"] = sum(1 for d in shown if d.fails)
        data["diagnostics"] = [d.to_json() for d in found]
        _emit(dumps(data), output)
        return status
    if fmt == "sarif":
        _emit(dumps(format_sarif(shown, hidden, project_root)), output)
        return status
    lines: list[str] = []
    if fmt == "github":
        lines.extend(format_github(shown, project_root))
        lines.extend(f"::warning file={github_path(e.file, project_root)},line={max(e.line, 1)}::cannot parse: "
                     f"{e.message} (skipped)"
                     for e in analysis.errors)
    else:
        for err in analysis.errors:
            click.echo(f"{err.file}:{max(err.line, 1)}:1: cannot parse: {err.message} (skipped)", err=True)
        if verbose:
            lines.extend(_verdicts(reports))
        lines.extend(format_text(shown, project_root, Path.cwd()))
    lines.append(summary_line(shown, len(hidden), analysis))
    _emit("".join(line + "\n" for line in lines), output)
    return status


def _targets(paths: tuple[Path, ...], configured: list[str], project_root: Path) -> list[Path] | None:
    """The files and folders named on the command line, else the configured paths; None: the whole project."""
    if paths:
        targets = []
        for p in paths:
            full = p.resolve()
            if not full.exists():
                raise HybridizeError(f"no such file or folder: {p}")
            targets.append(full)
        return targets
    if configured:
        return [project_root / p for p in configured]
    return None


def _default_excludes(raw: dict[str, Any], root: Path, explicit: list[Path] | None) -> list[str]:
    """`check-exclude` from the config (or the defaults), minus patterns matching a path named on the command line
    (as ruff does, a file you name is linted)."""
    value = raw.get("check-exclude", raw.get("check_exclude"))
    if value is None:
        patterns = list(DEFAULT_EXCLUDE)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        patterns = list(value)
    else:
        raise HybridizeError(f"[tool.hybridize] check-exclude must be a list of globs, got {value!r}")
    if not explicit:
        return patterns
    named = [relpath(p, root) for p in explicit]
    return [pat for pat in patterns
            if not any(fnmatch.fnmatch(n, pat) or fnmatch.fnmatch(n, pat.rstrip("/") + "/*") for n in named)]


def _emit(text: str, output: Path | None) -> None:
    if output is not None:
        from hybridize.plan import write_text_atomic

        write_text_atomic(output, text)
    else:
        click.echo(text, nl=False)


def _verdicts(reports: list[Any]) -> list[str]:
    """The per-function view (every function's verdict, its findings and assumptions)."""
    from hybridize.static.notebooks import where

    out = []
    for r in reports:
        verdict = click.style(f"{r.verdict:<7}", fg=VERDICT_STYLE[r.verdict])
        tag = " [tf.function]" if r.hybrid else ""
        reasons = _reasons(r)
        out.append(f"{where(r.file, r.line, r.cell)}: {verdict} {r.qualname}{tag}{'  ' + reasons if reasons else ''}")
        for f in r.findings:
            at = f"cell {f.cell['index'] + 1} line {f.cell['line']}" if f.cell else f"line {f.line}"
            out.append(f"    {f.code} {f.severity:<7} {at}: {f.message}")
            out.append(f"            instead: {f.fix}")
        for a in r.assumptions:
            out.append(f"    assumed: {a}")
    return out


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
