"""Public tests for the batchnorm assignment: run them locally while you work.

They check a few values computed by hand, your backward passes against finite
differences (of your forward here; of the reference solution's when your
submission is graded), and your torch module against torch.nn.BatchNorm1d. Passing them
is a good sign, not a guarantee: the hidden tests use random shapes, many
training steps, N = 1, tiny variances, float32, and more edge cases.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import assert_close, assert_shape, batched, numeric_gradient, numeric_gradients, points

pytestmark = pytest.mark.public

# A batch of N = 4 examples with D = 2 features, whose statistics are easy by hand:
# feature 0 has mean 2.5 and biased variance 1.25; feature 1 has mean 0 and biased variance 5.
X = np.array([[1.0, -3.0], [2.0, -1.0], [3.0, 1.0], [4.0, 3.0]])
MEAN, VAR = np.array([2.5, 0.0]), np.array([1.25, 5.0])


def _probes(submission):
    # Helpers that run inside the sandbox next to your code (your bn_param dict and your
    # module live there) and send back what they observe.
    return submission.helpers


@points(1)
def test_batchnorm_forward_train_hand_computed(submission):
    gamma, beta = np.array([2.0, 0.5]), np.array([-1.0, 1.0])
    out, _, _ = _probes(submission).bn_forward(submission.batchnorm_forward, X, gamma, beta, {"mode": "train"})
    assert_shape(out, X.shape, what="out")
    expected = gamma * (X - MEAN) / np.sqrt(VAR + 1e-5) + beta  # biased variance, eps inside the sqrt
    assert_close(out, expected, what="out in 'train' mode")


@points(1)
def test_batchnorm_running_averages_hand_computed(submission):
    gamma, beta = np.ones(2), np.zeros(2)
    bn_param = {"mode": "train", "momentum": 0.9,
                "running_mean": np.array([1.0, 1.0]), "running_var": np.array([2.0, 2.0])}
    _, running_mean, running_var = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                  X, gamma, beta, bn_param)
    # momentum is the weight of the OLD value; the variance averaged is the biased one.
    assert_close(running_mean, 0.9 * np.array([1.0, 1.0]) + 0.1 * MEAN, what="bn_param['running_mean']")
    assert_close(running_var, 0.9 * np.array([2.0, 2.0]) + 0.1 * VAR, what="bn_param['running_var']")


@points(1)
def test_batchnorm_test_mode_uses_running_averages(submission):
    gamma, beta = np.array([2.0, 0.5]), np.array([-1.0, 1.0])
    rm, rv = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    bn_param = {"mode": "test", "running_mean": rm, "running_var": rv, "eps": 0.0}
    out, mean_after, var_after = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                X, gamma, beta, bn_param)
    assert_close(out, gamma * (X - rm) / np.sqrt(rv) + beta, what="out in 'test' mode")
    assert_close((mean_after, var_after), (rm, rv), what="running averages after 'test' mode (unchanged)")


@points(2)
def test_batchnorm_backward_matches_numeric_gradient(submission, rng):
    N, D = 5, 3
    x = rng.normal(size=(N, D)) * 2 + 1
    gamma, beta, dout = rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))
    _, cache = submission.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = submission.batchnorm_backward(dout, cache)
    forward = submission.batchnorm_forward
    assert_close(dx, numeric_gradient(batched(forward, lambda v: (v, gamma, beta, {"mode": "train"}), out=0), x, dout),
                 rtol=1e-6, atol=1e-8, what="dx")
    assert_close(dgamma, numeric_gradient(batched(forward, lambda v: (x, v, beta, {"mode": "train"}), out=0),
                                          gamma, dout), rtol=1e-6, atol=1e-8, what="dgamma")
    assert_close(dbeta, numeric_gradient(batched(forward, lambda v: (x, gamma, v, {"mode": "train"}), out=0),
                                         beta, dout), rtol=1e-6, atol=1e-8, what="dbeta")


@points(1)
def test_batchnorm_backward_alt_matches_numeric_gradient(submission, rng):
    x = rng.normal(size=(6, 4)) * 3 - 2
    gamma, beta, dout = rng.normal(size=4), rng.normal(size=4), rng.normal(size=(6, 4))
    _, cache = submission.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    grads = submission.batchnorm_backward_alt(dout, cache)
    # Not against your batchnorm_backward: two backward passes that share a mistake agree.
    expected = numeric_gradients(submission.batchnorm_forward, (x, gamma, beta, {"mode": "train"}), dout, out=0)
    assert_close(grads, tuple(expected), rtol=1e-6, atol=1e-8,
                 what="batchnorm_backward_alt's (dx, dgamma, dbeta) against finite differences")


@points(1)
def test_layernorm_forward_matches_torch(submission, rng):
    x = rng.normal(size=(3, 5)) * 2 + rng.normal(size=(3, 1))
    gamma, beta = rng.normal(size=5), rng.normal(size=5)
    out, _ = submission.layernorm_forward(x, gamma, beta, {"eps": 1e-5})
    expected = F.layer_norm(torch.tensor(x), (5,), torch.tensor(gamma), torch.tensor(beta), eps=1e-5)
    assert_close(out, expected.numpy(), what="layer norm out")


@points(1)
def test_layernorm_backward_matches_numeric_gradient(submission, rng):
    N, D = 3, 4
    x = rng.normal(size=(N, D))
    gamma, beta, dout = rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))
    _, cache = submission.layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = submission.layernorm_backward(dout, cache)
    forward = submission.layernorm_forward
    assert_close(dx, numeric_gradient(batched(forward, lambda v: (v, gamma, beta, {}), out=0), x, dout),
                 rtol=1e-6, atol=1e-8, what="dx")
    assert_close(dgamma, numeric_gradient(batched(forward, lambda v: (x, v, beta, {}), out=0), gamma, dout),
                 rtol=1e-6, atol=1e-8, what="dgamma")
    assert_close(dbeta, numeric_gradient(batched(forward, lambda v: (x, gamma, v, {}), out=0), beta, dout),
                 rtol=1e-6, atol=1e-8, what="dbeta")


@points(2)
def test_module_matches_torch_batchnorm1d(submission, rng):
    """Five training steps, then one eval step, against torch.nn.BatchNorm1d (float64)."""
    probes = _probes(submission)
    C = 3
    module = probes.make_module(submission.batchnorm_torch.BatchNorm1d, C, dtype="float64")
    oracle = torch.nn.BatchNorm1d(C, dtype=torch.float64)
    xs = [torch.tensor(rng.normal(size=(6, C)) * 2 + k, dtype=torch.float64) for k in range(5)]
    outs, mean, var = probes.module_run(module, xs, True)
    with torch.no_grad():
        expected = tuple(oracle(x) for x in xs)
    assert_close(tuple(outs), expected, what="training-mode outputs")
    assert_close((mean, var), (oracle.running_mean, oracle.running_var),
                 what="(running_mean, running_var) after 5 steps (torch's conventions)")
    x_eval = torch.tensor(rng.normal(size=(4, C)), dtype=torch.float64)
    (out_eval,), _, _ = probes.module_run(module, [x_eval], False)
    oracle.eval()
    with torch.no_grad():
        assert_close(out_eval, oracle(x_eval), what="eval-mode output")


@points(1)
def test_module_gradients_match_torch(submission, rng):
    probes = _probes(submission)
    C = 4
    module = probes.make_module(submission.batchnorm_torch.BatchNorm1d, C, dtype="float64")
    x = torch.tensor(rng.normal(size=(5, C)), dtype=torch.float64)
    g = torch.tensor(rng.normal(size=(5, C)), dtype=torch.float64)
    _, dx, dweight, dbias = probes.module_vjp(module, x, g, True)
    oracle = torch.nn.BatchNorm1d(C, dtype=torch.float64)
    leaf = x.clone().requires_grad_(True)
    oracle(leaf).backward(g)
    assert_close((dx, dweight, dbias), (leaf.grad, oracle.weight.grad, oracle.bias.grad),
                 what="(grad of x, grad of weight, grad of bias)")
