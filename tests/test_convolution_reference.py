"""The convolution reference solution, checked against independent oracles.

torch.nn.functional.conv2d, max_pool2d, avg_pool2d, unfold/fold and their
torch.autograd gradients, in float64, are the oracles, over randomized shapes,
strides and paddings. Plain pytest: no engine involved.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

from reference_modules import load_reference


cv, cvt = load_reference("convolution", "convolution", "convolution_torch")

TOL = dict(rtol=1e-10, atol=1e-12)
CASES = range(12)  # randomized cases per test, each from its own seed


def _conv_case(seed):
    """Random shapes, kernel, stride and padding (ints or pairs), with at least one output position."""
    rng = np.random.default_rng([11, seed])
    N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
    HH, WW = (int(v) for v in rng.integers(1, 5, size=2))
    stride = tuple(int(v) for v in rng.integers(1, 4, size=2))
    pad = tuple(int(v) for v in rng.integers(0, 3, size=2))
    H = int(rng.integers(max(1, HH - 2 * pad[0]), 10))
    W = int(rng.integers(max(1, WW - 2 * pad[1]), 10))
    if seed % 2:  # half the cases with plain ints
        stride, pad = stride[0], pad[0]
        H, W = max(H, HH), max(W, WW)
    x = rng.normal(size=(N, C, H, W))
    w = rng.normal(size=(F, C, HH, WW))
    b = rng.normal(size=F)
    return x, w, b, {"stride": stride, "pad": pad}


def _torch_conv(x, w, b, conv_param, dout=None):
    """F.conv2d's output and, for dout, the gradients of sum(out * dout) by autograd."""
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = tF.conv2d(xt, wt, bt, stride=conv_param["stride"], padding=conv_param["pad"])
    if dout is None:
        return out.detach().numpy()
    out.backward(torch.tensor(dout))
    return out.detach().numpy(), (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy())


def _pool_case(seed, ties=False):
    rng = np.random.default_rng([12, seed])
    N, C = (int(v) for v in rng.integers(1, 4, size=2))
    PH, PW = (int(v) for v in rng.integers(1, 4, size=2))
    s = int(rng.integers(1, 4))  # s < PH or s < PW: overlapping windows
    H, W = PH + int(rng.integers(0, 7)), PW + int(rng.integers(0, 7))
    x = rng.integers(-2, 3, size=(N, C, H, W)).astype(np.float64) if ties else rng.normal(size=(N, C, H, W))
    return x, {"pool_height": PH, "pool_width": PW, "stride": s}


@pytest.mark.parametrize("seed", CASES)
def test_conv_output_size_matches_torch(seed):
    x, w, b, conv_param = _conv_case(seed)
    expected = _torch_conv(x, w, b, conv_param).shape[2:]
    assert cv.conv_output_size(x.shape[2], x.shape[3], w.shape[2], w.shape[3], conv_param) == expected


@pytest.mark.parametrize("seed", CASES)
@pytest.mark.parametrize("kind", ["naive", "im2col"])
def test_conv_matches_torch_and_autograd(kind, seed):
    x, w, b, conv_param = _conv_case(seed)
    forward, backward = getattr(cv, f"conv_forward_{kind}"), getattr(cv, f"conv_backward_{kind}")
    before = [a.copy() for a in (x, w, b)]
    out, cache = forward(x, w, b, conv_param)
    dout = np.random.default_rng(seed).normal(size=out.shape)
    expected_out, expected_grads = _torch_conv(x, w, b, conv_param, dout)
    np.testing.assert_allclose(out, expected_out, **TOL)
    for got, want in zip(backward(dout, cache), expected_grads):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOL)
    for a, a0 in zip((x, w, b), before):
        np.testing.assert_array_equal(a, a0)


def test_conv_is_cross_correlation_not_convolution():
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])  # picks the top-left value of each window
    out, _ = cv.conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[0.0, 1.0], [3.0, 4.0]])


@pytest.mark.parametrize("seed", CASES)
def test_im2col_matches_unfold_and_col2im_matches_fold(seed):
    x, w, _, conv_param = _conv_case(seed)
    HH, WW = w.shape[2:]
    kw = dict(kernel_size=(HH, WW), stride=conv_param["stride"], padding=conv_param["pad"])
    cols = cv.im2col(x, HH, WW, conv_param)
    np.testing.assert_array_equal(cols, tF.unfold(torch.tensor(x), **kw).numpy())
    dcols = np.random.default_rng(seed).normal(size=cols.shape)
    expected = tF.fold(torch.tensor(dcols), output_size=x.shape[2:], **kw).numpy()
    np.testing.assert_allclose(cv.col2im(dcols, x.shape, HH, WW, conv_param), expected, **TOL)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["naive", "im2col"])
def test_conv_keeps_dtype(kind, dtype):
    x, w, b, conv_param = (a.astype(dtype) if isinstance(a, np.ndarray) else a for a in _conv_case(0))
    out, cache = getattr(cv, f"conv_forward_{kind}")(x, w, b, conv_param)
    grads = getattr(cv, f"conv_backward_{kind}")(np.ones_like(out), cache)
    assert out.dtype == dtype and all(g.dtype == dtype for g in grads)


@pytest.mark.parametrize("seed", CASES)
def test_max_pool_matches_torch_and_autograd(seed):
    x, pp = _pool_case(seed)
    before = x.copy()
    out, cache = cv.max_pool_forward_naive(x, pp)
    xt = torch.tensor(x, requires_grad=True)
    ref = tF.max_pool2d(xt, (pp["pool_height"], pp["pool_width"]), stride=pp["stride"])
    dout = np.random.default_rng(seed).normal(size=out.shape)
    ref.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, ref.detach().numpy())
    np.testing.assert_allclose(cv.max_pool_backward_naive(dout, cache), xt.grad.numpy(), **TOL)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("seed", CASES)
def test_max_pool_ties_follow_torch(seed):
    """Integer inputs: many ties. torch's CPU kernel also picks the first maximum in row-major order."""
    x, pp = _pool_case(seed, ties=True)
    out, cache = cv.max_pool_forward_naive(x, pp)
    xt = torch.tensor(x, requires_grad=True)
    ref = tF.max_pool2d(xt, (pp["pool_height"], pp["pool_width"]), stride=pp["stride"])
    dout = np.random.default_rng(seed).normal(size=out.shape)
    ref.backward(torch.tensor(dout))
    np.testing.assert_allclose(cv.max_pool_backward_naive(dout, cache), xt.grad.numpy(), **TOL)


def test_max_pool_tie_goes_to_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])
    _, cache = cv.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    np.testing.assert_array_equal(cv.max_pool_backward_naive(np.array([[[[3.0]]]]), cache)[0, 0],
                                  [[0.0, 3.0], [0.0, 0.0]])


@pytest.mark.parametrize("seed", CASES)
def test_avg_pool_matches_torch_and_autograd(seed):
    x, pp = _pool_case(seed)
    before = x.copy()
    out, cache = cv.avg_pool_forward(x, pp)
    xt = torch.tensor(x, requires_grad=True)
    ref = tF.avg_pool2d(xt, (pp["pool_height"], pp["pool_width"]), stride=pp["stride"])
    dout = np.random.default_rng(seed).normal(size=out.shape)
    ref.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), **TOL)
    np.testing.assert_allclose(cv.avg_pool_backward(dout, cache), xt.grad.numpy(), **TOL)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pooling_keeps_dtype(dtype):
    x, pp = _pool_case(3)
    x = x.astype(dtype)
    for forward, backward in [(cv.max_pool_forward_naive, cv.max_pool_backward_naive),
                              (cv.avg_pool_forward, cv.avg_pool_backward)]:
        out, cache = forward(x, pp)
        assert out.dtype == dtype and backward(np.ones_like(out), cache).dtype == dtype


@pytest.mark.parametrize("seed", CASES)
def test_conv2d_function_matches_conv2d_and_autograd(seed):
    x, w, b, conv_param = _conv_case(seed)
    dout = np.random.default_rng(seed).normal(size=_torch_conv(x, w, b, conv_param).shape)
    expected_out, expected_grads = _torch_conv(x, w, b, conv_param, dout)
    leaves = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = cvt.Conv2dFunction.apply(*leaves, conv_param["stride"], conv_param["pad"])
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(out.detach().numpy(), expected_out, **TOL)
    for leaf, want in zip(leaves, expected_grads):
        np.testing.assert_allclose(leaf.grad.numpy(), want, **TOL)


def test_conv2d_function_gradcheck():
    x, w, b, conv_param = _conv_case(4)
    inputs = tuple(torch.tensor(a, requires_grad=True) for a in (x, w, b))
    assert torch.autograd.gradcheck(
        lambda *t: cvt.Conv2dFunction.apply(*t, conv_param["stride"], conv_param["pad"]), inputs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_conv2d_module_matches_nn_conv2d(dtype):
    torch.manual_seed(0)
    mine = cvt.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1).to(dtype)
    theirs = torch.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1).to(dtype)
    assert [(n, p.shape) for n, p in mine.named_parameters()] == [(n, p.shape) for n, p in theirs.named_parameters()]
    bound = 1 / np.sqrt(3 * 3 * 2)
    assert all(float(p.detach().abs().max()) <= bound for p in mine.parameters())
    with torch.no_grad():
        theirs.weight.copy_(mine.weight)
        theirs.bias.copy_(mine.bias)
    x = torch.randn(2, 3, 7, 6, dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else TOL
    mine(x).square().sum().backward()
    theirs(x).square().sum().backward()
    np.testing.assert_allclose(mine(x).detach().numpy(), theirs(x).detach().numpy(), **tol)
    for p, q in zip(mine.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), **tol)
