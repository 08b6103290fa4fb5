import subprocess
import sys
from pathlib import Path

import tensorflow as tf

from .. import train_script as wl


def test_train_step_learns_a_fixed_batch():
    x, y = wl.make_data(128)
    params = wl.make_params()
    xb, yb, lr = tf.constant(x[:64]), tf.constant(y[:64]), tf.constant(0.05)
    losses = [float(wl.train_step(params, xb, yb, lr)) for _ in range(20)]
    assert losses[-1] < 0.8 * losses[0]


def test_evaluate_is_an_accuracy():
    x, y = wl.make_data(64)
    acc = float(wl.evaluate(wl.make_params(), tf.constant(x), tf.constant(y)))
    assert 0.0 <= acc <= 1.0


def test_bench_quick_improves_loss():
    result = wl.bench_train_script(quick=True)
    assert result["outputs"]["final_loss"] < result["outputs"]["first_loss"]


def test_the_script_runs_its_module_level_loop():
    script = Path(wl.__file__)
    proc = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert '"accuracy"' in proc.stdout.splitlines()[-1]
