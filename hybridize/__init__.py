"""hybridize: profiler-guided tf.function placement for TensorFlow 2 programs.

The package root holds only what the stages share (function identity, the plan's schema, user
errors, project discovery) and the CLI; each stage lives in its own subpackage.
"""

__version__ = "0.1.0"
