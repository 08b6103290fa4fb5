"""demo_model: a small eager TensorFlow 2 / Keras 3 classifier library (synthetic data, custom training loop).

Written in plain eager style on purpose: it is the subject hybridize profiles, measures and rewrites.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
