"""Static-analysis throughput: functions/s and lines/s on real corpora (printed, not asserted).

    .venv/bin/python perf_tests/bench_static.py [--quick] [EXTRA_ROOT ...]

Corpora: the installed Keras package (300+ KLOC, the issue's "more than 100 KLOC" corpus), /work/ext/sonnet,
/work/ext/tf-keras-vis and examples/ when present. Prints, side by side, the time of `ast.parse` alone over the same
files (the floor: the machine may be shared, so the ratio analysis/parse is the stable number), wall and CPU
seconds, and the ratio to the issue's target of 10,000 lines/s on one core (the analysis is single-threaded).
"""

from __future__ import annotations

import ast
import gc
import sys
import time
from pathlib import Path

from hybridize.static import analyze
from hybridize.static.discover import discover

TARGET_LINES_PER_S = 10_000


def corpora(quick: bool) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    try:
        import keras

        keras_root = Path(keras.__file__).resolve().parent
        out.append(("keras (installed)", keras_root / "src" / "layers" if quick else keras_root))
    except ImportError:
        pass
    here = Path(__file__).resolve().parents[1]
    for name, path in [("sonnet", Path("/work/ext/sonnet")), ("tf-keras-vis", Path("/work/ext/tf-keras-vis")),
                       ("examples", here / "examples")]:
        if path.is_dir():
            out.append((name, path))
    out.extend((p, Path(p)) for p in sys.argv[1:] if not p.startswith("--"))
    return out


def parse_only(root: Path) -> float:
    files = discover(root, None, ())
    gc.disable()
    try:
        t0 = time.perf_counter()
        trees = [ast.parse(f.read_bytes()) for f in files]
        dt = time.perf_counter() - t0
    finally:
        gc.enable()
    del trees
    return dt


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"{'corpus':<20} {'files':>6} {'lines':>8} {'funcs':>6} {'wall s':>7} {'cpu s':>7} {'lines/s':>9} "
          f"{'lines/cpu-s':>11} {'funcs/s':>8} {'parse s':>7} {'x parse':>7} {'x target':>8} (cpu)  slowest file")
    for name, root in corpora(quick):
        p = parse_only(root)
        c0, t0 = time.process_time(), time.perf_counter()
        a = analyze(root)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        rate = a.lines / wall
        cpu_rate = a.lines / max(cpu, 1e-9)
        slow = a.summary()["slowest_file"] or {"file": "-", "seconds": 0.0}
        v = a.summary()["verdicts"]
        print(f"{name:<20} {a.files:>6} {a.lines:>8} {len(a.functions):>6} {wall:>7.2f} {cpu:>7.2f} {rate:>9.0f} "
              f"{cpu_rate:>11.0f} {len(a.functions) / wall:>8.0f} {p:>7.2f} {wall / p:>7.2f} "
              f"{cpu_rate / TARGET_LINES_PER_S:>8.2f}        "
              f"{slow['file']} ({slow['seconds']:.2f}s)")
        print(f"{'':<20} verdicts: {v['safe']} safe, {v['unsafe']} unsafe, {v['unknown']} unknown; "
              f"{a.summary()['hybrid']} already tf.function; {len(a.errors)} unparsable")


if __name__ == "__main__":
    main()
