import numpy as np
import pytest
import tensorflow as tf
from demo_model import evaluate, model, train


@pytest.fixture(scope="module")
def trained(dataset):
    x, y = dataset
    net = model.build_model(seed=0)
    train.fit(net, model.make_optimizer(net), x, y, epochs=3, batch_size=64)
    return net


def test_count_correct():
    logits = tf.constant([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    assert int(evaluate.count_correct(logits, tf.constant([0, 1, 1]))) == 2


@pytest.mark.parametrize("batch", [64, 40, 1])
def test_eval_step_matches_numpy_for_varying_batch_sizes(trained, test_set, batch):
    x, y = test_set
    loss_sum, brier_sum, correct = evaluate.eval_step(trained, tf.constant(x[:batch]), tf.constant(y[:batch]))
    logits = trained(x[:batch]).numpy().astype(np.float64)
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    probs = np.exp(logp)
    assert float(loss_sum) == pytest.approx(-logp[np.arange(batch), y[:batch]].sum(), rel=1e-4)
    assert float(brier_sum) == pytest.approx(((probs - np.eye(4)[y[:batch]]) ** 2).sum(), rel=1e-4)
    assert int(correct) == int((logits.argmax(1) == y[:batch]).sum())


def test_evaluate_reports_all_metrics_over_a_ragged_last_batch(trained, test_set):
    x, y = test_set
    result = evaluate.evaluate(trained, x, y, batch_size=64)  # 64 + 40
    assert set(result) == {"loss", "accuracy", "brier", "ece"}
    assert all(isinstance(v, float) for v in result.values())
    assert result["accuracy"] > 0.6  # chance is 0.25
    assert 0.0 <= result["ece"] <= 1.0
    whole = evaluate.evaluate(trained, x, y, batch_size=len(x))
    assert whole["loss"] == pytest.approx(result["loss"], rel=1e-5)
    assert whole["accuracy"] == result["accuracy"]


@pytest.mark.parametrize("size", [1, 7, 16])
def test_predict_proba_rows_are_distributions(trained, test_set, size):
    x, _ = test_set
    probs = evaluate.predict_proba(trained, tf.constant(x[:size])).numpy()
    assert probs.shape == (size, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
