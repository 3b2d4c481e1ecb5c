"""Hidden tests for the dropout assignment.

Randomness is graded here by statistics and by relations that hold whatever
random numbers a solution draws (a unit is either zeroed or scaled by
1 / (1 - p); dx = dout * mask * scale for the mask of that forward pass,
once its output is checked to be a dropout of x), never by matching the
reference's mask. (The public tests pin the seed convention of the
docstrings, for float64 and float32 inputs, numpy and torch.)
Each statistical test states in its docstring the probability that it fails
for a correct solution and how that bound was derived, modelling the mask as
independent Bernoulli draws, one per element; every such bound is below
1e-6, and each test asserts its own bound first, so that an edit of n or t
that loosens it cannot go unnoticed. Their inputs have two rows of many
units, so that a mask shared by the examples of a batch (a catalogued
mistake, caught by test_train_each_example_gets_its_own_mask) is itself
100000 independent draws and passes them under every seed too (same
bounds): a verdict never depends on the seed.

The calls pass a ``seed`` (drawn from the test's rng) although no assertion
depends on it: when a test fails, the judge replays the calls on the
reference and on each catalogued mistake, which, following the seed
convention the docstring pins, draw the same mask as the student, so the
mistake can be named.

Deterministic comparisons with ``reference`` are used where no randomness
is involved (test mode, the ensemble average).
"""
import math

import numpy as np
import pytest
import torch

from autograder import assert_close, assert_shape, call_pure, points

MAX_FALSE_FAILURE = 1e-6
F32 = dict(rtol=1e-6, atol=1e-7)


def hoeffding(n, t, width=1.0):
    """Hoeffding's bound P(|mean - E[mean]| >= t) <= 2 exp(-2 n t^2 / width^2) for n independent
    terms, each within an interval of length ``width``."""
    return 2.0 * math.exp(-2.0 * n * t * t / width ** 2)


def _nonzero(rng, shape):
    """Random values with |x| in [0.5, 1.5]: no zeros, so a zero in the output means a dropped unit."""
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def _seed(rng):
    return int(rng.integers(2 ** 31))


def _pure_forward(submission, x, dropout_param):
    """dropout_forward, checked to leave x unchanged and to return an out that does not share x's memory.

    (Not call_pure: the cache may legitimately hold x itself.)
    """
    seen = submission.dropout_forward.inspect(x, dropout_param)
    assert_close(seen.args_after[0], x, rtol=0, atol=0, what="x after dropout_forward (must be unchanged)")
    assert "[0]" not in seen.aliases, \
        "out shares memory with x: return a new array (in test mode, x.copy() rather than x itself)"
    return seen.value


def _kept(out, x, scale, tol):
    """The units a training-mode output kept, checked to be a dropout of x: every unit is 0 or
    x * scale, and both occur. A backward is then compared with dout * kept * scale, the gradient
    of that very forward pass computed here, never with the student's own out (a forward that is
    not a dropout, zeros or 2 x, would agree with a backward that shares its mistake).

    A correct solution fails this only by dropping all n units or none: p^n + (1 - p)^n.
    """
    torch_out = isinstance(out, torch.Tensor)
    assert_shape(out, tuple(x.shape), what="out")
    out, x = (out.detach().double().cpu().numpy(), x.double().numpy()) if torch_out else (out, x)
    kept = out != 0
    assert 0 < kept.sum() < kept.size, f"every unit was {'kept' if kept.all() else 'dropped'}"
    ratio = (out[kept] / x[kept]).astype(np.float64)  # the dtype has tests of its own
    assert_close(ratio, np.full(int(kept.sum()), scale), **tol, what=f"out / x on the kept units (must be {scale:.6g})")
    return kept


def _param(p, mode="train", variant=None, seed=None):
    param = {"p": p, "mode": mode}
    if variant is not None:
        param["variant"] = variant
    if seed is not None:
        param["seed"] = seed
    return param


# ----------------------------------------------------------- training mode


@points(2)
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_train_fraction_dropped(submission, rng, p):
    """A fraction p of the units is zeroed: p is the DROP probability, as in torch.nn.Dropout.

    False-failure probability <= 2 exp(-2 n t^2) = 4.1e-9: Hoeffding for the mean of n = 100000
    independent Bernoulli(p) indicators (the 2 x 100000 units are more), t = 0.01.
    """
    n, t = 100_000, 0.01
    assert hoeffding(n, t) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _nonzero(rng, (2, n))
    out, _ = submission.dropout_forward(x, _param(p, seed=_seed(rng)))
    assert_shape(out, x.shape, what="out")
    dropped = float(np.mean(out == 0))
    assert abs(dropped - p) <= t, (
        f"with p={p} your layer zeroed a fraction {dropped:.4f} of the units; expected {p} +- {t} "
        f"(p is the probability of DROPPING a unit, 1 - p of keeping it)")


@points(2)
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_train_kept_units_scaled_by_inverse_keep_probability(submission, rng, p):
    """Every unit is either 0 or x / (1 - p), and both occur.

    Deterministic given the mask, except that a correct solution could drop all n = 2000 units or
    none: probability p^n + (1 - p)^n <= 0.8^2000 < 1e-193.
    """
    x = _nonzero(rng, (40, 50))
    out, _ = submission.dropout_forward(x, _param(p, seed=_seed(rng)))
    assert_shape(out, x.shape, what="out")
    kept = out != 0
    assert 0 < kept.sum() < kept.size, f"with p={p} every unit was {'kept' if kept.all() else 'dropped'}"
    assert_close(out[kept] / x[kept], np.full(int(kept.sum()), 1 / (1 - p)), rtol=1e-12, atol=0,
                 what=f"out / x on the kept units (inverted dropout: 1 / (1 - p) = {1 / (1 - p):.6g})")


@points(2)
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_train_mean_preserved(submission, rng, p):
    """Inverted dropout preserves the mean: |mean(out) - mean(x)| < t.

    out_i - x_i lies in an interval of length x_i / (1 - p) <= 1.5 / (1 - p); Hoeffding with
    n = 100000 (the mean of the 100000 column means of 2 x 100000 units) gives a false-failure
    probability <= 2 exp(-2 n t^2 (1 - p)^2 / 1.5^2): 2.6e-10 for p = 0.2 (t = 0.02), 4.1e-9 for
    p = 0.7 (t = 0.05).
    """
    n = 100_000
    t = 0.02 if p < 0.5 else 0.05
    assert hoeffding(n, t, width=1.5 / (1 - p)) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = rng.uniform(0.5, 1.5, size=(2, n))
    out, _ = submission.dropout_forward(x, _param(p, seed=_seed(rng)))
    diff = float(np.mean(out)) - float(np.mean(x))
    assert abs(diff) <= t, (
        f"mean(out) = {np.mean(out):.4f}, mean(x) = {np.mean(x):.4f}: with p={p} inverted dropout "
        f"must scale the kept units so that the mean is preserved (tolerance {t})")


@points(1)
def test_train_any_shape(submission, rng):
    """x of shape (N, C, H, W): out has its shape, and every unit is 0 or x / (1 - p).

    Fails for a correct solution only if all 360 units are dropped or all kept:
    probability 0.5^360 * 2 < 1e-107.
    """
    x = _nonzero(rng, (3, 4, 5, 6))
    out, _ = submission.dropout_forward(x, _param(0.5, seed=_seed(rng)))
    assert_shape(out, x.shape, what="out for x of shape (N, C, H, W)")
    kept = out != 0
    assert 0 < kept.sum() < kept.size, "every unit was kept, or every unit dropped"
    assert_close(out[kept] / x[kept], np.full(int(kept.sum()), 2.0), rtol=1e-12, atol=0,
                 what="out / x on the kept units (p = 0.5)")


@points(2)
def test_train_each_example_gets_its_own_mask(submission, rng):
    """Masks are drawn per element: neither all rows (examples) nor all columns share one pattern.

    For a correct solution with p = 0.5 the 200 rows of 5 units are independent, uniform over the
    32 patterns: all equal to the first with probability (1/32)^199 < 1e-299; likewise the 5
    columns of 200 units, (1/2)^800 < 1e-240.
    """
    x = _nonzero(rng, (200, 5))
    out, _ = submission.dropout_forward(x, _param(0.5, seed=_seed(rng)))
    kept = np.asarray(out) != 0
    assert not np.all(kept == kept[0:1, :]), (
        "every example of the batch got the same mask: draw one random number per ELEMENT of x "
        "(rng.random(x.shape)), not per feature")
    assert not np.all(kept == kept[:, 0:1]), \
        "every feature of an example got the same mask: draw one random number per element of x"


@points(1)
def test_train_float32_keeps_dtype(submission, rng):
    """A float32 input gives float32 output and gradient (deterministic)."""
    x = _nonzero(rng, (8, 6)).astype(np.float32)
    dout = rng.normal(size=(8, 6)).astype(np.float32)
    out, cache = submission.dropout_forward(x, _param(0.3, seed=_seed(rng)))
    dx = submission.dropout_backward(dout, cache)
    assert out.dtype == np.float32, f"out must be float32 for a float32 x, got {out.dtype}"
    assert dx.dtype == np.float32, f"dx must be float32 for float32 inputs, got {dx.dtype}"


@points(1)
def test_train_does_not_modify_x(submission, rng):
    """x is left unchanged and out does not alias it (deterministic)."""
    x = _nonzero(rng, (5, 7))
    out, _ = _pure_forward(submission, x, _param(0.5, seed=_seed(rng)))
    kept = out != 0
    assert_close(out[kept] / x[kept], np.full(int(kept.sum()), 2.0), rtol=1e-12, atol=0,
                 what="out / x on the kept units")


@points(2)
def test_same_seed_same_mask_other_seed_other_mask(submission, rng):
    """The seed makes a call reproducible, and different seeds give different masks.

    The first part is deterministic. Two independent masks of n = 1000 units with p = 0.5 agree
    everywhere with probability 0.5^1000 < 1e-300.
    """
    x = _nonzero(rng, (20, 50))
    seed = _seed(rng)
    a, _ = submission.dropout_forward(x, _param(0.5, seed=seed))
    b, _ = submission.dropout_forward(x, _param(0.5, seed=seed))
    c, _ = submission.dropout_forward(x, _param(0.5, seed=seed + 1))
    assert_close(a, b, rtol=0, atol=0, what=f"two calls with the same seed {seed}")
    assert not np.array_equal(a, c), f"seeds {seed} and {seed + 1} gave the same mask"


@points(1)
def test_without_seed_every_call_draws_a_new_mask(submission, rng):
    """Without a seed, two calls give different masks (no hidden fixed seed).

    Two independent masks of n = 1000 units with p = 0.5 agree everywhere with probability
    0.5^1000 < 1e-300.
    """
    x = _nonzero(rng, (20, 50))
    a, _ = submission.dropout_forward(x, _param(0.5))
    b, _ = submission.dropout_forward(x, _param(0.5))
    assert not np.array_equal(a, b), "two calls without a seed dropped exactly the same units"


# ------------------------------------------------------------- edge values of p


@points(1)
@pytest.mark.parametrize("variant", ["inverted", "vanilla"])
def test_p_zero_keeps_every_unit(submission, rng, variant):
    """p = 0: training output and gradient equal x and dout (deterministic)."""
    x, dout = rng.normal(size=(6, 7)), rng.normal(size=(6, 7))
    out, cache = _pure_forward(submission, x, _param(0.0, variant=variant, seed=_seed(rng)))
    dx = call_pure(submission.dropout_backward, dout, cache)  # a new array, even where it equals dout
    assert_close(out, x, rtol=0, atol=0, what=f"out with p=0 ({variant})")
    assert_close(dx, dout, rtol=0, atol=0, what=f"dx with p=0 ({variant})")


@points(1)
def test_p_close_to_one(submission, rng):
    """p = 0.99: about 1% of the units survive, scaled by 100, with no overflow or nan.

    False-failure probability <= 2 exp(-2 n t^2) = 4.1e-9: Hoeffding for n = 100000
    Bernoulli(0.99) indicators (the 2 x 100000 units are more), t = 0.01 (the scale check is
    deterministic; all units dropped has probability 0.99^100000 < 1e-436).
    """
    n, p, t = 100_000, 0.99, 0.01
    assert hoeffding(n, t) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _nonzero(rng, (2, n))
    out, _ = submission.dropout_forward(x, _param(p, seed=_seed(rng)))
    assert np.all(np.isfinite(out)), "p = 0.99 gave nan or inf"
    dropped = float(np.mean(out == 0))
    assert abs(dropped - p) <= t, f"with p={p} your layer zeroed a fraction {dropped:.4f} (expected {p} +- {t})"
    kept = out != 0
    assert kept.any(), "every unit was dropped"
    assert_close(out[kept] / x[kept], np.full(int(kept.sum()), 1 / (1 - p)), rtol=1e-10, atol=0,
                 what="out / x on the kept units (1 / (1 - 0.99) = 100)")


@points(2)
@pytest.mark.parametrize("variant", ["inverted", "vanilla"])
def test_p_one_drops_everything_without_nan(submission, rng, variant):
    """p = 1: out and dx are all zeros, not nan from 0 / 0 (deterministic)."""
    x, dout = _nonzero(rng, (5, 4)), rng.normal(size=(5, 4))
    out, cache = submission.dropout_forward(x, _param(1.0, variant=variant, seed=_seed(rng)))
    dx = call_pure(submission.dropout_backward, dout, cache)
    assert not np.any(np.isnan(out)), "p = 1 must not divide by zero: out has nan"
    assert_close(out, np.zeros_like(x), what=f"out with p=1 ({variant})")
    assert_close(dx, np.zeros_like(x), what=f"dx with p=1 ({variant})")


# --------------------------------------------------------------- test mode


@points(2)
def test_inverted_test_mode_is_identity(submission, reference, rng):
    """Inverted dropout at test time: out = x and dx = dout, as new arrays (the module's rule: not x
    or dout themselves), x and dout unchanged (deterministic)."""
    p = float(rng.uniform(0.1, 0.9))
    x, dout = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 5, 3))
    out, cache = _pure_forward(submission, x, _param(p, mode="test", seed=_seed(rng)))
    dx = call_pure(submission.dropout_backward, dout, cache)
    assert_close(out, x, rtol=0, atol=0, what=f"out in test mode (p={p:.3f}): inverted dropout is the identity")
    assert_close(dx, dout, rtol=0, atol=0, what="dx in test mode")


@points(1)
def test_test_mode_keeps_float32(submission, rng):
    """Test mode keeps the dtype too (deterministic)."""
    x = rng.normal(size=(4, 5)).astype(np.float32)
    for variant in ["inverted", "vanilla"]:
        out, _ = submission.dropout_forward(x, _param(0.5, mode="test", variant=variant))
        assert out.dtype == np.float32, f"test mode ({variant}) must keep float32, got {out.dtype}"


# ------------------------------------------------------------ vanilla variant


@points(2)
def test_vanilla_train_keeps_units_unscaled(submission, rng):
    """Vanilla dropout at training time: every unit is 0 or exactly x, and both occur.

    Fails for a correct solution only if all 2000 units are dropped or all kept:
    probability 0.4^2000 + 0.6^2000 < 1e-443.
    """
    p = 0.4
    x = _nonzero(rng, (40, 50))
    out, _ = submission.dropout_forward(x, _param(p, variant="vanilla", seed=_seed(rng)))
    kept = out != 0
    assert 0 < kept.sum() < kept.size, "every unit was kept, or every unit dropped"
    assert_close(out[kept], x[kept], rtol=0, atol=0, what="kept units in vanilla training (no scaling)")


@points(1)
def test_vanilla_train_fraction_dropped(submission, rng):
    """Vanilla dropout drops a fraction p too.

    False-failure probability <= 2 exp(-2 n t^2) = 4.1e-9 (Hoeffding, n = 100000 of the 2 x 100000
    units, t = 0.01).
    """
    n, p, t = 100_000, 0.6, 0.01
    assert hoeffding(n, t) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _nonzero(rng, (2, n))
    out, _ = submission.dropout_forward(x, _param(p, variant="vanilla", seed=_seed(rng)))
    dropped = float(np.mean(out == 0))
    assert abs(dropped - p) <= t, f"vanilla, p={p}: zeroed a fraction {dropped:.4f} (expected {p} +- {t})"


@points(1)
def test_vanilla_train_mean_is_keep_probability_times_x(submission, rng):
    """Vanilla training output has mean (1 - p) mean(x); test time matches it in expectation.

    out_i lies in [0, x_i] with x_i <= 1.5: Hoeffding with n = 100000 (the column means of
    2 x 100000 units), t = 0.02 gives 2 exp(-2 n t^2 / 1.5^2) = 7.2e-16.
    """
    n, p, t = 100_000, 0.3, 0.02
    assert hoeffding(n, t, width=1.5) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = rng.uniform(0.5, 1.5, size=(2, n))
    out, _ = submission.dropout_forward(x, _param(p, variant="vanilla", seed=_seed(rng)))
    expected = (1 - p) * float(np.mean(x))
    assert abs(float(np.mean(out)) - expected) <= t, (
        f"vanilla training: mean(out) = {np.mean(out):.4f}, expected (1 - p) mean(x) = {expected:.4f}")


@points(2)
def test_vanilla_test_mode_scales_by_keep_probability(submission, reference, rng):
    """Vanilla dropout at test time: out = (1 - p) x, dx = (1 - p) dout (deterministic)."""
    p = float(rng.uniform(0.1, 0.9))
    x, dout = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    param = _param(p, mode="test", variant="vanilla", seed=_seed(rng))
    # Not graded here: a training call, recorded so that, when this test fails, the diagnosis can
    # tell "vanilla not scaled at test time" from "variant ignored" (both give x at test time).
    submission.dropout_forward(x, _param(p, variant="vanilla", seed=_seed(rng)))
    out, cache = _pure_forward(submission, x, param)
    dx = call_pure(submission.dropout_backward, dout, cache)
    ref_out, ref_cache = reference.dropout_forward(x, dict(param))
    assert_close(out, ref_out, rtol=1e-12, atol=0, what=f"out in test mode, vanilla, p={p:.3f}: (1 - p) x")
    assert_close(dx, reference.dropout_backward(dout, ref_cache), rtol=1e-12, atol=0,
                 what="dx in test mode, vanilla: (1 - p) dout")


# ------------------------------------------------------------------ backward


@points(2)
@pytest.mark.parametrize("variant", ["inverted", "vanilla"])
def test_backward_reuses_the_mask_and_scale(submission, rng, variant):
    """dx = dout * mask * scale: the units dropped in forward get no gradient, the kept ones the
    forward factor (1 / (1 - p) inverted, 1 vanilla).

    Deterministic given the forward's mask, once out is checked to be a dropout of x; a correct
    solution fails only by dropping all 63 units or none: 0.65^63 + 0.35^63 < 1e-11.
    """
    p = 0.35
    scale = 1 / (1 - p) if variant == "inverted" else 1.0
    x, dout = _nonzero(rng, (7, 9)), rng.normal(size=(7, 9))
    out, cache = submission.dropout_forward(x, _param(p, variant=variant, seed=_seed(rng)))
    kept = _kept(out, x, scale, dict(rtol=1e-12, atol=0))
    dx = call_pure(submission.dropout_backward, dout, cache)
    assert_shape(dx, x.shape, what="dx")
    assert_close(dx, dout * kept * scale, rtol=1e-12, atol=1e-15,
                 what=f"dx ({variant}): must be dout times the forward mask and scale")


@points(1)
def test_backward_float32_mask_reused(submission, rng):
    """The same in float32 (deterministic given the mask; all 48 units dropped or none: 2 * 0.5^48 < 1e-14)."""
    x = _nonzero(rng, (6, 8)).astype(np.float32)
    dout = rng.normal(size=(6, 8)).astype(np.float32)
    out, cache = submission.dropout_forward(x, _param(0.5, seed=_seed(rng)))
    kept = _kept(out, x, 2.0, F32)
    dx = submission.dropout_backward(dout, cache)
    assert_close(dx, (dout.astype(np.float64) * kept * 2.0).astype(np.float32), **F32, what="dx in float32")


# --------------------------------------------------------- ensemble average


@points(2)
def test_ensemble_average_equals_weight_scaled_network(submission, reference, rng):
    """The average of the 2^D thinned linear layers equals x @ ((1 - p) w) + b (deterministic)."""
    N, D, M = int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(1, 5))
    p = float(rng.uniform(0.05, 0.95))
    x, w, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    avg = submission.dropout_ensemble_average(x, w, b, p)
    assert_shape(avg, (N, M), what="average")
    assert_close(avg, x @ ((1 - p) * w) + b, rtol=1e-10, atol=1e-12,
                 what=f"ensemble average (p={p:.3f}, D={D})")
    assert_close(avg, reference.dropout_ensemble_average(x, w, b, p), rtol=1e-10, atol=1e-12,
                 what="ensemble average")


@points(1)
def test_ensemble_average_weights_masks_by_probability(submission, reference, rng):
    """With p = 0.8 most masks are unlikely: the average is weighted, not the plain mean."""
    x, w, b = rng.normal(size=(2, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    avg = submission.dropout_ensemble_average(x, w, b, 0.8)
    assert_close(avg, reference.dropout_ensemble_average(x, w, b, 0.8), rtol=1e-10, atol=1e-12,
                 what="ensemble average with p=0.8 (each mask weighted by its probability)")


@points(1)
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_ensemble_average_extreme_p(submission, reference, rng, p):
    """p = 0 is the full layer, p = 1 the bias alone (deterministic)."""
    x, w, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2)
    avg = call_pure(submission.dropout_ensemble_average, x, w, b, p)
    assert not np.any(np.isnan(avg)), f"p={p} gave nan"
    assert_close(avg, reference.dropout_ensemble_average(x, w, b, p), rtol=1e-10, atol=1e-12,
                 what=f"ensemble average with p={p}")


# ---------------------------------------------------------------- torch module


DTYPES = [(torch.float32, F32), (torch.float64, dict(rtol=1e-12, atol=0))]


def _probe(submission):
    return submission.helpers


def _tensor(array, dtype=torch.float64):
    return torch.tensor(array, dtype=dtype)


@points(1)
@pytest.mark.parametrize("dtype,tol", DTYPES, ids=["float32", "float64"])
def test_torch_eval_is_identity(submission, rng, dtype, tol):
    """In eval mode the layer returns x unchanged (deterministic)."""
    x = _tensor(rng.normal(size=(6, 7)), dtype)
    layer = submission.dropout_torch.Dropout(float(rng.uniform(0.1, 0.9)))
    out = _probe(submission).forward(layer, x, False, _seed(rng))
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    assert_close(out, x, rtol=0, atol=0, what="Dropout output in eval mode")


@points(1)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_torch_leaves_its_input_alone(submission, rng, dtype):
    """In training mode the output is a new tensor: x keeps its values (deterministic)."""
    x = _tensor(_nonzero(rng, (8, 9)), dtype)
    layer = submission.dropout_torch.Dropout(0.5)
    seen = _probe(submission).forward.inspect(layer, x, True, _seed(rng))
    assert_close(seen.args_after[1], x, rtol=0, atol=0,
                 what="x after a forward pass in training mode (build a new tensor, do not change x in place)")


@points(1)
def test_torch_train_then_eval_then_train(submission, rng):
    """eval() and train() switch the behaviour back and forth (the module uses self.training).

    The train-mode check fails for a correct layer only if none of 600 units is dropped:
    0.5^600 < 1e-180.
    """
    x = _tensor(_nonzero(rng, (20, 30)))
    layer = submission.dropout_torch.Dropout(0.5)
    (flag_eval, out_eval), (flag_train, out_train) = _probe(submission).modes(layer, x, _seed(rng))
    assert not flag_eval and flag_train, "Dropout must be an nn.Module whose eval()/train() set self.training"
    assert_close(out_eval, x, rtol=0, atol=0, what="output after eval()")
    assert bool((out_train == 0).any()), "after train() again, no unit was dropped"


@points(2)
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_torch_train_fraction_dropped(submission, rng, p):
    """A fraction p of the units is zeroed in training mode.

    False-failure probability <= 2 exp(-2 n t^2) = 4.1e-9 (Hoeffding, n = 100000, t = 0.01).
    """
    n, t = 100_000, 0.01
    assert hoeffding(n, t) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _tensor(_nonzero(rng, (n // 100, 100)), torch.float32)
    layer = submission.dropout_torch.Dropout(p)
    out = _probe(submission).forward(layer, x, True, _seed(rng))
    dropped = float((out == 0).double().mean())
    assert abs(dropped - p) <= t, (
        f"with p={p} the layer zeroed a fraction {dropped:.4f} (expected {p} +- {t}; p is the DROP probability)")


@points(2)
@pytest.mark.parametrize("dtype,tol", DTYPES, ids=["float32", "float64"])
def test_torch_train_kept_units_scaled(submission, rng, dtype, tol):
    """Every unit is 0 or x / (1 - p), and both occur.

    Fails for a correct layer only if all or none of 2000 units are dropped:
    0.3^2000 + 0.7^2000 < 1e-309.
    """
    p = 0.3
    x = _tensor(_nonzero(rng, (40, 50)), dtype)
    layer = submission.dropout_torch.Dropout(p)
    out = _probe(submission).forward(layer, x, True, _seed(rng))
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    kept = out != 0
    assert 0 < int(kept.sum()) < kept.numel(), "every unit was kept, or every unit dropped"
    ratio = (out[kept] / x[kept]).double()
    assert_close(ratio, torch.full_like(ratio, 1 / (1 - p)), **tol,
                 what="out / x on the kept units (1 / (1 - p))")


@points(1)
def test_torch_train_mean_preserved(submission, rng):
    """The layer preserves the mean in training mode.

    out_i - x_i lies in an interval of length x_i / (1 - p) <= 1.5 / 0.5; Hoeffding with
    n = 100000, t = 0.04 gives 2 exp(-2 n t^2 / 3^2) = 7.2e-16.
    """
    n, p, t = 100_000, 0.5, 0.04
    assert hoeffding(n, t, width=1.5 / (1 - p)) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _tensor(rng.uniform(0.5, 1.5, size=(n // 100, 100)))
    layer = submission.dropout_torch.Dropout(p)
    out = _probe(submission).forward(layer, x, True, _seed(rng))
    diff = float(out.mean() - x.mean())
    assert abs(diff) <= t, f"mean(out) - mean(x) = {diff:.4f}: kept units must be scaled by 1 / (1 - p)"


@points(2)
@pytest.mark.parametrize("dtype,tol", DTYPES, ids=["float32", "float64"])
def test_torch_gradient_uses_the_forward_mask(submission, rng, dtype, tol):
    """The gradient is grad_out * mask / (1 - p) (deterministic given the forward's mask; all 72
    units dropped or none: 0.6^72 + 0.4^72 < 1e-15)."""
    x = _tensor(_nonzero(rng, (8, 9)), dtype)
    g = _tensor(rng.normal(size=(8, 9)), dtype)
    layer = submission.dropout_torch.Dropout(0.4)
    out, dx = _probe(submission).forward_backward(layer, x, g, True, _seed(rng))
    kept = _kept(out, x, 1 / 0.6, tol)
    assert dx is not None, "no gradient reached x"
    assert dx.dtype == dtype, f"gradient dtype must be {dtype}, got {dx.dtype}"
    assert_close(dx.double(), g.double() * torch.tensor(kept) / 0.6, **tol, what="gradient with respect to x")


@points(1)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_torch_half_precision_keeps_dtype(submission, rng, dtype):
    """float16 and bfloat16 inputs give outputs of the same dtype (deterministic), whose kept units
    are x / (1 - p) to the dtype's precision.

    Fails for a correct layer only if no unit is kept among 1000: 0.5^1000 < 1e-300.
    """
    x = _tensor(_nonzero(rng, (20, 50)), torch.float32)
    layer = submission.dropout_torch.Dropout(0.5)
    # The wire carries no bfloat16: the probe casts x in the worker and sends float32 copies back.
    out_dtype, x_cast, out = _probe(submission).forward_in_dtype(layer, x, dtype, True, _seed(rng))
    assert out_dtype == dtype, f"a {dtype} input must give a {dtype} output, got {out_dtype}"
    kept = out != 0
    assert bool(kept.any()), "every unit was dropped"
    ratio = out[kept].double() / x_cast[kept].double()
    assert_close(ratio, torch.full_like(ratio, 2.0), rtol=1e-2, atol=0, what=f"out / x on the kept units ({dtype})")


@points(1)
def test_torch_p_zero_and_p_one(submission, rng):
    """p = 0 is the identity in training; p = 1 gives zeros, not nan (deterministic)."""
    x = _tensor(_nonzero(rng, (5, 6)))
    probe = _probe(submission)
    out0 = probe.forward(submission.dropout_torch.Dropout(0.0), x, True, _seed(rng))
    assert_close(out0, x, rtol=0, atol=0, what="output with p=0 in training mode")
    out1 = probe.forward(submission.dropout_torch.Dropout(1.0), x, True, _seed(rng))
    assert not bool(torch.isnan(out1).any()), "p = 1 must not divide by zero: output has nan"
    assert_close(out1, torch.zeros_like(x), what="output with p=1 in training mode")


# ------------------------------------------------------------------- CUDA


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_torch_cuda_train_and_eval(submission, rng, dtype):
    """On CUDA: the output stays on the device with x's dtype; training drops a fraction p with kept
    units x / (1 - p); eval is the identity.

    False-failure probability <= 2 exp(-2 n t^2) = 4.1e-9 (Hoeffding, n = 100000, t = 0.01).
    """
    n, p, t = 100_000, 0.3, 0.01
    assert hoeffding(n, t) < MAX_FALSE_FAILURE, "the test's own bound on a false failure"
    x = _tensor(_nonzero(rng, (n // 100, 100)), dtype)
    layer = submission.dropout_torch.Dropout(p)
    probe = _probe(submission)
    out = probe.forward(layer, x.cuda(), True, _seed(rng))
    assert out.device.type == "cuda", f"output must stay on CUDA, got {out.device}"
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    out = out.cpu()
    dropped = float((out == 0).double().mean())
    assert abs(dropped - p) <= t, f"on CUDA, zeroed a fraction {dropped:.4f} (expected {p} +- {t})"
    kept = out != 0
    ratio = (out[kept] / x[kept]).double()
    assert_close(ratio, torch.full_like(ratio, 1 / (1 - p)), rtol=1e-6, atol=0, what="out / x on CUDA")
    out_eval = probe.forward(layer, x.cuda(), False, _seed(rng))
    assert out_eval.device.type == "cuda", f"eval output must stay on CUDA, got {out_eval.device}"
    assert_close(out_eval.cpu(), x, rtol=0, atol=0, what="eval output on CUDA")


@points(1)
@pytest.mark.gpu
def test_torch_cuda_gradient(submission, rng):
    """On CUDA the gradient is grad_out * mask / (1 - p), on the device (deterministic given the mask)."""
    x = _tensor(_nonzero(rng, (16, 32)), torch.float32)
    g = _tensor(rng.normal(size=(16, 32)), torch.float32)
    layer = submission.dropout_torch.Dropout(0.5)
    out, dx = _probe(submission).forward_backward(layer, x.cuda(), g.cuda(), True, _seed(rng))
    kept = _kept(out, x, 2.0, F32)
    assert dx is not None and dx.device.type == "cuda", "the gradient must exist and stay on CUDA"
    assert_close(dx.cpu(), (g.double() * torch.tensor(kept) * 2.0).float(), **F32, what="gradient on CUDA")
