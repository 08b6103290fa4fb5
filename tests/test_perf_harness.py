"""perf_tests/run.py's pure parts: plan -> placement, scoring against the oracle, tables. No TensorFlow runs."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run() -> ModuleType:
    spec = importlib.util.spec_from_file_location("perf_run", REPO / "perf_tests" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["perf_run"] = module
    spec.loader.exec_module(module)
    return module


PLAN: dict[str, Any] = {
    "recommendations": [
        {"function": "wl:score_request", "action": "convert", "settings": {"reduce_retracing": True}},
        {"function": "wl:Model.call", "action": "tune", "settings": {}},
        {"function": "other:helper", "action": "convert", "settings": {}},
        {"function": "wl:old_step", "action": "dehybridize", "settings": {}},
    ],
    "rejected": [
        {"function": "wl:tiny", "reason": "measured-slower"},
        {"function": "other:x", "reason": "blocker-finding"},
    ],
}


def test_plan_to_placement_keeps_one_module_by_qualname(run: ModuleType) -> None:
    placement = run.plan_to_placement(PLAN, "wl")
    assert placement == {
        "score_request": {"action": "convert", "settings": {"reduce_retracing": True}},
        "Model.call": {"action": "tune", "settings": {}},
        "old_step": {"action": "dehybridize", "settings": {}},
    }


def test_plan_to_placement_without_module_keys_by_full_id(run: ModuleType) -> None:
    placement = run.plan_to_placement(PLAN)
    assert set(placement) == {"wl:score_request", "wl:Model.call", "other:helper", "wl:old_step"}
    assert run.plan_to_placement({}, "wl") == {}


def test_an_extract_is_placed_as_the_workloads_extracted_step(run: ModuleType) -> None:
    plan = {"recommendations": [{"function": "wl:<module>", "action": "extract", "settings": {}}]}
    assert run.plan_to_placement(plan, "wl", "hand_step") == {"hand_step": {"action": "convert", "settings": {}}}
    assert run.plan_to_placement(plan, "wl") == {"<module>": {"action": "extract", "settings": {}}}


def test_rejection_reasons(run: ModuleType) -> None:
    assert run.rejection_reasons(PLAN, "wl") == {"tiny": "measured-slower"}
    assert run.rejection_reasons(PLAN) == {"wl:tiny": "measured-slower", "other:x": "blocker-finding"}


def test_score_counts_each_function_once(run: ModuleType) -> None:
    oracle = {
        "a": {"action": "convert", "settings": {}},
        "b": {"action": "convert", "settings": {}, "why": "many small ops"},
        "c": {"action": "keep", "settings": {}},
        "d": {"action": "keep", "settings": {}},
    }
    tool = {
        "a": {"action": "convert", "settings": {}},  # TP
        "c": {"action": "convert", "settings": {}},  # FP
        "e": {"action": "tune", "settings": {}},  # FP: not a candidate for the oracle
    }  # b: FN (kept, rejected by the tool), d: TN
    result = run.score(tool, oracle, {"b": "measured-slower"})
    assert (result["tp"], result["fp"], result["fn"], result["tn"]) == (1, 2, 1, 1)
    assert result["precision"] == pytest.approx(1 / 3)
    assert result["recall"] == pytest.approx(1 / 2)
    by_fn = {d["function"]: d for d in result["disagreements"]}
    assert set(by_fn) == {"b", "c", "e"}
    assert by_fn["b"]["hybridize"] == "keep" and by_fn["b"]["oracle"] == "convert"
    assert by_fn["b"]["hybridize_reason"] == "measured-slower"
    assert by_fn["b"]["oracle_why"] == "many small ops"


def test_score_settings_difference_is_listed_not_penalised(run: ModuleType) -> None:
    oracle = {"f": {"action": "convert", "settings": {"reduce_retracing": True}}}
    tool = {"f": {"action": "convert", "settings": {}}}
    result = run.score(tool, oracle)
    assert result["precision"] == 1.0 and result["recall"] == 1.0
    assert [d["kind"] for d in result["disagreements"]] == ["settings"]
    # None-valued settings mean "unset": not a difference
    same = run.score({"f": {"action": "convert", "settings": {"jit_compile": None}}}, {"f": {"action": "convert"}})
    assert same["disagreements"] == []
    sig = {"input_signature": [{"shape": [None], "dtype": "float32", "name": None}]}
    same = run.score({"f": {"action": "convert", "settings": sig}},
                     {"f": {"action": "convert", "settings": {"input_signature": [{"shape": [None], "dtype": "float32"}]}}})
    assert same["disagreements"] == []
    other = run.score({"f": {"action": "convert", "settings": sig}},
                      {"f": {"action": "convert", "settings": {"input_signature": [{"shape": [3], "dtype": "float32"}]}}})
    assert [d["kind"] for d in other["disagreements"]] == ["settings"]


def test_score_convert_vs_dehybridize_is_a_decision_disagreement(run: ModuleType) -> None:
    result = run.score({"f": {"action": "dehybridize"}}, {"f": {"action": "convert"}})
    assert result["tp"] == 1 and result["disagreements"][0]["kind"] == "decision"


def test_score_undefined_when_nothing_to_choose(run: ModuleType) -> None:
    result = run.score({}, {"p": {"action": "keep", "unsafe": True}})
    assert result["precision"] is None and result["recall"] is None and result["tn"] == 1
    assert result["disagreements"] == []


def test_outputs_ok(run: ModuleType) -> None:
    row = {"hybridize": {"s": 1.0, "max_rel_output_diff": 1e-7}, "oracle": {"s": 1.0, "max_rel_output_diff": 0.0},
           "all": {"error": "TypeError: bad"}}
    ok, problems = run.outputs_ok(row, ("hybridize", "oracle", "all"), 1e-4)
    assert ok is False and problems == ["all: raised TypeError: bad"]
    ok, _ = run.outputs_ok({"hybridize": {"max_rel_output_diff": math.nan}}, ("hybridize",), 1e-4)
    assert ok is False
    assert run.outputs_ok({"hybridize": {"max_rel_output_diff": 1e-6}}, ("hybridize",), 1e-4) == (True, [])
    assert run.outputs_ok({"hybridize": {"s": 2.0}}, ("hybridize", "oracle"), 1e-4) == (None, [])


def test_summarize_ratios(run: ModuleType) -> None:
    timing = {"eager_s": 4.0, "hybridize": {"s": 2.0, "max_rel_output_diff": 0.0},
              "oracle": {"s": 1.0, "max_rel_output_diff": 0.0}, "all": {"error": "boom"}}
    row = run.summarize("w", timing, {"precision": 0.5, "recall": 1.0}, pipeline_s=30.0, rtol=1e-4)
    assert row["speedup_hybridize"] == 2.0 and row["speedup_oracle"] == 4.0
    assert row["hybridize_of_oracle"] == 0.5
    assert row["all_s"] is None and row["speedup_all"] is None
    assert row["errors"] == {"all": "boom"} and row["outputs_ok"] is False


def _row(name: str, **extra: Any) -> dict[str, Any]:
    base = {"workload": name, "eager_s": 3.0, "hybridize_s": 1.5, "oracle_s": 1.0, "all_s": 6.0,
            "speedup_hybridize": 2.0, "speedup_oracle": 3.0, "speedup_all": 0.5, "hybridize_of_oracle": 2 / 3,
            "precision": 1.0, "recall": None, "outputs_ok": True, "tests_after_apply": "passed",
            "pipeline_s": 42.0, "loadavg": "3.0/4.0/5.0"}
    base.update(extra)
    return base


def test_render_markdown_table_and_disagreements(run: ModuleType) -> None:
    results: dict[str, Any] = {"date": "2026-11-26T05:00:00+00:00", "quick": False, "repeats": 2,
               "machine": {"platform": "Linux x86_64", "cpus": 2, "python": "3.11.7", "tensorflow": "2.21.0",
                           "keras": "3.15.0"},
               "rows": [_row("varying_batch", recommendations=["convert score_request @tf.function"],
                             disagreements=[{"function": "score_request", "kind": "settings", "hybridize": "convert",
                                             "oracle": "convert", "hybridize_settings": {},
                                             "oracle_settings": {"reduce_retracing": True}}]),
                        _row("side_effects", outputs_ok=False, output_problems=["all: raised X"])]}
    text = run.render_markdown(results)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| workload"))
    assert header.count("|") == len(run.COLUMNS) + 1
    row = next(line for line in lines if line.startswith("| varying_batch"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["varying_batch", "3.00", "1.50", "1.00", "6.00", "2.00x", "3.00x", "0.50x", "67%", "1.00",
                     "n/a", "yes", "passed", "42.00"]
    assert "| side_effects" in text and "| NO |" in text
    assert '`score_request`: hybridize convert {}, oracle convert {"reduce_retracing": true}' in text
    assert "output problem: all: raised X" in text
    assert "Python 3.11.7" in text and "2 CPUs" in text and "2026-11-26" in text
    assert "Noise:" not in text
    results["rows"][0].update(eager_spread=1.25, timed_as={"hybridize": "oracle"})
    text = run.render_markdown(results)
    assert "slowest / fastest: varying_batch 1.25x" in text
    assert "varying_batch (hybridize as oracle)" in text


def test_merge_timings_keeps_the_noise_and_what_was_timed_as_what(run: ModuleType) -> None:
    reps = [{"workload": "w", "eager_s": 2.0, "outputs_eager": {}, "timed_as": {"hybridize": "eager"},
             "oracle": {"s": 1.0, "outputs": {}}, "hybridize": {"s": 2.0, "outputs": {}}},
            {"workload": "w", "eager_s": 2.5, "outputs_eager": {}, "timed_as": {"hybridize": "eager"},
             "oracle": {"s": 1.1, "outputs": {}}, "hybridize": {"s": 2.5, "outputs": {}}}]
    merged = run.merge_timings(reps)
    assert merged["eager_spread"] == 1.25 and merged["timed_as"] == {"hybridize": "eager"}
    assert merged["hybridize"]["speedup"] == 1.0  # the very runs eager had: no noise between identical programs


def test_identical_placements_are_recognised_from_what_they_change() -> None:
    import types

    from perf_tests.workloads.registry import _effective

    module = types.SimpleNamespace(f=1, g=2)
    oracle = {"f": {"action": "convert", "settings": {}, "why": "hand"}, "g": {"action": "keep", "settings": {}}}
    tool = {"f": {"action": "convert", "settings": {}}, "h": {"action": "convert", "settings": {}}}  # h: not here
    assert _effective(module, oracle) == _effective(module, tool)  # type: ignore[arg-type]
    assert _effective(module, {"g": {"action": "keep"}}) == "{}"  # type: ignore[arg-type]
    assert _effective(module, {"f": {"action": "convert", "settings": {"jit_compile": True}}}) != _effective(module, tool)  # type: ignore[arg-type]


def test_render_text_aligns_columns(run: ModuleType) -> None:
    text = run.render_text([_row("a"), _row("numeric_library", eager_s=None)])
    lines = text.splitlines()
    assert len(lines) == 3 and len({len(line) for line in lines}) == 1
    assert "n/a" in lines[2]


def test_merge_rows_replaces_same_workload_and_orders(run: ModuleType) -> None:
    old = [{"workload": "b", "v": 1}, {"workload": "a", "v": 1}, {"workload": "zzz", "v": 1}]
    new = [{"workload": "b", "v": 2}]
    merged = run.merge_rows(old, new, ["a", "b"])
    assert [(r["workload"], r["v"]) for r in merged] == [("a", 1), ("b", 2), ("zzz", 1)]


def test_examples_targets(run: ModuleType) -> None:
    targets = run._examples_targets({"m:f": {"action": "convert", "settings": {"reduce_retracing": True}},
                                     "m:g": {"action": "dehybridize"}, "m:h": {"action": "keep"}})
    assert targets == [{"function": "m:f", "mode": "graph", "settings": {"reduce_retracing": True}},
                       {"function": "m:g", "mode": "eager"}]


def test_same_decisions(run: ModuleType) -> None:
    oracle = {"f": {"action": "convert", "settings": {"reduce_retracing": True}}, "g": {"action": "keep"}}
    assert run.same_decisions({"f": {"action": "convert", "settings": {"reduce_retracing": True}}}, oracle)
    assert not run.same_decisions({"f": {"action": "convert", "settings": {}}}, oracle)
    assert not run.same_decisions({}, oracle)
    assert run.same_decisions({}, {"g": {"action": "keep"}})


def test_rotated(run: ModuleType) -> None:
    assert run.rotated([1, 2, 3], 0) == [1, 2, 3]
    assert run.rotated([1, 2, 3], 1) == [2, 3, 1]
    assert run.rotated([1, 2, 3], 4) == [2, 3, 1]
    assert run.rotated([], 2) == []


def test_merge_timings_best_of_each_against_best_eager(run: ModuleType) -> None:
    r1 = {"workload": "w", "eager_s": 4.0, "outputs_eager": {"y": 1.0},
          "hyb": {"s": 1.0, "speedup": 4.0, "max_rel_output_diff": 0.0, "outputs": {"y": 1.0}},
          "all": {"s": 3.0, "speedup": 1.3, "max_rel_output_diff": 0.0, "outputs": {"y": 1.0}}}
    r2 = {"workload": "w", "eager_s": 2.0, "outputs_eager": {"y": 1.0},
          "hyb": {"s": 1.5, "speedup": 1.3, "max_rel_output_diff": 0.0, "outputs": {"y": 1.0}},
          "all": {"error": "TypeError: x"}}
    merged = run.merge_timings([r1, r2])
    assert merged["eager_s"] == 2.0
    assert merged["hyb"]["s"] == 1.0 and merged["hyb"]["speedup"] == 2.0
    assert merged["all"] == {"error": "TypeError: x"}
    r3 = dict(r1, hyb={"s": 1.0, "outputs": {"y": 1.5}})
    assert run.merge_timings([r3])["hyb"]["max_rel_output_diff"] == pytest.approx(0.5)


def test_unsettled_when_hybridize_and_oracle_differ_beyond_the_band_either_way(run: ModuleType) -> None:
    def timing(hyb: float, oracle: float) -> dict[str, Any]:
        return {"eager_s": 2.0, "hybridize": {"s": hyb}, "oracle": {"s": oracle}}

    assert run.hyb_vs_oracle(timing(0.76, 0.47)) == pytest.approx(0.47 / 0.76)
    assert run.unsettled(timing(0.76, 0.47))  # hybridize looks worse: measure both again
    assert run.unsettled(timing(0.47, 0.76))  # or better: the same noise, the same rule
    assert not run.unsettled(timing(0.50, 0.49)) and not run.unsettled(timing(0.49, 0.50))
    assert not run.unsettled({"eager_s": 2.0, "hybridize": {"error": "x"}, "oracle": {"s": 1.0}})


def test_merge_timings_with_settle_rounds_of_two_placements_keeps_the_others(run: ModuleType) -> None:
    full = {"workload": "w", "eager_s": 2.0, "outputs_eager": {}, "hybridize": {"s": 0.8, "outputs": {}},
            "oracle": {"s": 0.5, "outputs": {}}, "all": {"s": 1.9, "outputs": {}}}
    pair = {"workload": "w", "eager_s": 1.9, "outputs_eager": {}, "hybridize": {"s": 0.5, "outputs": {}},
            "oracle": {"s": 0.52, "outputs": {}}}
    merged = run.merge_timings([full, pair])
    assert merged["hybridize"]["s"] == 0.5 and merged["oracle"]["s"] == 0.5
    assert merged["all"]["s"] == 1.9 and merged["eager_s"] == 1.9
