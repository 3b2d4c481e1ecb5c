"""The softmax reference solution, checked against independent oracles.

torch (float64) is the oracle throughout: torch.softmax and torch.log_softmax
for the forward passes, torch.autograd.functional.jacobian for the Jacobian,
torch.autograd for every gradient, and torch.nn.functional.cross_entropy /
binary_cross_entropy_with_logits for the losses. Plain pytest: no engine involved.
"""
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference_modules import load_reference


sm, smt = load_reference("softmax", "softmax", "softmax_torch")

TIGHT = dict(rtol=1e-12, atol=1e-15)


@pytest.fixture
def rng():
    return np.random.default_rng(4321)


def _t(a, requires_grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


# ------------------------------------------------------------------ forward


CASES = [((1,), -1), ((5,), 0), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4, 5), -2), ((1, 1), -1)]


@pytest.mark.parametrize("shape,axis", CASES)
def test_softmax_and_log_softmax_match_torch(shape, axis, rng):
    x = rng.normal(size=shape) * 5
    x_before = x.copy()
    np.testing.assert_allclose(sm.softmax(x, axis=axis), torch.softmax(_t(x), dim=axis).numpy(), **TIGHT)
    np.testing.assert_allclose(sm.log_softmax(x, axis=axis), torch.log_softmax(_t(x), dim=axis).numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(x, x_before)


def test_default_axis_is_the_last(rng):
    x = rng.normal(size=(3, 4, 5))
    np.testing.assert_array_equal(sm.softmax(x), sm.softmax(x, axis=-1))
    np.testing.assert_array_equal(sm.log_softmax(x), sm.log_softmax(x, axis=2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_stable_and_keep_dtype(dtype, rng):
    x = np.concatenate([rng.uniform(-1000, 1000, size=(4, 6)), [[1000.0, -1000.0, 0, 999, -999, 1000]]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, underflow-to-nan or divide warnings
        s, logp = sm.softmax(x), sm.log_softmax(x)
    assert s.dtype == dtype and logp.dtype == dtype
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(logp))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s, torch.softmax(_t(x), dim=-1).numpy(), **tol)
    np.testing.assert_allclose(logp, torch.log_softmax(_t(x), dim=-1).numpy(), **tol)


# ----------------------------------------------------------------- Jacobian


@pytest.mark.parametrize("shape", [(1,), (4,), (3, 5), (5, 3), (2, 3, 4)])
def test_jacobian_matches_autograd_functional_jacobian(shape, rng):
    x = rng.normal(size=shape) * 2
    C = shape[-1]
    J = sm.softmax_jacobian(x)
    assert J.shape == shape + (C,)
    full = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=-1), _t(x)).numpy()
    # full[..., i, ..., j] differentiates output (lead, i) by input (lead', j); keep lead == lead'.
    lead = shape[:-1]
    full = full.reshape(int(np.prod(lead, dtype=int)), C, int(np.prod(lead, dtype=int)), C)
    per_example = np.stack([full[n, :, n, :] for n in range(full.shape[0])]).reshape(lead + (C, C))
    np.testing.assert_allclose(J, per_example, **TIGHT)


def test_jacobian_batch_axis_comes_first(rng):
    """The layout is (N, C, C): J[n] is example n's Jacobian (pinned where N == C, so a transpose fails)."""
    x = rng.normal(size=(4, 4))
    J = sm.softmax_jacobian(x)
    for n in range(4):
        np.testing.assert_allclose(J[n], sm.softmax_jacobian(x[n]), **TIGHT)
    assert not np.allclose(J, J.T)


# ----------------------------------------------------------- forward/backward


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (4, 1), (5, 7)])
def test_softmax_backward_matches_autograd(shape, rng):
    x, dout = rng.normal(size=shape) * 3, rng.normal(size=shape)
    t = _t(x, requires_grad=True)
    torch.softmax(t, dim=-1).backward(_t(dout))
    out, cache = sm.softmax_forward(x)
    np.testing.assert_allclose(out, torch.softmax(_t(x), dim=-1).numpy(), **TIGHT)
    dout_before = dout.copy()
    np.testing.assert_allclose(sm.softmax_backward(dout, cache), t.grad.numpy(), **TIGHT)
    np.testing.assert_array_equal(dout, dout_before)


def test_softmax_backward_is_the_vjp_of_the_jacobian(rng):
    x, dout = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    J = sm.softmax_jacobian(x)
    _, cache = sm.softmax_forward(x)
    np.testing.assert_allclose(sm.softmax_backward(dout, cache), np.einsum("ni,nij->nj", dout, J), **TIGHT)


def test_softmax_backward_large_C_stays_O_NC(rng):
    """C = 50,000 (the hidden test's size): matches autograd, peak memory a few (N, C) arrays."""
    N, C = 4, 50_000
    x, dout = rng.normal(size=(N, C)), rng.normal(size=(N, C))
    tracemalloc.start()
    try:
        _, cache = sm.softmax_forward(x)
        dx = sm.softmax_backward(dout, cache)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * x.nbytes, f"peak {peak / 2**20:.1f} MiB"  # 10 arrays of 1.5 MiB; a Jacobian is 80 GB
    t = _t(x, requires_grad=True)
    torch.softmax(t, dim=-1).backward(_t(dout))
    np.testing.assert_allclose(dx, t.grad.numpy(), **TIGHT)


# --------------------------------------------------------------------- losses


@pytest.mark.parametrize("N,C", [(1, 1), (1, 5), (6, 4), (8, 10)])
def test_softmax_loss_matches_cross_entropy(N, C, rng):
    x, y = rng.normal(size=(N, C)) * 3, rng.integers(0, C, size=N)
    t = _t(x, requires_grad=True)
    expected = F.cross_entropy(t, torch.tensor(y))
    expected.backward()
    loss, dx = sm.softmax_loss(x, y)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, expected.item(), **TIGHT)
    np.testing.assert_allclose(dx, t.grad.numpy(), **TIGHT)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35, 1.0])
@pytest.mark.parametrize("kind", ["labels", "probabilities"])
def test_cross_entropy_matches_torch(kind, smoothing, rng):
    N, C = 7, 5
    x = rng.normal(size=(N, C)) * 3
    if kind == "labels":
        targets = rng.integers(0, C, size=N)
        torch_targets = torch.tensor(targets)
    else:
        targets = rng.dirichlet(np.ones(C), size=N)
        torch_targets = _t(targets)
    t = _t(x, requires_grad=True)
    expected = F.cross_entropy(t, torch_targets, label_smoothing=smoothing)
    expected.backward()
    targets_before = targets.copy()
    loss, dlogits = sm.cross_entropy(x, targets, label_smoothing=smoothing)
    np.testing.assert_allclose(loss, expected.item(), **TIGHT)
    np.testing.assert_allclose(dlogits, t.grad.numpy(), **TIGHT)
    np.testing.assert_array_equal(targets, targets_before)


def test_cross_entropy_unnormalized_probability_targets_match_torch(rng):
    """The gradient's sum_c q term: torch does not normalize probability targets, nor do we."""
    x, q = rng.normal(size=(4, 3)), rng.uniform(0, 1, size=(4, 3))
    t = _t(x, requires_grad=True)
    expected = F.cross_entropy(t, _t(q), label_smoothing=0.2)
    expected.backward()
    loss, dlogits = sm.cross_entropy(x, q, label_smoothing=0.2)
    np.testing.assert_allclose(loss, expected.item(), **TIGHT)
    np.testing.assert_allclose(dlogits, t.grad.numpy(), **TIGHT)


def test_cross_entropy_default_is_softmax_loss(rng):
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    loss, dx = sm.cross_entropy(x, y)
    ref_loss, ref_dx = sm.softmax_loss(x, y)
    np.testing.assert_allclose(loss, ref_loss, **TIGHT)
    np.testing.assert_allclose(dx, ref_dx, **TIGHT)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_with_extreme_logits(dtype, rng):
    x = (rng.uniform(-1000, 1000, size=(6, 5))).astype(dtype)
    y = rng.integers(0, 5, size=6)
    z = np.array([[-1000.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0]], dtype=dtype)
    zy = np.array([[0.0, 1.0, 0.5, 1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [sm.softmax_loss(x, y), sm.cross_entropy(x, y, label_smoothing=0.1),
                   sm.binary_cross_entropy_with_logits(z, zy)]
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-15)
    expected = []
    for fn in [lambda t: F.cross_entropy(t, torch.tensor(y)),
               lambda t: F.cross_entropy(t, torch.tensor(y), label_smoothing=0.1)]:
        t = _t(x.astype(np.float64), requires_grad=True)
        out = fn(t)
        out.backward()
        expected.append((out.item(), t.grad.numpy()))
    t = _t(z.astype(np.float64), requires_grad=True)
    out = F.binary_cross_entropy_with_logits(t, _t(zy.astype(np.float64)))
    out.backward()
    expected.append((out.item(), t.grad.numpy()))
    for (loss, grad), (exp_loss, exp_grad) in zip(results, expected):
        assert np.isfinite(loss) and grad.dtype == dtype
        np.testing.assert_allclose(loss, exp_loss, **tol)
        np.testing.assert_allclose(grad, exp_grad, **tol)


@pytest.mark.parametrize("shape", [(1,), (6,), (3, 4), (2, 3, 2)])
def test_binary_cross_entropy_with_logits_matches_torch(shape, rng):
    z, y = rng.normal(size=shape) * 4, rng.uniform(0, 1, size=shape)
    t = _t(z, requires_grad=True)
    expected = F.binary_cross_entropy_with_logits(t, _t(y))
    expected.backward()
    loss, dz = sm.binary_cross_entropy_with_logits(z, y)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, expected.item(), **TIGHT)
    np.testing.assert_allclose(dz, t.grad.numpy(), **TIGHT)


# --------------------------------------------------------- torch Function


@pytest.mark.parametrize("shape,dim", [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), 1)])
def test_softmax_function_matches_torch_and_gradcheck(shape, dim, rng):
    x = _t(rng.normal(size=shape) * 3, requires_grad=True)
    g = _t(rng.normal(size=shape))
    out = smt.SoftmaxFunction.apply(x, dim)
    np.testing.assert_allclose(out.detach().numpy(), torch.softmax(x, dim=dim).detach().numpy(), **TIGHT)
    (grad,) = torch.autograd.grad(out, x, g)
    (expected,) = torch.autograd.grad(torch.softmax(x, dim=dim), x, g)
    np.testing.assert_allclose(grad.numpy(), expected.numpy(), **TIGHT)
    assert torch.autograd.gradcheck(lambda v: smt.SoftmaxFunction.apply(v, dim), (x,))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_function_extreme_logits_keep_dtype(dtype):
    x = torch.tensor([[1000.0, -1000.0, 0.0, 999.0], [-1000.0, -1000.0, -1000.0, -999.0]], dtype=dtype)
    out = smt.SoftmaxFunction.apply(x)
    assert out.dtype == dtype and bool(torch.isfinite(out).all())
    torch.testing.assert_close(out, torch.softmax(x, dim=-1))


def test_softmax_function_default_dim_is_last(rng):
    x = _t(rng.normal(size=(3, 4)))
    torch.testing.assert_close(smt.SoftmaxFunction.apply(x), smt.SoftmaxFunction.apply(x, 1), rtol=0, atol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_function_on_cuda_matches_cpu(dtype, rng):
    x = torch.tensor(rng.normal(size=(6, 9)) * 3, dtype=dtype)
    g = torch.tensor(rng.normal(size=(6, 9)), dtype=dtype)
    results = []
    for device in ["cpu", "cuda"]:
        leaf = x.to(device).requires_grad_(True)
        out = smt.SoftmaxFunction.apply(leaf)
        (grad,) = torch.autograd.grad(out, leaf, g.to(device))
        assert out.device.type == device and grad.device.type == device and grad.dtype == dtype
        results.append((out.detach().cpu(), grad.cpu()))
    torch.testing.assert_close(results[1], results[0])
