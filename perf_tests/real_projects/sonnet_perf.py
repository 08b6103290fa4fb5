"""Fixed workload for google-deepmind/sonnet v2: small MLP training with Sonnet's Adam, plus an LSTM unroll.

Run from the root of a sonnet checkout (the library is imported from the current directory):
``python /path/to/perf_tests/real_projects/sonnet_perf.py [--quick]``. Prints the wall time. Many small ops per step
(Linear layers, per-variable optimizer updates, a Python loop over time steps) is where graph mode pays.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import numpy as np
import sonnet as snt
import tensorflow as tf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the workload (smoke test)")
    parser.add_argument("--hand", action="store_true",
                        help="hand placement for comparison: wrap the MLP call and the optimizer step in tf.function")
    args = parser.parse_args()
    steps = 5 if args.quick else 50
    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(32, 16)).astype(np.float32))
    y = tf.constant(rng.normal(size=(32, 4)).astype(np.float32))
    mlp = snt.nets.MLP([32, 32, 4])
    opt = snt.optimizers.Adam(learning_rate=1e-3)
    lstm = snt.LSTM(16)
    seq = tf.constant(rng.normal(size=(20, 8, 16)).astype(np.float32))  # [time, batch, features]

    forward = tf.function(mlp) if args.hand else mlp
    apply = tf.function(opt.apply) if args.hand else opt.apply

    start = time.perf_counter()
    loss = tf.constant(0.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(forward(x) - y))
        grads = tape.gradient(loss, mlp.trainable_variables)
        apply(grads, mlp.trainable_variables)
    for _ in range(max(1, steps // 10)):
        out, _ = snt.dynamic_unroll(lstm, seq, lstm.initial_state(8))
    elapsed = time.perf_counter() - start
    print(f"sonnet perf: {elapsed:.3f} s  (final loss {float(loss):.5f}, lstm out {float(tf.reduce_sum(out)):.4f})")


if __name__ == "__main__":
    main()
