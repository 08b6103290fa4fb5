"""Loop-body extraction (issue #17): the region found, its data flow, and the exact source before and after."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hybridize.profile_types import FunctionProfile
from hybridize.rewriter.edits import EditError
from hybridize.rewriter.extract import extract, step_name
from hybridize.static.loops import LoopCandidate, find_loops


def loops(tmp_path: Path, src: str) -> tuple[Path, list[LoopCandidate]]:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(src))
    return path, find_loops(tmp_path, path)


def at(found: list[LoopCandidate], line: int) -> LoopCandidate:
    return next(c for c in found if c.line == line)


def after(path: Path, cand: LoopCandidate, name: str | None = None) -> str:
    return extract(path.read_bytes(), cand, name).source.decode()


SCRIPT = """\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(4)])
optimizer = tf.keras.optimizers.SGD(0.1)
dataset = [(tf.ones([2, 3]), tf.zeros([2, 4]))] * 3
for epoch in range(2):
    for step, (x, y) in enumerate(dataset):
        x = tf.reshape(x, [-1, 3])
        # forward pass
        with tf.GradientTape() as tape:
            out = model(x)  # logits
            loss = tf.reduce_mean(tf.square(out - y))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if step % 100 == 0:
            print(epoch, step, float(loss))
"""


def test_script_params_returns_and_print_every_n_steps_left_in_loop(tmp_path: Path) -> None:
    path, found = loops(tmp_path, SCRIPT)
    best = found[0]
    assert (best.line, best.scope, best.depth) == (7, "<module>", 1)
    assert best.region is not None
    assert (best.region.start, best.region.end) == (8, 14)
    assert best.region.params == ["model", "optimizer", "x", "y"]
    assert best.region.returns == ["loss"]  # read by the print; grads, out, tape are not needed outside
    assert "tf" in best.region.globals
    assert [s.line for s in best.stays] == [15]
    assert "HY101" in best.stays[0].reason or "HY203" in best.stays[0].reason
    outer = at(found, 6)
    assert outer.region is None and "nested loop" in outer.refusal
    assert after(path, best) == """\
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.layers.Dense(4)])
optimizer = tf.keras.optimizers.SGD(0.1)
dataset = [(tf.ones([2, 3]), tf.zeros([2, 4]))] * 3


@tf.function
def train_step(model, optimizer, x, y):
    x = tf.reshape(x, [-1, 3])
    # forward pass
    with tf.GradientTape() as tape:
        out = model(x)  # logits
        loss = tf.reduce_mean(tf.square(out - y))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


for epoch in range(2):
    for step, (x, y) in enumerate(dataset):
        loss = train_step(model, optimizer, x, y)
        if step % 100 == 0:
            print(epoch, step, float(loss))
"""


def test_extracting_again_finds_nothing_more(tmp_path: Path) -> None:
    path, found = loops(tmp_path, SCRIPT)
    path.write_text(after(path, found[0]))
    again = find_loops(tmp_path, path)
    assert all(c.region is None for c in again)
    assert "no tensor work" in at(again, 21).refusal


def test_loop_in_function_globals_stay_globals_and_function_goes_before_it(tmp_path: Path) -> None:
    path, found = loops(tmp_path, """\
        import tensorflow as tf

        SCALE = 2.0
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])


        def loss_fn(y, p):
            return tf.reduce_mean(tf.square(y - p))


        # the training entry point
        def fit(data, opt):
            for x, y in data:
                with tf.GradientTape() as tape:
                    loss = loss_fn(y, model(x) * SCALE)
                grads = tape.gradient(loss, model.trainable_variables)
                opt.apply_gradients(zip(grads, model.trainable_variables))
            return loss
        """)
    c = found[0]
    assert c.scope == "fit" and c.region is not None
    assert c.region.params == ["opt", "x", "y"]  # locals of fit; model, SCALE, loss_fn, tf stay globals
    assert set(c.region.globals) >= {"SCALE", "loss_fn", "model", "tf"}
    assert c.region.returns == ["loss"]  # returned after the loop
    assert after(path, c) == """\
import tensorflow as tf

SCALE = 2.0
model = tf.keras.Sequential([tf.keras.layers.Dense(1)])


def loss_fn(y, p):
    return tf.reduce_mean(tf.square(y - p))


@tf.function
def train_step(opt, x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x) * SCALE)
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    return loss


# the training entry point
def fit(data, opt):
    for x, y in data:
        loss = train_step(opt, x, y)
    return loss
"""


def test_augmented_assignment_carried_stays_fresh_moves(tmp_path: Path) -> None:
    path, found = loops(tmp_path, """\
        import tensorflow as tf
        w = tf.Variable(1.0)
        total = 0.0
        for x in [1.0, 2.0]:
            loss = tf.square(w * x)
            loss += 0.1 * tf.abs(w)
            total += loss
        """)
    c = found[0]
    assert c.region is not None and (c.region.start, c.region.end) == (5, 6)
    assert [s.line for s in c.stays] == [7] and "`total`" in c.stays[0].reason
    assert c.region.params == ["w", "x"] and c.region.returns == ["loss"]
    assert after(path, c).endswith("""\
@tf.function
def train_step(w, x):
    loss = tf.square(w * x)
    loss += 0.1 * tf.abs(w)
    return loss


for x in [1.0, 2.0]:
    loss = train_step(w, x)
    total += loss
""")


def test_name_used_only_after_the_loop_is_returned(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        for x in [tf.ones([2])]:
            logits = tf.nn.relu(x)
            probs = tf.nn.softmax(logits)
        print(probs)
        """)
    assert found[0].region is not None and found[0].region.returns == ["probs"]


def test_break_inside_the_tensor_work_refuses(tmp_path: Path) -> None:
    path, found = loops(tmp_path, """\
        import tensorflow as tf
        for x in [tf.ones([2])]:
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(x)
                if loss > 10:
                    break
        """)
    c = found[0]
    assert c.region is None and "`break`" in c.refusal
    with pytest.raises(EditError, match="nothing to extract"):
        extract(path.read_bytes(), c)


def test_break_and_continue_after_the_region_stay_in_the_loop(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        while True:
            x = tf.random.normal([3])
            y = tf.reduce_sum(x * x)
            if y > 1.0:
                continue
            break
        """)
    c = found[0]
    assert c.region is not None and (c.region.start, c.region.end) == (3, 4)
    assert [s.line for s in c.stays] == [5, 7]


def test_step_counter_and_containers_stay(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        hist = []
        for i in range(10):
            lr = 0.1 / (1 + i)
            y = tf.sqrt(tf.constant(2.0))
            z = tf.square(y)
            hist.append(z)
        """)
    c = found[0]
    assert c.region is not None and (c.region.start, c.region.end) == (5, 6)
    assert "step counter `i`" in c.stays[0].reason
    assert "HY105" in c.stays[1].reason


def test_outer_loop_counter_stays(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        for epoch in range(3):
            for x in [tf.ones([2])]:
                y = tf.square(x)
                z = tf.sqrt(y) * epoch
                w = tf.sqrt(y)
                v = tf.square(w)
        """)
    c = at(found, 3)
    assert c.region is not None and (c.region.start, c.region.end) == (6, 7)
    assert "step counter `epoch`" in c.stays[0].reason


def test_global_write_in_enclosing_function_refuses(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        last = None
        def run(xs):
            global last
            for x in xs:
                y = tf.square(x)
                last = tf.sqrt(y)
        """)
    assert found[0].region is None and "`last`" in found[0].refusal


def test_name_clash_and_missing_tf_alias(tmp_path: Path) -> None:
    path, found = loops(tmp_path, """\
        import tensorflow
        train_step = 3
        for x in [1.0]:
            y = tensorflow.square(x)
            y = tensorflow.sqrt(y)
        print(y)
        """)
    out = after(path, found[0])
    assert "@tensorflow.function\ndef train_step_2(x):\n" in out
    assert "    y = train_step_2(x)\n" in out
    assert step_name("a train_step_2 train_step b") == "train_step_3"


def test_extracted_step_runs_and_gives_the_same_numbers(tmp_path: Path) -> None:
    """Run a tiny seeded training loop before and after the extraction: same losses and weights."""
    pytest.importorskip("tensorflow")
    path, found = loops(tmp_path, """\
        import tensorflow as tf

        w = tf.Variable(tf.random.stateless_normal([3, 1], seed=[1, 2]))
        b = tf.Variable(tf.zeros([1]))
        xs = tf.random.stateless_normal([8, 3], seed=[3, 4])
        ys = xs @ tf.constant([[1.0], [2.0], [3.0]])
        history = []
        for step in range(12):
            with tf.GradientTape() as tape:
                pred = xs @ w + b
                loss = tf.reduce_mean((pred - ys) ** 2)
            gw, gb = tape.gradient(loss, [w, b])
            w.assign_sub(0.05 * gw)
            b.assign_sub(0.05 * gb)
            if step % 3 == 0:
                history.append(float(loss))
        RESULT = (history, w.numpy().ravel().tolist(), float(loss))
        """)
    c = found[0]
    assert c.region is not None and c.region.returns == ["loss"]
    before_src = path.read_text()
    after_src = after(path, c)
    assert "@tf.function" in after_src
    results = []
    for src in (before_src, after_src):
        ns: dict[str, object] = {"__name__": "__main__"}
        exec(compile(src, str(path), "exec"), ns)  # our own fixture
        results.append(ns["RESULT"])
    (h0, w0, l0), (h1, w1, l1) = results  # type: ignore[misc]
    assert len(h0) == 4 and h0 == pytest.approx(h1, rel=1e-5)
    assert w0 == pytest.approx(w1, rel=1e-5) and l0 == pytest.approx(l1, rel=1e-5)
    assert h0[-1] < h0[0]  # it did train


def test_returns_follow_liveness(tmp_path: Path) -> None:
    """Returned: read later in the body, in the next step, after the loop, or by a function; not when rebound first."""
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        prev = tf.zeros([2])
        for x in [tf.ones([2])] * 3:
            a = tf.nn.relu(x + prev)
            b = tf.nn.relu(a)
            c = tf.nn.relu(b)
            d = tf.nn.relu(c)
            print(float(tf.reduce_sum(b)))
            prev = d
        a = 0
        print(a)
        def report():
            return c
        """)
    c = found[0]
    assert c.region is not None and (c.region.start, c.region.end) == (4, 7)
    # b: read after the region; c: read by report(); d: read by `prev = d`; a: rebound before its read
    assert c.region.returns == ["b", "c", "d"]
    assert c.region.params == ["prev", "x"]


def test_carried_state_read_next_step_is_returned(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        h = tf.zeros([2])
        while True:
            print(float(tf.reduce_sum(h)))
            u = tf.ones([2])
            h = tf.tanh(u)
        """)
    c = found[0]
    assert c.region is not None and c.region.returns == ["h"]


def test_model_call_moves_and_gradient_list_loop_moves(tmp_path: Path) -> None:
    """Calling a Keras model (HY311 is about decorating its `call`) and `for g in grads:` belong in the step."""
    path, found = loops(tmp_path, """\
        import tensorflow as tf
        from tensorflow import keras

        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.blocks = []
                for i in range(2):
                    self.blocks.append(keras.layers.Dense(2))

            def call(self, x):
                return self.blocks[1](self.blocks[0](x))

        net = Net()
        opt = keras.optimizers.SGD(0.1)
        for x in [tf.ones([1, 2])]:
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(net(x))
            grads = tape.gradient(loss, net.trainable_variables)
            for g in grads:
                tf.debugging.check_numerics(g, "grad")
            opt.apply_gradients(zip(grads, net.trainable_variables))
        """)
    best = found[0]
    assert best.line == 16 and best.region is not None and (best.region.start, best.region.end) == (17, 22)
    assert best.region.training and best.stays == []
    setup = at(found, 8)
    assert setup.region is None and "sets an object up" in setup.refusal
    assert "    for g in grads:\n" in after(path, best)


def test_tape_recorded_outside_the_region_keeps_its_uses_out(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        w = tf.Variable(1.0)
        for x in [1.0]:
            with tf.GradientTape() as tape:
                y = w * x
                print(float(y))
            g = tape.gradient(y, w)
            w.assign_sub(0.1 * g)
        """)
    c = found[0]
    assert c.region is None and "only line 8 could move" in c.refusal
    assert [s.line for s in c.stays] == [4, 7] and "`tape`" in c.stays[1].reason


def test_name_set_under_an_if_comes_in_and_goes_out(tmp_path: Path) -> None:
    """`best` may stay unassigned in a step: it is passed in, so the old value comes back."""
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        best = tf.constant(0.0)
        for x in [tf.ones([2])]:
            loss = tf.reduce_sum(x)
            if loss > 1:
                best = tf.identity(loss)
            ys = [tf.square(x) for x in [loss]]
        print(best, ys)
        """)
    c = found[0]
    assert c.region is not None and c.region.params == ["best", "x"]
    assert c.region.returns == ["best", "ys"]


def test_main_block_and_method_loops_are_placed_at_module_level(tmp_path: Path) -> None:
    path, found = loops(tmp_path, """\
        import tensorflow as tf


        class Trainer:
            def fit(self, data):
                for x in data:
                    out = self.model(x)
                    self.opt.minimize(lambda: tf.reduce_sum(out), self.model.trainable_variables)


        if __name__ == "__main__":
            for x in [tf.ones([2])]:
                y = tf.square(x)
                z = tf.sqrt(y)
            print(z)
        """)
    method = next(c for c in found if c.scope == "Trainer.fit")
    assert method.region is not None and method.region.params == ["self", "x"]
    out = after(path, method)
    assert out.index("def train_step(self, x):") < out.index("class Trainer:")
    assert "\n            train_step(self, x)\n" in out
    main = next(c for c in found if c.scope == "<module>")
    out = after(path, main)
    assert out.index("def train_step(x):") < out.index('if __name__ == "__main__":')
    assert "        z = train_step(x)\n" in out


def test_profile_ranks_loops_in_profiled_functions_first(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf

        def slow(xs):
            for x in xs:
                y = tf.square(x)
                z = tf.sqrt(y)

        def fast(xs):
            for x in xs:
                y = tf.square(x)
                with tf.GradientTape() as t:
                    z = tf.sqrt(y)

        for x in [1.0]:
            y = tf.square(x)
            z = tf.sqrt(y)
        """)
    assert [c.scope for c in found] == ["fast", "slow", "<module>"]  # static: the training step first
    rows = [FunctionProfile("train:slow", "train.py", 3, total_s=2.0),
            FunctionProfile("train:fast", "train.py", 8, total_s=0.5)]
    from hybridize.static.loops import rank_by_profile

    assert rank_by_profile(found, rows) == 2
    assert [(c.scope, c.time_s) for c in found] == [("slow", 2.0), ("fast", 0.5), ("<module>", None)]


def test_tf_imported_below_the_new_function_is_imported_at_the_top(tmp_path: Path) -> None:
    path, found = loops(tmp_path, """\
        \"\"\"Doc.\"\"\"
        import os

        if __name__ == "__main__":
            import tensorflow as tf
            for x in [1.0]:
                y = tf.square(x)
                z = tf.sqrt(y)
        """)
    out = after(path, found[0])
    assert out.startswith('"""Doc."""\nimport os\nimport tensorflow as tf\n')
    assert out.index("@tf.function") < out.index('if __name__ == "__main__":')


def test_keras_loops_stay_and_bookkeeping_is_not_tensor_work(tmp_path: Path) -> None:
    _, found = loops(tmp_path, """\
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(1)])
        for chunk in [tf.ones([4, 2])]:
            flat = tf.nest.flatten(chunk)
            shape = model.compute_output_shape(chunk.shape)
            model.fit(chunk, chunk, verbose=0)
            y = model(chunk)
            z = tf.reduce_sum(y)
        """)
    c = found[0]
    assert [s.line for s in c.stays] == [6] and "model.fit" in c.stays[0].reason
    assert c.region is not None and (c.region.start, c.region.end) == (7, 8)
