"""What planning starts from: the traced run's profile and the static analysis of the project's source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.profile_types import FunctionProfile
from hybridize.project import Config
from hybridize.static.model import FunctionReport


@dataclass
class Inputs:
    """The profile's records and the static reports, joined by ``candidates.build_candidates``."""

    functions: list[FunctionProfile]
    meta: dict[str, Any]
    reports: list[FunctionReport]
    static_available: bool
    static_errors: list[str] = field(default_factory=list)


def load_inputs(root: Path, data_dir: Path, config: Config) -> Inputs:
    """The profile (tracer) and the static reports of ``config``'s paths; a profile of another project is refused."""
    try:
        from hybridize.tracer.store import load_profile
    except ImportError:
        raise HybridizeError("the tracer is not installed: cannot read the profile") from None
    profile = load_profile(data_dir)
    meta = dict(profile.meta)
    prof_root = meta.get("root")
    if prof_root and Path(str(prof_root)).resolve() != root.resolve():
        raise HybridizeError(f"the profile in {data_dir} is of another project ({prof_root}): run `hybridize profile` here")
    reports: list[FunctionReport] = []
    static_ok = True
    errors: list[str] = []
    try:
        from hybridize.static import analyze

        analysis = analyze(root, [root / p for p in config.paths] or None, config.exclude)
        reports = list(analysis.functions)
        errors = [f"{e.file}:{e.line}: {e.message}" for e in getattr(analysis, "errors", [])]
    except ImportError:
        static_ok = False
    return Inputs(list(profile.functions), meta, reports, static_ok, errors)
