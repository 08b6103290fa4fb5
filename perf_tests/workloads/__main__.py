"""``python -m perf_tests.workloads [--quick] [--repeats N] [--json FILE] [NAME ...]``: eager vs oracle, side by side."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf_tests.workloads", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"workloads (default: all): {', '.join(registry.NAMES)}")
    parser.add_argument("--quick", action="store_true", help="small workloads (smoke test)")
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs each way")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # the retracing warnings are expected in the convert-all column
    rows = []
    header = ("workload", "eager s", "oracle s", "oracle", "all s", "all", "max out diff (oracle / all)")
    print(f"{header[0]:16s} {header[1]:>8s} {header[2]:>9s} {header[3]:>7s} {header[4]:>8s} {header[5]:>7s} {header[6]:>27s}")
    for name in args.names or registry.NAMES:
        module = registry.load(name).module
        row = registry.compare_many(name, {"oracle": module.ORACLE, "convert_all": registry.convert_everything(module)},
                                    quick=args.quick, repeats=args.repeats)
        rows.append(row)
        cells = []
        for label in ("oracle", "convert_all"):
            part = row[label]
            cells.append(("error", "", "") if "error" in part else
                         (f"{part['s']:.3f}", f"{part['speedup']:.2f}x", f"{part['max_rel_output_diff']:.1e}"))
        print(f"{name:16s} {row['eager_s']:8.3f} {cells[0][0]:>9s} {cells[0][1]:>7s} {cells[1][0]:>8s} {cells[1][1]:>7s} "
              f"{cells[0][2]:>12s} / {cells[1][2] or row['convert_all'].get('error', '')[:40]}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
                       "quick": args.quick, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
