"""Which parameters and locals of a function hold tensors (the research tool's P1 tensor-parameter evidence).

Evidence, strongest first: a ``Tensor`` annotation, a conventional tensor name (``x``, ``inputs``, ``logits``),
a name that the research tool treats as taking tensors (``train_step``, a model's ``call``: *speculative*), and a
parameter passed straight to a TensorFlow op. Locals assigned only from tensor expressions are tensors too.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from hybridize.static.model import Param
from hybridize.static.names import CONTAINER_ANNOTATION, MODEL_BASE, NON_TENSOR_TF, NOT_TENSOR_NAME, SPECULATIVE, TENSOR_NAMES

if TYPE_CHECKING:
    from hybridize.static.state import FunctionState


def tensor_evidence(s: FunctionState) -> None:
    """Fill ``facts.primitive_params`` / ``tensor_params`` / ``speculative`` and ``s.tensors`` / ``s.strong_tensors``."""
    facts = s.facts
    skip = {s.self_name} if s.self_name else set()
    candidates = [p for p in facts.params if p.name not in skip]
    primitive = []
    for p in candidates:
        ann = p.annotation or ""
        if (p.has_default and p.default is not None) or ann in ("int", "float", "bool", "str"):
            primitive.append(p.name)
    facts.primitive_params = primitive
    tensors: set[str] = set()
    strong: set[str] = set()  # annotation or conventional name: enough for the len() rule
    for p in candidates:
        ann = p.annotation or ""
        if ("Tensor" in ann or "tf.Variable" in ann) and not CONTAINER_ANNOTATION.match(ann):
            tensors.add(p.name)
            strong.add(p.name)
    if _speculative(s):
        for p in candidates:
            if p.kind in ("positional", "keyword-only") and p.name not in primitive and not p.has_default \
                    and not s.layerish(p.name) and not NOT_TENSOR_NAME.search(p.name) \
                    and not CONTAINER_ANNOTATION.match(p.annotation or ""):
                tensors.add(p.name)
        facts.speculative = True
    tensors |= _passed_to_tf(s, candidates)
    for p in candidates:
        if p.name in TENSOR_NAMES and p.name not in primitive and not CONTAINER_ANNOTATION.match(p.annotation or ""):
            tensors.add(p.name)
            strong.add(p.name)
    s.tensors = set(tensors)
    s.strong_tensors = strong
    facts.tensor_params = [p.name for p in candidates if p.name in tensors]
    _tensor_locals(s)


def _speculative(s: FunctionState) -> bool:
    """Named like a function that takes tensors (a model's ``call`` only on a Model/Layer/Module subclass)."""
    info = s.info
    if not SPECULATIVE.match(info.name) or info.name in ("__init__",):
        return False
    if info.name in ("call", "__call__"):
        bases = s.index.all_bases(info.cls) if info.cls else []
        return any(MODEL_BASE.search(b) for b in bases)
    return True


def _passed_to_tf(s: FunctionState, candidates: list[Param]) -> set[str]:
    """Parameters passed straight (by name) to a TensorFlow / keras.ops op."""
    found: set[str] = set()
    names = {p.name for p in candidates if p.kind in ("positional", "keyword-only")}
    for node in s.scope.calls:
        if not any(isinstance(a, ast.Name) and a.id in names for a in node.args) and not any(
                isinstance(k.value, ast.Name) and k.value.id in names for k in node.keywords):
            continue
        fq = s.resolve_func(node.func)
        if fq and (fq.startswith("tensorflow.") or fq.startswith("keras.ops.")) and not any(
                fq.startswith(n) for n in NON_TENSOR_TF):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Name) and arg.id in names and not NOT_TENSOR_NAME.search(arg.id):
                    found.add(arg.id)
    return found


def _tensor_locals(s: FunctionState) -> None:
    """Locals assigned (only) from tensor expressions, to a fixpoint of depth two."""
    for _ in range(2):
        for name, bindings in s.scope.bound.items():
            if name in s.tensors or name in s.param_names:
                continue
            if bindings and all(how in ("assign", "aug") and (value is None or s.tensorish(value))  # type: ignore[arg-type]
                                for how, value in bindings) and any(how == "assign" for how, _ in bindings):
                s.tensors.add(name)
                s.strong_tensors.add(name)
