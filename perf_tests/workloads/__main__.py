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
    rows = []
    print(f"{'workload':16s} {'eager s':>9s} {'oracle s':>9s} {'speedup':>8s} {'max out diff':>13s}")
    for name in args.names or registry.NAMES:
        row = registry.compare(name, quick=args.quick, repeats=args.repeats)
        rows.append(row)
        diff = row["max_rel_output_diff"]
        print(f"{name:16s} {row['eager_s']:9.3f} {row['placed_s']:9.3f} {row['speedup']:7.2f}x {diff:13.2e}", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"machine": f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}",
                       "quick": args.quick, "rows": rows}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
