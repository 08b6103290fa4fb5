"""The profile store: per-process shards merged into one SQLite file with a schema version.

One row per function, one per (function, distinct signature), one per (function, test): never one per call, so the
file's size does not grow with the call count. ``load_profile`` is the API the planner uses; ``hybridize functions
--json`` prints exactly ``Profile.functions``' ``to_json()`` (``hybridize/profile_types.py``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hybridize.errors import HybridizeError
from hybridize.fileio import replacing
from hybridize.identity import FunctionId
from hybridize.profile_types import FunctionProfile
from hybridize.tracer.sampler import merge_samples
from hybridize.tracer.state import MAX_SIGNATURES, SHARD_FORMAT, def_lines

SCHEMA_VERSION = 1
PROFILE_FILE = "profile.db"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE functions (
    id INTEGER PRIMARY KEY, function TEXT NOT NULL, file TEXT NOT NULL, line INTEGER NOT NULL, end_line INTEGER,
    calls INTEGER NOT NULL, eager_calls INTEGER NOT NULL, graph_calls INTEGER NOT NULL, total_s REAL NOT NULL,
    hybrid INTEGER NOT NULL, tf_traces INTEGER NOT NULL, signatures_overflow INTEGER NOT NULL,
    signatures_sampled INTEGER NOT NULL,
    lines_total INTEGER, covered TEXT, instances INTEGER, instances_capped INTEGER
);
CREATE TABLE signatures (function_id INTEGER NOT NULL, args TEXT NOT NULL, count INTEGER NOT NULL);
CREATE TABLE function_tests (function_id INTEGER NOT NULL, nodeid TEXT NOT NULL);
CREATE TABLE tests (nodeid TEXT PRIMARY KEY, outcome TEXT NOT NULL);
"""

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


@dataclass
class Profile:
    """What ``load_profile`` returns: one typed record per function and the run's metadata."""

    functions: list[FunctionProfile]
    meta: dict[str, Any]
    covered: dict[str, list[int]] = field(default_factory=dict)  # function -> covered line numbers (for combine)

    def by_name(self) -> dict[str, FunctionProfile]:
        return {f.function: f for f in self.functions}


@dataclass
class _Fn:
    function: str
    file: str
    line: int
    end_line: int | None = None
    calls: int = 0
    eager_calls: int = 0
    graph_calls: int = 0
    total_s: float = 0.0
    hybrid: bool = False
    tf_traces: int = 0
    sigs: dict[str, list[Any]] = field(default_factory=dict)  # canonical args json -> [args, count]
    overflow: int = 0
    sampled: bool = False
    tests: set[str] = field(default_factory=set)
    stmts: list[int] | None = None
    covered: set[int] = field(default_factory=set)
    total_hint: int | None = None  # lines_total from a stored profile whose source may not be here
    instances: int | None = None  # a method: distinct objects it was called on (summed over processes)
    instances_capped: bool = False  # some process stopped counting: ``instances`` is a lower bound

    def add_instances(self, n: Any, capped: Any) -> None:
        """Objects of different processes (or profiles) are different objects: counts add up."""
        if isinstance(n, int):
            self.instances = (self.instances or 0) + n
            self.instances_capped = self.instances_capped or bool(capped)

    def add_sig(self, args: dict[str, Any], count: int) -> None:
        key = json.dumps(args, sort_keys=True, default=repr)
        entry = self.sigs.get(key)
        if entry is not None:
            entry[1] += count
        elif len(self.sigs) < MAX_SIGNATURES:
            self.sigs[key] = [args, count]
        else:
            self.overflow += count

    def lines_total(self) -> int | None:
        return len(self.stmts) if self.stmts is not None else self.total_hint


class Aggregate:
    """Merges shards (and whole profiles, for ``combine``) into one set of function rows."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fns: dict[tuple[str, str, int], _Fn] = {}
        self.tests: dict[str, str] = {}
        self.processes = 0
        self.errors = 0
        self.error_samples: list[str] = []
        self.unmapped_autograph = 0
        self.pythons: set[str] = set()
        self.coverage = False
        self.skipped: list[str] = []
        self.samples: dict[str, Any] = {}  # the main process's stack samples (tracer/sampler.py), meta "samples"
        self._defs: dict[str, dict[tuple[str, int], tuple[int, int, list[int]]]] = {}

    def _def_info(self, file: str, name: str, first_line: int) -> tuple[int, int | None, list[int] | None]:
        defs = self._defs.get(file)
        if defs is None:
            defs = self._defs[file] = def_lines(self.root / file)
        info = defs.get((name, first_line))
        if info is None:
            return first_line, None, None
        return info

    def _fn(self, function: str, file: str, line: int) -> _Fn:
        key = (function, file, line)
        fn = self.fns.get(key)
        if fn is None:
            fn = self.fns[key] = _Fn(function, file, line)
        return fn

    def add_shard_file(self, path: Path) -> bool:
        """Merge one shard; a corrupt or truncated one is skipped and remembered (``skipped``)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != SHARD_FORMAT or not isinstance(data.get("functions"), list):
                raise ValueError("not a hybridize shard")
            self.add_shard(data)
            return True
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.skipped.append(f"{path.name}: {type(exc).__name__}: {str(exc)[:120]}")
            return False

    def add_shard(self, data: dict[str, Any]) -> None:
        rows: list[tuple[_Fn, dict[str, Any]]] = []
        for f in data["functions"]:  # validate the whole shard before merging any of it
            name = str(f["function"])
            file = str(f["file"])
            short = FunctionId.short_name(FunctionId.qualname_of(name))
            line, end_line, stmts = self._def_info(file, short, int(f["first_line"]))
            int(f["calls"]), int(f["eager_calls"]), int(f["graph_calls"]), float(f["total_s"])
            rows.append((_Fn(name, file, line, end_line, stmts=stmts), f))
        for proto, f in rows:
            fn = self._fn(proto.function, proto.file, proto.line)
            fn.end_line = fn.end_line or proto.end_line
            fn.stmts = fn.stmts if fn.stmts is not None else proto.stmts
            fn.calls += int(f["calls"])
            fn.eager_calls += int(f["eager_calls"])
            fn.graph_calls += int(f["graph_calls"])
            fn.total_s += float(f["total_s"])
            fn.hybrid = fn.hybrid or bool(f.get("hybrid"))
            fn.tf_traces += int(f.get("traces_reported") or 0)
            fn.overflow += int(f.get("signatures_overflow") or 0)
            fn.sampled = fn.sampled or bool(f.get("signatures_sampled"))
            for sig in f.get("signatures") or []:
                fn.add_sig(sig["args"], int(sig["count"]))
            fn.tests.update(str(t) for t in f.get("tests") or [])
            fn.add_instances(f.get("instances"), f.get("instances_capped"))
        self._merge_tests(data.get("tests") or {})
        cov = data.get("coverage")
        if data.get("coverage_enabled") or cov:
            self.coverage = True
            self._apply_coverage({str(k): set(v) for k, v in (cov or {}).items()})
        self.processes += 1
        self.errors += int(data.get("errors") or 0)
        self.error_samples.extend(data.get("error_samples") or [])
        self.unmapped_autograph += int(data.get("unmapped_autograph") or 0)
        merge_samples(self.samples, data.get("samples"))
        if data.get("python"):
            self.pythons.add(str(data["python"]))

    def _apply_coverage(self, executed: dict[str, set[int]]) -> None:
        for fn in self.fns.values():
            lines = executed.get(fn.file)
            if lines and fn.stmts:
                fn.covered.update(lines.intersection(fn.stmts))
        self._pending_cov = getattr(self, "_pending_cov", {})
        for file, lines in executed.items():  # functions first seen in a later shard still get these lines
            self._pending_cov.setdefault(file, set()).update(lines)

    def add_coverage(self, executed: dict[str, set[int]], tests: dict[str, dict[int, set[str]]]) -> None:
        """Lines (and, per line, test node ids) measured outside the tracer: coverage.py's data file."""
        self.coverage = True
        self._apply_coverage(executed)
        for fn in self.fns.values():
            by_line = tests.get(fn.file)
            if by_line and fn.stmts:
                for line in fn.stmts:
                    fn.tests.update(by_line.get(line, ()))

    def _merge_tests(self, tests: dict[str, Any]) -> None:
        for nodeid, outcome in tests.items():
            outcome = str(outcome)
            if outcome not in _RANK:
                continue
            old = self.tests.get(nodeid)
            if old is None or _RANK[outcome] > _RANK[old]:
                self.tests[nodeid] = outcome

    def add_profile(self, profile: Profile) -> None:
        """Merge a whole stored profile (``hybridize combine``)."""
        for f in profile.functions:
            fn = self._fn(f.function, f.file, f.line)
            fn.end_line = fn.end_line or f.end_line
            fn.calls += f.calls
            fn.eager_calls += f.eager_calls
            fn.graph_calls += f.graph_calls
            fn.total_s += f.total_s
            fn.hybrid = fn.hybrid or f.hybrid
            fn.tf_traces += f.tf_traces_reported
            fn.overflow += f.signatures_overflow
            fn.sampled = fn.sampled or f.signatures_sampled
            for sig in f.signatures:
                fn.add_sig(sig["args"], int(sig["count"]))
            fn.tests.update(f.tests)
            fn.add_instances(f.instances, f.instances_capped)
            fn.covered.update(profile.covered.get(f.function, []))
            if f.lines_total is not None:
                fn.total_hint = max(fn.total_hint or 0, f.lines_total)
        meta = profile.meta
        self._merge_tests(meta.get("tests") or {})
        self.coverage = self.coverage or bool(meta.get("coverage"))
        self.processes += int(meta.get("processes") or 0)
        self.errors += int(meta.get("internal_errors") or 0)
        self.unmapped_autograph += int(meta.get("unmapped_autograph") or 0)
        for py in meta.get("pythons") or []:
            self.pythons.add(str(py))
        merge_samples(self.samples, meta.get("samples"))

    def _rows(self) -> list[_Fn]:
        """Every function, its pending coverage applied, in ``load_profile``'s order (time, calls, name)."""
        pending = getattr(self, "_pending_cov", {})
        for fn in self.fns.values():
            lines = pending.get(fn.file)
            if lines and fn.stmts:
                fn.covered.update(lines.intersection(fn.stmts))
        return sorted(self.fns.values(), key=lambda fn: (-round(fn.total_s, 6), -fn.calls, fn.function))

    def write(self, data_dir: Path, meta: dict[str, Any]) -> Path:
        """Write ``data_dir/profile.db`` atomically (a temporary file renamed over the old one)."""
        meta = {
            **meta, "schema_version": SCHEMA_VERSION, "tests": dict(sorted(self.tests.items())),
            "processes": self.processes, "internal_errors": self.errors, "internal_error_samples": self.error_samples[:10],
            "unmapped_autograph": self.unmapped_autograph, "pythons": sorted(self.pythons), "coverage": self.coverage,
            "skipped_shards": self.skipped, "samples": self.samples or None,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        meta.setdefault("python", sorted(self.pythons)[0] if self.pythons else "")
        target = data_dir / PROFILE_FILE
        with replacing(target) as tmp:
            con = sqlite3.connect(tmp)
            with con:
                con.executescript(_SCHEMA)
                con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v, default=repr)) for k, v in meta.items()])
                for fn in self._rows():
                    cur = con.execute(
                        "INSERT INTO functions (function, file, line, end_line, calls, eager_calls, graph_calls, total_s,"
                        " hybrid, tf_traces, signatures_overflow, signatures_sampled, lines_total, covered, instances,"
                        " instances_capped) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (fn.function, fn.file, fn.line, fn.end_line, fn.calls, fn.eager_calls, fn.graph_calls, fn.total_s,
                         int(fn.hybrid), fn.tf_traces, fn.overflow, int(fn.sampled), fn.lines_total(),
                         json.dumps(sorted(fn.covered)) if self.coverage else None, fn.instances,
                         int(fn.instances_capped)))
                    fid = cur.lastrowid
                    con.executemany("INSERT INTO signatures VALUES (?, ?, ?)",
                                    [(fid, json.dumps(a, default=repr), c) for a, c in fn.sigs.values()])
                    con.executemany("INSERT INTO function_tests VALUES (?, ?)", [(fid, t) for t in sorted(fn.tests)])
                con.executemany("INSERT INTO tests VALUES (?, ?)", sorted(self.tests.items()))
            con.close()
        return target


def merge_shards(shard_dir: Path, data_dir: Path, root: Path, meta: dict[str, Any],
                 coverage: Any = None) -> tuple[Path, Aggregate]:
    """Merge every shard in ``shard_dir`` into ``data_dir/profile.db``; ``coverage``: a ``CoverageRead``
    (tracer/coverage_data.py) when the command measured coverage itself."""
    agg = Aggregate(root)
    for path in sorted(shard_dir.glob("shard-*.json")):
        agg.add_shard_file(path)
    if coverage is not None:
        agg.add_coverage(coverage.lines, coverage.tests)
    return agg.write(data_dir, meta), agg


def profile_path(data_dir: Path) -> Path:
    return data_dir / PROFILE_FILE


def load_profile(data_dir: Path) -> Profile:
    """The stored profile; HybridizeError when it is missing, unreadable or from another schema version."""
    path = data_dir if data_dir.suffix == ".db" else data_dir / PROFILE_FILE
    if not path.is_file():
        raise HybridizeError(f"no profile at {path}: run `hybridize profile --no-measure -- CMD` first")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                raise HybridizeError(
                    f"profile {path} has schema version {version}, this hybridize reads {SCHEMA_VERSION}: "
                    "run `hybridize profile` again")
            meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
            sigs: dict[int, list[dict[str, Any]]] = {}
            for fid, args, count in con.execute("SELECT function_id, args, count FROM signatures"):
                sigs.setdefault(fid, []).append({"count": count, "args": json.loads(args)})
            tests: dict[int, list[str]] = {}
            for fid, nodeid in con.execute("SELECT function_id, nodeid FROM function_tests ORDER BY nodeid"):
                tests.setdefault(fid, []).append(nodeid)
            coverage = bool(meta.get("coverage"))
            functions: list[FunctionProfile] = []
            covered_by_fn: dict[str, list[int]] = {}
            # a profile written before the instance columns were added reads as "not recorded" (null)
            has_instances = "instances" in {r[1] for r in con.execute("PRAGMA table_info(functions)")}
            extra = "instances, instances_capped" if has_instances else "NULL, 0"
            for row in con.execute(
                    "SELECT id, function, file, line, end_line, calls, eager_calls, graph_calls, total_s, hybrid, tf_traces,"
                    f" signatures_overflow, signatures_sampled, lines_total, covered, {extra} FROM functions"
                    " ORDER BY total_s DESC, calls DESC, function"):
                (fid, function, file, line, end_line, calls, eager, graph, total_s, hybrid, tf_traces, overflow, sampled,
                 lines_total, covered, instances, instances_capped) = row
                covered_lines = json.loads(covered) if covered else []
                functions.append(FunctionProfile(
                    function=function, file=file, line=line, end_line=end_line, calls=calls, eager_calls=eager,
                    graph_calls=graph, traces=max(graph, tf_traces) if hybrid else graph, total_s=round(total_s, 6),
                    hybrid=bool(hybrid), tf_traces_reported=tf_traces,
                    signatures=sorted(sigs.get(fid, []), key=lambda s: -s["count"]), signatures_overflow=overflow,
                    signatures_sampled=bool(sampled), tests=tests.get(fid, []),
                    lines_covered=len(covered_lines) if coverage and lines_total is not None else None,
                    lines_total=lines_total, instances=instances, instances_capped=bool(instances_capped)))
                covered_by_fn[function] = covered_lines
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise HybridizeError(f"profile {path} is unreadable ({exc}): run `hybridize profile` again") from None
    return Profile(functions=functions, meta=meta, covered=covered_by_fn)
