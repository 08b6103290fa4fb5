"""hybridize.planner: measured, validated, ranked recommendations (``plan.json``) and the report.

Modules: ``settings`` (tf.function settings and trace predictions from recorded signatures), ``candidates``
(profile x static analysis -> what to try), ``trial_hook`` and its ``hook_*`` parts / ``trial_pytest`` / ``trials``
(in-memory conversions in every process of a real run, and their measurements), ``session`` (``Trials``: one
plan's runs) with ``levels`` / ``isolation`` / ``correctness`` / ``nested`` / ``variants`` (what to run),
``measurement`` / ``compare`` / ``acceptance`` / ``nesting`` / ``assembly`` (comparison, acceptance, nesting,
ranking, confidence), ``pipeline`` (``run_after_profile``), ``report`` (table / json / markdown / html),
``scalene`` (optional pass).

The plan's JSON (``.hybridize/plan.json``; schema in ``hybridize.plan``) is a public contract:

- ``schema_version``, ``project_root``, ``created``, ``perf_command``, ``file_hashes`` (sha256 per touched file),
  ``meta`` (``runs``: one summary per trial run; ``notes``; ``baseline_s``; ``planning_s``; ``budget_s``; ...);
- ``recommendations``: ordered by rank, each ``rank``, ``id``, ``function`` ("module:qualname"), ``file``, ``line``,
  ``action`` ("convert" | "tune" | "dehybridize"), ``decorator`` (exact text; "" for dehybridize), ``settings``
  (``input_signature`` / ``reduce_retracing`` / ``jit_compile``), ``speedup`` (measured per-call eager/graph
  ratio, tracing excluded), ``saved_s`` (measured seconds saved on the performance command, tracing included),
  ``calls``, ``traces_before``, ``traces_after``, ``confidence`` ("high" | "medium" | "low"), ``evidence``
  (``eager_s``, ``graph_s``, ``eager_per_call_us``, ``graph_per_call_us``, ``trace_s``, ``break_even_calls``,
  ``shapes``, ``tests``, ``tests_count``, ``coverage``, ``static_verdict``, ``findings``, ``assumptions``,
  ``results_check`` ("match" | "mismatch" | "inconclusive" | "not-checked") and ``results_detail``,
  ``settings_kind``, ``predicted_traces``, ``notes``, ``nested``, ``alternatives``, ``scalene``, ...);
- ``rejected``: each ``function``, ``file``, ``line``, ``reason``, ``detail``, ``evidence``. Reason codes (stable):
  ``blocker-finding``, ``measured-slower``, ``too-few-calls``, ``not-exercised``, ``test-failure``, ``not-isolated``,
  ``trial-error``, ``result-mismatch``, ``covered-by-caller``, ``callees-better``, ``already-optimal``,
  ``not-measured``, ``not-reachable``, ``baseline-failed``, ``pass-through`` (a wrapper that only forwards
  its arguments, decided from the source), ``output-mismatch`` (eager replay in the same run disagrees),
  ``pure-python`` (never received a tensor/variable, directly or in a container, or its source does no tensor
  computation; decided before any run), ``retraces-per-instance`` (a method called on a new object at every call
  of the performance command: it would trace every call; decided after the baseline run, before any conversion),
  ``kept-few-calls`` (an existing tf.function whose removal measured faster, on too few calls to justify it).
  A loop extraction (action ``extract``) may also be rejected ``not-extractable``, ``trial-failed``,
  ``over-budget`` or ``inconclusive`` (its eager/extracted pairs disagree; docs/plan.md).
"""
