"""Settings derivation and trace prediction from hand-written profile signatures (no TensorFlow)."""

from __future__ import annotations

from typing import Any

from hybridize.planner.settings import derive_settings
from hybridize.planner.traces import break_even_calls, predict_reduce_retracing, signature_key

from ._helpers import py, sig, t


def test_same_specs_every_call_is_plain_one_trace() -> None:
    choice = derive_settings([sig(10, x=t([4, 3]), y=t([3]))])
    assert choice.kind == "plain"
    assert choice.settings.to_json() == {}
    assert choice.predicted_traces == 1


def test_varying_batch_dim_gives_signature_with_none() -> None:
    choice = derive_settings([sig(3, x=t([4, 3])), sig(2, x=t([7, 3])), sig(1, x=t([1, 3]))])
    assert choice.kind == "input_signature"
    spec = choice.settings.input_signature
    assert spec is not None and spec[0].shape == [None, 3] and spec[0].dtype == "float32"
    assert choice.predicted_traces == 1
    alts = {k: n for k, _, n in choice.alternatives}
    assert alts["plain"] == 3
    assert alts["reduce_retracing"] == 2


def test_changing_python_number_becomes_scalar_spec() -> None:
    choice = derive_settings([sig(1, x=t([2]), lr=py(0.1)), sig(1, x=t([2]), lr=py(0.2)), sig(1, x=t([2]), lr=py(0.3))])
    assert choice.kind == "input_signature"
    spec = choice.settings.input_signature
    assert spec is not None and [s.shape for s in spec] == [[2], []]
    assert spec[1].dtype == "float32"


def test_keyword_default_blocks_signature_and_falls_back_to_reduce_retracing() -> None:
    params = [{"name": "x", "kind": "positional", "has_default": False},
              {"name": "training", "kind": "positional", "has_default": True}]
    sigs = [sig(1, x=t([n, 3]), training=py(False)) for n in (1, 2, 3, 4)]
    choice = derive_settings(sigs, params)
    assert choice.kind == "reduce_retracing"
    assert choice.settings.reduce_retracing is True
    assert choice.predicted_traces == 2
    assert any("training" in n for n in choice.notes)


def test_python_value_in_control_flow_retraces_and_is_flagged() -> None:
    sigs = [sig(1, x=t([2]), step=py(i)) for i in range(5)]
    choice = derive_settings(sigs, control_params=["step"])
    assert choice.kind == "plain"
    assert choice.predicted_traces == 5
    assert choice.retrace_params == {"step": 5}
    assert any("pass `step` as a tensor" in n for n in choice.notes)


def test_self_without_tensors_is_skipped() -> None:
    obj = {"kind": "object", "type": "m.Layer", "keras_layer": True}
    choice = derive_settings([sig(1, self=obj, x=t([1, 2])), sig(1, self=obj, x=t([5, 2]))])
    assert choice.kind == "input_signature"
    assert choice.settings.input_signature is not None and len(choice.settings.input_signature) == 1


def test_dtype_change_blocks_signature() -> None:
    choice = derive_settings([sig(1, x=t([2], "float32")), sig(1, x=t([2], "int32"))])
    assert choice.kind == "plain" and choice.predicted_traces == 2


def test_rank_change_relaxes_to_unknown_rank() -> None:
    keys = [signature_key({"x": t(s)}) for s in ([1], [2], [2, 2], [3, 3, 3])]
    # (1,) traced, (None,) relaxed, (2,2) new rank -> unknown-rank relaxation covers the rest
    assert predict_reduce_retracing(keys) <= 3


def test_overflow_marks_prediction_inexact() -> None:
    choice = derive_settings([sig(1, x=t([2]))], overflow=True)
    assert not choice.predicted_exact


def test_break_even() -> None:
    assert break_even_calls(0.002, 0.001, 0.05) == 50
    assert break_even_calls(0.001, 0.002, 0.05) is None


def test_a_signature_says_which_dtypes_it_freezes() -> None:
    """tensorflow/similarity: the tests passed int32 labels only; applied, int64 labels raised TypeError."""
    choice = derive_settings([sig(2, y_true=t([4], "int32"), emb=t([4, 8])), sig(1, y_true=t([6], "int32"), emb=t([6, 8]))])
    assert choice.kind == "input_signature"
    note = choice.signature_note
    assert "`y_true` int32" in note and "`emb` float32" in note and "reduce_retracing=True" in note
    assert not derive_settings([sig(3, x=t([4, 3]))]).signature_note  # no signature, nothing frozen


def test_a_dtype_with_no_tf_name_gets_no_signature() -> None:
    """A spec is written as `dtype=tf.<name>`: an exotic dtype must not reach the plan (its loader would refuse it)."""
    def sigs(dtype: str) -> list[dict[str, Any]]:
        return [sig(3, x=t([4, 3], dtype)), sig(2, x=t([7, 3], dtype)), sig(1, x=t([1, 3], dtype))]

    assert derive_settings(sigs("float32")).kind == "input_signature"
    choice = derive_settings(sigs("float8_e5m2"))
    assert choice.kind != "input_signature" and choice.settings.input_signature is None
