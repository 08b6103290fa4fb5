"""Settings judged on the performance run's own signatures, the tests' calls only keeping them valid (no TensorFlow)."""

from __future__ import annotations

from hybridize.planner.candidates import choose_settings
from hybridize.planner.settings import settings_for_workload

from ._helpers import py, sig, t


def test_one_workload_shape_beside_other_test_shapes_stays_plain() -> None:
    """xla_fusion: tests on a 257-vector, the workload 1500 calls on an 8192-vector. The union's spec is [None]
    (slower there, and XLA loses the static shape); on the workload a plain decorator traces once."""
    tests, workload = [sig(2, x=t([257]), s=t([]))], [sig(1500, x=t([8192]), s=t([]))]
    choice = choose_settings([*tests, *workload], None, workload=workload)
    assert (choice.kind, choice.settings.to_json(), choice.predicted_traces) == ("plain", {}, 1)
    assert any("performance run" in n for n in choice.notes)
    assert settings_for_workload([*tests, *workload], None).kind == "input_signature"  # no workload: the union's


def test_the_union_is_kept_when_the_workload_itself_retraces() -> None:
    """A Python number that changes on every workload call: only a spec (from every call) stops the retracing."""
    tests = [sig(1, x=t([257]), k=py(1))]
    workload = [sig(1, x=t([8192]), k=py(i)) for i in range(2, 6)]
    choice = choose_settings([*tests, *workload], None, workload=workload)
    assert choice.kind == "input_signature" and choice.predicted_traces == 1
    spec = choice.settings.input_signature or []
    assert [s.shape for s in spec] == [[None], []]  # covers the tests' 257-vector too

