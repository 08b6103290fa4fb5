"""``hybridize functions --json`` is a public contract: the typed records print exactly what the dict rows printed.

``data/functions_json.golden`` was written by the dict-based store before ``FunctionProfile`` existed; any change
to a key, its order or a value's form fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from hybridize.cli import cli
from hybridize.profile_types import FunctionProfile
from hybridize.tracer.store import load_profile, merge_shards

GOLDEN = Path(__file__).parent / "data" / "functions_json.golden"

SOURCE = '''import tensorflow as tf


@tf.function
def step(x):
    y = x * 2
    return y


class Model:
    def call(self, x):
        return x


def helper(n):
    return n + 1
'''


def _fn(name: str, first_line: int, **kw: Any) -> dict[str, Any]:
    base = {"function": name, "file": "pkg/mod.py", "first_line": first_line, "calls": 1, "eager_calls": 1,
            "graph_calls": 0, "total_s": 0.001, "hybrid": False, "signatures_overflow": 0, "tests": [],
            "signatures": []}
    return {**base, **kw}


def _shard(pid: int) -> dict[str, Any]:
    tensor = {"kind": "tensor", "dtype": "float32", "shape": [2, pid]}
    return {
        "format": 1, "pid": pid, "python": "3.12.1", "errors": 0, "coverage_enabled": True,
        "tests": {"tests/t.py::a": "passed", "tests/t.py::b": "failed"}, "coverage": {"pkg/mod.py": [6, 7, 12]},
        "functions": [
            _fn("pkg.mod:step", 4, calls=3, eager_calls=0, graph_calls=3, total_s=0.25 * pid, hybrid=True,
                traces_reported=2, tests=["tests/t.py::a"], signatures=[{"count": 3, "args": {"x": tensor}}]),
            _fn("pkg.mod:Model.call", 11, calls=4, eager_calls=4, total_s=0.125, instances=pid + 1,
                instances_capped=pid == 2, signatures_overflow=pid, signatures_sampled=True,
                signatures=[{"count": 4, "args": {"self": {"kind": "object", "type": "pkg.mod.Model"},
                                                  "x": {"kind": "python", "type": "int", "value": pid}}}]),
            _fn("pkg.mod:helper", 15, calls=2, tests=["tests/t.py::b", "tests/t.py::a"]),
        ],
    }


def _profile(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(SOURCE)
    shards, data = tmp_path / "shards", tmp_path / ".hybridize"
    shards.mkdir()
    data.mkdir()
    for pid in (1, 2):
        (shards / f"shard-{pid}.json").write_text(json.dumps(_shard(pid)))
    merge_shards(shards, data, tmp_path, {"command": ["python", "x.py"], "exit_code": 0, "root": str(tmp_path)})
    return data


def test_functions_json_is_byte_identical_to_the_dict_rows(tmp_path: Path) -> None:
    data = _profile(tmp_path)
    out = CliRunner().invoke(cli, ["functions", "--json", "--data-dir", str(data)])
    assert out.exit_code == 0, out.output
    assert out.output == GOLDEN.read_text(encoding="utf-8")


def test_records_round_trip_through_their_json(tmp_path: Path) -> None:
    for f in load_profile(_profile(tmp_path)).functions:
        assert isinstance(f, FunctionProfile)
        again = FunctionProfile.from_json(json.loads(json.dumps(f.to_json())))
        assert again == f
