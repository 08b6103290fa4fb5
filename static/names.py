"""The names the rules recognise: library APIs by family, naming conventions, and method names.

Tables only (no logic beyond one predicate over them), so that teaching the checker a new library call means
editing one line here. Dotted names are canonical (``tensorflow.``, ``numpy.``), as ``ModuleInfo.resolve_dotted``
produces them.
"""

from __future__ import annotations

import builtins
import re

BUILTINS = set(dir(builtins))
AMBIGUOUS_MUTATORS = {"update", "add", "pop", "clear", "remove", "discard"}
MUTATORS = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "add", "discard",
            "popitem", "sort", "reverse", "appendleft", "extendleft", "popleft", "__setitem__", "__delitem__"}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "vlog"}
HOST_READS = {"item", "tolist"}
# Libraries whose calls we treat as graph-compatible (or handle with specific rules) without saying so each time.
KNOWN_LIBS = {"tensorflow", "keras", "tf_keras", "numpy", "math", "functools", "itertools", "collections", "typing",
              "dataclasses", "abc", "enum", "operator", "contextlib", "copy", "types", "string", "re", "tree",
              "six", "inspect", "warnings", "logging", "absl", "os", "sys", "time", "random", "datetime", "json",
              "pickle", "shutil", "subprocess", "io", "pathlib", "socket", "requests", "urllib", "http", "sonnet",
              "typing_extensions", "numbers", "weakref", "textwrap", "builtins", "__future__", "attr", "attrs"}
IO_EXACT = {"pickle.dump", "pickle.load", "json.dump", "json.load", "marshal.dump", "marshal.load"}
IO_PREFIXES = ("os.", "shutil.", "subprocess.", "io.open", "numpy.save", "numpy.load",
               "numpy.savetxt", "numpy.loadtxt", "sys.stdout.", "sys.stderr.",
               "sys.stdin.", "imageio.", "PIL.Image.open", "matplotlib.pyplot.savefig", "matplotlib.pyplot.show",
               "matplotlib.pyplot.imsave", "cv2.imread", "cv2.imwrite", "h5py.File", "csv.writer", "csv.reader",
               "glob.glob", "tempfile.")
IO_SAFE = ("os.path.", "os.getenv", "os.environ.get", "os.sep", "os.fspath", "os.cpu_count", "os.getcwd", "os.environ")
IO_PATH_METHODS = {"write_text", "write_bytes", "read_text", "read_bytes", "mkdir", "unlink", "touch", "rmdir",
                   "rename", "write", "writelines", "readline", "readlines", "flush"}
NET_PREFIXES = ("requests.", "urllib.request.", "urllib3.", "socket.", "http.client.", "httpx.", "aiohttp.")
RANDOM_PREFIXES = ("random.", "numpy.random.")
TIME_NAMES = {"time.time", "time.perf_counter", "time.monotonic", "time.process_time", "time.sleep", "time.time_ns",
              "time.perf_counter_ns", "time.monotonic_ns", "datetime.datetime.now", "datetime.datetime.utcnow",
              "datetime.date.today", "datetime.datetime.today", "timeit.default_timer"}
HOST_READ_NAMES = {"keras.backend.get_value", "tensorflow.keras.backend.get_value", "tensorflow.keras.backend.eval",
                   "keras.backend.eval", "keras.ops.convert_to_numpy", "tf_keras.backend.get_value"}
VARIABLE_CTORS = {"tensorflow.Variable", "keras.Variable", "tensorflow.keras.Variable", "tensorflow.compat.v1.Variable",
                  "tensorflow.compat.v1.get_variable", "keras.backend.variable", "tensorflow.keras.backend.variable"}
KERAS_PREFIXES = ("tensorflow.keras.layers.", "keras.layers.", "tf_keras.layers.", "tensorflow.keras.optimizers.",
                  "keras.optimizers.", "tf_keras.optimizers.", "tensorflow.keras.models.", "keras.models.",
                  "tf_keras.models.")
KERAS_NAMES = {"tensorflow.keras.Sequential", "keras.Sequential", "tensorflow.keras.Model", "keras.Model",
               "tf_keras.Sequential", "tf_keras.Model", "tensorflow.Module", "sonnet.Module"}
NON_TENSOR_TF = {"tensorflow.executing_eagerly", "tensorflow.is_tensor", "tensorflow.TensorShape", "tensorflow.as_dtype",
                 "tensorflow.get_static_value", "tensorflow.name_scope", "tensorflow.device", "tensorflow.TensorSpec",
                 "tensorflow.get_logger", "tensorflow.config", "tensorflow.nest", "tensorflow.GradientTape",
                 "tensorflow.distribute", "tensorflow.summary", "tensorflow.debugging", "tensorflow.print",
                 "tensorflow.function", "tensorflow.keras", "tensorflow.data", "tensorflow.dtypes", "tensorflow.Module"}
TENSOR_NAMES = {"x", "inputs", "input", "tensor", "images", "image", "logits", "labels", "y_true", "y_pred",
                "features", "inputs_", "input_tensor", "seed_input", "batch_x", "batch_y", "x_batch", "y_batch"}
SPECULATIVE = re.compile(r"^(.*(train|test).*_step|call|__call__|run_model|.*inference)$")
MODEL_BASE = re.compile(r"(Model|Layer|Module)$")
# Parameter names that conventionally hold Python values (sizes, shapes, counts): NumPy on them is fine in a graph.
PY_VALUE_NAME = re.compile(r"^(shape|\w+_shape|size|\w+_size|length|\w+_len|n|num_\w+|n_\w+|\w*count|dims?|axis|axes|"
                           r"rank|depth|steps?|k|units|dtype|seed|name)$")
# Callables named like these (or annotated as Keras / tf.Module types) are assumed to be layers or models: calling
# them is graph-compatible by the library's design, so they are an assumption rather than an unresolved call.
LAYERISH = re.compile(r"(^|_)(model|layer|net|network|block|encoder|decoder|module|head|cell|backbone|mlp|"
                      r"classifier|discriminator|generator|dense|conv|rnn|lstm|gru|embedding|attention|init|initializer|initialiser|"
                      r"activation|regularizer|constraint|loss|metric|optimizer|core|linear|norm|mod)s?(_?\d+)?$",
                      re.IGNORECASE)
LAYERISH_ANNOTATION = re.compile(r"Model|Layer|Module|keras|Sequential")
RNG_CTORS = ("default_rng", "RandomState", "Random", "Generator", "SeedSequence", "PCG64", "Philox", "SFC64",
             "MT19937", "BitGenerator", "SystemRandom")
CONSTRUCTOR_NAMES = {"__init__", "__new__", "__post_init__", "__init_subclass__", "__setstate__"}
CONTAINER_ANNOTATION = re.compile(r"^(typing\.)?(Sequence|List|list|Tuple|tuple|Dict|dict|Iterable|Mapping|Set|set|"
                                  r"Collection|Iterator)\b")
NOT_TENSOR_NAME = re.compile(r"(^|_)(shape|shapes|size|sizes|dims?|axis|axes|dtype|name|rank|ndims|perm)$")
BUILD_NAME = re.compile(r"^_?build$|_build$|^build_from_config$|^_?(create|init|make)_(variables|weights|slots|state)$")
GUARD_NAMES = {"__init__", "_initialize", "initialize", "_create_slots", "_create_slot"}  # + BUILD_NAME for methods
CONTAINER_CTORS = {"list", "dict", "set", "deque", "OrderedDict", "defaultdict", "Counter", "collections.deque",
                   "collections.OrderedDict", "collections.defaultdict", "collections.Counter"}
SETUP_METHODS = {"__init__", "__new__", "__post_init__", "__init_subclass__", "__setattr__", "__delattr__",
                 "__set_name__", "__del__"}
PLAIN_MODULES = {"tensorflow.Module", "sonnet.Module"}
VARIABLE_METHODS = {"add_weight", "add_variable", "add_slot", "Variable", "get_variable"}


def is_keras_class(dotted: str) -> bool:
    """A Keras layer / model / optimizer class (not a plain ``tf.Module``): subclasses build variables lazily."""
    return dotted.startswith(KERAS_PREFIXES) or (dotted in KERAS_NAMES and dotted not in PLAIN_MODULES)
