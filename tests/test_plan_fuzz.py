"""Fuzzing ``hybridize apply`` with hostile plan.json files: never a traceback, never an edit beyond a decorator.

Each example mutates a valid plan (fields replaced by arbitrary JSON, removed, or set to code-like strings) and
runs the real CLI on a fresh copy of a small project. Whatever the plan says, the outcome is an exit status
of 0, 1 or 2 with one-line messages, no file outside the project changes, no file appears, and a changed
source differs from its original only by tf.function decorators (built from literals) and one import.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hybridize.cli import main

SOURCES = {
    "pkg/mod.py": "import tensorflow as tf\n\n\ndef f(x):\n    return x * 2\n\n\n@tf.function\ndef g(x):\n    return x\n",
    "pkg/other.py": "def h(x):\n    return x + 1\n",
}
OUTSIDE = "def evil(x):\n    return x\n"
CODE = ['__import__("os").system("touch /tmp/hybridize-fuzz")', "True)\nimport os\n#", "float32), evil(", "]", "0x1",
        "tf.float32", "True", "None", "[/x]", "[red]x", "<script>", "`|",
        "../outside.py", "/etc/passwd", "pkg/mod.py", "./pkg/mod.py", "m:f\n"]

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                      st.floats(allow_nan=True), st.text(max_size=12), st.sampled_from(CODE))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                              st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def base_plan() -> dict[str, Any]:
    def rec(i: int, function: str, file: str, line: int, action: str, settings: dict[str, Any]) -> dict[str, Any]:
        return {"rank": i, "id": i, "function": function, "file": file, "line": line, "action": action,
                "decorator": "@tf.function", "settings": settings, "speedup": 2.0, "saved_s": 0.5, "calls": 3,
                "traces_before": None, "traces_after": 1, "confidence": "high", "evidence": {
                    "tests": ["t::a"], "tests_count": 1, "shapes": {"x": ["(3,)"]}, "eager_s": 1.0, "graph_s": 0.5,
                    "trace_s": 0.1, "eager_per_call_us": 10, "coverage": {"lines_covered": 2, "lines_total": 3},
                    "findings": [{"code": "c", "line": 1, "message": "m"}], "notes": ["n"], "assumptions": ["a"],
                    "backward": {"saved_s": 0.1, "gradient_before_s": 1.0, "gradient_after_s": 0.5, "share": 0.5},
                    "scalene": {"python_share": 0.5}, "nested": {"covers": ["m:g"]}, "inside": {"note": "n"},
                    "confidence_notes": ["c"], "results_check": "same", "static_verdict": "safe"}}

    hashes = {rel: sha(text) for rel, text in SOURCES.items()}
    hashes["../outside.py"] = sha(OUTSIDE)
    return {"schema_version": 1, "project_root": "", "created": "", "perf_command": ["pytest"], "file_hashes": hashes,
            "meta": {"baseline_s": 1.0, "notes": ["n"], "runs": [{"label": "baseline", "duration_s": 1.0}],
                     "planning_s": 2.0, "profile_duration_s": 3.0},
            "rejected": [{"function": "pkg.mod:z", "file": "pkg/mod.py", "line": 1, "reason": "measured-slower",
                          "evidence": {"graph_s": 1.0, "eager_s": 0.5}}],
            "recommendations": [
                rec(1, "pkg.mod:f", "pkg/mod.py", 4, "convert", {"reduce_retracing": True}),
                rec(2, "pkg.mod:g", "pkg/mod.py", 9, "tune",
                    {"input_signature": [{"shape": [None, 3], "dtype": "float32", "name": "x"}]}),
                rec(3, "pkg.other:h", "pkg/other.py", 1, "convert", {"jit_compile": False}),
                rec(4, "outside:evil", "../outside.py", 1, "convert", {}),
            ]}


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def hostile_plans(draw: st.DrawFn) -> dict[str, Any]:
    doc = base_plan()
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(_same_type(parent[path[-1]]) if draw(st.booleans()) else json_value)
    return doc


def _same_type(value: Any) -> st.SearchStrategy[Any]:
    """A value of the field's own JSON type: passes the type checks, so the edits themselves get exercised."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-3, 12)
    if isinstance(value, float):
        return st.floats()
    if isinstance(value, str):
        return st.one_of(st.sampled_from(CODE + list(SOURCES) + ["pkg.mod:f", "pkg.mod:g", "pkg.other:h", "convert",
                                                                 "tune", "dehybridize", "float32", "int64"]),
                         st.text(max_size=12))
    return json_value


ALLOWED_NODES = (ast.Call, ast.Attribute, ast.Name, ast.Load, ast.keyword, ast.Constant, ast.List, ast.Tuple)


def _strip(tree: ast.Module) -> str:
    """The module without tf.function decorators and `import tensorflow` lines (what an edit may change)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            node.decorator_list = []
    tree.body = [s for s in tree.body if not (isinstance(s, ast.Import) and s.names[0].name == "tensorflow")]
    return ast.dump(tree)


def _check_decorator(dec: ast.expr) -> None:
    for node in ast.walk(dec):
        assert isinstance(node, ALLOWED_NODES), ast.dump(dec)
        if isinstance(node, ast.Name):
            assert node.id in ("tf", "tensorflow", "function"), ast.dump(dec)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Attribute) and node.func.attr in ("function", "TensorSpec"), ast.dump(dec)
        if isinstance(node, ast.Constant):
            assert node.value is None or isinstance(node.value, (bool, int, str)), ast.dump(dec)
    for node in ast.walk(dec):
        if isinstance(node, ast.keyword):
            assert node.arg in ("reduce_retracing", "jit_compile", "autograph", "input_signature", "shape", "dtype",
                                "name"), ast.dump(dec)
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                assert node.arg == "name"


def _snapshot(base: Path) -> dict[str, bytes]:
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in base.rglob("*")
            if p.is_file() and ".hybridize" not in p.parts}


def _project(outer: Path, plan: Any) -> Path:
    """The small project every example starts from, with ``plan`` as its plan.json and a file beside the root."""
    root = outer / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    for rel, text in SOURCES.items():
        (root / rel).write_text(text)
    (outer / "outside.py").write_text(OUTSIDE)
    (root / ".hybridize").mkdir()
    (root / ".hybridize" / "plan.json").write_text(json.dumps(plan))
    return root


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=hostile_plans(), strict=st.booleans(), fmt=st.sampled_from(["table", "json", "markdown", "html"]))
def test_hostile_plans_never_crash_nor_write_code(doc: dict[str, Any], strict: bool, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        outer = Path(tmp)
        root = _project(outer, doc)
        before = _snapshot(outer)
        err = io.StringIO()
        out = io.StringIO()
        code: Any = None
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                main(["apply", "--root", str(root), *(["--strict"] if strict else [])])
            except SystemExit as exc:
                code = exc.code
        event(f"exit {code}")
        assert code in (0, 1, 2), (code, err.getvalue())
        assert "Traceback" not in err.getvalue()
        if code == 2:
            assert len(err.getvalue().strip().splitlines()) == 1 and err.getvalue().startswith("hybridize: error: ")
        after = _snapshot(outer)
        assert set(after) == set(before)
        changed = [rel for rel in after if after[rel] != before[rel]]
        event(f"{len(changed)} file(s) changed")
        assert all(rel.startswith("proj/pkg/") for rel in changed), changed
        for rel in changed:
            old, new = ast.parse(before[rel]), ast.parse(after[rel])
            old_decs = {ast.dump(d) for n in ast.walk(old) if isinstance(n, ast.FunctionDef) for d in n.decorator_list}
            for node in ast.walk(new):
                if isinstance(node, ast.FunctionDef):
                    for dec in node.decorator_list:
                        if ast.dump(dec) not in old_decs:
                            _check_decorator(dec)
            assert _strip(ast.parse(before[rel])) == _strip(ast.parse(after[rel]))
        # The same plan through every renderer: a report or a one-line error, never a traceback.
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                main(["report", "--root", str(root), "--format", fmt])
            except SystemExit as exc:
                code = exc.code
        assert code in (0, 2) and "Traceback" not in err.getvalue(), err.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_undo_manifests_never_crash_nor_write_outside(data: st.DataObject) -> None:
    """A tampered backup manifest: `apply --undo` restores the recorded files or refuses with one line."""
    with tempfile.TemporaryDirectory() as tmp:
        outer = Path(tmp)
        root = _project(outer, base_plan())
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["apply", "--root", str(root)])
            except SystemExit:
                pass
        applied = _snapshot(outer)
        manifest_path = root / ".hybridize" / "backups" / "0001" / "manifest.json"
        doc = json.loads(manifest_path.read_text())
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(_paths(doc)[1:]))
            parent = doc
            for key in path[:-1]:
                parent = parent[key]
            if isinstance(parent, dict) and data.draw(st.booleans()):
                value = parent.pop(path[-1])
                if data.draw(st.booleans()):  # the same entry under a hostile file name
                    parent[data.draw(st.sampled_from([*CODE, "../outside.py", "pkg/../../outside.py"]))] = value
            else:
                parent[path[-1]] = data.draw(json_value)
        manifest_path.write_text(json.dumps(doc))
        err = io.StringIO()
        code: Any = None
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                main(["apply", "--undo", "--root", str(root)])
            except SystemExit as exc:
                code = exc.code
        assert code in (0, 2) and "Traceback" not in err.getvalue(), err.getvalue()
        after = _snapshot(outer)
        assert set(after) == set(applied) and after["outside.py"] == applied["outside.py"]
        for rel in SOURCES:  # each file is as applied or back to its original, nothing else
            assert after[f"proj/{rel}"] in (applied[f"proj/{rel}"], SOURCES[rel].encode())
