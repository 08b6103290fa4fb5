"""The long-script early stop, measured (a script, not a test): ``hybridize profile -- python long.py`` on a
training script of ``--steps`` steps, with the trial runs' early stop (default) and without (``early-stop = false``),
run alternately; prints each profile's wall time, its trial runs' time and its recommendations.

    .venv/bin/python perf_tests/bench_early_stop.py [--steps 10000] [--pairs 1] [--json FILE]

The script is the kind a tutorial writes: an MLP step function and an evaluation every 100 steps, called from a
module-level loop under ``if __name__ == "__main__":``. The recommendations must be the same either way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent

SCRIPT = '''
import sys
import numpy as np
import tensorflow as tf

rng = np.random.default_rng(0)
W1 = tf.Variable(rng.normal(size=(32, 64)).astype(np.float32) * 0.1)
W2 = tf.Variable(rng.normal(size=(64, 10)).astype(np.float32) * 0.1)


def train_step(x, y):
    with tf.GradientTape() as tape:
        logits = tf.matmul(tf.nn.relu(tf.matmul(x, W1)), W2)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    grads = tape.gradient(loss, [W1, W2])
    for w, g in zip([W1, W2], grads):
        w.assign_sub(0.05 * g)
    return loss


def evaluate(x, y):
    pred = tf.argmax(tf.matmul(tf.nn.relu(tf.matmul(x, W1)), W2), axis=1, output_type=tf.int32)
    return tf.reduce_mean(tf.cast(tf.equal(pred, y), tf.float32))


if __name__ == "__main__":
    steps = int(sys.argv[1])
    x = tf.constant(rng.normal(size=(64, 32)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, size=64).astype(np.int32))
    for step in range(steps):
        loss = train_step(x, y)
        if step % 100 == 0:
            acc = evaluate(x, y)
    print(f"loss {float(loss):.4f} accuracy {float(acc):.4f}")
'''


def profile(project: Path, steps: int, early: bool) -> dict[str, Any]:
    (project / "pyproject.toml").write_text(
        "[tool.hybridize]\n" + ("" if early else "early-stop = false\n"), encoding="utf-8")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", TF_CPP_MIN_LOG_LEVEL="2")
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "hybridize"), "profile", "--", "python", "long.py", str(steps)], cwd=project,
                          env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    plan = json.loads((project / ".hybridize" / "plan.json").read_text(encoding="utf-8"))
    meta = plan.get("meta") or {}
    return {"early_stop": early, "exit": proc.returncode, "profile_s": round(wall, 1),
            "traced_run_s": meta.get("profile_duration_s"), "planning_s": meta.get("planning_s"),
            "runs": [(r.get("label"), r.get("duration_s")) for r in meta.get("runs") or []],
            "recommendations": sorted(r["function"] for r in plan.get("recommendations", [])),
            "notes": [n for n in meta.get("notes") or [] if "early" in n]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--pairs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hybridize-early-") as tmp:
        project = Path(tmp)
        (project / "long.py").write_text(SCRIPT, encoding="utf-8")
        for pair in range(args.pairs):
            for early in ((True, False) if pair % 2 == 0 else (False, True)):
                row = profile(project, args.steps, early)
                rows.append(row)
                print(json.dumps(row), flush=True)
    for early in (True, False):
        mine = [r for r in rows if r["early_stop"] is early]
        best = min(r["profile_s"] for r in mine)
        print(f"early stop {'on ' if early else 'off'}: profile {best:.1f} s (best of {len(mine)}); "
              f"recommendations {mine[0]['recommendations']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
