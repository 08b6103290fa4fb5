"""Shards -> SQLite profile: merging, caps, corrupt shards, schema versions, combine."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hybridize.errors import HybridizeError
from hybridize.tracer.state import MAX_SIGNATURES
from hybridize.tracer.store import Aggregate, load_profile, merge_shards

SOURCE = '''import functools


@functools.lru_cache
def f(x):
    """doc"""
    y = x
    return y


class K:
    def m(self):
        return 1
'''


def shard(calls: int = 3, sigs: int = 1, tests: dict[str, str] | None = None,
          coverage: list[int] | None = None) -> dict[str, Any]:
    return {
        "format": 1, "pid": 1, "python": "3.12.1", "errors": 0, "tests": tests or {}, "coverage_enabled": True,
        "coverage": {"pkg/mod.py": coverage or []},
        "functions": [{
            "function": "pkg.mod:f", "file": "pkg/mod.py", "first_line": 4, "calls": calls, "eager_calls": calls,
            "graph_calls": 0, "total_s": 0.5, "hybrid": False, "signatures_overflow": 0, "tests": ["t.py::a"],
            "signatures": [{"count": 1, "args": {"x": {"kind": "python", "type": "int", "value": i}}} for i in range(sigs)],
        }, {
            "function": "pkg.mod:K.m", "file": "pkg/mod.py", "first_line": 12, "calls": 1, "eager_calls": 1,
            "graph_calls": 0, "total_s": 0.0, "hybrid": False, "signatures_overflow": 0, "tests": [], "signatures": [],
        }],
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(SOURCE)
    (tmp_path / "data").mkdir()
    (tmp_path / "shards").mkdir()
    return tmp_path


def write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_shards_merge_into_one_row_per_function(project: Path) -> None:
    write(project / "shards" / "shard-a.json", shard(calls=3, tests={"t.py::a": "passed"}, coverage=[7]))
    write(project / "shards" / "shard-b.json", shard(calls=4, sigs=2, tests={"t.py::a": "failed", "t.py::b": "skipped"},
                                                     coverage=[8]))
    merge_shards(project / "shards", project / "data", project, {"command": ["x"], "exit_code": 0})
    prof = load_profile(project / "data")
    f = prof.by_name()["pkg.mod:f"]
    # the def line, not the decorator's; the docstring is not a statement
    assert (f.line, f.end_line, f.lines_total, f.lines_covered) == (5, 8, 2, 2)
    assert f.calls == 7 and f.total_s == 1.0
    assert sorted(s["count"] for s in f.signatures) == [1, 2]
    assert prof.meta["tests"] == {"t.py::a": "failed", "t.py::b": "skipped"}
    assert prof.meta["processes"] == 2 and prof.meta["schema_version"] == 1 and prof.meta["command"] == ["x"]
    assert prof.by_name()["pkg.mod:K.m"].line == 12
    assert set(f.to_json()) >= {"function", "file", "line", "calls", "eager_calls", "graph_calls", "total_s", "hybrid",
                                "signatures", "signatures_overflow", "tests", "lines_covered", "lines_total"}


def test_signatures_are_capped_and_size_does_not_grow_with_calls(project: Path) -> None:
    agg = Aggregate(project)
    agg.add_shard(shard(calls=10, sigs=MAX_SIGNATURES + 5))
    assert len(agg.fns[("pkg.mod:f", "pkg/mod.py", 5)].sigs) == MAX_SIGNATURES
    assert agg.fns[("pkg.mod:f", "pkg/mod.py", 5)].overflow == 5
    sizes = []
    for calls in (10, 10_000_000):
        data = project / f"d{calls}"
        data.mkdir()
        agg = Aggregate(project)
        agg.add_shard(shard(calls=calls, sigs=3))
        sizes.append(agg.write(data, {}).stat().st_size)
    assert sizes[0] == sizes[1]


def test_corrupt_and_truncated_shards_are_skipped_and_reported(project: Path) -> None:
    good = json.dumps(shard())
    write(project / "shards" / "shard-good.json", good)
    write(project / "shards" / "shard-trunc.json", good[: len(good) // 2])
    write(project / "shards" / "shard-other.json", {"format": 99, "functions": []})
    bad = shard()
    bad["functions"][1]["calls"] = "many"
    write(project / "shards" / "shard-bad.json", bad)
    _, agg = merge_shards(project / "shards", project / "data", project, {})
    assert len(agg.skipped) == 3 and agg.processes == 1
    assert load_profile(project / "data").by_name()["pkg.mod:f"].calls == 3


def test_missing_old_and_corrupt_profiles_are_one_line_errors(project: Path) -> None:
    with pytest.raises(HybridizeError, match="no profile"):
        load_profile(project / "data")
    con = sqlite3.connect(project / "data" / "profile.db")
    con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    con.commit()
    con.close()
    with pytest.raises(HybridizeError, match="schema version 0"):
        load_profile(project / "data")
    (project / "data" / "profile.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(HybridizeError, match="unreadable"):
        load_profile(project / "data")


def test_combine_adds_profiles_like_coverage_combine(project: Path) -> None:
    for name, calls, outcome in (("m1", 3, "passed"), ("m2", 5, "failed")):
        (project / name).mkdir()
        agg = Aggregate(project)
        agg.add_shard(shard(calls=calls, tests={"t.py::a": outcome}, coverage=[7] if name == "m1" else [8]))
        agg.write(project / name, {"command": ["pytest"], "exit_code": 0, "duration_s": 1.0})
    out = Aggregate(project)
    for name in ("m1", "m2"):
        out.add_profile(load_profile(project / name))
    out.write(project / "data", {})
    f = load_profile(project / "data").by_name()["pkg.mod:f"]
    assert f.calls == 8 and f.lines_covered == 2 and f.lines_total == 2
    assert load_profile(project / "data").meta["tests"] == {"t.py::a": "failed"}


def test_def_lines_read_a_latin1_file_by_its_coding_cookie(tmp_path: Path) -> None:
    """A latin-1 source file got null coverage silently: its def lines were read as UTF-8 and failed."""
    from hybridize.tracer.state import def_lines

    src = tmp_path / "old.py"
    src.write_bytes("# -*- coding: latin-1 -*-\ndef f(x):\n    s = 'café'\n    return x\n".encode("latin-1"))
    assert def_lines(src) == {("f", 2): (2, 4, [3, 4])}
