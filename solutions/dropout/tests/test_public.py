"""Public tests for the dropout assignment: run them locally while you work.

They pin the conventions (p is the probability of DROPPING a unit, the mask
drawn from the seed as the docstrings say), check a few values by hand, and
check the randomness by statistics. Passing them is a good sign, not a
guarantee: the hidden tests cover more shapes, dtypes, both variants and the
edge cases p = 0, p close to 1 and p = 1.

How randomness is graded. A statistical test can fail for a correct solution
by bad luck; each one below states that probability (always below one in a
million) and how it was derived, treating your mask as independent draws,
one per element. Tests that pass a ``seed`` do so only so that, when a test
fails, the grader can replay your call on its catalogue of known mistakes
and name yours; their assertions do not depend on which random numbers you
draw, except test_mask_follows_the_seed_convention, which pins the
convention.
"""
import math

import numpy as np
import pytest
import torch

from autograder import assert_close, assert_shape, call_pure, points

pytestmark = pytest.mark.public

MAX_FALSE_FAILURE = 1e-6


def hoeffding(n, t, width=1.0):
    """Hoeffding's bound P(|mean - E[mean]| >= t) <= 2 exp(-2 n t^2 / width^2) for n independent
    terms, each within an interval of length ``width``."""
    return 2.0 * math.exp(-2.0 * n * t * t / width ** 2)


def _nonzero(rng, shape):
    """Random values with |x| in [0.5, 1.5]: no zeros, so a zero in the output means a dropped unit."""
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _seed(rng):
    return int(rng.integers(2 ** 31))


@points(1)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_mask_follows_the_seed_convention(submission, rng, dtype):
    """With a seed, the mask is np.random.default_rng(seed).random(x.shape) >= p, float64 draws
    whatever the dtype of x (deterministic).

    rng.random(x.shape, dtype=np.float32) draws another stream: each of the 64 units then agrees
    with the convention's with probability about 0.57, all 64 with probability below 1e-15.
    """
    x = _nonzero(rng, (8, 8)).astype(dtype)
    p, seed = 0.3, _seed(rng)
    out, _ = submission.dropout_forward(x, {"p": p, "mode": "train", "seed": seed})
    keep = np.random.default_rng(seed).random(x.shape) >= p
    expected = (x.astype(np.float64) * keep / (1 - p)).astype(dtype)
    assert_close(out, expected, rtol=1e-12 if dtype == np.float64 else 1e-6, atol=0,
                 what=f"out for seed={seed}, x {np.dtype(dtype).name} "
                      "(mask: default_rng(seed).random(x.shape) >= p, float64 draws)")


@points(1)
def test_fraction_dropped_is_p(submission, rng):
    """About a fraction p of the units are zeroed (p is the DROP probability).

    False-failure probability <= 2 exp(-2 n t^2) = 4.1e-9 (Hoeffding, n = 100000 independent
    Bernoulli(p) indicators, t = 0.01).
    """
    n, p, t = 100_000, 0.3, 0.01
    assert hoeffding(n, t) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _nonzero(rng, (n,))
    out, _ = submission.dropout_forward(x, {"p": p, "mode": "train", "seed": _seed(rng)})
    assert_shape(out, x.shape, what="out")
    dropped = float(np.mean(out == 0))
    assert abs(dropped - p) <= t, (
        f"p={p} is the probability of DROPPING a unit, but your layer zeroed a fraction {dropped:.4f} "
        f"of the units (expected {p} +- {t})")


@points(1)
def test_inverted_dropout_preserves_the_mean(submission, rng):
    """Inverted dropout keeps the expected output equal to the input.

    out_i - x_i lies in an interval of length x_i / (1 - p) <= 1.5 / 0.7, so Hoeffding gives
    P(|mean(out) - mean(x)| >= t) <= 2 exp(-2 n t^2 / (1.5 / 0.7)^2) = 5.4e-8 for n = 100000,
    t = 0.02.
    """
    n, p, t = 100_000, 0.3, 0.02
    assert hoeffding(n, t, width=1.5 / (1 - p)) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = rng.uniform(0.5, 1.5, size=n)
    out, _ = submission.dropout_forward(x, {"p": p, "mode": "train", "seed": _seed(rng)})
    assert abs(float(np.mean(out)) - float(np.mean(x))) <= t, (
        f"mean(out) = {np.mean(out):.4f} but mean(x) = {np.mean(x):.4f}: inverted dropout scales the "
        f"kept units by 1 / (1 - p) so that the mean is preserved")


@points(1)
def test_test_mode_is_the_identity(submission, rng):
    """Inverted dropout at test time returns x unchanged, and its backward dout, each as a NEW array
    (the module's rule: not x or dout themselves) (deterministic)."""
    x, dout = rng.normal(size=(6, 8)), rng.normal(size=(6, 8))
    seen = submission.dropout_forward.inspect(x, {"p": 0.4, "mode": "test"})
    out, cache = seen.value
    assert_close(out, x, rtol=0, atol=0, what="out in test mode")
    assert "[0]" not in seen.aliases, "out shares memory with x: return a new array (x.copy(), not x itself)"
    dx = call_pure(submission.dropout_backward, dout, cache)  # fails if dx is dout itself
    assert_close(dx, dout, rtol=0, atol=0, what="dx in test mode")


@points(1)
def test_vanilla_test_mode_scales_by_keep_probability(submission, rng):
    """Vanilla dropout at test time multiplies by (1 - p) (deterministic)."""
    x = rng.normal(size=(6, 8))
    # Not checked here: a training call, recorded so that, when graded, a failure of this test can be
    # told apart among known mistakes (a test-mode factor alone does not say which one).
    submission.dropout_forward(x, {"p": 0.25, "mode": "train", "variant": "vanilla", "seed": _seed(rng)})
    out, _ = submission.dropout_forward(x, {"p": 0.25, "mode": "test", "variant": "vanilla"})
    assert_close(out, 0.75 * x, rtol=1e-12, atol=0, what="out in test mode, vanilla variant, p=0.25")


def _kept(out, x, scale):
    """The units your training-mode output kept, checked to be a dropout of x: every unit is 0 or
    x * scale, and both occur. The backward is then checked against dout * kept * scale, the
    gradient of that very forward pass, not against your out itself (a forward that is not a
    dropout, all zeros say, would agree with a backward that shares its mistake)."""
    out, x = (np.asarray(out.detach().double()), np.asarray(x.double())) if isinstance(out, torch.Tensor) else (out, x)
    assert_shape(out, x.shape, what="out")
    kept = out != 0
    assert 0 < kept.sum() < kept.size, f"every unit was {'kept' if kept.all() else 'dropped'}"
    assert_close(out[kept] / x[kept], np.full(int(kept.sum()), scale), rtol=1e-12, atol=0,
                 what=f"out / x on the kept units (must be 1 / (1 - p) = {scale:.6g})")
    return kept


@points(1)
def test_backward_reuses_the_forward_mask(submission, rng):
    """dx = dout * mask / (1 - p): the units dropped in forward get no gradient, the others 1 / (1 - p).

    Deterministic given the forward's mask; a correct solution fails only by dropping all 64
    units or none: 2 * 0.5^64 < 1e-18.
    """
    x, dout = _nonzero(rng, (8, 8)), rng.normal(size=(8, 8))
    out, cache = submission.dropout_forward(x, {"p": 0.5, "mode": "train", "seed": _seed(rng)})
    kept = _kept(out, x, 2.0)
    dx = submission.dropout_backward(dout, cache)
    assert_shape(dx, x.shape, what="dx")
    assert_close(dx, dout * kept * 2.0, rtol=1e-12, atol=1e-15, what="dx (must be dout * mask / (1 - p))")


@points(1)
def test_p_zero_and_p_one(submission, rng):
    """p = 0 keeps every unit; p = 1 drops every unit, with no nan (deterministic)."""
    x = _nonzero(rng, (4, 3))
    out0, _ = submission.dropout_forward(x, {"p": 0.0, "mode": "train", "seed": _seed(rng)})
    assert_close(out0, x, rtol=0, atol=0, what="out with p=0")
    out1, cache = submission.dropout_forward(x, {"p": 1.0, "mode": "train", "seed": _seed(rng)})
    assert not np.any(np.isnan(out1)), "p=1 must not divide by zero: got nan"
    assert_close(out1, np.zeros_like(x), what="out with p=1")


@points(1)
def test_ensemble_average_by_hand(submission):
    """Two input units, p = 0.25: masks 00, 10, 01, 11 with probabilities 1/16, 3/16, 3/16, 9/16."""
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0], [1.0]])
    b = np.array([0.5])
    avg = submission.dropout_ensemble_average(x, w, b, 0.25)
    # outputs 0.5, 1.5, 2.5, 3.5: (0.5 * 1 + 1.5 * 3 + 2.5 * 3 + 3.5 * 9) / 16 = 2.75
    assert_shape(avg, (1, 1), what="average")
    assert_close(avg, np.array([[2.75]]), rtol=1e-12, what="ensemble average")


@points(1)
def test_ensemble_average_equals_weight_scaled_network(submission, rng):
    """For a linear layer the average of the 2^D thinned networks is x @ ((1 - p) w) + b exactly."""
    N, D, M, p = 3, 4, 2, 0.3
    x, w, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    avg = submission.dropout_ensemble_average(x, w, b, p)
    assert_close(avg, x @ ((1 - p) * w) + b, rtol=1e-10, atol=1e-12, what="ensemble average")


# ---------------------------------------------------------------- torch


def _probe(submission):
    return submission.helpers


@points(1)
def test_torch_dropout_eval_is_the_identity(submission, rng):
    """After eval(), Dropout returns its input unchanged (deterministic)."""
    x = torch.tensor(rng.normal(size=(5, 4)))
    layer = submission.dropout_torch.Dropout(0.5)
    out = _probe(submission).forward(layer, x, False, _seed(rng))
    assert_close(out, x, rtol=0, atol=0, what="Dropout output in eval mode")


@points(1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_torch_dropout_follows_the_seed_convention(submission, rng, dtype):
    """After train() and torch.manual_seed(s): keep = torch.rand_like(x) >= p, out = x * keep / (1 - p),
    rand_like drawing in x's dtype (deterministic).

    A float32 draw for a float64 x (torch.rand(x.shape)) is another stream: each of the 64 units then
    agrees with the convention's with probability about 0.5, all 64 with probability below 1e-15.
    """
    x = torch.tensor(_nonzero(rng, (8, 8)), dtype=dtype)
    p, seed = 0.4, _seed(rng)
    layer = submission.dropout_torch.Dropout(p)
    out = _probe(submission).forward(layer, x, True, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        keep = torch.rand_like(x) >= p
    assert out.dtype == x.dtype, f"output dtype must be the input's ({x.dtype}), got {out.dtype}"
    assert_close(out, x * keep / (1 - p), rtol=1e-6, atol=1e-7,
                 what=f"Dropout output after torch.manual_seed({seed})")


@points(1)
def test_torch_dropout_gradient_uses_the_mask(submission, rng):
    """The gradient is grad_out * mask / (1 - p): the same units as in forward.

    Deterministic given the forward's mask; a correct solution fails only by dropping all 64
    units or none: 0.7^64 + 0.3^64 < 1e-9.
    """
    x = torch.tensor(_nonzero(rng, (8, 8)))
    g = torch.tensor(rng.normal(size=(8, 8)))
    layer = submission.dropout_torch.Dropout(0.3)
    out, dx = _probe(submission).forward_backward(layer, x, g, True, _seed(rng))
    kept = _kept(out, x, 1 / 0.7)
    assert dx is not None, "no gradient reached x: build the output from x with differentiable tensor ops"
    assert_close(dx, g * torch.tensor(kept) / 0.7, rtol=1e-12, atol=1e-15, what="gradient with respect to x")
