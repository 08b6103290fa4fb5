"""Fixed workload for keisen/tf-keras-vis: SmoothGrad saliency maps of a small CNN, image after image.

Run from the root of a tf-keras-vis checkout: ``python /path/to/perf_tests/real_projects/tf_keras_vis_perf.py
[--quick]``. Prints the wall time. The model and data are built here (our own code); only the library is theirs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import numpy as np
import tensorflow as tf
from tf_keras_vis.saliency import Saliency
from tf_keras_vis.utils.scores import CategoricalScore


def build_model() -> tf.keras.Model:
    """A small image classifier: two convolutions, pooling, a dense head."""
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16, 16, 3))
    x = tf.keras.layers.Conv2D(8, 3, activation="relu")(inputs)
    x = tf.keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    outputs = tf.keras.layers.Dense(4, activation="softmax")(x)
    return tf.keras.Model(inputs, outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the workload (smoke test)")
    parser.add_argument("--images", type=int, default=None, help="number of image pairs (default 10, --quick 2)")
    args = parser.parse_args()
    images = args.images or (2 if args.quick else 10)
    rng = np.random.default_rng(0)
    batch = rng.uniform(size=(images, 2, 16, 16, 3)).astype(np.float32)
    saliency = Saliency(build_model())
    score = CategoricalScore(1)

    start = time.perf_counter()
    total = 0.0
    for i in range(images):
        maps = saliency(score, batch[i], smooth_samples=4, smooth_noise=0.1)
        total += float(np.sum(maps))
    elapsed = time.perf_counter() - start
    print(f"tf-keras-vis perf: {elapsed:.3f} s  (checksum {total:.4f})")


if __name__ == "__main__":
    main()
