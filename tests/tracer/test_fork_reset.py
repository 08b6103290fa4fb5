"""A forked child's shard holds only the child's calls: the recorder starts over through one reset.

Why: the parent writes its own shard, and the store adds shards up, so anything the child keeps from before the fork
is counted twice (the distinct objects of a method included).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridize.tracer import bootstrap
from hybridize.tracer.state import Record, Recorder, param_names


class Model:
    def step(self, x: int) -> int:
        return x


def _method() -> Record:
    return Record("m", "Model.step", "m.py", 1, param_names(Model.step.__code__), None)


def test_after_fork_the_child_records_look_like_new_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = Recorder(tmp_path, None)
    used = rec.records[Model.step.__code__] = _method()
    rec.current_test = "test_a"
    for _ in range(3):
        rec.add_call(used, {"self": Model(), "x": 1}, False)
    rec.add_call(used, {"self": Model(), "x": 1}, True)
    used.total_s = 1.5
    rec.errors, rec.unmapped_autograph, rec.error_samples[:] = 2, 1, ["ValueError: x"]
    rec.test_outcomes["test_a"] = "passed"
    monkeypatch.setattr(bootstrap, "RECORDER", rec)
    monkeypatch.setattr(bootstrap, "BACKEND", None)

    bootstrap._after_fork()

    assert used.to_json() == _method().to_json()
    assert (rec.errors, rec.unmapped_autograph, rec.error_samples, rec.test_outcomes) == (0, 0, [], {})
    rec.current_test = None
    rec.add_call(used, {"self": Model(), "x": 1}, False)
    assert (used.to_json()["calls"], used.to_json()["instances"]) == (1, 1)
