"""``python -m perf_tests.workloads.fresh NAME [--placement JSON] [--quick]``: one bench of one placement in this
(fresh) process, its result as JSON on the last line of stdout.

A user's program pays one-time costs once per process: TensorFlow's first graph construction, AutoGraph converting
Keras' and the project's code, first traces. Timing placements one after another in a warm process hides those
costs from every placement but the first (and a warm-up hides them from all), which flatters conversions of
functions called only a few dozen times. The benchmark therefore times each placement in a process of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf_tests.workloads.fresh", description=__doc__)
    parser.add_argument("name", choices=registry.NAMES)
    parser.add_argument("--placement", default="{}", help="JSON: {qualname: {action, settings}} ({} = eager)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # retracing warnings are expected in the convert-everything placement
    workload = registry.load(args.name)
    with registry.placed(workload.module, json.loads(args.placement)):
        result = workload.bench(quick=args.quick)
    print(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
