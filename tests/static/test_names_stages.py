"""The tracer, static analysis and the rewriter name every function of ``test_names``' fixture alike.

Why: the planner joins the profile with the static findings on ``FunctionId.name``, and the rewriter finds the
function the plan names in the source; a name one stage spells differently is a function silently dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys

import libcst as cst
import pytest

from hybridize.identity import FunctionId
from hybridize.rewriter import edits

from .conftest import write_project
from .test_names import EXPECTED, FILES

# Calls every function of the fixture once (the lambda, the nested functions, both definitions of each redefinition).
DRIVER = '''\
import asyncio
import sys

sys.path.insert(0, "src")
import tensorflow as tf  # noqa: E402

import shop  # noqa: E402
from shop import models  # noqa: E402

shop.helper(1)
cart = models.Cart(1)
cart.n = cart.n + 1
cart.total(1)
models.Cart.Line().price(tf.constant([1.0]))
models.make_step(lambda t: t)(1)
models.pick(1)
asyncio.run(models.fetch(1))
'''

# Where the tracer's names still differ (Python's own ``__qualname__``; the tracer does not parse the source for
# them): a redefinition that runs is named like the first definition; a named lambda is ``<lambda>`` (3.12+) or
# not recorded at all (3.11's import hook instruments ``def``s only).
TRACER_DIFFERS = {
    "shop.models:Cart.n@13": "shop.models:Cart.n",
    "shop.models:Cart.total.<locals>.inner": None,
    "shop.models:pick@42": None,  # its branch does not run
}


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, str, int]]:
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("stages")
    write_project(root, {**FILES, "run.py": DRIVER})
    run = subprocess.run([sys.executable, "-m", "hybridize", "profile", "--no-measure", "--", sys.executable, "run.py"],
                         cwd=root, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    listed = subprocess.run([sys.executable, "-m", "hybridize", "functions", "--json"], cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    return {(f["function"], f["file"], f["line"]) for f in json.loads(listed.stdout) if f["file"].startswith("src/")}


def test_the_tracer_names_each_function_as_static_analysis_does(profiled: set[tuple[str, str, int]]) -> None:
    expected = set()
    for name, (file, line) in EXPECTED.items():
        traced = TRACER_DIFFERS.get(name, name)
        if traced is not None:
            expected.add((traced, file, line))
    assert {f for f in profiled if not f[0].endswith(".<lambda>")} == expected


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_rewriter_finds_each_function_by_its_name(name: str) -> None:
    _, qualname = FunctionId.parse_name(name)
    file, line = EXPECTED[name]
    source = cst.parse_module(FILES[file])
    if name == "shop.models:Cart.total.<locals>.inner":
        with pytest.raises(edits.EditError):
            edits.locate(source, qualname, line)
        return
    lines = {id(site.node): site.line for site in edits.find_functions(source)}
    assert lines[id(edits.locate(source, qualname, line).node)] == line
    if not any(other.startswith(f"{name}@") for other in EXPECTED):  # a plain name with redefinitions needs the line
        assert lines[id(edits.locate(source, qualname, None).node)] == line
