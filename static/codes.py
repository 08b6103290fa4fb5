"""The finding codes: one table, so the checker, the JSON and docs/static-codes.md never disagree.

Codes are stable (scripts and the planner match on them). Each maps to the research tool's
precondition-failure name ("Hybridize Functions", Khatchadourian et al.) so results can be compared;
names that tool does not have are marked ``X_`` (our extension).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["blocker", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("blocker", "warning", "info")


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    title: str
    graph: str  # what goes wrong under tf.function
    fix: str  # what to do instead
    precondition: str  # the research tool's failure name (X_ = ours)


_ALL = [
    # --- Python side effects: run once per trace, silently dropped afterwards.
    Code("HY101", "warning", "print", "print runs only while tracing and shows symbolic tensors",
         "use tf.print, or print outside the function", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY102", "warning", "logging / warnings", "the log call runs only while tracing",
         "log outside the function, or use tf.print", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY103", "blocker", "global / nonlocal write", "the write happens once per trace, not once per call",
         "return the value, or keep the state in a tf.Variable", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY104", "blocker", "attribute write on an outside object",
         "the attribute is set once per trace (to a symbolic tensor that later escapes its graph)",
         "return the value, or keep the state in a tf.Variable and .assign() it", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY105", "blocker", "mutation of an outside container",
         "the container is changed once per trace and holds symbolic tensors afterwards",
         "build a new value and return it, or use tf.TensorArray / a tf.Variable", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY106", "blocker", "file or process I/O", "the I/O happens only while tracing",
         "do the I/O outside the function, or use tf.io ops", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY107", "blocker", "network I/O", "the request happens only while tracing",
         "do it outside the function", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY108", "blocker", "Python / NumPy random numbers", "the random value is frozen into the graph as a constant",
         "use tf.random.* (or a tf.random.Generator)", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY109", "warning", "time / clock", "the clock is read once while tracing; the value is a constant afterwards",
         "time the call from outside, or use tf.timestamp()", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY110", "warning", "next() on a Python iterator", "a Python iterator yields the same element on every call",
         "pass the element as an argument, or iterate a tf.data.Dataset", "X_PYTHON_ITERATOR"),
    # --- Eager-only code: fails when traced, or reads a value that is symbolic.
    Code("HY201", "blocker", ".numpy() / host read", "symbolic tensors have no value: AttributeError while tracing",
         "keep the computation in TensorFlow ops", "X_EAGER_ONLY_CALL"),
    Code("HY202", "blocker", "NumPy call on a tensor", "NumPy cannot convert a symbolic tensor: NotImplementedError",
         "use the tf.* / tf.experimental.numpy equivalent", "X_NUMPY_CALL_ON_PARAMETER"),
    Code("HY203", "warning", "float()/int()/bool() of a tensor",
         "the conversion needs a concrete value: it fails or becomes a tensor under AutoGraph",
         "keep it a tensor (tf.cast), or pass the Python value as an argument", "X_EAGER_ONLY_CALL"),
    Code("HY204", "blocker", "assert on a tensor", "a tensor has no truth value in a graph: OperatorNotAllowedInGraphError",
         "use tf.debugging.assert_* ", "X_EAGER_ONLY_CALL"),
    Code("HY205", "warning", "Python for over a tensor", "the loop is unrolled or converted to a tf.while_loop",
         "iterate tf.range(...) or a tf.data.Dataset, or vectorize", "X_PYTHON_FOR_OVER_TENSOR"),
    Code("HY206", "warning", "shape-dependent Python branch",
         "x.shape[i] is None once the shape is relaxed (reduce_retracing / input_signature): TypeError",
         "use tf.shape(x)[i] in a tensor condition, or keep that dimension fixed", "X_SHAPE_DEPENDENT_BRANCH"),
    # --- Structure the graph cannot express.
    Code("HY301", "blocker", "generator", "AutoGraph refuses generators; the returned generator cannot be a graph output",
         "return a tensor / tf.data.Dataset instead of yielding", "X_GENERATOR"),
    Code("HY302", "blocker", "recursion", "a recursive tf.function fails while staging",
         "rewrite as a loop (tf.while_loop) or keep it eager", "IS_RECURSIVE"),
    Code("HY303", "blocker", "return inside a tensor loop",
         "a return inside a tensor loop raises NotImplementedError while tracing",
         "set a result variable and break, or loop over a Python range", "X_RETURN_IN_LOOP"),
    Code("HY304", "warning", "try/except around tensor work",
         "ops fail at run time, outside the try: the handler never runs", "check with tf.debugging or tf.cond instead",
         "X_TRY_EXCEPT"),
    Code("HY305", "blocker", "raise under a tensor-dependent condition",
         "AutoGraph does not convert such an `if`: the trace fails for every input (OperatorNotAllowedInGraphError)",
         "use tf.debugging.Assert / tf.debugging.assert_*", "X_TENSOR_DEPENDENT_RAISE"),
    Code("HY306", "blocker", "tf.Variable created in the body",
         "tf.function only allows variables created on the first call: ValueError on later traces",
         "create the variable once (in __init__ / build) and reuse it", "X_VARIABLE_CREATION"),
    Code("HY307", "blocker", "Keras layer / model / optimizer created in the body",
         "the object creates variables on every trace: ValueError",
         "create it once (in __init__) and reuse it", "X_VARIABLE_CREATION"),
    Code("HY308", "warning", "trainable_variables read before the model's first call",
         "a model that builds lazily has no variables yet at trace time (stale or empty list)",
         "call the model first, or build it before converting", "X_STALE_TRAINABLE_VARIABLES"),
    Code("HY309", "info", "first-call variable creation (guarded)",
         "allowed once: tf.function accepts variables created on the first call only",
         "make sure the guard really stops the second creation (the retrace of a new shape calls it again)",
         "X_VARIABLE_CREATION"),
    Code("HY310", "blocker", "constructor / attribute hook",
         "its only job is to set up the object: traced once per input signature, later calls leave it unset",
         "convert the methods that compute, never __init__ / __new__ / __setattr__", "HAS_PYTHON_SIDE_EFFECTS"),
    Code("HY311", "blocker", "call of a Keras layer / model",
         "Keras already traces `call` inside any tf.function that calls the model; decorating `call` itself traces "
         "it at the first call, while lazily built weights do not exist yet, and later calls can return stale "
         "outputs (measured with Keras 3)", "convert the function that calls the model (the train / eval step)",
         "X_KERAS_CALL"),
    # --- Decorators.
    Code("HY401", "info", "already a tf.function", "nothing to convert; its arguments are parsed into decorator_args",
         "tune the arguments, or de-hybridize if it does not pay", "OPTIMIZATION_NOT_AVAILABLE"),
    Code("HY402", "warning", "redundant tf.function",
         "every caller is already a tf.function: the inner decorator only adds tracing",
         "remove the inner decorator", "X_REDUNDANT_DECORATOR"),
    Code("HY403", "info", "deprecated tf.function argument", "experimental_relax_shapes is the old name of reduce_retracing",
         "use reduce_retracing=True", "X_DEPRECATED_ARGUMENT"),
    # --- What could not be resolved (the verdict becomes "unknown", never "safe").
    Code("HY501", "info", "unresolved call", "the callee could not be resolved statically; its effects are unknown",
         "check the callee by hand", "UNDETERMINABLE_SIDE_EFFECTS"),
    Code("HY502", "info", "dynamic attribute / getattr", "the attribute or method is chosen at run time",
         "check the possible targets by hand", "UNDETERMINABLE_SIDE_EFFECTS"),
    Code("HY503", "info", "*args / **kwargs forwarding", "the forwarded arguments' kinds are unknown",
         "spell out the parameters, or give an input_signature", "UNDETERMINABLE_TENSOR_PARAMETER"),
]

CODES: dict[str, Code] = {c.code: c for c in _ALL}


def markdown_table() -> str:
    """The codes as a Markdown table (docs/static-codes.md is generated from it)."""
    lines = ["| code | severity | what | under tf.function | instead | research-tool name |",
             "|---|---|---|---|---|---|"]
    for c in _ALL:
        lines.append(f"| {c.code} | {c.severity} | {c.title} | {c.graph} | {c.fix} | {c.precondition} |")
    return "\n".join(lines)
