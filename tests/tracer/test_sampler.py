"""The stack sampler (tracer/sampler.py): what a sample charges, how shards merge, and
that it never breaks the program (end to end: tests/planner/test_outside.py)."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from hybridize.tracer.sampler import MODULE_SCOPE, Sampler, merge_samples
from hybridize.tracer.state import Recorder

from .conftest import PY, make_project

SCRIPT = '''def sample():
    SAMPLER.sample()


def step():
    SAMPLER.sample()


sample()
step()
'''


def _run_in_project(tmp_path: Path) -> Sampler:
    """Run SCRIPT as a project file, each call taking one sample of this very thread (no timing involved)."""
    (tmp_path / "train.py").write_text(SCRIPT)
    sampler = Sampler(Recorder(tmp_path, None), thread_id=threading.get_ident())
    code = compile(SCRIPT, str(tmp_path / "train.py"), "exec")
    exec(code, {"__name__": "__main__", "SAMPLER": sampler})
    sampler.sample()  # no project frame on the stack: counted in the total only
    return sampler


def test_a_sample_is_charged_to_the_innermost_project_frame(tmp_path: Path) -> None:
    sampler = _run_in_project(tmp_path)
    assert sampler.total == 3 and sampler.errors == 0
    # called from module-level lines 9-10, but the innermost project frames are the functions: their own lines
    assert sampler.counts == {("train.py", "sample@1"): {2: 1}, ("train.py", "step@5"): {6: 1}}
    data = sampler.to_json()
    assert data["total"] == 3 and data["files"]["train.py"]["step@5"] == {"6": 1}


def test_module_level_code_is_its_own_scope(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("for i in range(2):\n    SAMPLER.sample()\n")
    sampler = Sampler(Recorder(tmp_path, None), thread_id=threading.get_ident())
    exec(compile((tmp_path / "train.py").read_text(), str(tmp_path / "train.py"), "exec"),
         {"__name__": "__main__", "SAMPLER": sampler})
    assert sampler.counts == {("train.py", MODULE_SCOPE): {2: 2}}


class _Broken:
    """A recorder whose project filter raises (a bug in the tracer): the sampler must swallow and count it."""

    cells: Any = None

    def project_relpath(self, filename: str) -> str | None:
        raise RuntimeError("boom")


def test_an_exception_in_the_sampler_is_swallowed_and_counted() -> None:
    sampler = Sampler(_Broken(), interval_s=0.001)
    assert sampler.start()
    assert sampler._thread is not None
    sampler._thread.join(timeout=60)  # it gives up after MAX_ERRORS failures, without raising anywhere
    assert not sampler._thread.is_alive()
    assert sampler.errors == 50 and sampler.error_samples[0] == "RuntimeError: boom"
    assert sampler.to_json()["errors"] == 50


def test_merge_adds_processes_and_ignores_malformed_entries() -> None:
    into: dict[str, Any] = {}
    merge_samples(into, {"total": 10, "errors": 0, "interval_s": 0.01, "files": {"a.py": {"<module>": {"3": 4}}}})
    merge_samples(into, {"total": 5, "files": {"a.py": {"<module>": {"3": 1, "4": 2}}}})
    merge_samples(into, {"total": "x", "files": {"a.py": {"<module>": {"3": "bad"}}}})
    merge_samples(into, None)
    merge_samples(into, {"total": 1, "files": []})
    assert into["total"] == 15 and into["processes"] == 2
    assert into["files"] == {"a.py": {"<module>": {"3": 5, "4": 2}}}


def test_the_thread_is_gone_while_the_program_forks(tmp_path: Path) -> None:
    sampler = Sampler(Recorder(tmp_path, None), interval_s=0.001)
    assert sampler.start() and sampler._thread is not None
    sampler.pause_for_fork()
    assert not sampler._thread.is_alive()
    sampler.resume_after_fork()
    assert sampler._thread.is_alive()
    sampler.stop()
    sampler._thread.join(timeout=60)


FORKS = '''
import os
for _ in range(20):
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
'''


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")
def test_a_forking_program_gets_no_multithreaded_fork_warning(tmp_path: Path) -> None:
    # Python 3.12 warns (DeprecationWarning) when a multi-threaded process forks: the sampler's thread must not add
    # that line to a program's output (3.11 does not warn: there this test cannot fail)
    root = make_project(tmp_path, "proj", {"forks.py": FORKS})
    env = {**os.environ, "HYBRIDIZE_SAMPLE_MS": "1"}
    proc = subprocess.run([PY, "-m", "hybridize", "profile", "--no-measure", "--", PY, "-W", "default::DeprecationWarning",
                           "forks.py"], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "multi-threaded" not in proc.stderr
