import numpy as np
import tensorflow as tf

from .. import actor_critic as wl


def test_discounted_returns():
    rewards = np.array([[1.0], [0.0], [2.0]], dtype=np.float32)
    np.testing.assert_allclose(wl.discounted_returns(rewards, gamma=0.5), [[1.5], [1.0], [2.0]])


def test_ac_update_moves_the_critic_towards_the_returns():
    actor, critic, a_opt, c_opt = wl.build_agents()
    states = tf.constant(np.random.default_rng(0).normal(size=(32, wl.STATE_DIM)).astype(np.float32))
    actions = tf.zeros([32], tf.int32)
    returns = tf.ones([32])
    losses = [float(wl.ac_update(actor, critic, a_opt, c_opt, states, actions, returns)[1]) for _ in range(15)]
    assert losses[-1] < losses[0]


def test_rollout_shapes_and_rewards():
    actor, *_ = wl.build_agents()
    states, actions, rewards = wl.rollout(actor, np.random.default_rng(1), steps=3, batch=5)
    assert states.shape == (3, 5, wl.STATE_DIM) and actions.shape == (3, 5) and rewards.shape == (3, 5)
    assert set(np.unique(rewards)) <= {0.0, 1.0}
    greedy = wl.greedy_actions(actor, tf.constant(states[0])).numpy()
    assert greedy.shape == (5,) and ((greedy >= 0) & (greedy < wl.NUM_ACTIONS)).all()
