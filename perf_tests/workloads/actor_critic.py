"""Workload: an advantage actor-critic update with two Keras models, on a toy NumPy environment."""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np
import tensorflow as tf

STATE_DIM = 8
NUM_ACTIONS = 4


def build_agents(seed: int = 0) -> tuple[keras.Model, keras.Model, keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
    """Actor (action logits) and critic (state value), each with its own built Adam optimizer."""
    keras.utils.set_random_seed(seed)
    actor = keras.Sequential([keras.Input((STATE_DIM,)), keras.layers.Dense(64, activation="tanh"),
                              keras.layers.Dense(NUM_ACTIONS)])
    critic = keras.Sequential([keras.Input((STATE_DIM,)), keras.layers.Dense(64, activation="tanh"), keras.layers.Dense(1)])
    actor_opt, critic_opt = keras.optimizers.Adam(3e-3), keras.optimizers.Adam(1e-2)
    actor_opt.build(actor.trainable_variables)
    critic_opt.build(critic.trainable_variables)
    return actor, critic, actor_opt, critic_opt


def discounted_returns(rewards: np.ndarray, gamma: float = 0.95) -> np.ndarray:
    """Reward-to-go along the time axis of a [time, batch] NumPy array."""
    out = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1], dtype=rewards.dtype)
    for t in range(len(rewards) - 1, -1, -1):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def ac_update(actor: keras.Model, critic: keras.Model, actor_opt: keras.optimizers.Optimizer,
              critic_opt: keras.optimizers.Optimizer, states: tf.Tensor, actions: tf.Tensor,
              returns: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """One A2C update: critic regression to the returns, policy gradient with the advantage and an entropy bonus."""
    with tf.GradientTape() as critic_tape:
        values = tf.squeeze(critic(states), axis=1)
        critic_loss = tf.reduce_mean(tf.square(returns - values))
    critic_opt.apply(critic_tape.gradient(critic_loss, critic.trainable_variables), critic.trainable_variables)
    advantage = tf.stop_gradient(returns - values)
    with tf.GradientTape() as actor_tape:
        logits = actor(states)
        logp = tf.nn.log_softmax(logits)
        chosen = tf.gather(logp, actions, batch_dims=1)
        entropy = -tf.reduce_sum(tf.exp(logp) * logp, axis=1)
        actor_loss = -tf.reduce_mean(chosen * advantage + 0.01 * entropy)
    actor_opt.apply(actor_tape.gradient(actor_loss, actor.trainable_variables), actor.trainable_variables)
    return actor_loss, critic_loss


def greedy_actions(actor: keras.Model, states: tf.Tensor) -> tf.Tensor:
    """The most likely action per state (deterministic, so eager and graph runs agree)."""
    return tf.argmax(actor(states), axis=1, output_type=tf.int32)


def rollout(actor: keras.Model, rng: np.random.Generator, steps: int = 16, batch: int = 32) -> tuple[np.ndarray, ...]:
    """A toy environment in NumPy: reward 1 when the action matches the sign pattern of the state (stays eager)."""
    states = rng.normal(size=(steps, batch, STATE_DIM)).astype(np.float32)
    target = (states[..., 0] > 0).astype(np.int32) + 2 * (states[..., 1] > 0).astype(np.int32)
    actions = np.stack([greedy_actions(actor, tf.constant(s)).numpy() for s in states])
    explore = rng.random(actions.shape) < 0.3
    actions = np.where(explore, rng.integers(0, NUM_ACTIONS, size=actions.shape), actions).astype(np.int32)
    rewards = (actions == target).astype(np.float32)
    return states, actions, rewards


ORACLE: dict[str, dict[str, Any]] = {
    "ac_update": {"action": "convert", "settings": {}, "why": "two forward/backward passes and two optimizer updates per call"},
    "greedy_actions": {"action": "convert", "settings": {}, "why": "Keras forward pass called once per time step; fixed batch"},
    "discounted_returns": {"action": "keep", "settings": {}, "unsafe": True, "why": "NumPy code, no tensors"},
    "rollout": {"action": "keep", "settings": {}, "unsafe": True, "why": "NumPy environment, Python random generator, .numpy()"},
}


def bench_actor_critic(quick: bool = False) -> dict[str, Any]:
    """4 iterations (quick: 2) of an 8-step rollout + update; outputs: final losses and mean reward."""
    actor, critic, actor_opt, critic_opt = build_agents()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    rewards_seen = []
    for _ in range(2 if quick else 4):
        states, actions, rewards = rollout(actor, rng, steps=8)
        returns = discounted_returns(rewards)
        for t in range(len(states)):
            a_loss, c_loss = ac_update(actor, critic, actor_opt, critic_opt, tf.constant(states[t]),
                                       tf.constant(actions[t]), tf.constant(returns[t]))
        rewards_seen.append(rewards.mean())
    wall = time.perf_counter() - start
    return {"wall_s": wall, "outputs": {"actor_loss": float(a_loss), "critic_loss": float(c_loss),
                                        "mean_reward": float(np.mean(rewards_seen))}}
