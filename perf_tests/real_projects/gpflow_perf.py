"""Fixed workload for GPflow 2: fit a sparse variational GP (SVGP) with Adam, then predict.

Run from the root of a GPflow checkout: ``python /path/to/perf_tests/real_projects/gpflow_perf.py [--quick]``.
Prints the wall time. Each training step runs the ELBO (kernel matrices, Cholesky, KL, likelihood expectations):
many small ops, the usual reason GPflow users wrap the loss in tf.function by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import gpflow
import numpy as np
import tensorflow as tf
from gpflow.keras import tf_keras


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the workload (smoke test)")
    parser.add_argument("--hand", action="store_true",
                        help="hand placement for comparison: wrap model.training_loss in tf.function")
    parser.add_argument("--steps", type=int, default=None, help="number of Adam steps (default 10, --quick 2)")
    args = parser.parse_args()
    steps = args.steps or (2 if args.quick else 10)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, size=(200, 1))
    y = np.sin(x) + 0.1 * rng.normal(size=x.shape)
    z = np.linspace(0, 10, 20)[:, None]
    model = gpflow.models.SVGP(gpflow.kernels.SquaredExponential(), gpflow.likelihoods.Gaussian(), z, num_data=200)
    opt = tf_keras.optimizers.Adam(0.01)
    data = (tf.constant(x), tf.constant(y))
    training_loss = tf.function(model.training_loss) if args.hand else model.training_loss

    start = time.perf_counter()
    loss = training_loss(data)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = training_loss(data)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    mean, _ = model.predict_f(tf.constant(np.linspace(0, 10, 50)[:, None]))
    elapsed = time.perf_counter() - start
    print(f"gpflow perf: {elapsed:.3f} s  (loss {float(loss):.4f}, mean sum {float(tf.reduce_sum(mean)):.4f})")


if __name__ == "__main__":
    main()
