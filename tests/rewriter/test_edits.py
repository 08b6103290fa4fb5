"""Before/after source pairs for every edit and decorator form (pure libcst, no TensorFlow)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from hybridize.plan import Settings, TensorSpecModel
from hybridize.rewriter import edits

SIG = Settings(input_signature=[TensorSpecModel([None, 64], "float32")], reduce_retracing=True)


def _src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def run(before: str, action: str, qualname: str, settings: Settings | None = None, line: int | None = None,
        decorator: str = "") -> str:
    """Apply one edit to ``before`` and check it is idempotent; returns the new source."""
    settings = settings or Settings()
    module = cst.parse_module(before)

    def once(m: cst.Module) -> edits.EditOutcome:
        if action == "convert":
            return edits.convert(m, qualname, line, settings, decorator)
        if action == "tune":
            return edits.tune(m, qualname, line, settings, decorator)
        return edits.dehybridize(m, qualname, line)

    first = once(module)
    second = once(first.module)
    assert not second.changed, "applying an edit twice must be a no-op"
    assert second.module.code == first.module.code
    return first.module.code


# ---------------------------------------------------------------------------------------------- convert


def test_convert_plain_function_uses_existing_tf_alias() -> None:
    before = _src("""
        import tensorflow as tf


        def step(x):  # hot
            return x * 2
    """)
    after = run(before, "convert", "step")
    assert after == before.replace("def step", "@tf.function\ndef step")


def test_convert_renders_plan_settings() -> None:
    before = "import tensorflow as tf\n\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f", Settings(input_signature=[TensorSpecModel([None, 64], "float32")],
                                                  reduce_retracing=True, jit_compile=True))
    assert after == ("import tensorflow as tf\n\n@tf.function(input_signature=[tf.TensorSpec(shape=[None, 64], "
                     "dtype=tf.float32)], reduce_retracing=True, jit_compile=True)\ndef f(x):\n    return x\n")


@pytest.mark.parametrize(("imports", "decorator"), [
    ("import tensorflow\n", "@tensorflow.function(reduce_retracing=True)"),
    ("import tensorflow as T\n", "@T.function(reduce_retracing=True)"),
    ("from tensorflow import function\n", "@function(reduce_retracing=True)"),
    ("from tensorflow import function as tff\n", "@tff(reduce_retracing=True)"),
    ("import tensorflow.compat.v2 as tf\n", "@tf.function(reduce_retracing=True)"),
    ("try:\n    import tensorflow as tf\nexcept ImportError:\n    tf = None\n", "@tf.function(reduce_retracing=True)"),
])
def test_convert_uses_the_modules_own_alias(imports: str, decorator: str) -> None:
    before = imports + "\n\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f", Settings(reduce_retracing=True))
    assert after == imports + "\n\n" + decorator + "\ndef f(x):\n    return x\n"


def test_bare_function_import_is_not_enough_for_an_input_signature() -> None:
    before = "from tensorflow import function\n\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f", SIG)
    assert after == ("from tensorflow import function\nimport tensorflow as tf\n\n@tf.function(input_signature=["
                     "tf.TensorSpec(shape=[None, 64], dtype=tf.float32)], reduce_retracing=True)\ndef f(x):\n    return x\n")


def test_import_added_after_docstring_future_and_imports() -> None:
    before = _src('''
        #!/usr/bin/env python
        """Doc."""
        from __future__ import annotations

        import numpy as np  # numbers

        X = 1


        def f(x):
            return x
    ''')
    after = run(before, "convert", "f")
    assert after == before.replace("# numbers\n", "# numbers\nimport tensorflow as tf\n").replace(
        "def f", "@tf.function\ndef f")


def test_import_added_in_a_module_without_imports() -> None:
    assert run("def f(x):\n    return x\n", "convert", "f") == "import tensorflow as tf\n@tf.function\ndef f(x):\n    return x\n"


def test_import_uses_tensorflow_when_tf_is_taken() -> None:
    before = "tf = 'not tensorflow'\n\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f")
    assert after == "import tensorflow\ntf = 'not tensorflow'\n\n@tensorflow.function\ndef f(x):\n    return x\n"


@pytest.mark.parametrize("outer", ["@staticmethod", "@classmethod", "@property", "@functools.wraps(g)", "@my.custom(1)"])
def test_convert_goes_directly_above_def_below_other_decorators(outer: str) -> None:
    before = f"import tensorflow as tf\n\nclass A:\n    {outer}\n    def f(self, x):\n        return x\n"
    after = run(before, "convert", "A.f")
    assert after == before.replace("    def f", "    @tf.function\n    def f")


def test_convert_goes_above_custom_gradient() -> None:
    before = "import tensorflow as tf\n\n@deco\n# why\n@tf.custom_gradient\ndef f(x):\n    return x, None\n"
    after = run(before, "convert", "f")
    assert after == "import tensorflow as tf\n\n@deco\n# why\n@tf.function\n@tf.custom_gradient\ndef f(x):\n    return x, None\n"


def test_convert_keeps_comments_between_decorators_and_def() -> None:
    before = "import tensorflow as tf\n\n# lead\n@deco  # trailing\n\n# between\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f")
    assert after == "import tensorflow as tf\n\n# lead\n@deco  # trailing\n\n# between\n@tf.function\ndef f(x):\n    return x\n"


def test_convert_with_line_continuations_and_multiline_signature() -> None:
    before = _src("""
        import tensorflow as tf

        @deco(a, \\
              b)
        def f(x,
              y):  # comment
            return x + \\
                y
    """)
    after = run(before, "convert", "f")
    assert after == before.replace("def f", "@tf.function\ndef f")


def test_convert_crlf_tabs_non_ascii_and_no_final_newline() -> None:
    before = "import tensorflow as tf\r\n\r\nclass Modèle:\r\n\tdef étape(self, x):\r\n\t\treturn x + 'é'"
    after = run(before, "convert", "Modèle.étape", Settings(jit_compile=True))
    assert after == ("import tensorflow as tf\r\n\r\nclass Modèle:\r\n\t@tf.function(jit_compile=True)\r\n"
                     "\tdef étape(self, x):\r\n\t\treturn x + 'é'")


def test_convert_latin1_file_round_trips_its_encoding() -> None:
    before = "# -*- coding: latin-1 -*-\nimport tensorflow as tf\ns = 'café'\ndef f(x):\n    return x\n".encode("latin-1")
    module = cst.parse_module(before)
    out = edits.convert(module, "f", None, Settings())
    assert out.module.bytes == before.replace(b"def f", b"@tf.function\ndef f")


def test_convert_nested_and_local_functions() -> None:
    before = _src("""
        import tensorflow as tf

        class A:
            class B:
                def m(self, x):
                    return x

        def outer():
            def inner(x):
                return x
            return inner
    """)
    after = run(run(before, "convert", "A.B.m"), "convert", "outer.<locals>.inner")
    assert after == before.replace("        def m", "        @tf.function\n        def m").replace(
        "    def inner", "    @tf.function\n    def inner")


def test_convert_on_an_existing_tf_function_tunes_it() -> None:
    before = "import tensorflow as tf\n\n@tf.function\ndef f(x):\n    return x\n"
    assert run(before, "convert", "f") == before
    assert run(before, "convert", "f", Settings(reduce_retracing=True)) == before.replace(
        "@tf.function", "@tf.function(reduce_retracing=True)")


def test_convert_next_to_a_differently_named_wrapper_still_decorates() -> None:
    before = "import tensorflow as tf\n\ndef f(x):\n    return x\nfast = tf.function(f)\n"
    assert run(before, "convert", "f") == before.replace("def f", "@tf.function\ndef f")
    rebound = "import tensorflow as tf\n\ndef f(x):\n    return x\nf = tf.function(f)\n"
    assert run(rebound, "convert", "f", Settings(jit_compile=True)) == rebound.replace("(f)", "(f, jit_compile=True)")


def test_dehybridize_two_rebindings_in_one_block() -> None:
    before = "import tensorflow as tf\n\ndef f(x):\n    return x\nf = tf.function(f)\nf = tf.function(f)\nX = 1\n"
    assert run(before, "dehybridize", "f") == "import tensorflow as tf\n\ndef f(x):\n    return x\nX = 1\n"


def test_convert_from_decorator_text_when_settings_are_empty() -> None:
    before = "import tensorflow as T\n\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f", decorator="@tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])")
    # Regenerated from the settings read out of the text, never copied from it.
    assert after == before.replace("def f", "@T.function(input_signature=[T.TensorSpec(shape=[None], dtype=T.int32)])\ndef f")


def test_line_picks_among_same_qualname_definitions() -> None:
    before = _src("""
        import tensorflow as tf

        class A:
            @property
            def v(self):
                return 1

            @v.setter
            def v(self, x):
                pass
    """)
    after = run(before, "convert", "A.v", line=10)
    assert after == before.replace("    def v(self, x)", "    @tf.function\n    def v(self, x)")
    with pytest.raises(edits.EditError) as err:
        run(before, "convert", "A.v", line=None)
    assert err.value.code == "function-ambiguous"


# ---------------------------------------------------------------------------------------------- tune


@pytest.mark.parametrize(("dec", "want"), [
    ("@tf.function", "@tf.function(reduce_retracing=True)"),
    ("@tf.function()", "@tf.function(reduce_retracing=True)"),
    ("@tf.function(experimental_relax_shapes=True)", "@tf.function(reduce_retracing=True)"),
    ("@tf.function(experimental_relax_shapes=False)", "@tf.function(reduce_retracing=True)"),
    ("@tf.function(jit_compile=True)", "@tf.function(jit_compile=True, reduce_retracing=True)"),
    ("@tf.function(autograph=False,  reduce_retracing=False)", "@tf.function(autograph=False,  reduce_retracing=True)"),
    ("@tensorflow.function", "@tensorflow.function(reduce_retracing=True)"),
])
def test_tune_decorator_forms(dec: str, want: str) -> None:
    before = f"import tensorflow as tf\nimport tensorflow\n\n{dec}\ndef f(x):\n    return x\n"
    assert run(before, "tune", "f", Settings(reduce_retracing=True)) == before.replace(dec, want)


def test_tune_renames_deprecated_keywords_even_without_settings() -> None:
    before = ("import tensorflow as tf\n\n@tf.function(experimental_relax_shapes=True, experimental_compile=True)\n"
              "def f(x):\n    return x\n")
    assert run(before, "tune", "f") == before.replace("experimental_relax_shapes", "reduce_retracing").replace(
        "experimental_compile", "jit_compile")


def test_tune_multiline_decorator_with_trailing_comma_keeps_layout() -> None:
    before = _src("""
        import tensorflow as tf

        @tf.function(
            jit_compile=True,  # xla
        )
        def f(x):
            return x
    """)
    after = run(before, "tune", "f", SIG)
    assert after == _src("""
        import tensorflow as tf

        @tf.function(
            jit_compile=True,  # xla
            input_signature=[tf.TensorSpec(shape=[None, 64], dtype=tf.float32)],
            reduce_retracing=True,
        )
        def f(x):
            return x
    """)


@pytest.mark.parametrize(("form", "want"), [
    ("f = tf.function(f)", "f = tf.function(f, jit_compile=True)"),
    ("f = tf.function(f, experimental_relax_shapes=True)", "f = tf.function(f, reduce_retracing=True, jit_compile=True)"),
    ("g = tf.function(func=f)", "g = tf.function(func=f, jit_compile=True)"),
])
def test_tune_call_forms(form: str, want: str) -> None:
    before = f"import tensorflow as tf\n\ndef f(x):\n    return x\n{form}\n"
    assert run(before, "tune", "f", Settings(jit_compile=True)) == before.replace(form, want)


def test_tune_method_wrapped_in_init() -> None:
    before = _src("""
        import tensorflow as tf

        class M:
            def __init__(self):
                self.fast = tf.function(self.step)

            def step(self, x):
                return x
    """)
    after = run(before, "tune", "M.step", Settings(reduce_retracing=True))
    assert after == before.replace("tf.function(self.step)", "tf.function(self.step, reduce_retracing=True)")


def test_tune_refuses_a_plain_function() -> None:
    with pytest.raises(edits.EditError) as err:
        run("import tensorflow as tf\ndef f(x):\n    return x\n", "tune", "f", Settings(jit_compile=True))
    assert err.value.code == "not-hybrid"


# ---------------------------------------------------------------------------------------------- dehybridize


@pytest.mark.parametrize("dec", [
    "@tf.function\n",
    "@tf.function(reduce_retracing=True)\n",
    "@tf.function(\n    input_signature=[\n        tf.TensorSpec([None], tf.float32),  # x\n    ],\n)\n",
    "@tf.function  # fast\n",
    "@ tf . function\n",
])
def test_dehybridize_decorator_forms(dec: str) -> None:
    before = f"import tensorflow as tf\n\n# doc comment\n@other\n{dec}def f(x):\n    return x\n"
    assert run(before, "dehybridize", "f") == "import tensorflow as tf\n\n# doc comment\n@other\ndef f(x):\n    return x\n"


def test_dehybridize_keeps_comments_around_the_removed_decorator() -> None:
    before = "import tensorflow as tf\n\n@a\n# one\n@tf.function\n# two\n@b\ndef f(x):\n    return x\n"
    assert run(before, "dehybridize", "f") == "import tensorflow as tf\n\n@a\n# one\n# two\n@b\ndef f(x):\n    return x\n"


def test_dehybridize_removes_same_name_call_and_unwraps_others() -> None:
    before = _src("""
        import tensorflow as tf

        def f(x):
            return x

        # compile it
        f = tf.function(f)
        g = tf.function(f, jit_compile=True)

        X = 1
    """)
    after = run(before, "dehybridize", "f")
    assert after == _src("""
        import tensorflow as tf

        def f(x):
            return x
        # compile it
        g = f

        X = 1
    """)


def test_dehybridize_does_not_touch_plain_functions_or_imports() -> None:
    before = "import tensorflow as tf\n\ndef f(x):\n    return x\n"
    out = edits.dehybridize(cst.parse_module(before), "f", None)
    assert not out.changed and out.module.code == before


def test_dehybridize_inverts_convert() -> None:
    before = _src("""
        import tensorflow as tf

        class A:
            @staticmethod
            # why
            def f(x):
                return x
    """)
    converted = run(before, "convert", "A.f", SIG)
    assert converted != before
    assert run(converted, "dehybridize", "A.f") == before


# ---------------------------------------------------------------------------------------------- refusals


def test_missing_and_async_functions_are_refused() -> None:
    src = "import tensorflow as tf\nasync def f(x):\n    return x\n"
    with pytest.raises(edits.EditError) as err:
        run(src, "convert", "g")
    assert err.value.code == "function-missing"
    with pytest.raises(edits.EditError) as err:
        run(src, "convert", "f")
    assert err.value.code == "async"


def test_find_functions_reports_def_lines_and_qualnames() -> None:
    src = ("import x\n\n@a\n@b\ndef f():\n    def g():\n        pass\n"
           "class C:\n    if x:\n        def m(self):\n            pass\n")
    sites = {(s.qualname, s.line) for s in edits.find_functions(cst.parse_module(src))}
    assert sites == {("f", 5), ("f.<locals>.g", 6), ("C.m", 10)}


def test_convert_keeps_a_utf8_bom() -> None:
    before = "\ufeffimport tensorflow as tf\ndef f(x):\n    return 'ß'\n".encode("utf-8")
    out = edits.convert(cst.parse_module(before), "f", None, Settings())
    assert out.module.bytes == before.replace(b"def f", b"@tf.function\ndef f")


def test_lambda_targets_are_refused_with_a_reason() -> None:
    with pytest.raises(edits.EditError, match="lambda"):
        run("import tensorflow as tf\nf = lambda x: x\n", "convert", "<lambda>")


def test_new_syntax_match_type_alias_and_generics() -> None:
    before = ("import tensorflow as tf\ntype X = int\nmatch v:\n    case 1:\n        def g(x):\n            return x\n"
              "def f[T](x: T) -> T:\n    return x\n")
    after = run(before, "convert", "f")
    assert after == before.replace("def f[T]", "@tf.function\ndef f[T]")
    assert run(before, "convert", "g") == before.replace("        def g", "        @tf.function\n        def g")


def test_type_checking_imports_do_not_count() -> None:
    before = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import tensorflow as tf\n\ndef f(x):\n    return x\n"
    after = run(before, "convert", "f")
    assert after == before.replace("TYPE_CHECKING\nif", "TYPE_CHECKING\nimport tensorflow as tf\nif").replace(
        "def f", "@tf.function\ndef f")
