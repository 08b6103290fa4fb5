"""The names static analysis gives functions: methods, nested functions and classes, named lambdas,
redefinitions, a ``src/`` layout and a package ``__init__``. Every name is a ``FunctionId`` (module:qualname, file,
line of the ``def``), the same key the profile, the plan and the rewriter use.

The fixture is meant to be shared: the same project can be profiled, planned and rewritten and the names compared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridize.identity import FunctionId
from hybridize.static import Analysis, analyze

from .conftest import write_project

MODELS = '''\
import tensorflow as tf


class Cart:
    def __init__(self, n):
        self._n = n

    @property
    def n(self):
        return self._n

    @n.setter
    def n(self, value):
        self._n = value

    def total(self, x):
        def scale(y):
            return y * 2

        inner = lambda z: z + 1
        return inner(scale(x))

    class Line:
        def price(self, x):
            return tf.reduce_sum(x)


def make_step(model):
    def step(x):
        def body(t):
            return model(t)

        return body(x)

    return step


if tf.__version__ >= "2":
    def pick(x):
        return x
else:
    def pick(x):
        return -x


async def fetch(x):
    return x
'''

PACKAGE = '''\
from shop.models import Cart


def helper(x):
    return x
'''

FILES = {"src/shop/__init__.py": PACKAGE, "src/shop/models.py": MODELS}

# name -> (file, line of the `def`); a redefinition is `qualname@line`, the first definition keeps the plain name.
EXPECTED = {
    "shop:helper": ("src/shop/__init__.py", 4),
    "shop.models:Cart.__init__": ("src/shop/models.py", 5),
    "shop.models:Cart.n": ("src/shop/models.py", 9),
    "shop.models:Cart.n@13": ("src/shop/models.py", 13),
    "shop.models:Cart.total": ("src/shop/models.py", 16),
    "shop.models:Cart.total.<locals>.scale": ("src/shop/models.py", 17),
    # A named lambda is indexed by its variable (Python's own __qualname__ says `<lambda>`).
    "shop.models:Cart.total.<locals>.inner": ("src/shop/models.py", 20),
    "shop.models:Cart.Line.price": ("src/shop/models.py", 24),
    "shop.models:make_step": ("src/shop/models.py", 28),
    "shop.models:make_step.<locals>.step": ("src/shop/models.py", 29),
    "shop.models:make_step.<locals>.step.<locals>.body": ("src/shop/models.py", 30),
    "shop.models:pick": ("src/shop/models.py", 39),
    "shop.models:pick@42": ("src/shop/models.py", 42),
    "shop.models:fetch": ("src/shop/models.py", 46),
}


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    root: Path = tmp_path_factory.mktemp("names")
    write_project(root, FILES)
    return analyze(root)


def test_every_function_gets_the_expected_name_file_and_line(analysis: Analysis) -> None:
    got = {r.function: (r.file, r.line) for r in analysis.functions}
    assert got == EXPECTED


def test_names_are_function_ids(analysis: Analysis) -> None:
    for r in analysis.functions:
        module, qualname = FunctionId.parse_name(r.function)
        assert (r.module, r.qualname) == (module, qualname)
        fid = FunctionId(module, qualname, r.file, r.line)
        assert fid.name == r.function
        if fid.is_redefinition:
            assert FunctionId.redefinition(module, fid.base_qualname, r.file, r.line) == fid
            assert f"{module}:{fid.base_qualname}" in EXPECTED  # the first definition keeps the plain name


def test_call_edges_use_the_same_names(analysis: Analysis) -> None:
    calls = {r.function: r.calls for r in analysis.functions}
    assert calls["shop.models:Cart.total"] == ["shop.models:Cart.total.<locals>.scale",
                                               "shop.models:Cart.total.<locals>.inner"]
    assert calls["shop.models:make_step.<locals>.step"] == ["shop.models:make_step.<locals>.step.<locals>.body"]


def test_function_id_redefinition_and_split() -> None:
    fid = FunctionId.redefinition("pkg.mod", "A.f", "pkg/mod.py", 12)
    assert fid.name == "pkg.mod:A.f@12" and fid.is_redefinition and fid.base_qualname == "A.f"
    assert not FunctionId("pkg.mod", "A.f", "pkg/mod.py", 3).is_redefinition
    assert FunctionId.format_name("pkg.mod", "A.f") == "pkg.mod:A.f"
    assert FunctionId.split_name("pkg.mod:A.f.<locals>.g") == ("pkg.mod", "A.f.<locals>.g")
    assert FunctionId.split_name(":f") == ("", "f")  # a project-root __init__.py
