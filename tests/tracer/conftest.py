"""Shared fixtures: small projects profiled once per session through the real CLI, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PY = sys.executable

PURE_MODULE = '''
import asyncio
import os
import subprocess
import sys
import threading


def leaf(x, y=1):
    return x + y


def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)


def gen(n):
    for i in range(n):
        yield leaf(i)


async def coro(n):
    await asyncio.sleep(0)
    return leaf(n)


class Box:
    def __init__(self, v):
        self.v = v

    def get(self, scale=2.0, **opts):
        return self.v * scale


def in_threads(k):
    out = []
    ts = [threading.Thread(target=lambda: out.append(sum(leaf(i) for i in range(100)))) for _ in range(k)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def busy(n):
    return sum(leaf(i, 2) for i in range(n))


def make_adder(k):
    def adder(x):
        return x + k
    return adder


def child_work():
    return leaf(100, 5)


def spawn_child():
    code = "import purepkg.mod as m; m.child_work()"
    return subprocess.run([sys.executable, "-c", code], check=True).returncode


def fork_child():
    pid = os.fork()
    if pid == 0:
        leaf(7, 7)
        os._exit(0)
    os.waitpid(pid, 0)
'''

PURE_TESTS = '''
import asyncio
import os
import pytest
import purepkg.mod as m


def test_recursion_and_defaults():
    assert m.fact(5) == 120
    assert m.leaf(1) == 2


def test_generator_and_coroutine():
    assert list(m.gen(3)) == [1, 2, 3]
    assert asyncio.run(m.coro(1)) == 2


def test_methods_and_closures():
    assert m.Box(3).get() == 6.0
    assert m.Box(3).get(scale=1, flag=True) == 3
    assert m.make_adder(1)(2) == 3


def test_threads():
    assert len(m.in_threads(3)) == 3


def test_busy():
    assert m.busy(5000) > 0


def test_subprocesses():
    assert m.spawn_child() == 0
    if hasattr(os, "fork"):
        m.fork_child()


def test_fails():
    assert m.leaf(1) == 3


@pytest.mark.skip(reason="shows up as skipped")
def test_skipped():
    pass


@pytest.fixture
def broken():
    raise RuntimeError("fixture error")


def test_error(broken):
    pass
'''


def make_project(base: Path, name: str, files: dict[str, str]) -> Path:
    root = base / name
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def hybridize(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "hybridize", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def functions_json(root: Path) -> dict[str, dict[str, Any]]:
    proc = hybridize("functions", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return {f["function"]: f for f in json.loads(proc.stdout)}


@pytest.fixture(scope="session")
def pure_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("pure"), "proj", {
        "pyproject.toml": '[project]\nname = "purepkg"\nversion = "0"\n[tool.pytest.ini_options]\npythonpath = ["."]\n',
        "purepkg/__init__.py": "", "purepkg/mod.py": PURE_MODULE, "tests/test_mod.py": PURE_TESTS,
    })
    return root


@pytest.fixture(scope="session")
def pure_profile(pure_project: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, Any]]]:
    proc = hybridize("profile", "--no-measure", "--", PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
                     cwd=pure_project)
    return proc, functions_json(pure_project)
