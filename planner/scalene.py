"""``--scalene``: Python-versus-native time share per candidate, from one Scalene pass over the performance command.

Functions whose time goes to Python and op dispatch are the ones graph mode helps; a function that spends its
time inside one native kernel is not. Scalene has a history of trouble with TensorFlow, so any failure is one
line on the console and the plan is built without it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from hybridize.identity import FunctionId
from hybridize.process import Finished, run_captured


def scalene_command(perf: list[str], out: Path, root: Path) -> list[str] | None:
    """``scalene run`` for ``python script.py ...`` / ``python -m mod ...`` / ``pytest ...``; None when not a Python command."""
    exe = Path(sys.executable).parent / "scalene"
    base = [str(exe)] if exe.exists() else ([shutil.which("scalene") or ""] if shutil.which("scalene") else None)
    if base is None:
        return None
    opts = ["run", "--cpu-only", "--profile-only", str(root), "-o", str(out)]
    args = list(perf)
    if args and (Path(args[0]).name.startswith("python")):
        args = args[1:]
    elif args and Path(args[0]).name in ("pytest", "py.test"):
        args = ["-m", "pytest", *args[1:]]
    else:
        return None
    if not args:
        return None
    if args[0] == "-m" and len(args) >= 2:
        return [*base, *opts, "-m", args[1], "---", *args[2:]] if len(args) > 2 else [*base, *opts, "-m", args[1]]
    return [*base, *opts, args[0], "---", *args[1:]] if len(args) > 1 else [*base, *opts, args[0]]


def parse_shares(data: dict[str, Any], root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(relative file, function name) -> Python / native CPU percentages and their Python share."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path, info in (data.get("files") or {}).items():
        try:
            rel = Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()
        except ValueError:
            continue
        for fn in info.get("functions") or []:
            py = float(fn.get("n_cpu_percent_python", 0.0) or 0.0)
            native = float(fn.get("n_cpu_percent_c", 0.0) or 0.0)
            total = py + native
            out[(rel, str(fn.get("line", "")))] = {
                "python_percent": round(py, 2), "native_percent": round(native, 2),
                "python_share": round(py / total, 3) if total > 0 else None, "lineno": fn.get("lineno")}
    return out


def scalene_shares(root: Path, perf: list[str], work: Path, console: Console, candidates: list[Any] | None = None,
                   timeout_s: float = 900.0) -> dict[str, dict[str, Any]]:
    """Run Scalene once; map its per-function shares onto candidate names (``module:qualname``)."""
    out = work / "scalene.json"
    cmd = scalene_command(perf, out, root)
    if cmd is None:
        console.print("hybridize: scalene: not installed or the performance command is not a Python command; skipped",
                      highlight=False)
        return {}
    done: Finished | None = None
    try:
        done = run_captured(cmd, timeout_s=timeout_s)
        if done.timed_out:
            console.print("hybridize: scalene: timed out; carrying on without it", highlight=False)
            return {}
        data = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        tail = ""
        if done is not None:
            lines = (done.stderr or done.stdout).strip().splitlines()
            tail = lines[-1] if lines else ""
        console.print(f"hybridize: scalene failed ({tail or exc}); carrying on without it", markup=False, highlight=False)
        return {}
    shares = parse_shares(data, root)
    result: dict[str, dict[str, Any]] = {}
    for c in candidates or []:
        qual = FunctionId.qualname_of(c.function)
        short = FunctionId.short_name(qual)
        for (rel, name), share in shares.items():
            if rel == c.file and (name == qual or name.endswith("." + short) or name == short):
                result[c.function] = share
                break
    return result
