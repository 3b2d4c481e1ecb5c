"""The dropout reference solution, checked against independent oracles.

torch is the oracle: torch.nn.functional.dropout's statistics (fraction
dropped, 1 / (1 - p) scaling of the kept units, identity in eval mode) and
torch.autograd's gradient through the same mask; brute-force enumeration of
the 2^D masks, written independently here with itertools, for the ensemble
average. Plain pytest: no engine involved.

The statistical checks state their false-failure probability, as the
assignment's tests do: Hoeffding's bound 2 exp(-2 n t^2) for the mean of n
independent indicators, below 1e-8 for every check here.
"""
import itertools
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference_modules import load_reference


dp, dpt = load_reference("dropout", "dropout", "dropout_torch")

N_STAT, T_STAT = 200_000, 0.01  # Hoeffding: 2 exp(-2 * 200000 * 0.01^2) = 8.5e-18


def hoeffding(n, t, width=1.0):
    return 2.0 * math.exp(-2.0 * n * t * t / width ** 2)


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def _nonzero(rng, shape):
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# ------------------------------------------------------ numpy against torch


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_numpy_statistics_match_torch_dropout(p, rng):
    """Same fraction dropped as F.dropout (both within t of p), same kept-unit scale 1 / (1 - p).

    False-failure probability <= 2 * 8.5e-18 (Hoeffding for each of the two layers).
    """
    assert hoeffding(N_STAT, T_STAT) < 1e-8
    x = _nonzero(rng, (N_STAT,))
    out, _ = dp.dropout_forward(x, {"p": p, "mode": "train", "seed": 7})
    torch.manual_seed(7)
    ref = F.dropout(torch.tensor(x), p=p, training=True).numpy()
    for name, o in [("reference", out), ("torch", ref)]:
        assert abs(np.mean(o == 0) - p) <= T_STAT, (name, np.mean(o == 0))
        kept = o != 0
        np.testing.assert_allclose(o[kept] / x[kept], 1 / (1 - p), rtol=1e-12, err_msg=name)


def test_numpy_mean_preserved_like_torch(rng):
    """Inverted dropout preserves the mean, as torch's does.

    out_i - x_i lies in an interval of length x_i / (1 - p) <= 3: false-failure probability
    <= 2 * 2 exp(-2 n t^2 / 3^2) = 1.7e-17 with n = 200000, t = 0.03.
    """
    p, t = 0.5, 0.03
    assert hoeffding(N_STAT, t, width=1.5 / (1 - p)) < 1e-8
    x = rng.uniform(0.5, 1.5, size=N_STAT)
    out, _ = dp.dropout_forward(x, {"p": p, "mode": "train", "seed": 3})
    torch.manual_seed(3)
    ref = F.dropout(torch.tensor(x), p=p, training=True).numpy()
    assert abs(out.mean() - x.mean()) <= t
    assert abs(ref.mean() - x.mean()) <= t


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_test_mode_is_torch_eval(p, rng):
    x = rng.normal(size=(4, 5))
    out, cache = dp.dropout_forward(x, {"p": p, "mode": "test"})
    np.testing.assert_array_equal(out, F.dropout(torch.tensor(x), p=p, training=False).numpy())
    assert not np.shares_memory(out, x)
    np.testing.assert_array_equal(dp.dropout_backward(np.ones_like(x), cache), np.ones_like(x))


def test_p_one_is_zeros_like_torch(rng):
    x = _nonzero(rng, (6, 7))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out, cache = dp.dropout_forward(x, {"p": 1.0, "mode": "train", "seed": 0})
            dx = dp.dropout_backward(np.ones_like(x), cache)
    ref = F.dropout(torch.tensor(x), p=1.0, training=True).numpy()
    np.testing.assert_array_equal(out, ref)  # zeros (torch returns zeros too, no nan)
    np.testing.assert_array_equal(dx, np.zeros_like(x))


@pytest.mark.parametrize("variant", ["inverted", "vanilla"])
@pytest.mark.parametrize("shape", [(5,), (4, 6), (2, 3, 4, 5)])
def test_backward_matches_autograd_through_the_same_mask(variant, shape, rng):
    """torch.autograd of x * m with the reference's own mask m gives the reference's dx."""
    p = 0.4
    x, dout = _nonzero(rng, shape), rng.normal(size=shape)
    out, cache = dp.dropout_forward(x, {"p": p, "mode": "train", "seed": 11, "variant": variant})
    keep = np.random.default_rng(11).random(shape) >= p  # the documented convention
    factor = keep / (1 - p) if variant == "inverted" else keep.astype(float)
    t = torch.tensor(x, requires_grad=True)
    y = t * torch.tensor(factor)
    y.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(dp.dropout_backward(dout, cache), t.grad.numpy(), rtol=1e-15, atol=0)


def test_vanilla_matches_torch_in_expectation(rng):
    """Vanilla training output has the mean of the test output (1 - p) x, which is torch's eval
    output scaled by 1 - p. False-failure probability <= 2 exp(-2 n t^2 / 1.5^2) = 2.6e-31
    (n = 200000, t = 0.02)."""
    p, t = 0.3, 0.02
    assert hoeffding(N_STAT, t, width=1.5) < 1e-8
    x = rng.uniform(0.5, 1.5, size=N_STAT)
    train, _ = dp.dropout_forward(x, {"p": p, "mode": "train", "seed": 5, "variant": "vanilla"})
    test, _ = dp.dropout_forward(x, {"p": p, "mode": "test", "variant": "vanilla"})
    kept = train != 0
    np.testing.assert_array_equal(train[kept], x[kept])
    np.testing.assert_allclose(test, (1 - p) * F.dropout(torch.tensor(x), p, training=False).numpy(), rtol=1e-15)
    assert abs(train.mean() - test.mean()) <= t


def test_seed_convention_and_dtype(rng):
    x = _nonzero(rng, (3, 4)).astype(np.float32)
    out, cache = dp.dropout_forward(x, {"p": 0.25, "mode": "train", "seed": 42})
    keep = np.random.default_rng(42).random(x.shape) >= 0.25
    assert out.dtype == np.float32
    assert dp.dropout_backward(np.ones_like(x), cache).dtype == np.float32
    np.testing.assert_allclose(out, x * keep / 0.75, rtol=1e-6)
    x_before = x.copy()
    dp.dropout_forward(x, {"p": 0.5, "mode": "train"})
    np.testing.assert_array_equal(x, x_before)


# ------------------------------------------------------ the ensemble average


def _brute_force_average(x, w, b, p):
    """Independent enumeration: every mask in {0, 1}^D with its probability."""
    D = x.shape[1]
    total = np.zeros((x.shape[0], w.shape[1]))
    weight = 0.0
    for mask in itertools.product([0, 1], repeat=D):
        m = np.array(mask, dtype=float)
        prob = float(np.prod([(1 - p) if k else p for k in mask]))
        total += prob * ((x * m) @ w + b)
        weight += prob
    assert abs(weight - 1) < 1e-12
    return total


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.85, 1.0])
@pytest.mark.parametrize("D", [1, 3, 6])
def test_ensemble_average_against_brute_force_and_weight_scaling(p, D, rng):
    x, w, b = rng.normal(size=(4, D)), rng.normal(size=(D, 3)), rng.normal(size=3)
    avg = dp.dropout_ensemble_average(x, w, b, p)
    assert avg.shape == (4, 3)
    np.testing.assert_allclose(avg, _brute_force_average(x, w, b, p), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(avg, x @ ((1 - p) * w) + b, rtol=1e-12, atol=1e-12)


def test_ensemble_average_is_the_expectation_of_torch_dropout(rng):
    """The ensemble average is what F.dropout (rescaled by 1 - p, i.e. raw masks) gives on average
    over many masks.

    Output coordinate (n, k) of one thinned copy lies in an interval of length
    width_nk = sum_j |x_nj w_jk|; for the mean over R = 20000 copies Hoeffding gives
    P(|mean - average| >= t_nk) <= 2 exp(-2 R t_nk^2 / width_nk^2). With
    t_nk = width_nk sqrt(ln(2 * 6 / 1e-9) / (2 R)) each coordinate fails with probability at
    most 1e-9 / 6: 1e-9 in all (union bound over the 6 coordinates).
    """
    p, R = 0.3, 20_000
    x, w, b = rng.normal(size=(2, 4)), rng.normal(size=(4, 3)), rng.normal(size=3)
    width = (np.abs(x)[:, :, None] * np.abs(w)[None, :, :]).sum(axis=1)  # (2, 3)
    t = width * math.sqrt(math.log(2 * width.size / 1e-9) / (2 * R))
    assert sum(hoeffding(R, tk, wk) for tk, wk in zip(t.ravel(), width.ravel())) <= 1.0001e-9
    torch.manual_seed(0)
    xs = torch.tensor(x).expand(R, 2, 4)
    thinned = F.dropout(xs, p=p, training=True) * (1 - p)  # undo torch's 1 / (1 - p): raw masks
    mc = (thinned @ torch.tensor(w) + torch.tensor(b)).mean(dim=0).numpy()
    assert np.all(np.abs(dp.dropout_ensemble_average(x, w, b, p) - mc) <= t)


# ------------------------------------------------------------- torch module


@pytest.mark.parametrize("p", [0.0, 0.2, 0.6, 1.0])
def test_module_statistics_match_torch(p):
    assert hoeffding(N_STAT, T_STAT) < 1e-8
    x = torch.rand(N_STAT, dtype=torch.float64) + 0.5
    layer, ref_layer = dpt.Dropout(p), torch.nn.Dropout(p)
    torch.manual_seed(1)
    out = layer.train()(x)
    torch.manual_seed(1)
    ref = ref_layer.train()(x)
    for o in (out, ref):
        assert abs(float((o == 0).double().mean()) - p) <= T_STAT
        kept = o != 0
        if p < 1:
            torch.testing.assert_close(o[kept] / x[kept], torch.full((int(kept.sum()),), 1 / (1 - p),
                                                                     dtype=torch.float64))
        else:
            assert not kept.any()
    assert torch.equal(layer.eval()(x), ref_layer.eval()(x))


def test_module_seed_convention_and_gradient(rng):
    x = torch.tensor(_nonzero(rng, (5, 6)), requires_grad=True)
    layer = dpt.Dropout(0.3).train()
    torch.manual_seed(9)
    out = layer(x)
    torch.manual_seed(9)
    keep = torch.rand_like(x) >= 0.3
    torch.testing.assert_close(out.detach(), x.detach() * keep / 0.7)
    g = torch.tensor(rng.normal(size=(5, 6)))
    out.backward(g)
    torch.testing.assert_close(x.grad, g * keep / 0.7)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_module_keeps_dtype(dtype):
    x = torch.linspace(0.5, 1.5, 1000).to(dtype)
    layer = dpt.Dropout(0.5)
    assert layer.train()(x).dtype == dtype
    assert layer.eval()(x).dtype == dtype
    assert len(list(layer.parameters())) == 0 and isinstance(layer, torch.nn.Module)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_module_on_cuda():
    x = torch.rand(N_STAT, device="cuda") + 0.5
    out = dpt.Dropout(0.3).train()(x)
    assert out.device.type == "cuda" and out.dtype == x.dtype
    assert abs(float((out == 0).double().mean()) - 0.3) <= T_STAT
