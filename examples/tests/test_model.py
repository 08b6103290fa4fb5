import numpy as np
from demo_model import model


def test_model_is_built_and_deterministic():
    a, b = model.build_model(seed=5), model.build_model(seed=5)
    x = np.ones((3, 32), dtype=np.float32)
    assert a(x).shape == (3, 4)
    np.testing.assert_allclose(a(x).numpy(), b(x).numpy())
    assert len(a.trainable_variables) == 6


def test_optimizer_variables_exist_before_training():
    net = model.build_model()
    opt = model.make_optimizer(net)
    assert opt.built and len(opt.variables) > len(net.trainable_variables)
