"""Strict checks of the JSON files that steer a rewrite: ``plan.json`` and an apply's undo manifest.

A plan is a file that travels (a CI artifact applied on a laptop), and what the rewriter writes from it runs
on the next import, so nothing in it is trusted: every field is type-checked here before a dataclass is
built, and decorators are generated from the checked settings (``plan.Settings``), never copied as text.
Each failure is one line naming the field, e.g.
``plan.json: recommendations[2].settings.reduce_retracing: expected a boolean, got a string``.
Nothing here imports TensorFlow: the dtype names are a static copy of the ``tf.<dtype>`` attributes.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from hybridize.errors import HybridizeError

# Every dtype TensorFlow exposes as ``tf.<name>`` (tensorflow/python/framework/dtypes.py), the only names a
# generated ``dtype=tf.<name>`` may use.
TF_DTYPES = frozenset({
    "bfloat16", "bool", "complex64", "complex128", "double", "float16", "float32", "float64", "half",
    "int8", "int16", "int32", "int64", "qint8", "qint16", "qint32", "quint8", "quint16", "resource",
    "string", "uint8", "uint16", "uint32", "uint64", "variant",
})
BOOL_SETTINGS = ("reduce_retracing", "jit_compile", "autograph")
SETTING_KEYS = frozenset({*BOOL_SETTINGS, "input_signature"})
ACTIONS = ("convert", "tune", "dehybridize", "extract")
MAX_INT = 2**31 - 1  # lines, ranks, ids, counts, dimensions: anything larger is not from a real run
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


def key_path(path: str, key: str) -> str:
    """``path.key``, or ``path['...']`` (escaped, shortened) for a key that is not a plain name."""
    if _IDENT.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{key[:40]!r}]"


class SchemaError(HybridizeError):
    """A field of a plan or manifest has the wrong type or value; exit 2 (bad input)."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class Checker:
    """Checks one decoded JSON document; ``where`` is the file name used as the head of every message."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, message: str) -> SchemaError:
        head = f"{self.where}: {path}: " if path else f"{self.where}: "
        return SchemaError(head + message)

    def expect(self, path: str, value: Any, what: str) -> SchemaError:
        return self.fail(path, f"expected {what}, got {_kind(value)}")

    def obj(self, path: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.expect(path, value, "an object")
        return value

    def lst(self, path: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.expect(path, value, "a list")
        return value

    def string(self, path: str, value: Any, nonempty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.expect(path, value, "a string")
        if nonempty and not value:
            raise self.fail(path, "expected a non-empty string")
        return value

    def line(self, path: str, value: Any, nonempty: bool = False) -> str:
        """A string printed on one line of a terminal (names, paths): no newlines or escape sequences."""
        text = self.string(path, value, nonempty)
        if _CONTROL.search(text):
            raise self.fail(path, f"expected one line of text, got control characters in {text[:40]!r}")
        return text

    def boolean(self, path: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.expect(path, value, "a boolean")
        return value

    def integer(self, path: str, value: Any, low: int = 0, high: int = MAX_INT) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.expect(path, value, "an integer")
        if not low <= value <= high:
            shown = str(value) if abs(value) <= 10**12 else ("a larger number" if value > 0 else "a smaller number")
            raise self.fail(path, f"expected an integer from {low} to {high}, got {shown}")
        return value

    def number(self, path: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.expect(path, value, "a number")
        return float(value)  # NaN and infinities pass: these numbers are only shown, never written into code

    def optional(self, path: str, value: Any, check: Callable[[str, Any], Any]) -> Any:
        return None if value is None else check(path, value)

    def field(self, path: str, data: Mapping[str, Any], key: str, check: Callable[[str, Any], Any],
              default: Any = ..., ) -> Any:
        sub = key_path(path, key)
        if key not in data:
            if default is ...:
                raise self.fail(sub, "missing")
            return default
        return check(sub, data[key])


# ---------------------------------------------------------------------------------------------
# plan.json


def check_spec(c: Checker, path: str, value: Any) -> dict[str, Any]:
    data = c.obj(path, value)
    unknown = sorted(set(data) - {"shape", "dtype", "name"})
    if unknown:
        raise c.fail(key_path(path, unknown[0]), "unknown TensorSpec field (known: shape, dtype, name)")
    dtype = c.field(path, data, "dtype", lambda p, v: c.string(p, v))
    if dtype not in TF_DTYPES:
        raise c.fail(f"{path}.dtype", f"{dtype[:40]!r} is not a TensorFlow dtype name (e.g. float32, int64)")

    def shape(p: str, v: Any) -> list[int | None]:
        return [c.optional(f"{p}[{i}]", d, c.integer) for i, d in enumerate(c.lst(p, v))]

    dims = c.field(path, data, "shape", lambda p, v: c.optional(p, v, shape), None)
    name = c.field(path, data, "name", lambda p, v: c.optional(p, v, c.line), None)
    return {"shape": dims, "dtype": dtype, "name": name}


def check_settings(c: Checker, path: str, value: Any) -> dict[str, Any]:
    data = c.obj(path, value)
    unknown = sorted(set(data) - SETTING_KEYS)
    if unknown:
        raise c.fail(key_path(path, unknown[0]), f"unknown setting (known: {', '.join(sorted(SETTING_KEYS))})")
    out: dict[str, Any] = {key: c.field(path, data, key, lambda p, v: c.optional(p, v, c.boolean), None)
                           for key in BOOL_SETTINGS}

    def signature(p: str, v: Any) -> list[dict[str, Any]]:
        return [check_spec(c, f"{p}[{i}]", s) for i, s in enumerate(c.lst(p, v))]

    out["input_signature"] = c.field(path, data, "input_signature", lambda p, v: c.optional(p, v, signature), None)
    return out


def check_recommendation(c: Checker, path: str, value: Any) -> dict[str, Any]:
    data = c.obj(path, value)
    out = dict(data)
    for key in ("rank", "id", "line"):
        out[key] = c.field(path, data, key, c.integer)
    out["function"] = c.field(path, data, "function", lambda p, v: c.line(p, v, nonempty=True))
    out["file"] = c.field(path, data, "file", lambda p, v: c.line(p, v, nonempty=True))
    action = c.field(path, data, "action", c.string)
    if action not in ACTIONS:
        raise c.fail(f"{path}.action", f"expected one of {', '.join(ACTIONS)}, got {action[:40]!r}")
    out["action"] = action
    out["decorator"] = c.field(path, data, "decorator", c.line, "")
    out["settings"] = c.field(path, data, "settings", lambda p, v: check_settings(c, p, v), {})
    for key in ("speedup", "saved_s"):
        out[key] = c.field(path, data, key, lambda p, v: c.optional(p, v, c.number), None)
    out["calls"] = c.field(path, data, "calls", c.integer, 0)
    for key in ("traces_before", "traces_after"):
        out[key] = c.field(path, data, key, lambda p, v: c.optional(p, v, c.integer), None)
    out["confidence"] = c.field(path, data, "confidence", c.line, "medium")
    out["evidence"] = c.field(path, data, "evidence", c.obj, {})
    if action == "extract":
        out["extract"] = c.field(path, data, "extract", lambda p, v: check_extract(c, p, v))
    elif data.get("extract") is not None:
        raise c.fail(f"{path}.extract", f"only an extract recommendation has one (action is {action})")
    return out


EXTRACT_KEYS = frozenset({"loop_line", "start", "end", "stmt_lines", "name", "params", "returns"})
_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


def identifier(c: Checker, path: str, value: Any) -> str:
    """A Python identifier, not a keyword: it is written into the user's source as a name."""
    text = c.string(path, value)
    if not _IDENT.fullmatch(text) or text in _KEYWORDS:
        raise c.fail(path, f"expected a Python identifier, got {text[:40]!r}")
    return text


def check_extract(c: Checker, path: str, value: Any) -> dict[str, Any]:
    """The region of an ``extract`` recommendation: every name in it becomes source text, so each must be an
    identifier, and the line range must be ordered (the rewriter re-checks that it matches whole statements)."""
    data = c.obj(path, value)
    unknown = sorted(set(data) - EXTRACT_KEYS)
    if unknown:
        raise c.fail(key_path(path, unknown[0]), f"unknown extract field (known: {', '.join(sorted(EXTRACT_KEYS))})")
    out: dict[str, Any] = {key: c.field(path, data, key, lambda p, v: c.integer(p, v, 1))
                           for key in ("loop_line", "start", "end")}
    if not out["loop_line"] < out["start"] <= out["end"]:
        raise c.fail(path, f"expected loop_line < start <= end, got {out['loop_line']}, {out['start']}, {out['end']}")
    lines = [c.integer(f"{path}.stmt_lines[{i}]", v, 1) for i, v in
             enumerate(c.field(path, data, "stmt_lines", c.lst))]
    if not lines or lines != sorted(set(lines)) or lines[0] != out["start"] or lines[-1] > out["end"]:
        raise c.fail(f"{path}.stmt_lines", "expected increasing statement lines from start to end")
    out["stmt_lines"] = lines
    out["name"] = c.field(path, data, "name", lambda p, v: identifier(c, p, v))
    for key in ("params", "returns"):
        names = [identifier(c, f"{path}.{key}[{i}]", v) for i, v in enumerate(c.field(path, data, key, c.lst))]
        if len(set(names)) != len(names):
            raise c.fail(f"{path}.{key}", "expected distinct names")
        out[key] = names
    return out


def check_rejection(c: Checker, path: str, value: Any) -> dict[str, Any]:
    data = c.obj(path, value)
    out = dict(data)
    out["function"] = c.field(path, data, "function", c.line)
    out["file"] = c.field(path, data, "file", c.line)
    out["line"] = c.field(path, data, "line", c.integer)
    out["reason"] = c.field(path, data, "reason", c.line)
    out["detail"] = c.field(path, data, "detail", c.string, "")
    out["evidence"] = c.field(path, data, "evidence", c.obj, {})
    return out


def check_plan(data: Any, where: str = "plan.json") -> dict[str, Any]:
    """The plan document with every field checked (defaults filled in); raises :class:`SchemaError`."""
    c = Checker(where)
    doc = c.obj("", data)
    out = dict(doc)
    out["project_root"] = c.field("", doc, "project_root", c.string, "")
    out["created"] = c.field("", doc, "created", c.string, "")
    out["perf_command"] = [c.string(f"perf_command[{i}]", a)
                           for i, a in enumerate(c.field("", doc, "perf_command", c.lst, []))]
    hashes = c.field("", doc, "file_hashes", c.obj, {})
    out["file_hashes"] = {c.line("file_hashes", k): c.string(f"file_hashes[{k[:40]!r}]", v) for k, v in hashes.items()}
    out["meta"] = c.field("", doc, "meta", c.obj, {})
    out["recommendations"] = [check_recommendation(c, f"recommendations[{i}]", r)
                              for i, r in enumerate(c.field("", doc, "recommendations", c.lst, []))]
    out["rejected"] = [check_rejection(c, f"rejected[{i}]", r)
                       for i, r in enumerate(c.field("", doc, "rejected", c.lst, []))]
    return out


# ---------------------------------------------------------------------------------------------
# Decorator text of hand-written plans, read as settings (never pasted into source)


def settings_from_decorator(text: str) -> dict[str, Any]:
    """The settings a ``@tf.function(...)`` text asks for, in ``check_settings`` form; ``ValueError`` otherwise.

    Hand-written plans may carry only the decorator text. It is read with a tiny grammar (boolean keywords,
    an ``input_signature`` of ``tf.TensorSpec`` with literal shapes and known dtypes), so what reaches the
    source is regenerated from these values and no expression of the plan's is ever copied.
    """
    body = text.strip().removeprefix("@").strip()
    if not body:
        return {}
    try:
        expr = ast.parse(body, mode="eval").body
    except SyntaxError:
        raise ValueError("not an expression") from None
    if not isinstance(expr, ast.Call):
        if _dotted(expr).split(".")[-1] != "function":
            raise ValueError("not a tf.function decorator")
        return {}
    if _dotted(expr.func).split(".")[-1] != "function" or expr.args:
        raise ValueError("not a tf.function(...) call with keyword arguments only")
    out: dict[str, Any] = {}
    renamed = {"experimental_relax_shapes": "reduce_retracing", "experimental_compile": "jit_compile"}
    for kw in expr.keywords:
        key = renamed.get(kw.arg or "", kw.arg or "**")
        if key in BOOL_SETTINGS:
            if not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool)):
                raise ValueError(f"{key} must be True or False")
            out[key] = kw.value.value
        elif key == "input_signature":
            if not isinstance(kw.value, (ast.List, ast.Tuple)):
                raise ValueError("input_signature must be a list of tf.TensorSpec")
            out[key] = [_spec_from_ast(e) for e in kw.value.elts]
        else:
            raise ValueError(f"unsupported argument {key}")
    return out


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _spec_from_ast(node: ast.AST) -> dict[str, Any]:
    if not isinstance(node, ast.Call) or _dotted(node.func).split(".")[-1] != "TensorSpec":
        raise ValueError("input_signature entries must be tf.TensorSpec(...)")
    values: dict[str, ast.AST] = dict(zip(("shape", "dtype", "name"), node.args, strict=False))
    if len(node.args) > 3:
        raise ValueError("tf.TensorSpec takes shape, dtype, name")
    for kw in node.keywords:
        if kw.arg not in ("shape", "dtype", "name") or kw.arg in values:
            raise ValueError(f"unsupported TensorSpec argument {kw.arg}")
        values[kw.arg] = kw.value
    shape: list[int | None] | None = None
    if "shape" in values:
        s = values["shape"]
        if isinstance(s, (ast.List, ast.Tuple)):
            shape = [_dim(e) for e in s.elts]
        elif not (isinstance(s, ast.Constant) and s.value is None):
            raise ValueError("TensorSpec shape must be a literal list of ints and None")
    dtype = _dotted(values["dtype"]).split(".")[-1] if "dtype" in values else "float32"
    if dtype not in TF_DTYPES:
        raise ValueError("TensorSpec dtype must be tf.<dtype>")
    name = None
    if "name" in values:
        n = values["name"]
        if not (isinstance(n, ast.Constant) and (n.value is None or isinstance(n.value, str))):
            raise ValueError("TensorSpec name must be a string literal")
        name = n.value
    return {"shape": shape, "dtype": dtype, "name": name}


def _dim(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and (node.value is None or (type(node.value) is int and 0 <= node.value <= MAX_INT)):
        return node.value
    raise ValueError("TensorSpec dimensions must be non-negative integers or None")


# ---------------------------------------------------------------------------------------------
# The undo manifest of one apply (``backups/NNNN/manifest.json``)


def safe_relpath(c: Checker, path: str, rel: str) -> str:
    """A relative POSIX path with no ``..``: backups are read from ``<backup>/files/<rel>`` and nowhere else."""
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel or "\x00" in rel:
        raise c.fail(path, f"expected a relative path inside the project, got {rel[:60]!r}")
    return rel


def check_manifest(data: Any, where: str = "manifest.json") -> dict[str, Any]:
    """An undo manifest with every field checked; raises :class:`SchemaError`."""
    c = Checker(where)
    doc = c.obj("", data)
    files = c.field("", doc, "files", c.obj)
    out_files: dict[str, dict[str, Any]] = {}
    for rel, info in files.items():
        path = f"files[{rel[:60]!r}]"
        safe_relpath(c, path, rel)
        entry = c.obj(path, info)
        record: dict[str, Any] = {}
        for key in ("before", "after"):
            digest = c.field(path, entry, key, c.string)
            if not _SHA256.fullmatch(digest):
                raise c.fail(f"{path}.{key}", "expected a sha256 hex digest")
            record[key] = digest
        record["mode"] = c.field(path, entry, "mode", lambda p, v: c.integer(p, v, 0, 0o7777))
        out_files[rel] = record
    out = dict(doc)
    out["files"] = out_files
    out["recommendations"] = [c.integer(f"recommendations[{i}]", r)
                              for i, r in enumerate(c.field("", doc, "recommendations", c.lst, []))]
    for key in ("created", "root", "plan_digest"):
        out[key] = c.field("", doc, key, c.string, "")
    return out
