"""The batchnorm reference solution, checked against independent oracles.

torch.nn.functional.batch_norm and layer_norm, with their torch.autograd
gradients in float64, are the oracles for the numpy layers;
torch.nn.BatchNorm1d for the nn.Module. Plain pytest: no engine involved.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference_modules import load_reference


bn, bnt = load_reference("batchnorm", "batchnorm", "batchnorm_torch")

TIGHT = dict(rtol=1e-10, atol=1e-12)


@pytest.fixture
def rng():
    return np.random.default_rng(2024)


def _problem(rng, N, D, scale=3.0, shift=2.0):
    x = rng.normal(size=(N, D)) * scale + shift
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    dout = rng.normal(size=(N, D))
    return x, gamma, beta, dout


def _torch_bn_train(x, gamma, beta, dout, eps):
    """Output and (dx, dgamma, dbeta) of F.batch_norm in training mode, by autograd in float64."""
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    out = F.batch_norm(tx, None, None, tg, tb, training=True, eps=eps)
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), (tx.grad.numpy(), tg.grad.numpy(), tb.grad.numpy())


# ---------------------------------------------------------------- batch norm


@pytest.mark.parametrize("N,D", [(2, 1), (4, 3), (16, 5), (50, 7)])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_batchnorm_train_matches_torch(N, D, eps, rng):
    x, gamma, beta, dout = _problem(rng, N, D)
    expected_out, expected_grads = _torch_bn_train(x, gamma, beta, dout, eps)
    x_before = x.copy()
    out, cache = bn.batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})
    np.testing.assert_allclose(out, expected_out, **TIGHT)
    for backward in (bn.batchnorm_backward, bn.batchnorm_backward_alt):
        for got, want in zip(backward(dout, cache), expected_grads):
            np.testing.assert_allclose(got, want, **TIGHT)
    np.testing.assert_array_equal(x, x_before)


def test_batchnorm_backward_alt_equals_backward(rng):
    x, gamma, beta, dout = _problem(rng, 32, 6)
    _, cache = bn.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for a, b in zip(bn.batchnorm_backward(dout, cache), bn.batchnorm_backward_alt(dout, cache)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum", [0.9, 0.5, 0.0])
def test_batchnorm_running_stats_one_step(momentum, rng):
    """Running mean as torch's with momentum 1 - m; running var averages the BIASED variance."""
    x, gamma, beta, _ = _problem(rng, 8, 4)
    rm0, rv0 = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    bn_param = {"mode": "train", "momentum": momentum, "running_mean": rm0.copy(), "running_var": rv0.copy()}
    bn.batchnorm_forward(x, gamma, beta, bn_param)
    t_rm, t_rv = torch.tensor(rm0), torch.tensor(rv0)
    F.batch_norm(torch.tensor(x), t_rm, t_rv, training=True, momentum=1 - momentum)
    np.testing.assert_allclose(bn_param["running_mean"], t_rm.numpy(), **TIGHT)
    # torch's running var uses the unbiased variance: the two differ by (1 - m) * (var_unbiased - var_biased).
    biased = torch.tensor(x).var(dim=0, unbiased=False).numpy()
    np.testing.assert_allclose(bn_param["running_var"], momentum * rv0 + (1 - momentum) * biased, **TIGHT)
    n = x.shape[0]
    np.testing.assert_allclose(t_rv.numpy() - bn_param["running_var"],
                               (1 - momentum) * biased / (n - 1), **TIGHT)


def test_batchnorm_running_stats_defaults(rng):
    """Missing running stats start at zero (CS231n), momentum defaults to 0.9, eps to 1e-5."""
    x, gamma, beta, _ = _problem(rng, 10, 3)
    bn_param = {"mode": "train"}
    out, _ = bn.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0), **TIGHT)
    np.testing.assert_allclose(bn_param["running_var"], 0.1 * x.var(axis=0), **TIGHT)
    expected, _ = _torch_bn_train(x, gamma, beta, np.ones_like(x), 1e-5)
    np.testing.assert_allclose(out, expected, **TIGHT)


def test_batchnorm_running_stats_many_steps_then_test_mode(rng):
    """200 steps on a drifting distribution, against torch (mean) and the biased recurrence (var)."""
    D, m = 5, 0.9
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    bn_param = {"mode": "train", "momentum": m}
    t_rm, t_rv = torch.zeros(D, dtype=torch.float64), torch.zeros(D, dtype=torch.float64)
    rv = np.zeros(D)
    for step in range(200):
        x = rng.normal(size=(16, D)) * (1 + step / 100) + np.sin(step / 20)
        bn.batchnorm_forward(x, gamma, beta, bn_param)
        F.batch_norm(torch.tensor(x), t_rm, t_rv, training=True, momentum=1 - m)
        rv = m * rv + (1 - m) * x.var(axis=0)
    np.testing.assert_allclose(bn_param["running_mean"], t_rm.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], rv, rtol=1e-10, atol=1e-12)

    x = rng.normal(size=(7, D))
    rm_before, rv_before = bn_param["running_mean"].copy(), bn_param["running_var"].copy()
    out, _ = bn.batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "test"})
    expected = F.batch_norm(torch.tensor(x), torch.tensor(rm_before), torch.tensor(rv_before),
                            torch.tensor(gamma), torch.tensor(beta), training=False, eps=1e-5)
    np.testing.assert_allclose(out, expected.numpy(), **TIGHT)
    np.testing.assert_array_equal(bn_param["running_mean"], rm_before)
    np.testing.assert_array_equal(bn_param["running_var"], rv_before)


def test_batchnorm_test_mode_leaves_running_stats(rng):
    x, gamma, beta, _ = _problem(rng, 6, 4)
    rm, rv = rng.normal(size=4), rng.uniform(0.5, 2, size=4)
    bn_param = {"mode": "test", "running_mean": rm.copy(), "running_var": rv.copy(), "eps": 1e-3}
    out, _ = bn.batchnorm_forward(x, gamma, beta, bn_param)
    expected = F.batch_norm(torch.tensor(x), torch.tensor(rm), torch.tensor(rv), torch.tensor(gamma),
                            torch.tensor(beta), training=False, eps=1e-3)
    np.testing.assert_allclose(out, expected.numpy(), **TIGHT)
    np.testing.assert_array_equal(bn_param["running_mean"], rm)
    np.testing.assert_array_equal(bn_param["running_var"], rv)


def test_batchnorm_invalid_mode_raises(rng):
    x, gamma, beta, _ = _problem(rng, 3, 2)
    with pytest.raises(ValueError):
        bn.batchnorm_forward(x, gamma, beta, {"mode": "eval"})


def test_batchnorm_single_example(rng):
    """N = 1: variance 0, out = beta, dx = 0 (torch's autograd of the same formula)."""
    x, gamma, beta, dout = _problem(rng, 1, 4)
    bn_param = {"mode": "train"}
    out, cache = bn.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, beta[None, :], rtol=0, atol=0)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    mu = tx.mean(dim=0)
    t_out = tg * (tx - mu) / torch.sqrt(((tx - mu) ** 2).mean(dim=0) + 1e-5) + tb
    t_out.backward(torch.tensor(dout))
    for backward in (bn.batchnorm_backward, bn.batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(dout, cache)
        assert np.all(np.isfinite(dx))
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(dgamma, tg.grad.numpy(), **TIGHT)
        np.testing.assert_allclose(dbeta, tb.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x[0], **TIGHT)
    np.testing.assert_array_equal(bn_param["running_var"], np.zeros(4))


def test_batchnorm_tiny_variance(rng):
    """Columns with variance 1e-12 and exactly 0: eps inside the root keeps everything finite and exact."""
    N, D = 12, 3
    x = np.ones((N, D)) * np.array([1.0, -2.0, 5.0])
    x[:, 0] += rng.normal(size=N) * 1e-6
    x[:, 1] += rng.normal(size=N) * 1e-3
    gamma, beta, dout = rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))
    expected_out, expected_grads = _torch_bn_train(x, gamma, beta, dout, 1e-5)
    out, cache = bn.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out, expected_out, rtol=1e-9, atol=1e-12)
    for backward in (bn.batchnorm_backward, bn.batchnorm_backward_alt):
        for got, want in zip(backward(dout, cache), expected_grads):
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_batchnorm_float32_keeps_dtype(rng):
    x, gamma, beta, dout = (a.astype(np.float32) for a in _problem(rng, 8, 4))
    bn_param = {"mode": "train"}
    out, cache = bn.batchnorm_forward(x, gamma, beta, bn_param)
    assert out.dtype == np.float32
    assert bn_param["running_mean"].dtype == np.float32 and bn_param["running_var"].dtype == np.float32
    for backward in (bn.batchnorm_backward, bn.batchnorm_backward_alt):
        assert all(g.dtype == np.float32 for g in backward(dout, cache))
    expected_out, expected_grads = _torch_bn_train(*(a.astype(np.float64) for a in (x, gamma, beta, dout)), 1e-5)
    np.testing.assert_allclose(out, expected_out, rtol=1e-5, atol=1e-5)
    for got, want in zip(bn.batchnorm_backward(dout, cache), expected_grads):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    out, _ = bn.batchnorm_forward(x, gamma, beta, {**bn_param, "mode": "test"})
    assert out.dtype == np.float32


# ---------------------------------------------------------------- layer norm


@pytest.mark.parametrize("N,D", [(1, 4), (3, 2), (6, 9)])
@pytest.mark.parametrize("eps", [1e-5, 1e-1])
def test_layernorm_matches_torch(N, D, eps, rng):
    x, gamma, beta, dout = _problem(rng, N, D)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    expected = F.layer_norm(tx, (D,), tg, tb, eps=eps)
    expected.backward(torch.tensor(dout))
    x_before = x.copy()
    out, cache = bn.layernorm_forward(x, gamma, beta, {"eps": eps})
    dx, dgamma, dbeta = bn.layernorm_backward(dout, cache)
    np.testing.assert_allclose(out, expected.detach().numpy(), **TIGHT)
    np.testing.assert_allclose(dx, tx.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(dgamma, tg.grad.numpy(), **TIGHT)
    np.testing.assert_allclose(dbeta, tb.grad.numpy(), **TIGHT)
    np.testing.assert_array_equal(x, x_before)


def test_layernorm_default_eps_and_float32(rng):
    x, gamma, beta, dout = (a.astype(np.float32) for a in _problem(rng, 5, 6))
    out, cache = bn.layernorm_forward(x, gamma, beta, {})
    grads = bn.layernorm_backward(dout, cache)
    assert out.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    expected = F.layer_norm(torch.tensor(x, dtype=torch.float64), (6,), torch.tensor(gamma, dtype=torch.float64),
                            torch.tensor(beta, dtype=torch.float64), eps=1e-5)
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ nn.Module


def _pair(C, dtype, **kw):
    ours = bnt.BatchNorm1d(C, dtype=dtype, **kw)
    theirs = torch.nn.BatchNorm1d(C, dtype=dtype, **kw)
    with torch.no_grad():
        w, b = torch.randn(C, dtype=dtype), torch.randn(C, dtype=dtype)
        ours.weight.copy_(w), ours.bias.copy_(b)
        theirs.weight.copy_(w), theirs.bias.copy_(b)
    return ours, theirs


def test_module_initial_state():
    m = bnt.BatchNorm1d(4)
    ref = torch.nn.BatchNorm1d(4)
    assert {n for n, _ in m.named_parameters()} == {"weight", "bias"}
    assert {n for n, _ in m.named_buffers()} == {"running_mean", "running_var"}
    for name in ["weight", "bias", "running_mean", "running_var"]:
        torch.testing.assert_close(getattr(m, name), getattr(ref, name))
    assert m.training
    # torch's own state_dict loads into ours (num_batches_tracked is the one extra key).
    missing, unexpected = m.load_state_dict(ref.state_dict(), strict=False)
    assert missing == [] and unexpected == ["num_batches_tracked"]


@pytest.mark.parametrize("shape", [(8, 4), (5, 3, 6), (2, 3)])
@pytest.mark.parametrize("momentum", [0.1, 0.35])
def test_module_train_steps_then_eval_match_torch(shape, momentum):
    torch.manual_seed(0)
    C = shape[1]
    ours, theirs = _pair(C, torch.float64, momentum=momentum, eps=1e-4)
    for step in range(60):
        x = torch.randn(*shape, dtype=torch.float64) * (1 + step / 30) + step / 10
        x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        out1, out2 = ours(x1), theirs(x2)
        torch.testing.assert_close(out1, out2, rtol=1e-12, atol=1e-12)
        if step % 20 == 0:
            g = torch.randn(*shape, dtype=torch.float64)
            out1.backward(g), out2.backward(g)
            torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours.running_mean, theirs.running_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.running_var, theirs.running_var, rtol=1e-12, atol=1e-12)

    ours.eval(), theirs.eval()
    rm, rv = ours.running_mean.clone(), ours.running_var.clone()
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-12, atol=1e-12)
    assert torch.equal(ours.running_mean, rm) and torch.equal(ours.running_var, rv)  # eval leaves them
    g = torch.randn(*shape, dtype=torch.float64)
    (dx1,) = torch.autograd.grad(ours(x), x, g)
    (dx2,) = torch.autograd.grad(theirs(x), x, g)
    torch.testing.assert_close(dx1, dx2, rtol=1e-12, atol=1e-12)


def test_module_gradcheck():
    m = bnt.BatchNorm1d(3, dtype=torch.float64)
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(m, (x,), eps=1e-6, atol=1e-7)


def test_module_float32_and_double_conversion():
    torch.manual_seed(1)
    ours, theirs = _pair(5, torch.float32)
    x = torch.randn(10, 5)
    out = ours(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, theirs(x))
    ours.double(), theirs.double()
    assert ours.running_mean.dtype == torch.float64 and ours.running_var.dtype == torch.float64
    x = torch.randn(10, 5, dtype=torch.float64)
    out = ours(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, theirs(x))
    torch.testing.assert_close(ours.running_var, theirs.running_var)


def test_module_single_value_per_channel_raises_in_training_only():
    m, ref = bnt.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with pytest.raises(ValueError):
        ref(torch.randn(1, 3))
    with pytest.raises(ValueError):
        m(torch.randn(1, 3))
    m.eval(), ref.eval()
    x = torch.randn(1, 3)
    torch.testing.assert_close(m(x), ref(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_module_on_cuda():
    ours, theirs = _pair(4, torch.float32)
    ours.cuda(), theirs.cuda()
    x = torch.randn(16, 4, device="cuda")
    torch.testing.assert_close(ours(x), theirs(x))
    torch.testing.assert_close(ours.running_var, theirs.running_var)
