"""Public tests for the optimizers assignment: run them locally while you work.

They check each update rule on one or two steps computed by hand, the
step-count convention of the schedules, and your torch optimizers against
torch.optim's. Passing them is a good sign, not a guarantee: the hidden tests
run long trajectories on hard functions, carry state between calls, use
float32, parameter groups, checkpoints, and more edge cases.
"""
import math

import numpy as np
import pytest
import torch

from autograder import assert_close, call_pure, load_helpers, points

pytestmark = pytest.mark.public


# ------------------------------------------------------------------ SGD family


@points(1)
def test_sgd_hand_computed(submission):
    next_w, config = submission.sgd(np.array([1.0, 2.0]), np.array([0.5, -1.0]), {"learning_rate": 0.1})
    assert_close(next_w, np.array([0.95, 2.1]), what="next_w = w - 0.1 * dw")
    assert config["learning_rate"] == 0.1, "config must keep the learning rate"


@points(1)
def test_sgd_does_not_modify_w(submission):
    w, dw = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0])
    next_w, _ = call_pure(submission.sgd, w, dw, {"learning_rate": 0.5})
    assert_close(next_w, np.array([0.5, 1.5, 2.5]), what="next_w")


@points(1)
def test_sgd_momentum_two_steps(submission):
    # v = 0.9 * 0 - 0.1 * 1 = -0.1, w = 1 - 0.1 = 0.9;  v = 0.9 * -0.1 - 0.1 = -0.19, w = 0.71
    w, config = submission.sgd_momentum(np.array([1.0]), np.array([1.0]), {"learning_rate": 0.1, "momentum": 0.9})
    assert_close(w, np.array([0.9]), what="w after step 1")
    assert_close(config["velocity"], np.array([-0.1]), what="velocity after step 1 (v points downhill)")
    w, config = submission.sgd_momentum(w, np.array([1.0]), config)
    assert_close(w, np.array([0.71]), what="w after step 2")
    assert_close(config["velocity"], np.array([-0.19]), what="velocity after step 2")


@points(1)
def test_nesterov_momentum_two_steps(submission):
    # v = -0.1, w = 1 + 0.9 * -0.1 - 0.1 = 0.81;  v = -0.19, w = 0.81 + 0.9 * -0.19 - 0.1 = 0.539
    w, config = submission.nesterov_momentum(np.array([1.0]), np.array([1.0]),
                                             {"learning_rate": 0.1, "momentum": 0.9})
    assert_close(w, np.array([0.81]), what="w after step 1")
    w, config = submission.nesterov_momentum(w, np.array([1.0]), config)
    assert_close(w, np.array([0.539]), what="w after step 2")
    assert_close(config["velocity"], np.array([-0.19]), what="velocity after step 2")


# ------------------------------------------------------- adaptive learning rates


@points(1)
def test_adagrad_accumulates_squared_gradients(submission):
    # cache = 9, w = 1 - 0.1 * 3 / 3 = 0.9;  cache = 9 + 16 = 25, w = 0.9 - 0.1 * 4 / 5 = 0.82
    config = {"learning_rate": 0.1, "epsilon": 0.0}
    w, config = submission.adagrad(np.array([1.0]), np.array([3.0]), config)
    assert_close(w, np.array([0.9]), what="w after step 1")
    w, config = submission.adagrad(w, np.array([4.0]), config)
    assert_close(config["cache"], np.array([25.0]), what="cache after step 2 (a sum, not the last gradient)")
    assert_close(w, np.array([0.82]), what="w after step 2")


@points(1)
def test_rmsprop_epsilon_outside_the_root(submission):
    # cache = 0.9 * 1 + 0.1 * 4 = 1.3;  w = 0 - 0.1 * 2 / (sqrt(1.3) + 0.1)
    config = {"learning_rate": 0.1, "decay_rate": 0.9, "epsilon": 0.1, "cache": np.array([1.0])}
    w, config = submission.rmsprop(np.array([0.0]), np.array([2.0]), config)
    assert_close(config["cache"], np.array([1.3]), what="cache = decay_rate * cache + (1 - decay_rate) * dw**2")
    assert_close(w, np.array([-0.2 / (math.sqrt(1.3) + 0.1)]), what="w (epsilon added to sqrt(cache))")


@points(1)
def test_adam_two_steps_with_bias_correction(submission):
    config = {"learning_rate": 1.0, "beta1": 0.5, "beta2": 0.5, "epsilon": 0.0}
    # t = 1: m = 0.5, v = 0.5, m_hat = 0.5 / 0.5 = 1, v_hat = 1: w = 2 - 1 = 1
    w, config = submission.adam(np.array([2.0]), np.array([1.0]), config)
    assert_close(w, np.array([1.0]), what="w after step 1")
    assert config["t"] == 1, f"t counts the updates made, so it is 1 after the first one, got {config['t']}"
    # t = 2: m = 0.25 + 1.5 = 1.75, v = 0.25 + 4.5 = 4.75, m_hat = 1.75 / 0.75, v_hat = 4.75 / 0.75
    w, config = submission.adam(w, np.array([3.0]), config)
    assert_close(config["m"], np.array([1.75]), what="m after step 2")
    assert_close(config["v"], np.array([4.75]), what="v after step 2")
    assert_close(w, np.array([1.0 - (1.75 / 0.75) / math.sqrt(4.75 / 0.75)]), what="w after step 2")


@points(1)
def test_adam_first_step_is_about_the_learning_rate(submission):
    # With bias correction, step 1 moves each weight by lr * dw / (|dw| + eps), whatever |dw| is.
    w, dw = np.array([1.0, -2.0, 3.0]), np.array([0.5, -40.0, 1e-3])
    next_w, _ = submission.adam(w, dw, {"learning_rate": 0.01})
    assert_close(next_w, w - 0.01 * dw / (np.abs(dw) + 1e-8), what="w after step 1")


@points(1)
def test_adamw_decays_the_weights_directly(submission):
    # dw = 0: Adam's own step is 0, and only the decoupled decay acts: w * (1 - lr * weight_decay).
    w = np.array([2.0, -4.0])
    next_w, _ = submission.adamw(w, np.zeros(2), {"learning_rate": 0.1, "weight_decay": 0.5})
    assert_close(next_w, w * (1 - 0.1 * 0.5), what="w after one step with dw = 0")


# ------------------------------------------------------------------ schedules


@points(1)
def test_schedules_step_zero_is_the_first_step(submission):
    assert_close(submission.step_decay(0, 0.1, 10, 0.5), 0.1, what="step_decay at step 0")
    assert_close(submission.step_decay(9, 0.1, 10, 0.5), 0.1, what="step_decay at step 9")
    assert_close(submission.step_decay(10, 0.1, 10, 0.5), 0.05, what="step_decay at step 10")
    assert_close(submission.exponential_decay(0, 0.1, 0.9), 0.1, what="exponential_decay at step 0")
    assert_close(submission.exponential_decay(2, 0.1, 0.9), 0.081, what="exponential_decay at step 2")


@points(1)
def test_cosine_decay_known_values(submission):
    assert_close(submission.cosine_decay(0, 1.0, 100), 1.0, what="cosine_decay at step 0")
    assert_close(submission.cosine_decay(50, 1.0, 100), 0.5, what="cosine_decay half way")
    assert_close(submission.cosine_decay(100, 1.0, 100, 0.1), 0.1, what="cosine_decay at total_steps")
    assert_close(submission.cosine_decay(150, 1.0, 100, 0.1), 0.1, what="cosine_decay after total_steps")


@points(1)
def test_linear_warmup_step_convention(submission):
    # warmup_steps = 4: steps 0, 1, 2, 3, 4 get 0.25, 0.5, 0.75, 1, 1 times base_lr
    got = [submission.linear_warmup(k, 2.0, 4) for k in range(6)]
    assert_close(np.array(got, dtype=float), np.array([0.5, 1.0, 1.5, 2.0, 2.0, 2.0]),
                 what="linear_warmup(step, 2.0, 4) for steps 0..5 (step 0 is the first step)")


@points(1)
def test_warmup_cosine_known_values(submission):
    # 2 warm-up steps, then a cosine over total_steps - warmup_steps = 4 steps
    got = [submission.warmup_cosine(k, 1.0, 2, 6) for k in range(7)]
    want = [0.5, 1.0, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 0.0]
    assert_close(np.array(got, dtype=float), np.array(want), what="warmup_cosine(step, 1.0, 2, 6) for steps 0..6")


# ------------------------------------------------------------ torch optimizers


def _problem(seed, steps=10, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    shapes = [(3, 2), (4,)]
    params = [torch.randn(s, generator=g, dtype=dtype) for s in shapes]
    grads = [torch.randn((steps,) + s, generator=g, dtype=dtype) for s in shapes]
    return params, grads


def _expected(cls, params, grads, kwargs):
    # The same driver (worker_helpers.py), run here, in the judge, on torch.optim.
    return load_helpers(__file__).optimizer_trajectory(cls, params, grads, kwargs=kwargs)


@points(1)
@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.1, momentum=0.9), dict(lr=0.1, momentum=0.9, nesterov=True)],
                         ids=["plain", "momentum", "nesterov"])
def test_torch_sgd_matches_torch_optim(submission, kwargs):
    params, grads = _problem(0)
    probes = submission.helpers
    got = probes.optimizer_trajectory(submission.optimizers_torch.SGD, params, grads, kwargs=kwargs)
    assert_close(got, _expected(torch.optim.SGD, params, grads, kwargs), what=f"SGD({kwargs}) trajectory")


@points(1)
def test_torch_adam_matches_torch_optim(submission):
    params, grads = _problem(1)
    kwargs = dict(lr=0.05)
    probes = submission.helpers
    got = probes.optimizer_trajectory(submission.optimizers_torch.Adam, params, grads, kwargs=kwargs)
    assert_close(got, _expected(torch.optim.Adam, params, grads, kwargs), rtol=1e-6, atol=1e-9,
                 what="Adam(lr=0.05) trajectory")
