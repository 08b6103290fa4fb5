"""Where each decision on a measured candidate is made (this module only re-exports them):

- ``measurement``: ``Measurement`` (what was measured), ``noise_margin``, ``Reason`` (the rejection codes), and
  ``Measurement.blocked()`` (no comparable measurement: unreachable, not exercised, a failed test, ...);
- ``compare``: eager versus graph outputs (``compare_digests``, ``compare_replays``);
- ``acceptance``: ``judge`` / ``accepted`` (two estimates against the noise margin), ``confidence``;
- ``nesting``: ``choose_nesting`` / ``nesting`` (the outermost conversion measured best);
- ``assembly``: ``build_plan`` (rank, evidence, the plan).

Kept so that ``planner/pipeline.py`` imports stay valid while it is split; new code imports the modules above.
"""

from __future__ import annotations

from hybridize.planner.acceptance import accepted, confidence, judge
from hybridize.planner.assembly import build_plan, shapes_seen
from hybridize.planner.compare import FLOAT_RTOL, INPUT_RTOL, compare_digests, compare_replays
from hybridize.planner.measurement import (
    MIN_NESTED_GAIN_S,
    MIN_SAVED_FRACTION,
    MIN_SAVED_S,
    NOT_ISOLATED,
    Measurement,
    Reason,
    noise_margin,
)
from hybridize.planner.nesting import choose_nesting, nesting

__all__ = [
    "FLOAT_RTOL", "INPUT_RTOL", "MIN_NESTED_GAIN_S", "MIN_SAVED_FRACTION", "MIN_SAVED_S", "NOT_ISOLATED",
    "Measurement", "Reason", "accepted", "build_plan", "choose_nesting", "compare_digests", "compare_replays",
    "confidence", "judge", "nesting", "noise_margin", "shapes_seen",
]
