"""The backprop reference solution, checked against independent oracles.

torch.autograd (float64) is the oracle for every layer; central finite
differences for eval_numerical_gradient. Plain pytest: no engine involved.
"""
import warnings

import numpy as np
import pytest
import torch

from reference_modules import load_reference


bp, bpt = load_reference("backprop", "backprop", "backprop_torch")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _autograd(fn, *arrays, dout):
    """Output and gradients of sum(fn(*tensors) * dout), by torch.autograd in float64."""
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


SHAPES = [(1,), (5,), (3, 4), (2, 3, 4, 5)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name,torch_fn", [
    ("sigmoid", torch.sigmoid), ("tanh", torch.tanh), ("relu", torch.relu),
])
def test_activation_matches_autograd(name, torch_fn, shape, rng):
    x = rng.normal(size=shape) * 3
    if name == "relu":
        x[np.abs(x) < 1e-3] = 0.5  # stay off the kink; the kink has its own test
    dout = rng.normal(size=shape)
    expected_out, (expected_dx,) = _autograd(torch_fn, x, dout=dout)
    x_before = x.copy()
    out, cache = getattr(bp, f"{name}_forward")(x)
    dx = getattr(bp, f"{name}_backward")(dout, cache)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(x, x_before)


def test_relu_gradient_at_zero_is_zero():
    x = np.array([-1.0, 0.0, 2.0])
    _, cache = bp.relu_forward(x)
    np.testing.assert_array_equal(bp.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])
    t = torch.tensor(x, requires_grad=True)
    torch.relu(t).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [0.0, 0.0, 1.0])  # same convention as torch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_keeps_dtype(name, dtype, rng):
    x = rng.normal(size=(4, 3)).astype(dtype)
    out, cache = getattr(bp, f"{name}_forward")(x)
    dx = getattr(bp, f"{name}_backward")(np.ones_like(x), cache)
    assert out.dtype == dtype and dx.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_large_inputs(dtype):
    x = np.array([-1000.0, -100.0, -30.0, 0.0, 30.0, 100.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise", under="ignore"):
            out, cache = bp.sigmoid_forward(x)
            dx = bp.sigmoid_backward(np.ones_like(x), cache)
    expected = torch.sigmoid(torch.tensor(x)).numpy()
    assert out.dtype == dtype and np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-30)
    assert out[0] == 0.0 and out[-1] == 1.0
    expected_dx = (expected * (1 - expected))
    np.testing.assert_allclose(dx, expected_dx, rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("x_shape", [(1, 7), (4, 7), (3, 2, 3, 4), (2, 5, 1)])
def test_affine_matches_autograd(x_shape, rng):
    N, D, M = x_shape[0], int(np.prod(x_shape[1:])), 6
    x, w, b = rng.normal(size=x_shape), rng.normal(size=(D, M)), rng.normal(size=M)
    dout = rng.normal(size=(N, M))
    expected_out, (edx, edw, edb) = _autograd(
        lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b, x, w, b, dout=dout)
    out, cache = bp.affine_forward(x, w, b)
    dx, dw, db = bp.affine_backward(dout, cache)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12)
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    np.testing.assert_allclose(dx, edx, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, edw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, edb, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (5, 1), (4, 3)])
def test_mse_matches_torch(shape, rng):
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    t = torch.tensor(pred, requires_grad=True)
    expected = torch.nn.functional.mse_loss(t, torch.tensor(target), reduction="mean")
    expected.backward()
    loss, dpred = bp.mse_loss(pred, target)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(dpred, t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("N,D,H,C,reg", [(1, 3, 4, 1, 0.0), (6, 5, 7, 3, 0.3), (10, 4, 8, 2, 1.5)])
def test_two_layer_net_matches_autograd(N, D, H, C, reg, rng):
    params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(H, C)), "b2": rng.normal(size=C)}
    X, y = rng.normal(size=(N, D)), rng.normal(size=(N, C))
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    scores = torch.relu(torch.tensor(X) @ tp["W1"] + tp["b1"]) @ tp["W2"] + tp["b2"]
    loss = torch.nn.functional.mse_loss(scores, torch.tensor(y)) \
        + 0.5 * reg * ((tp["W1"] ** 2).sum() + (tp["W2"] ** 2).sum())
    loss.backward()

    np.testing.assert_allclose(bp.two_layer_net(X, params), scores.detach().numpy(), rtol=1e-12, atol=1e-12)
    got_loss, grads = bp.two_layer_net(X, params, y, reg=reg)
    np.testing.assert_allclose(got_loss, loss.item(), rtol=1e-12)
    assert set(grads) == set(params)
    for k in params:
        np.testing.assert_allclose(grads[k], tp[k].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("f,df", [
    (lambda x: np.sum(x ** 2), lambda x: 2 * x),
    (lambda x: np.sum(np.sin(x)), np.cos),
    (lambda x: np.sum(x ** 3 + x ** 2), lambda x: 3 * x ** 2 + 2 * x),
])
@pytest.mark.parametrize("shape", [(1,), (4,), (2, 3, 2)])
def test_eval_numerical_gradient_matches_analytic(f, df, shape, rng):
    x = rng.normal(size=shape)
    x_before = x.copy()
    grad = bp.eval_numerical_gradient(f, x)
    assert grad.shape == x.shape
    np.testing.assert_allclose(grad, df(x), rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(x, x_before)


def test_eval_numerical_gradient_is_centered_and_uses_h(rng):
    x = rng.normal(size=5)
    # For x**3 the centered quotient is exactly 3x^2 + h^2; a one-sided one is off by O(h).
    grad = bp.eval_numerical_gradient(lambda v: np.sum(v ** 3), x, h=1e-2)
    np.testing.assert_allclose(grad, 3 * x ** 2 + 1e-4, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 2)])
def test_sigmoid_function_gradcheck_and_values(shape, rng):
    x = torch.tensor(rng.normal(size=shape) * 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(bpt.SigmoidFunction.apply, (x,), eps=1e-6, atol=1e-8)
    torch.testing.assert_close(bpt.SigmoidFunction.apply(x), torch.sigmoid(x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sigmoid_function_matches_autograd_and_saturates(dtype, rng):
    x = torch.tensor(np.r_[-1000.0, -50.0, rng.normal(size=8) * 3, 50.0, 1000.0], dtype=dtype, requires_grad=True)
    g = torch.tensor(rng.normal(size=12), dtype=dtype)
    out = bpt.SigmoidFunction.apply(x)
    (dx,) = torch.autograd.grad(out, x, g)
    x2 = x.detach().clone().requires_grad_(True)
    ref = torch.sigmoid(x2)
    (ref_dx,) = torch.autograd.grad(ref, x2, g)
    assert out.dtype == dtype and torch.isfinite(out).all() and torch.isfinite(dx).all()
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(dx, ref_dx)


@pytest.mark.parametrize("N,D,M", [(1, 3, 2), (5, 4, 6)])
def test_affine_function_gradcheck_and_values(N, D, M, rng):
    x, w, b = (torch.tensor(rng.normal(size=s), dtype=torch.float64, requires_grad=True)
               for s in [(N, D), (D, M), (M,)])
    assert torch.autograd.gradcheck(bpt.AffineFunction.apply, (x, w, b), eps=1e-6, atol=1e-8)
    torch.testing.assert_close(bpt.AffineFunction.apply(x, w, b), torch.nn.functional.linear(x, w.t(), b))


def test_affine_function_float32(rng):
    x, w, b = (torch.tensor(rng.normal(size=s), dtype=torch.float32, requires_grad=True)
               for s in [(4, 3), (3, 5), (5,)])
    g = torch.tensor(rng.normal(size=(4, 5)), dtype=torch.float32)
    out = bpt.AffineFunction.apply(x, w, b)
    grads = torch.autograd.grad(out, (x, w, b), g)
    x2, w2, b2 = (t.detach().clone().requires_grad_(True) for t in (x, w, b))
    ref = x2 @ w2 + b2
    ref_grads = torch.autograd.grad(ref, (x2, w2, b2), g)
    assert out.dtype == torch.float32 and all(gr.dtype == torch.float32 for gr in grads)
    torch.testing.assert_close(out, ref)
    for got, exp in zip(grads, ref_grads):
        torch.testing.assert_close(got, exp)
