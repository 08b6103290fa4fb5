"""The kernel cell transform of trial runs (``planner/nbplace.py``), without a kernel: which defs get placed."""

from __future__ import annotations

import ast
import builtins
from types import SimpleNamespace
from typing import Any

import pytest

from hybridize.planner import nbplace, placement


def state() -> Any:
    return SimpleNamespace(targets={"nb.ipynb": [{"function": "nb.ipynb:step"}, {"function": "nb.ipynb:Net.run"}]},
                           placed=set(), hook_errors=[], config={})


def run_cell(transform: Any, ns: dict[str, Any], source: str, notebook: str = "nb.ipynb") -> list[str]:
    """Transform and execute one cell; the names the placement decorator was called for."""
    nodes = transform(ast.parse(source).body, "/tmp/ipykernel_1/1.py", notebook, 0)
    seen: list[str] = []
    if placement.DECORATOR in ns:  # stand-in for the trial wrapper: record, return the function as it was
        ns[placement.DECORATOR] = lambda q, is_method, bound: (lambda f: seen.append(q) or f)
    exec(compile(ast.Module(body=nodes, type_ignores=[]), "/tmp/ipykernel_1/1.py", "exec"), ns)
    return seen


def test_targets_are_placed_as_cells_define_them_and_again_when_redefined(monkeypatch: pytest.MonkeyPatch) -> None:
    ns: dict[str, Any] = {}
    monkeypatch.setattr(builtins, "get_ipython", lambda: SimpleNamespace(user_ns=ns), raising=False)
    st = state()
    transform = nbplace.transform_for(st)
    assert run_cell(transform, ns, "x = 1\ndef other():\n    return 2\n") == []  # no target: the cell as it was
    assert placement.DECORATOR not in ns
    assert run_cell(transform, ns, "def step(x):\n    return x\nclass Net:\n    def run(self):\n        return 1\n") == [
        "step", "Net.run"]
    assert st.placed == {"nb.ipynb:step", "nb.ipynb:Net.run"}
    assert run_cell(transform, ns, "def step(x):\n    return x + 1\n") == ["step"]  # redefined: wrapped again
    assert run_cell(transform, ns, "def step(x):\n    return x\n", notebook="other.ipynb") == []


def test_outside_a_kernel_cells_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtins, "get_ipython", lambda: None, raising=False)
    nodes = ast.parse("def step(x):\n    return x\n").body
    assert nbplace.transform_for(state())(nodes, "c.py", "nb.ipynb", 0) == nodes
