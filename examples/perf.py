"""Fixed, deterministic workload over every function of demo_model; prints the wall time (and CPU time).

Run from this folder: ``python perf.py`` (about 3-6 s eager on a 2-core CPU machine). ``--quick`` runs a tenth of it.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np
import tensorflow as tf
from demo_model import logging_utils
from demo_model.data import make_classification_data, random_feature_mask
from demo_model.evaluate import evaluate, predict_proba
from demo_model.model import build_model, make_optimizer
from demo_model.numerics import expected_calibration_error, feature_second_moment, summary_statistics
from demo_model.train import augment_batch, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a much smaller workload (smoke test)")
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0

    x_train, y_train = make_classification_data(640, seed=0)
    x_test, y_test = make_classification_data(400, seed=1)
    model = build_model(seed=0)
    optimizer = make_optimizer(model)
    rng = np.random.default_rng(0)
    embeddings = tf.constant(rng.normal(size=(4096, 256)).astype(np.float32))

    results: dict[str, float] = {}

    def on_epoch_end(epoch: int, history: list[float]) -> None:
        nonlocal results
        # monitoring: statistics over a sliding 16-step window of recent losses
        for end in range(max(16, len(history) - 15), len(history) + 1):
            summary_statistics(tf.constant(history[end - 16 : end]))
        # feature diagnostics on a large embedding matrix
        for _ in range(max(1, round(5 * scale))):
            feature_second_moment(embeddings)
        # held-out evaluation (6 batches of 64 + one of 16)
        results = evaluate(model, x_test, y_test)
        # calibration monitoring: a bootstrap spread of the ECE on resampled held-out predictions
        probs = predict_proba(model, tf.constant(x_test))
        for _ in range(max(1, round(8 * scale))):
            idx = tf.constant(rng.integers(0, len(x_test), size=len(x_test)))
            expected_calibration_error(tf.gather(probs, idx), tf.gather(tf.constant(y_test), idx))
        logging_utils.log_metrics(logging_utils.GLOBAL_STEP, results)

    start, cpu_start = time.perf_counter(), time.process_time()
    # the custom GradientTape loop (schedule, augment, step, history, global step) for 3 epochs
    fit(model, optimizer, x_train, y_train, epochs=max(1, round(3 * scale)), on_epoch_end=on_epoch_end)

    # serving: requests of varying batch size
    sizes = rng.integers(1, 17, size=max(4, round(60 * scale)))
    for i, size in enumerate(sizes):
        predict_proba(model, tf.constant(x_test[i : i + int(size)]))

    # test-time augmentation with the final (small) strength plus a Python-random feature mask
    mask_rng = random.Random(0)
    for xb in np.array_split(x_test, 10):
        random_feature_mask(augment_batch(tf.constant(xb), 0.1), 0.05, mask_rng)

    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    out = {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "steps": logging_utils.GLOBAL_STEP}
    out.update({k: round(v, 4) for k, v in results.items()})
    if args.json:
        print(json.dumps(out))
    else:
        final = " ".join(f"{k}={v:.4f}" for k, v in results.items())
        print(f"perf: {wall:.2f} s wall ({cpu:.2f} s CPU), {out['steps']} steps, final {final}")


if __name__ == "__main__":
    main()
