"""Property: over generated modules, apply is minimal and idempotent, and undo is byte-exact."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridize.plan import Plan, Recommendation, Settings, TensorSpecModel, file_sha256
from hybridize.rewriter import apply as rw

HEADERS = [
    "",
    "import tensorflow as tf\n",
    "import tensorflow\n",
    "from tensorflow import function\n",
    '"""Doc \u00e9."""\nfrom __future__ import annotations\n\nimport os  # c\n',
    "#!/usr/bin/env python\n# -*- coding: utf-8 -*-\nimport numpy as np\n",
]
PLAIN_DECORATORS = ["@staticmethod", "@deco", "@deco(1,\n    2)", "@a.b  # note"]
HYBRID_DECORATORS = ["@tf.function", "@tf.function(jit_compile=True)", "@tf.function(\n    experimental_relax_shapes=True,\n)"]
SETTINGS = [
    Settings(),
    Settings(reduce_retracing=True),
    Settings(jit_compile=True, reduce_retracing=True),
    Settings(input_signature=[TensorSpecModel([None, 3], "float32"), TensorSpecModel(None, "int64")]),
]


@dataclass
class Func:
    name: str
    in_class: bool
    decorators: list[str]
    hybrid: bool
    comment_between: bool


@st.composite
def modules(draw: st.DrawFn) -> tuple[bytes, list[Func], bool]:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    indent = draw(st.sampled_from(["    ", "\t", "  "]))
    header = draw(st.sampled_from(HEADERS))
    funcs: list[Func] = []
    lines: list[str] = header.splitlines()
    for i in range(draw(st.integers(1, 5))):
        name = f"f{i}" + draw(st.sampled_from(["", "_\u00e9t\u00e9", "x"]))
        in_class = draw(st.booleans())
        decs = draw(st.lists(st.sampled_from(PLAIN_DECORATORS), max_size=2, unique=True))
        hybrid = draw(st.booleans())
        if hybrid:
            decs.append(draw(st.sampled_from(HYBRID_DECORATORS)))
        comment = draw(st.booleans())
        funcs.append(Func(name, in_class, decs, hybrid, comment))
        pad = indent if in_class else ""
        lines += ["", ""]
        if in_class:
            lines.append(f"class C{i}:")
        for j, dec in enumerate(decs):
            if comment and j == len(decs) - 1:
                lines.append(pad + "# between")
            lines += [pad + part if k == 0 else part for k, part in enumerate(dec.split("\n"))]
        args = "self, x" if in_class else "x"
        lines.append(f"{pad}def {name}({args}):  # {draw(st.sampled_from(['', 'é', '日本']))}")
        lines.append(f"{pad}{indent}return x + {draw(st.sampled_from(['1', repr('ü'), '(1 +' + newline + pad + indent + '2)']))}")
    text = newline.join(lines)
    if draw(st.booleans()):
        text += newline
    return text.encode("utf-8"), funcs, newline == "\r\n"


def qual(f: Func, i: int) -> str:
    return f"C{i}.{f.name}" if f.in_class else f.name


def make_plan(path: Path, funcs: list[Func], choose: list[bool], setting: Settings) -> Plan:
    recs = []
    for i, (f, chosen) in enumerate(zip(funcs, choose, strict=False)):
        if not chosen:
            continue
        action = "dehybridize" if f.hybrid and i % 2 else ("tune" if f.hybrid else "convert")
        recs.append(Recommendation(rank=i + 1, id=i + 1, function=f"m:{qual(f, i)}", file="m.py", line=0,
                                   action=action, decorator="", settings=setting))  # type: ignore[arg-type]
    return Plan(recommendations=recs, file_hashes={"m.py": file_sha256(path)})


@settings(max_examples=40, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules(), st.lists(st.booleans(), min_size=5, max_size=5), st.sampled_from(SETTINGS))
def test_apply_is_minimal_idempotent_and_undo_is_exact(module: tuple[bytes, list[Func], bool], choose: list[bool],
                                                       setting: Settings) -> None:
    original, funcs, crlf = module
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "m.py"
        path.write_bytes(original)
        plan = make_plan(path, funcs, choose, setting)
        data = root / ".hybridize"
        result = rw.apply_plan(root, data, plan)
        assert not result.refused, [o.message for o in result.refused]
        new = path.read_bytes()
        cst.parse_module(new)
        compile(new, "m.py", "exec")
        if crlf:
            assert b"\n" not in new.replace(b"\r\n", b"")  # still purely CRLF
        # Minimal: conversions only add lines; every removed line is a tf.function decorator line or an argument of one.
        old_lines = original.decode().splitlines()
        new_lines = new.decode().splitlines()
        removed = [ln for ln in old_lines if ln not in new_lines]
        assert all("function" in ln or "relax_shapes" in ln or ln.strip() in (")", "") for ln in removed), removed
        if all(r.action == "convert" for r in plan.recommendations):
            assert not removed
            added = len(new_lines) - len(old_lines)
            assert added - sum(1 for o in result.applied) in (0, 1)  # one decorator each, at most one import
        # Idempotent: the same plan again changes nothing.
        again = rw.apply_plan(root, data, plan)
        assert not again.written and not again.refused
        assert path.read_bytes() == new
        if result.written:
            rw.undo_last(root, data)
        assert path.read_bytes() == original


@settings(max_examples=30, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules(), st.sampled_from(SETTINGS))
def test_dehybridize_inverts_convert(module: tuple[bytes, list[Func], bool], setting: Settings) -> None:
    original, funcs, _ = module
    plain = [(i, f) for i, f in enumerate(funcs) if not f.hybrid]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "m.py"
        path.write_bytes(original)

        def plan_for(action: str) -> Plan:
            recs = [Recommendation(rank=i + 1, id=i + 1, function=f"m:{qual(f, i)}", file="m.py", line=0,
                                   action=action, decorator="", settings=setting)  # type: ignore[arg-type]
                    for i, f in plain]
            return Plan(recommendations=recs, file_hashes={"m.py": file_sha256(path)})

        rw.apply_plan(root, root / ".hybridize", plan_for("convert"))
        converted = path.read_bytes()
        assert converted.count(b"function") >= original.count(b"function") + len(plain)
        back = rw.apply_plan(root, root / ".hybridize", plan_for("dehybridize"))
        assert not back.refused
        restored = path.read_bytes()
        extra = [ln for ln in restored.splitlines(keepends=True) if ln not in original.splitlines(keepends=True)]
        assert extra in ([], [b"import tensorflow as tf" + (b"\r\n" if b"\r\n" in original else b"\n")],
                         [b"import tensorflow" + (b"\r\n" if b"\r\n" in original else b"\n")])
        if not extra:
            assert restored == original
