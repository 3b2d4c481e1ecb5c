"""Hidden tests for the batchnorm assignment.

Every comparison is against the reference solution run on the same inputs.
Shapes and values come from the seeded ``rng``; each test checks one thing
so that partial understanding earns partial credit.

batchnorm_forward updates its bn_param argument in the worker, and the
torch module keeps its buffers there: the probes of
``worker_helpers.py`` (beside the tests' folder) run those calls in the worker and return what
they observe (outputs, running averages, gradients) as data. The same probe
functions, imported here, run the reference in the judge.
"""
import copy

import numpy as np
import pytest
import torch

from autograder import assert_close, assert_shape, call_pure, load_helpers, points

local_probes = load_helpers(__file__)  # the same helpers (worker_helpers.py), imported here, in the judge

F32 = dict(rtol=1e-5, atol=1e-5)      # float32 tolerances (values of order 1)
F64 = dict(rtol=1e-7, atol=1e-9)      # float64 tolerances (the defaults, spelled out)


def _probes(submission):
    return submission.helpers


def _inputs(rng, N=None, D=None, dtype=np.float64):
    """x with per-feature means and scales far from 0 and 1, random gamma and beta, and dout.

    In float32 every feature's spread is exactly 10 to 40 (standardized, then scaled): where eps
    goes (inside or outside the square root) then moves x_hat by at most 1e-6 relative, well
    inside float32's tolerances, so that a float32 test never passes or fails an eps mistake by
    the luck of a small sample spread (the float64 tests, at a relative 1e-7, catch it).
    """
    N = int(rng.integers(4, 11)) if N is None else N
    D = int(rng.integers(2, 7)) if D is None else D
    x = rng.normal(size=(N, D)) * rng.uniform(0.5, 4.0, size=D) + rng.uniform(-3.0, 3.0, size=D)
    if dtype == np.float32 and N > 1:
        x = (x - x.mean(axis=0)) / x.std(axis=0) * rng.uniform(10.0, 40.0, size=D) + rng.uniform(-3.0, 3.0, size=D)
    gamma, beta = rng.uniform(0.5, 2.0, size=D) * rng.choice([-1.0, 1.0], size=D), rng.normal(size=D)
    dout = rng.normal(size=(N, D))
    return tuple(a.astype(dtype) for a in (x, gamma, beta, dout))


def _stats(rng, D, dtype=np.float64):
    return rng.normal(size=D).astype(dtype), rng.uniform(0.5, 3.0, size=D).astype(dtype)


# A large mean and a small spread: the variance as mean(x**2) - mean(x)**2 subtracts two numbers of
# order mean**2 that agree in all but their last digits (catastrophic cancellation). Measured over
# 3000 seeds of these inputs, that error moves x_hat by at least 0.59 in float32 and 4e-4 in float64,
# while a correct float32 solution (even one computed in float64) stays within 0.016 of the float32
# reference, and a correct float64 one within rounding of the float64 reference.
OFFSET = {np.float32: (1e3, 0.1), np.float64: (1e5, 1e-2)}      # (mean, spread) per dtype
OFFSET_TOL = {np.float32: dict(rtol=0, atol=0.1), np.float64: F64}
OFFSET_IDS = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]


def _offset(rng, shape, axis, dtype):
    """Values of mean about OFFSET[dtype][0] (a different mean per slice along ``axis``) and spread
    about OFFSET[dtype][1]."""
    mean, spread = OFFSET[dtype]
    sizes = [1] * len(shape)
    sizes[axis] = shape[axis]
    return mean * rng.uniform(0.8, 1.2, size=sizes) + spread * rng.uniform(0.5, 2.0, size=sizes) * rng.normal(size=shape)


def _batches(rng, steps, N, D):
    """A drifting stream of batches, as in training: the means and scales move from step to step."""
    return [rng.normal(size=(N, D)) * (1 + k / steps) + np.sin(k / 7.0) * 2 for k in range(steps)]


def _ref_forward(reference, x, gamma, beta, bn_param):
    return local_probes.bn_forward(reference.batchnorm_forward, x, gamma, beta, copy.deepcopy(bn_param))


def _ref_backward(reference, name, x, gamma, beta, dout, bn_param=None):
    _, cache = reference.batchnorm_forward(x, gamma, beta, dict(bn_param or {"mode": "train"}))
    return getattr(reference, name)(dout, cache)


def _student_backward(submission, name, x, gamma, beta, dout, bn_param=None):
    _, cache = submission.batchnorm_forward(x, gamma, beta, dict(bn_param or {"mode": "train"}))
    return getattr(submission, name)(dout, cache)


# ------------------------------------------------------- batch norm forward


@points(2)
def test_batchnorm_forward_train(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    bn_param = {"mode": "train"}
    out, _, _ = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert_shape(out, x.shape, what="out")
    assert_close(out, _ref_forward(reference, x, gamma, beta, bn_param)[0],
                 what="out in 'train' mode (batch mean, biased batch variance, eps inside the sqrt)")


@points(1)
def test_batchnorm_forward_train_eps(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    x = x * 0.1  # variances of order 0.01-0.16, so that eps = 0.01 matters
    bn_param = {"mode": "train", "eps": 1e-2}
    out, _, _ = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert_close(out, _ref_forward(reference, x, gamma, beta, bn_param)[0],
                 what="out in 'train' mode with eps = 0.01 (x_hat = (x - mu) / sqrt(var + eps))")


@points(1)
def test_batchnorm_running_mean_one_step(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    rm, rv = _stats(rng, x.shape[1])
    bn_param = {"mode": "train", "momentum": 0.7, "running_mean": rm, "running_var": rv}
    _, running_mean, _ = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert_close(running_mean, _ref_forward(reference, x, gamma, beta, bn_param)[1],
                 what="bn_param['running_mean'] after one step with momentum 0.7 "
                      "(momentum * running_mean + (1 - momentum) * batch_mean)")


@points(1)
def test_batchnorm_running_var_one_step(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    rm, rv = _stats(rng, x.shape[1])
    bn_param = {"mode": "train", "momentum": 0.7, "running_mean": rm, "running_var": rv}
    _, _, running_var = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert_close(running_var, _ref_forward(reference, x, gamma, beta, bn_param)[2],
                 what="bn_param['running_var'] after one step with momentum 0.7 "
                      "(momentum * running_var + (1 - momentum) * biased batch_var)")


@points(1)
def test_batchnorm_running_stats_defaults(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    bn_param = {"mode": "train"}  # momentum 0.9, running averages starting at zero
    _, running_mean, running_var = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                  x, gamma, beta, bn_param)
    _, ref_mean, ref_var = _ref_forward(reference, x, gamma, beta, bn_param)
    assert_close((running_mean, running_var), (ref_mean, ref_var),
                 what="(running_mean, running_var) after one step from a bn_param holding only the mode "
                      "(defaults: momentum 0.9, running averages start at 0)")


@points(2)
def test_batchnorm_running_stats_many_steps(submission, reference, rng):
    D = int(rng.integers(2, 6))
    xs = _batches(rng, 50, 8, D)
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    bn_param = {"mode": "train", "momentum": 0.8}
    _, running_mean, running_var = _probes(submission).bn_train_steps(submission.batchnorm_forward,
                                                                      xs, gamma, beta, bn_param)
    _, ref_mean, ref_var = local_probes.bn_train_steps(reference.batchnorm_forward, xs, gamma, beta, dict(bn_param))
    assert_close((running_mean, running_var), (ref_mean, ref_var),
                 what="(running_mean, running_var) after 50 training steps with momentum 0.8")


@points(2)
def test_batchnorm_forward_test_mode(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    rm, rv = _stats(rng, x.shape[1])
    bn_param = {"mode": "test", "running_mean": rm, "running_var": rv, "eps": 1e-3}
    out, _, _ = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert_close(out, _ref_forward(reference, x, gamma, beta, bn_param)[0],
                 what="out in 'test' mode (normalized with the running averages, not the batch's)")


@points(1)
def test_batchnorm_test_mode_leaves_running_stats(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    rm, rv = _stats(rng, x.shape[1])
    bn_param = {"mode": "test", "running_mean": rm, "running_var": rv}
    _, running_mean, running_var = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                  x, gamma, beta, bn_param)
    _, ref_mean, ref_var = _ref_forward(reference, x, gamma, beta, bn_param)
    assert_close((running_mean, running_var), (ref_mean, ref_var),
                 what="(running_mean, running_var) after a 'test' mode call (must be unchanged)")


@points(2)
def test_batchnorm_train_then_test(submission, reference, rng):
    """Train for 30 steps, then evaluate one batch in test mode with the running averages."""
    D = int(rng.integers(2, 6))
    xs = _batches(rng, 30, 10, D)
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    x_test = rng.normal(size=(6, D)) * 1.5 + 1.0
    probes = _probes(submission)
    bn_param = {"mode": "train"}
    _, running_mean, running_var = probes.bn_train_steps(submission.batchnorm_forward, xs, gamma, beta, bn_param)
    test_param = {"mode": "test", "running_mean": running_mean, "running_var": running_var}
    out, _, _ = probes.bn_forward(submission.batchnorm_forward, x_test, gamma, beta, test_param)

    _, ref_mean, ref_var = local_probes.bn_train_steps(reference.batchnorm_forward, xs, gamma, beta, dict(bn_param))
    ref_out, _, _ = _ref_forward(reference, x_test, gamma, beta,
                                 {"mode": "test", "running_mean": ref_mean, "running_var": ref_var})
    assert_close(out, ref_out, what="out in 'test' mode after 30 training steps")


@points(1)
def test_batchnorm_single_example(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng, N=1)
    bn_param = {"mode": "train"}
    out, running_mean, running_var = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                    x, gamma, beta, bn_param)
    assert np.all(np.isfinite(out)), f"N = 1 must not give nan or inf (the biased variance is 0): {out}"
    assert_close((out, running_mean, running_var), _ref_forward(reference, x, gamma, beta, bn_param),
                 what="(out, running_mean, running_var) for a batch of one example")


@points(1)
def test_batchnorm_tiny_variance(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng, N=8, D=4)
    x = x.mean(axis=0) + (x - x.mean(axis=0)) * np.array([1e-7, 1e-4, 1e-2, 0.0])  # var ~1e-14 ... 0
    bn_param = {"mode": "train"}
    out, _, _ = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert np.all(np.isfinite(out)), f"constant features must not give nan or inf: {out}"
    assert_close(out, _ref_forward(reference, x, gamma, beta, bn_param)[0],
                 what="out for features of tiny (and zero) variance: eps goes inside the sqrt")


@points(1)
@pytest.mark.parametrize("dtype", OFFSET_IDS)
def test_batchnorm_forward_large_mean_small_spread(submission, reference, rng, dtype):
    """Features of mean ~1e5 (float64) or ~1e3 (float32) with a spread of 1e-2 or 0.1: the variance
    must be the mean of squared deviations, not mean(x**2) - mean(x)**2, which cancels catastrophically."""
    x, gamma, beta, _ = _inputs(rng, dtype=dtype)
    x = _offset(rng, x.shape, 1, dtype).astype(dtype)
    bn_param = {"mode": "train"}
    out, running_mean, running_var = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                    x, gamma, beta, bn_param)
    ref_out, ref_mean, ref_var = _ref_forward(reference, x, gamma, beta, bn_param)
    what = f"for features of mean ~{OFFSET[dtype][0]:g} and spread ~{OFFSET[dtype][1]:g} ({np.dtype(dtype).name})"
    assert_close(out, ref_out, **OFFSET_TOL[dtype], what=f"out {what}: var = mean((x - mu)**2)")
    # running_var is 0.1 * var here: its relative error is the variance's (float32: 6.5e-4 at most
    # for a correct solution over 3000 seeds; 1 or more for the cancelling one).
    assert_close((running_mean, running_var), (ref_mean, ref_var), rtol=1e-2 if dtype == np.float32 else 1e-7,
                 atol=0, what=f"(running_mean, running_var) {what}")


@points(1)
def test_batchnorm_forward_float32(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng, dtype=np.float32)
    bn_param = {"mode": "train"}
    out, running_mean, running_var = _probes(submission).bn_forward(submission.batchnorm_forward,
                                                                    x, gamma, beta, bn_param)
    assert getattr(out, "dtype", None) == np.float32, \
        f"out must be float32 for float32 inputs, got {getattr(out, 'dtype', type(out))}"
    assert_close((out, running_mean, running_var), _ref_forward(reference, x, gamma, beta, bn_param),
                 **F32, what="(out, running_mean, running_var) in float32")


@points(1)
def test_batchnorm_invalid_mode_raises(submission, reference, rng):
    """The docstring: a mode other than 'train' or 'test' raises ValueError (a typo must not silently
    normalize with the running averages)."""
    x, gamma, beta, _ = _inputs(rng)
    rm, rv = _stats(rng, x.shape[1])
    # Raising earns the point together with a right output in 'test' mode.
    bn_param = {"mode": "test", "running_mean": rm, "running_var": rv}
    out, _, _ = _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta, bn_param)
    assert_close(out, _ref_forward(reference, x, gamma, beta, bn_param)[0], what="out in 'test' mode")
    with pytest.raises(AssertionError, match="ValueError"):
        _probes(submission).bn_forward(submission.batchnorm_forward, x, gamma, beta,
                                       {"mode": "eval", "running_mean": rm, "running_var": rv})


@points(1)
def test_batchnorm_forward_leaves_inputs(submission, reference, rng):
    x, gamma, beta, _ = _inputs(rng)
    bn_param = {"mode": "train"}  # the one argument batchnorm_forward may change (its running averages)
    seen = submission.batchnorm_forward.inspect(x, gamma, beta, bn_param)
    assert_close(seen.args_after[:3], (x, gamma, beta), rtol=0, atol=0,
                 what="(x, gamma, beta) after batchnorm_forward (must be unchanged)")
    # Leaving the inputs alone earns the point together with a right out, not by computing nothing.
    assert_close(seen.value[0], _ref_forward(reference, x, gamma, beta, bn_param)[0], what="out in 'train' mode")


# ------------------------------------------------------ batch norm backward


@points(2)
def test_batchnorm_backward_dx(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng)
    dx, _, _ = _student_backward(submission, "batchnorm_backward", x, gamma, beta, dout)
    assert_shape(dx, x.shape, what="dx")
    ref_dx, _, _ = _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout)
    assert_close(dx, ref_dx, what="dx (the gradient flows through x - mu, through mu and through var)")


@points(1)
def test_batchnorm_backward_dgamma(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng)
    _, dgamma, _ = _student_backward(submission, "batchnorm_backward", x, gamma, beta, dout)
    _, ref_dgamma, _ = _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout)
    assert_close(dgamma, ref_dgamma, what="dgamma (sum over the batch of dout * x_hat)")


@points(1)
def test_batchnorm_backward_dbeta(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng)
    _, _, dbeta = _student_backward(submission, "batchnorm_backward", x, gamma, beta, dout)
    _, _, ref_dbeta = _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout)
    assert_close(dbeta, ref_dbeta, what="dbeta (sum over the batch of dout)")


@points(1)
def test_batchnorm_backward_single_example(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng, N=1)
    grads = _student_backward(submission, "batchnorm_backward", x, gamma, beta, dout)
    assert_close(grads, _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout),
                 what="(dx, dgamma, dbeta) for a batch of one example (out = beta, so dx = 0)")


@points(1)
def test_batchnorm_backward_tiny_variance(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng, N=8, D=3)
    x = x.mean(axis=0) + (x - x.mean(axis=0)) * np.array([1e-6, 1e-3, 0.0])
    grads = _student_backward(submission, "batchnorm_backward", x, gamma, beta, dout)
    assert_close(grads, _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout),
                 rtol=1e-7, atol=1e-7, what="(dx, dgamma, dbeta) for features of tiny (and zero) variance")


@points(1)
@pytest.mark.parametrize("name", ["batchnorm_backward", "batchnorm_backward_alt"])
def test_batchnorm_backward_large_mean_small_spread(submission, reference, rng, name):
    """Features of mean ~1e5 and spread ~1e-2 (float64): the gradients through the forward's
    variance (a cancelling mean(x**2) - mean(x)**2 is off by 4e-4 or more in x_hat)."""
    x, gamma, beta, dout = _inputs(rng)
    x = _offset(rng, x.shape, 1, np.float64)
    grads = _student_backward(submission, name, x, gamma, beta, dout)
    assert_close(grads, _ref_backward(reference, name, x, gamma, beta, dout),
                 what=f"{name}'s (dx, dgamma, dbeta) for features of mean ~1e5 and spread ~1e-2")


@points(1)
def test_batchnorm_backward_float32(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng, dtype=np.float32)
    grads = _student_backward(submission, "batchnorm_backward", x, gamma, beta, dout)
    dtypes = [str(getattr(g, "dtype", type(g).__name__)) for g in grads]
    assert dtypes == ["float32"] * 3, f"(dx, dgamma, dbeta) must be float32, got {', '.join(dtypes)}"
    assert_close(grads, _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout),
                 rtol=1e-4, atol=1e-4, what="(dx, dgamma, dbeta) in float32")


@points(1)
def test_batchnorm_backward_is_pure(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng)
    _, cache = submission.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    grads = call_pure(submission.batchnorm_backward, dout, cache)
    assert_close(grads, _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout),
                 what="(dx, dgamma, dbeta)")


@points(2)
def test_batchnorm_backward_alt_dx(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng)
    dx, _, _ = _student_backward(submission, "batchnorm_backward_alt", x, gamma, beta, dout)
    ref_dx, _, _ = _ref_backward(reference, "batchnorm_backward_alt", x, gamma, beta, dout)
    assert_close(dx, ref_dx, what="dx from batchnorm_backward_alt")


@points(1)
def test_batchnorm_backward_alt_dgamma_dbeta(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng)
    _, dgamma, dbeta = _student_backward(submission, "batchnorm_backward_alt", x, gamma, beta, dout)
    _, ref_dgamma, ref_dbeta = _ref_backward(reference, "batchnorm_backward_alt", x, gamma, beta, dout)
    assert_close((dgamma, dbeta), (ref_dgamma, ref_dbeta), what="(dgamma, dbeta) from batchnorm_backward_alt")


@points(1)
def test_batchnorm_backward_alt_larger_batch(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng, N=16, D=5)
    grads = _student_backward(submission, "batchnorm_backward_alt", x, gamma, beta, dout)
    assert_close(grads, _ref_backward(reference, "batchnorm_backward", x, gamma, beta, dout),
                 what="batchnorm_backward_alt's (dx, dgamma, dbeta) for N = 16, D = 5")


@points(1)
def test_batchnorm_backward_alt_single_example(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng, N=1)
    grads = _student_backward(submission, "batchnorm_backward_alt", x, gamma, beta, dout)
    assert_close(grads, _ref_backward(reference, "batchnorm_backward_alt", x, gamma, beta, dout),
                 what="batchnorm_backward_alt's (dx, dgamma, dbeta) for a batch of one example")


@points(1)
def test_batchnorm_backward_alt_float32(submission, reference, rng):
    x, gamma, beta, dout = _inputs(rng, dtype=np.float32)
    grads = _student_backward(submission, "batchnorm_backward_alt", x, gamma, beta, dout)
    dtypes = [str(getattr(g, "dtype", type(g).__name__)) for g in grads]
    assert dtypes == ["float32"] * 3, f"(dx, dgamma, dbeta) must be float32, got {', '.join(dtypes)}"
    assert_close(grads, _ref_backward(reference, "batchnorm_backward_alt", x, gamma, beta, dout),
                 rtol=1e-4, atol=1e-4, what="batchnorm_backward_alt's (dx, dgamma, dbeta) in float32")


# ----------------------------------------------------------------- layer norm


def _ln_inputs(rng, N=None, D=None, dtype=np.float64):
    """As _inputs, with rows of different means. In float32 every ROW's spread is exactly 10 to
    40 (layer norm normalizes rows): with D = 2 a row's two values could otherwise lie close
    together, and a variance as mean(x**2) - mean(x)**2 would pass or fail by the draw."""
    x, gamma, beta, dout = _inputs(rng, N, D, dtype)
    x = x + rng.uniform(-2, 2, size=(x.shape[0], 1))  # rows with different means, too
    if dtype == np.float32:
        x = x.astype(np.float64)
        x = ((x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
             * rng.uniform(10.0, 40.0, size=(x.shape[0], 1)) + rng.uniform(-5.0, 5.0, size=(x.shape[0], 1)))
    return tuple(a.astype(dtype) for a in (x, gamma, beta, dout))


@points(2)
def test_layernorm_forward(submission, reference, rng):
    x, gamma, beta, _ = _ln_inputs(rng)
    out, _ = submission.layernorm_forward(x, gamma, beta, {})
    assert_shape(out, x.shape, what="out")
    assert_close(out, reference.layernorm_forward(x, gamma, beta, {})[0],
                 what="layer norm out (each row normalized over its own D features)")


@points(1)
def test_layernorm_forward_eps_and_single_example(submission, reference, rng):
    x, gamma, beta, _ = _ln_inputs(rng, N=1)
    x = x * 0.1
    out, _ = submission.layernorm_forward(x, gamma, beta, {"eps": 1e-2})
    assert_close(out, reference.layernorm_forward(x, gamma, beta, {"eps": 1e-2})[0],
                 what="layer norm out for one example, eps = 0.01")


@points(2)
def test_layernorm_backward_dx(submission, reference, rng):
    x, gamma, beta, dout = _ln_inputs(rng)
    _, cache = submission.layernorm_forward(x, gamma, beta, {})
    dx, _, _ = submission.layernorm_backward(dout, cache)
    ref_dx, _, _ = reference.layernorm_backward(dout, reference.layernorm_forward(x, gamma, beta, {})[1])
    assert_close(dx, ref_dx, what="layer norm dx (sums over the feature axis)")


@points(1)
def test_layernorm_backward_dgamma_dbeta(submission, reference, rng):
    x, gamma, beta, dout = _ln_inputs(rng)
    _, cache = submission.layernorm_forward(x, gamma, beta, {})
    _, dgamma, dbeta = submission.layernorm_backward(dout, cache)
    _, ref_dgamma, ref_dbeta = reference.layernorm_backward(dout, reference.layernorm_forward(x, gamma, beta, {})[1])
    assert_close((dgamma, dbeta), (ref_dgamma, ref_dbeta), what="layer norm (dgamma, dbeta) (summed over the batch)")


@points(1)
@pytest.mark.parametrize("dtype", OFFSET_IDS)
def test_layernorm_forward_large_mean_small_spread(submission, reference, rng, dtype):
    """Rows of mean ~1e5 (float64) or ~1e3 (float32) with a spread of 1e-2 or 0.1: the variance
    must be the mean of squared deviations, not mean(x**2) - mean(x)**2."""
    x, gamma, beta, _ = _ln_inputs(rng, dtype=dtype)
    x = _offset(rng, x.shape, 0, dtype).astype(dtype)
    out, _ = submission.layernorm_forward(x, gamma, beta, {})
    assert_close(out, reference.layernorm_forward(x, gamma, beta, {})[0], **OFFSET_TOL[dtype],
                 what=f"layer norm out for rows of mean ~{OFFSET[dtype][0]:g} and spread ~{OFFSET[dtype][1]:g} "
                      f"({np.dtype(dtype).name}): var = mean((x - mu)**2)")


@points(1)
def test_layernorm_backward_large_mean_small_spread(submission, reference, rng):
    """Rows of mean ~1e5 and spread ~1e-2 (float64): the gradients through the forward's variance."""
    x, gamma, beta, dout = _ln_inputs(rng)
    x = _offset(rng, x.shape, 0, np.float64)
    _, cache = submission.layernorm_forward(x, gamma, beta, {})
    grads = submission.layernorm_backward(dout, cache)
    assert_close(grads, reference.layernorm_backward(dout, reference.layernorm_forward(x, gamma, beta, {})[1]),
                 what="layer norm (dx, dgamma, dbeta) for rows of mean ~1e5 and spread ~1e-2")


@points(1)
def test_layernorm_float32(submission, reference, rng):
    x, gamma, beta, dout = _ln_inputs(rng, dtype=np.float32)
    out, cache = submission.layernorm_forward(x, gamma, beta, {})
    grads = submission.layernorm_backward(dout, cache)
    dtypes = [str(getattr(a, "dtype", type(a).__name__)) for a in (out, *grads)]
    assert dtypes == ["float32"] * 4, f"(out, dx, dgamma, dbeta) must be float32, got {', '.join(dtypes)}"
    ref_out, ref_cache = reference.layernorm_forward(x, gamma, beta, {})
    assert_close(out, ref_out, **F32, what="layer norm out in float32")
    assert_close(grads, reference.layernorm_backward(dout, ref_cache), rtol=1e-4, atol=1e-4,
                 what="layer norm (dx, dgamma, dbeta) in float32")


@points(1)
def test_layernorm_forward_leaves_inputs(submission, reference, rng):
    x, gamma, beta, _ = _ln_inputs(rng)
    seen = submission.layernorm_forward.inspect(x, gamma, beta, {})
    assert_close(seen.args_after[:3], (x, gamma, beta), rtol=0, atol=0,
                 what="(x, gamma, beta) after layernorm_forward (must be unchanged)")
    # Leaving the inputs alone earns the point together with a right out, not by computing nothing.
    assert_close(seen.value[0], reference.layernorm_forward(x, gamma, beta, {})[0], what="layer norm out")


@points(1)
def test_layernorm_backward_is_pure(submission, reference, rng):
    x, gamma, beta, dout = _ln_inputs(rng)
    _, cache = submission.layernorm_forward(x, gamma, beta, {})
    grads = call_pure(submission.layernorm_backward, dout, cache)
    ref_cache = reference.layernorm_forward(x, gamma, beta, {})[1]
    assert_close(grads, reference.layernorm_backward(dout, ref_cache), what="layer norm (dx, dgamma, dbeta)")


# ------------------------------------------------------------ torch module


def _module_pair(submission, reference, rng, C, dtype="float64", **kwargs):
    """The student's module (a handle) and the reference's, with the same random weight and bias."""
    probes = _probes(submission)
    mine = probes.make_module(submission.batchnorm_torch.BatchNorm1d, C, dtype=dtype, **kwargs)
    ref = local_probes.make_module(reference.batchnorm_torch.BatchNorm1d, C, dtype=dtype, **kwargs)
    weight = torch.tensor(rng.uniform(0.5, 2.0, size=C) * rng.choice([-1.0, 1.0], size=C), dtype=getattr(torch, dtype))
    bias = torch.tensor(rng.normal(size=C), dtype=getattr(torch, dtype))
    probes.set_affine(mine, weight, bias)
    local_probes.set_affine(ref, weight, bias)
    return mine, ref


def _tensor_batches(rng, steps, shape, dtype=torch.float64):
    return [torch.tensor(x, dtype=dtype) for x in
            (rng.normal(size=shape) * (1 + k / steps) + np.sin(k / 7.0) * 2 for k in range(steps))]


@points(1)
def test_module_initial_state(submission, reference, rng):
    C = int(rng.integers(2, 7))
    state = _probes(submission).module_state(submission.batchnorm_torch.BatchNorm1d(C))
    ref_state = local_probes.module_state(reference.batchnorm_torch.BatchNorm1d(C))
    # What the docstring names must be there; more is allowed (torch's own BatchNorm1d also has
    # the buffer num_batches_tracked).
    missing = sorted(set(ref_state["parameters"]) - set(state["parameters"]))
    assert not missing, f"gamma and beta must be nn.Parameters named {ref_state['parameters']}: " \
                        f"{missing} missing, found {state['parameters']}"
    missing = sorted(set(ref_state["buffers"]) - set(state["buffers"]))
    assert not missing, f"the running statistics must be buffers (register_buffer) named {ref_state['buffers']}: " \
                        f"{missing} missing, found {state['buffers']}"
    assert state["training"], "a new module starts in training mode"
    assert_close(state["values"], ref_state["values"], rtol=0, atol=0,
                 what="initial values (weight 1, bias 0, running_mean 0, running_var 1)")


@points(2)
def test_module_train_forward(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C)
    xs = _tensor_batches(rng, 1, (int(rng.integers(4, 10)), C))
    outs, _, _ = _probes(submission).module_run(mine, xs, True)
    ref_outs, _, _ = local_probes.module_run(ref, xs, True)
    assert_close(tuple(outs), tuple(ref_outs),
                 what="BatchNorm1d output in training mode (biased variance to normalize)")


@points(1)
def test_module_train_forward_3d(submission, reference, rng):
    C = int(rng.integers(2, 5))
    mine, ref = _module_pair(submission, reference, rng, C)
    xs = _tensor_batches(rng, 2, (3, C, int(rng.integers(2, 6))))
    outs, mean, var = _probes(submission).module_run(mine, xs, True)
    ref_outs, ref_mean, ref_var = local_probes.module_run(ref, xs, True)
    assert_close((tuple(outs), mean, var), (tuple(ref_outs), ref_mean, ref_var),
                 what="(outputs, running_mean, running_var) for inputs of shape (N, C, L) "
                      "(statistics over N and L)")


@points(1)
def test_module_running_mean(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C, momentum=0.3)
    xs = _tensor_batches(rng, 1, (8, C))
    _, mean, _ = _probes(submission).module_run(mine, xs, True)
    _, ref_mean, _ = local_probes.module_run(ref, xs, True)
    assert_close(mean, ref_mean, what="running_mean after one step with momentum 0.3 "
                                      "((1 - momentum) * running_mean + momentum * batch_mean)")


@points(1)
def test_module_running_var(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C, momentum=0.3)
    xs = _tensor_batches(rng, 1, (8, C))
    _, _, var = _probes(submission).module_run(mine, xs, True)
    _, _, ref_var = local_probes.module_run(ref, xs, True)
    assert_close(var, ref_var, what="running_var after one step with momentum 0.3 "
                                    "(torch's convention: it averages the UNBIASED batch variance)")


@points(2)
def test_module_running_stats_many_steps(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C)
    xs = _tensor_batches(rng, 50, (6, C))
    _, mean, var = _probes(submission).module_run(mine, xs, True)
    _, ref_mean, ref_var = local_probes.module_run(ref, xs, True)
    assert_close((mean, var), (ref_mean, ref_var),
                 what="(running_mean, running_var) after 50 training steps with the default momentum 0.1")


@points(2)
def test_module_eval_forward(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C)
    probes = _probes(submission)
    xs = _tensor_batches(rng, 20, (8, C))
    x_eval = [torch.tensor(rng.normal(size=(5, C)) + 1.0)]
    probes.module_run(mine, xs, True)
    outs, _, _ = probes.module_run(mine, x_eval, False)
    local_probes.module_run(ref, xs, True)
    ref_outs, _, _ = local_probes.module_run(ref, x_eval, False)
    assert_close(tuple(outs), tuple(ref_outs), what="BatchNorm1d output in eval mode after 20 training steps "
                                                    "(normalized with the running statistics)")


@points(1)
def test_module_eval_leaves_buffers(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C)
    probes = _probes(submission)
    xs = _tensor_batches(rng, 3, (8, C))
    probes.module_run(mine, xs[:1], True)
    _, mean, var = probes.module_run(mine, xs[1:], False)
    local_probes.module_run(ref, xs[:1], True)
    _, ref_mean, ref_var = local_probes.module_run(ref, xs[1:], False)
    assert_close((mean, var), (ref_mean, ref_var),
                 what="(running_mean, running_var) after eval-mode calls (must not change in eval mode)")


@points(2)
def test_module_gradients(submission, reference, rng):
    C = int(rng.integers(2, 6))
    N = int(rng.integers(4, 9))
    mine, ref = _module_pair(submission, reference, rng, C)
    x = torch.tensor(rng.normal(size=(N, C)) * 2 + 1)
    g = torch.tensor(rng.normal(size=(N, C)))
    _, dx, dweight, dbias = _probes(submission).module_vjp(mine, x, g, True)
    _, ref_dx, ref_dweight, ref_dbias = local_probes.module_vjp(ref, x, g, True)
    assert_close((dx, dweight, dbias), (ref_dx, ref_dweight, ref_dbias),
                 what="(grad of x, grad of weight, grad of bias) in training mode, by autograd through your forward")


@points(1)
def test_module_eval_gradients(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C)
    xs = _tensor_batches(rng, 5, (8, C))
    x, g = torch.tensor(rng.normal(size=(4, C))), torch.tensor(rng.normal(size=(4, C)))
    probes = _probes(submission)
    probes.module_run(mine, xs, True)
    _, dx, dweight, dbias = probes.module_vjp(mine, x, g, False)
    local_probes.module_run(ref, xs, True)
    _, ref_dx, ref_dweight, ref_dbias = local_probes.module_vjp(ref, x, g, False)
    assert_close((dx, dweight, dbias), (ref_dx, ref_dweight, ref_dbias),
                 what="(grad of x, grad of weight, grad of bias) in eval mode")


@points(1)
def test_module_float32(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C, dtype="float32")
    xs = _tensor_batches(rng, 10, (8, C), dtype=torch.float32)
    outs, mean, var = _probes(submission).module_run(mine, xs, True)
    assert all(o.dtype == torch.float32 for o in outs), "float32 inputs must give float32 outputs"
    ref_outs, ref_mean, ref_var = local_probes.module_run(ref, xs, True)
    assert_close((tuple(outs), mean, var), (tuple(ref_outs), ref_mean, ref_var), **F32,
                 what="(outputs, running_mean, running_var) in float32")


@points(1)
@pytest.mark.parametrize("dtype", OFFSET_IDS)
def test_module_large_mean_small_spread(submission, reference, rng, dtype):
    """Channels of mean ~1e5 (float64) or ~1e3 (float32) with a spread of 1e-2 or 0.1: the batch
    variance must not be computed as mean(x**2) - mean(x)**2, which cancels catastrophically."""
    C = int(rng.integers(2, 6))
    name = np.dtype(dtype).name
    mine, ref = _module_pair(submission, reference, rng, C, dtype=name)
    xs = [torch.tensor(_offset(rng, (int(rng.integers(4, 11)), C), 1, dtype), dtype=getattr(torch, name))
          for _ in range(2)]
    outs, _, _ = _probes(submission).module_run(mine, xs, True)
    ref_outs, _, _ = local_probes.module_run(ref, xs, True)
    assert_close(tuple(outs), tuple(ref_outs), **OFFSET_TOL[dtype],
                 what=f"training-mode outputs for channels of mean ~{OFFSET[dtype][0]:g} and spread "
                      f"~{OFFSET[dtype][1]:g} ({name})")


@points(1)
def test_module_double_converts_buffers(submission, reference, rng):
    """A module built in float32 and converted with .to(torch.float64) computes in float64."""
    C = int(rng.integers(2, 6))
    probes = _probes(submission)
    mine = probes.module_to(submission.batchnorm_torch.BatchNorm1d(C), dtype="float64")
    ref = local_probes.module_to(reference.batchnorm_torch.BatchNorm1d(C), dtype="float64")
    xs = _tensor_batches(rng, 3, (6, C))
    outs, mean, var = probes.module_run(mine, xs, True)
    dtypes = [str(t.dtype) for t in (*outs, mean, var)]
    assert all(d == "torch.float64" for d in dtypes), \
        f"after .to(torch.float64) outputs and buffers must be float64, got {', '.join(dtypes)}: register the running " \
        "statistics as buffers so that .to() converts them"
    ref_outs, ref_mean, ref_var = local_probes.module_run(ref, xs, True)
    assert_close((tuple(outs), mean, var), (tuple(ref_outs), ref_mean, ref_var),
                 what="(outputs, running_mean, running_var) after .to(torch.float64)")


@points(1)
def test_module_single_value_per_channel_raises(submission, reference, rng):
    C = int(rng.integers(2, 6))
    mine, ref = _module_pair(submission, reference, rng, C)
    # Raising earns the point together with a right output on a batch that has two values per channel.
    xs = _tensor_batches(rng, 1, (2, C))
    outs, _, _ = _probes(submission).module_run(mine, xs, True)
    assert_close(tuple(outs), tuple(local_probes.module_run(ref, xs, True)[0]), what="output for a batch of two")
    x = [torch.tensor(rng.normal(size=(1, C)), dtype=torch.float64)]
    with pytest.raises(AssertionError, match="ValueError"):
        _probes(submission).module_run(mine, x, True)


# ------------------------------------------------------------------- CUDA


CUDA_DTYPES = [pytest.param("float64", F64, id="float64"),
               pytest.param("float32", dict(rtol=1e-4, atol=1e-4), id="float32")]


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", CUDA_DTYPES)
def test_module_cuda_train_and_eval(submission, reference, rng, dtype, tol):
    C = 6
    mine, ref = _module_pair(submission, reference, rng, C, dtype=dtype)
    probes = _probes(submission)
    mine = probes.module_to(mine, device="cuda")
    xs = _tensor_batches(rng, 10, (32, C), dtype=getattr(torch, dtype))
    x_eval = [xs[0] * 0.5]
    outs, mean, var = probes.module_run(mine, [x.cuda() for x in xs], True)
    eval_outs, _, _ = probes.module_run(mine, [x.cuda() for x in x_eval], False)
    assert all(t.device.type == "cuda" for t in (*outs, mean, var, *eval_outs)), \
        "outputs and buffers must stay on the module's device (CUDA)"
    ref_outs, ref_mean, ref_var = local_probes.module_run(ref, xs, True)
    ref_eval, _, _ = local_probes.module_run(ref, x_eval, False)
    assert_close(tuple(o.cpu() for o in outs), tuple(ref_outs), **tol, what="training-mode outputs on CUDA")
    assert_close((mean.cpu(), var.cpu()), (ref_mean, ref_var), **tol, what="(running_mean, running_var) on CUDA")
    assert_close(tuple(o.cpu() for o in eval_outs), tuple(ref_eval), **tol, what="eval-mode output on CUDA")


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", CUDA_DTYPES)
def test_module_cuda_gradients(submission, reference, rng, dtype, tol):
    C, N = 5, 16
    mine, ref = _module_pair(submission, reference, rng, C, dtype=dtype)
    probes = _probes(submission)
    mine = probes.module_to(mine, device="cuda")
    x = torch.tensor(rng.normal(size=(N, C)) * 2 + 1, dtype=getattr(torch, dtype))
    g = torch.tensor(rng.normal(size=(N, C)), dtype=getattr(torch, dtype))
    out, dx, dweight, dbias = probes.module_vjp(mine, x.cuda(), g.cuda(), True)
    assert all(t.device.type == "cuda" for t in (out, dx, dweight, dbias)), "gradients must stay on CUDA"
    _, ref_dx, ref_dweight, ref_dbias = local_probes.module_vjp(ref, x, g, True)
    assert_close((dx.cpu(), dweight.cpu(), dbias.cpu()), (ref_dx, ref_dweight, ref_dbias), **tol,
                 what="(grad of x, grad of weight, grad of bias) on CUDA")
