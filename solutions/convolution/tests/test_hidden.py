"""Hidden tests for the convolution assignment.

Every comparison is against the reference solution (or torch, for the nn.Module)
run on the same inputs. Shapes and values come from the seeded ``rng``; each
test checks one thing so that partial understanding earns partial credit.
The naive and the im2col convolutions face the same tests (parametrized by
``kind``). The speed tests are public (test_public.py), graded there with the
reference timed in a worker of its own.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as tF

from autograder import assert_close, assert_shape, call_pure, gradcheck, points

F32 = dict(rtol=1e-4, atol=1e-5)      # float32: sums of up to ~100 products in another order
F64 = dict(rtol=1e-7, atol=1e-9)      # float64 (the defaults, spelled out)

KINDS = ["naive", "im2col"]

# (stride, pad): every stride 1, 2, 3 and every pad 0, 1, 2. pad = 0 catches x[pad:-pad].
GEOMETRIES = [pytest.param(1, 0, id="s1-p0"), pytest.param(2, 1, id="s2-p1"), pytest.param(3, 2, id="s3-p2")]


def _conv_inputs(rng, N=None, C=None, H=None, W=None, F=None, HH=None, WW=None, dtype=np.float64,
                 conv_param=None):
    """x, w, b with random small sizes where not given; sizes keep at least one output position.

    With ``conv_param`` (int stride and pad), the sizes not given are chosen so that no mistake can
    hide behind a lucky draw, whatever the seed: the kernel is one taller than the stride (the
    windows overlap: col2im must add, not assign); the windows fit the padded height exactly (a
    padding counted once loses a row of output); and the last stride - 1 padded columns are
    reached by no window (the floor division of the output width).
    """
    pick = lambda v, lo, hi: int(rng.integers(lo, hi)) if v is None else v  # noqa: E731
    N, C, F = pick(N, 2, 4), pick(C, 2, 4), pick(F, 2, 5)
    if conv_param is not None:
        stride, pad = conv_param["stride"], conv_param["pad"]
        HH, WW = (stride + 1 if HH is None else HH), pick(WW, 2, 4)
        # outputs of 3 or 4 positions beyond those the padding alone makes (x at least 2 wider than the kernel)
        H_out, W_out = (1 - (-(2 * pad + 2) // stride) + int(v) for v in rng.integers(0, 2, size=2))
        H = (H_out - 1) * stride + HH - 2 * pad if H is None else H
        W = (W_out - 1) * stride + WW - 2 * pad + stride - 1 if W is None else W
    HH, WW = pick(HH, 2, 4), pick(WW, 2, 4)
    H, W = pick(H, HH + 3, HH + 6), pick(W, WW + 3, WW + 6)
    x = rng.normal(size=(N, C, H, W))
    w = rng.normal(size=(F, C, HH, WW))
    b = rng.normal(size=F)
    return x.astype(dtype), w.astype(dtype), b.astype(dtype)


def _conv(submission, kind):
    return getattr(submission, f"conv_forward_{kind}"), getattr(submission, f"conv_backward_{kind}")


def _ref_conv(reference, kind, x, w, b, conv_param, dout=None):
    forward, backward = getattr(reference, f"conv_forward_{kind}"), getattr(reference, f"conv_backward_{kind}")
    out, cache = forward(x, w, b, conv_param)
    return out if dout is None else (out, backward(dout, cache))


def _student_grads(submission, kind, x, w, b, conv_param, dout):
    forward, backward = _conv(submission, kind)
    _, cache = forward(x, w, b, conv_param)
    return backward(dout, cache)


# ------------------------------------------------------------------ output size


@points(1)
def test_conv_output_size(submission, reference):
    cases = [(5, 5, 3, 3, {"stride": 1, "pad": 0}), (7, 6, 3, 2, {"stride": 2, "pad": 1}),
             (8, 9, 2, 4, {"stride": 3, "pad": 2}), (6, 10, 3, 5, {"stride": (2, 3), "pad": (0, 2)}),
             (4, 4, 4, 4, {"stride": 5, "pad": 0})]
    # Every case first, then the checks: a failure's diagnosis sees them all (with stride 1 and pad 1
    # alone, a padding counted once and a missing + 1 give the same size).
    got = [submission.conv_output_size(*case) for case in cases]
    for case, mine in zip(cases, got):
        want = reference.conv_output_size(*case)
        assert tuple(mine) == want, f"conv_output_size{case} = {mine}, expected {want}"


# ------------------------------------------------------------- conv forward


@points(1)
@pytest.mark.parametrize("stride,pad", GEOMETRIES)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_forward(submission, reference, rng, kind, stride, pad):
    conv_param = {"stride": stride, "pad": pad}
    x, w, b = _conv_inputs(rng, conv_param=conv_param)
    out, _ = _conv(submission, kind)[0](x, w, b, conv_param)
    assert_close(out, _ref_conv(reference, kind, x, w, b, conv_param), what=f"out (stride {stride}, pad {pad})")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_forward_non_square(submission, reference, rng, kind):
    x, w, b = _conv_inputs(rng, H=7, W=11, HH=2, WW=3)
    conv_param = {"stride": (1, 2), "pad": (2, 1)}
    out, _ = _conv(submission, kind)[0](x, w, b, conv_param)
    assert_close(out, _ref_conv(reference, kind, x, w, b, conv_param),
                 what="out for a 7x11 input, a 2x3 kernel, stride (1, 2), pad (2, 1)")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_forward_single_example_channel_filter(submission, reference, rng, kind):
    x, w, b = _conv_inputs(rng, N=1, C=1, F=1, H=6, W=5, HH=3, WW=2)
    conv_param = {"stride": 1, "pad": 1}
    out, _ = _conv(submission, kind)[0](x, w, b, conv_param)
    assert_shape(out, (1, 1, 6, 6), what="out (N = C = F = 1)")
    assert_close(out, _ref_conv(reference, kind, x, w, b, conv_param), what="out (N = C = F = 1)")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_forward_kernel_not_flipped(submission, reference, rng, kind):
    """A one-hot kernel picks one value of each window: cross-correlation, not true convolution."""
    x, _, _ = _conv_inputs(rng, N=2, C=2, H=5, W=6)
    w = np.zeros((2, 2, 2, 3))
    w[0, 0, 0, 0] = 1.0   # top-left of each window of channel 0
    w[1, 1, 1, 2] = 1.0   # bottom-right of each window of channel 1
    b = np.zeros(2)
    conv_param = {"stride": 1, "pad": 0}
    out, _ = _conv(submission, kind)[0](x, w, b, conv_param)
    assert_close(out, _ref_conv(reference, kind, x, w, b, conv_param), what="out for one-hot kernels")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_forward_float32(submission, reference, rng, kind):
    conv_param = {"stride": 2, "pad": 1}
    x, w, b = _conv_inputs(rng, dtype=np.float32, conv_param=conv_param)
    out, _ = _conv(submission, kind)[0](x, w, b, conv_param)
    assert out.dtype == np.float32, f"out must be float32 for float32 inputs, got {out.dtype}"
    assert_close(out, _ref_conv(reference, kind, x, w, b, conv_param), **F32, what="out in float32")


# ------------------------------------------------------------ conv backward


@points(1)
@pytest.mark.parametrize("stride,pad", GEOMETRIES)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_backward_dx(submission, reference, rng, kind, stride, pad):
    conv_param = {"stride": stride, "pad": pad}
    x, w, b = _conv_inputs(rng, conv_param=conv_param)
    dout = rng.normal(size=_ref_conv(reference, kind, x, w, b, conv_param).shape)
    ref_dx, _, _ = _ref_conv(reference, kind, x, w, b, conv_param, dout)[1]
    dx, _, _ = _student_grads(submission, kind, x, w, b, conv_param, dout)
    assert_shape(dx, x.shape, what="dx (the shape of x, without the padding)")
    assert_close(dx, ref_dx, what=f"dx (stride {stride}, pad {pad})")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_backward_dw(submission, reference, rng, kind):
    stride, pad = 2, 1
    conv_param = {"stride": stride, "pad": pad}
    x, w, b = _conv_inputs(rng, conv_param=conv_param)
    dout = rng.normal(size=_ref_conv(reference, kind, x, w, b, conv_param).shape)
    _, ref_dw, _ = _ref_conv(reference, kind, x, w, b, conv_param, dout)[1]
    _, dw, _ = _student_grads(submission, kind, x, w, b, conv_param, dout)
    assert_close(dw, ref_dw, what=f"dw (stride {stride}, pad {pad})")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_backward_db(submission, reference, rng, kind):
    conv_param = {"stride": 1, "pad": 1}
    x, w, b = _conv_inputs(rng, N=3, conv_param=conv_param)
    dout = rng.normal(size=_ref_conv(reference, kind, x, w, b, conv_param).shape)
    _, _, ref_db = _ref_conv(reference, kind, x, w, b, conv_param, dout)[1]
    _, _, db = _student_grads(submission, kind, x, w, b, conv_param, dout)
    assert_shape(db, b.shape, what="db (summed over the batch and the output positions)")
    assert_close(db, ref_db, what="db")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_backward_non_square(submission, reference, rng, kind):
    x, w, b = _conv_inputs(rng, H=8, W=5, HH=3, WW=2)
    conv_param = {"stride": (3, 1), "pad": (0, 2)}
    dout = rng.normal(size=_ref_conv(reference, kind, x, w, b, conv_param).shape)
    grads = _student_grads(submission, kind, x, w, b, conv_param, dout)
    assert_close(grads, _ref_conv(reference, kind, x, w, b, conv_param, dout)[1],
                 what="(dx, dw, db) for an 8x5 input, a 3x2 kernel, stride (3, 1), pad (0, 2)")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_backward_single_example_channel_filter(submission, reference, rng, kind):
    x, w, b = _conv_inputs(rng, N=1, C=1, F=1, H=5, W=7, HH=2, WW=3)
    conv_param = {"stride": 2, "pad": 1}
    dout = rng.normal(size=_ref_conv(reference, kind, x, w, b, conv_param).shape)
    grads = _student_grads(submission, kind, x, w, b, conv_param, dout)
    assert_close(grads, _ref_conv(reference, kind, x, w, b, conv_param, dout)[1],
                 what="(dx, dw, db) with N = C = F = 1")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_backward_float32(submission, reference, rng, kind):
    conv_param = {"stride": 1, "pad": 2}
    x, w, b = _conv_inputs(rng, dtype=np.float32, conv_param=conv_param)
    dout = rng.normal(size=_ref_conv(reference, kind, x, w, b, conv_param).shape).astype(np.float32)
    grads = _student_grads(submission, kind, x, w, b, conv_param, dout)
    for name, g in zip(["dx", "dw", "db"], grads):
        assert g.dtype == np.float32, f"{name} must be float32 for float32 inputs, got {g.dtype}"
    assert_close(grads, _ref_conv(reference, kind, x, w, b, conv_param, dout)[1], **F32, what="(dx, dw, db) in float32")


@points(1)
@pytest.mark.parametrize("kind", KINDS)
def test_conv_leaves_its_inputs_alone(submission, reference, rng, kind):
    conv_param = {"stride": 2, "pad": 1}
    x, w, b = _conv_inputs(rng, conv_param=conv_param)
    forward, backward = _conv(submission, kind)
    seen = forward.inspect(x, w, b, conv_param)  # the cache may keep x and w themselves: only out must be new
    for name, before, after in zip(["x", "w", "b"], (x, w, b), seen.args_after):
        assert_close(after, before, rtol=0, atol=0, what=f"{name} after conv_forward_{kind} (must be unchanged)")
    assert "[0]" not in seen.aliases, "out shares memory with an argument: return a new array, not a view"
    out, cache = seen.value
    dout = rng.normal(size=out.shape)
    grads = call_pure(backward, dout, cache)
    assert_close(grads, _ref_conv(reference, kind, x, w, b, conv_param, dout)[1], what="(dx, dw, db)")


# ------------------------------------------------------------ im2col, col2im


@points(1)
@pytest.mark.parametrize("stride,pad", GEOMETRIES[::2])
def test_im2col(submission, reference, rng, stride, pad):
    conv_param = {"stride": stride, "pad": pad}
    x, _, _ = _conv_inputs(rng, HH=3, WW=2, conv_param=conv_param)
    cols = submission.im2col(x, 3, 2, conv_param)
    assert_close(cols, reference.im2col(x, 3, 2, conv_param), what=f"cols (stride {stride}, pad {pad})")


@points(1)
def test_im2col_non_square(submission, reference, rng):
    x, _, _ = _conv_inputs(rng, H=6, W=9)
    conv_param = {"stride": (2, 3), "pad": (1, 0)}
    cols = call_pure(submission.im2col, x, 2, 4, conv_param)
    assert_close(cols, reference.im2col(x, 2, 4, conv_param), what="cols (2x4 kernel, stride (2, 3), pad (1, 0))")


@points(1)
@pytest.mark.parametrize("stride,pad", GEOMETRIES[:2])
def test_col2im(submission, reference, rng, stride, pad):
    x_shape = (2, 3, 7, 6)
    conv_param = {"stride": stride, "pad": pad}
    H_out, W_out = reference.conv_output_size(7, 6, 3, 2, conv_param)
    cols = rng.normal(size=(2, 3 * 3 * 2, H_out * W_out))
    x = submission.col2im(cols, x_shape, 3, 2, conv_param)
    assert_close(x, reference.col2im(cols, x_shape, 3, 2, conv_param), what=f"col2im (stride {stride}, pad {pad})")


@points(1)
def test_col2im_leaves_cols_alone(submission, reference, rng):
    x_shape, conv_param = (2, 2, 5, 5), {"stride": 1, "pad": 1}
    cols = rng.normal(size=(2, 2 * 3 * 3, 25))
    x = call_pure(submission.col2im, cols, x_shape, 3, 3, conv_param)
    assert_close(x, reference.col2im(cols, x_shape, 3, 3, conv_param), what="col2im")


# ---------------------------------------------------------------- max pooling


def _pool_param(PH, PW, stride):
    return {"pool_height": PH, "pool_width": PW, "stride": stride}


POOLS = [pytest.param(2, 2, 2, id="2x2-s2"), pytest.param(3, 3, 1, id="3x3-s1-overlap"),
         pytest.param(3, 2, 2, id="3x2-s2-overlap")]


@points(1)
@pytest.mark.parametrize("PH,PW,stride", POOLS)
def test_max_pool_forward(submission, reference, rng, PH, PW, stride):
    x = rng.normal(size=(2, 3, 7, 8))
    pool_param = _pool_param(PH, PW, stride)
    out, _ = submission.max_pool_forward_naive(x, pool_param)
    assert_close(out, reference.max_pool_forward_naive(x, pool_param)[0], what=f"out ({PH}x{PW}, stride {stride})")


@points(1)
@pytest.mark.parametrize("PH,PW,stride", POOLS)
def test_max_pool_backward(submission, reference, rng, PH, PW, stride):
    x = rng.normal(size=(2, 3, 7, 8))
    pool_param = _pool_param(PH, PW, stride)
    out, ref_cache = reference.max_pool_forward_naive(x, pool_param)
    dout = rng.normal(size=out.shape)
    _, cache = submission.max_pool_forward_naive(x, pool_param)
    dx = submission.max_pool_backward_naive(dout, cache)
    assert_close(dx, reference.max_pool_backward_naive(dout, ref_cache), what=f"dx ({PH}x{PW}, stride {stride})")


@points(2)
def test_max_pool_backward_overlapping_windows_accumulate(submission, reference, rng):
    """A value that is the maximum of several overlapping windows gets the sum of their gradients."""
    x = rng.normal(size=(2, 2, 6, 6))
    x[:, :, 2, 2] = 10.0  # the maximum of every 3x3 window with stride 1 that contains it
    pool_param = _pool_param(3, 3, 1)
    out, ref_cache = reference.max_pool_forward_naive(x, pool_param)
    dout = rng.uniform(0.5, 1.5, size=out.shape)
    _, cache = submission.max_pool_forward_naive(x, pool_param)
    dx = submission.max_pool_backward_naive(dout, cache)
    assert_close(dx, reference.max_pool_backward_naive(dout, ref_cache),
                 what="dx where overlapping windows share their maximum (their gradients add up)")


@points(2)
def test_max_pool_backward_ties_go_to_the_first_maximum(submission, reference, rng):
    """Tie rule: the first maximum in row-major order within the window (np.argmax's, torch's)."""
    x = rng.integers(-1, 2, size=(2, 3, 6, 6)).astype(np.float64)  # many ties
    pool_param = _pool_param(2, 2, 2)
    out, ref_cache = reference.max_pool_forward_naive(x, pool_param)
    dout = rng.normal(size=out.shape)
    _, cache = submission.max_pool_forward_naive(x, pool_param)
    dx = submission.max_pool_backward_naive(dout, cache)
    assert_close(dx, reference.max_pool_backward_naive(dout, ref_cache),
                 what="dx with tied maxima (the gradient goes to the first maximum in row-major order)")


@points(1)
def test_max_pool_non_square_single_example(submission, reference, rng):
    x = rng.normal(size=(1, 1, 5, 9))
    x[0, 0, 1, 4] = 10.0  # column 4 lies in the windows j = 1 and j = 2: one maximum of both, whatever the seed
    pool_param = _pool_param(2, 3, 2)
    out, ref_cache = reference.max_pool_forward_naive(x, pool_param)
    dout = rng.normal(size=out.shape)
    got, cache = submission.max_pool_forward_naive(x, pool_param)
    assert_close(got, out, what="out (1x1x5x9 input, 2x3 window, stride 2)")
    assert_close(submission.max_pool_backward_naive(dout, cache), reference.max_pool_backward_naive(dout, ref_cache),
                 what="dx (1x1x5x9 input, 2x3 window, stride 2)")


@points(1)
def test_max_pool_float32_and_pure(submission, reference, rng):
    x = rng.normal(size=(2, 2, 6, 5)).astype(np.float32)
    pool_param = _pool_param(2, 2, 1)
    seen = submission.max_pool_forward_naive.inspect(x, pool_param)
    assert_close(seen.args_after[0], x, rtol=0, atol=0, what="x after max_pool_forward_naive (must be unchanged)")
    assert "[0]" not in seen.aliases, "out shares memory with x: return a new array, not a view"
    out, cache = seen.value
    ref_out, ref_cache = reference.max_pool_forward_naive(x, pool_param)
    assert out.dtype == np.float32, f"out must be float32 for float32 inputs, got {out.dtype}"
    dout = rng.normal(size=out.shape).astype(np.float32)
    dx = call_pure(submission.max_pool_backward_naive, dout, cache)
    assert dx.dtype == np.float32, f"dx must be float32 for float32 inputs, got {dx.dtype}"
    assert_close((out, dx), (ref_out, reference.max_pool_backward_naive(dout, ref_cache)), **F32,
                 what="(out, dx) in float32")


# ------------------------------------------------------------ average pooling


@points(1)
@pytest.mark.parametrize("PH,PW,stride", POOLS)
def test_avg_pool_forward(submission, reference, rng, PH, PW, stride):
    x = rng.normal(size=(2, 3, 7, 8))
    pool_param = _pool_param(PH, PW, stride)
    out, _ = submission.avg_pool_forward(x, pool_param)
    assert_close(out, reference.avg_pool_forward(x, pool_param)[0], what=f"out ({PH}x{PW}, stride {stride})")


@points(1)
@pytest.mark.parametrize("PH,PW,stride", POOLS)
def test_avg_pool_backward(submission, reference, rng, PH, PW, stride):
    x = rng.normal(size=(2, 3, 7, 8))
    pool_param = _pool_param(PH, PW, stride)
    out, ref_cache = reference.avg_pool_forward(x, pool_param)
    dout = rng.normal(size=out.shape)
    _, cache = submission.avg_pool_forward(x, pool_param)
    dx = submission.avg_pool_backward(dout, cache)
    assert_close(dx, reference.avg_pool_backward(dout, ref_cache), what=f"dx ({PH}x{PW}, stride {stride})")


@points(1)
def test_avg_pool_float32_and_pure(submission, reference, rng):
    x = rng.normal(size=(1, 2, 5, 7)).astype(np.float32)
    pool_param = _pool_param(3, 2, 1)
    seen = submission.avg_pool_forward.inspect(x, pool_param)
    assert_close(seen.args_after[0], x, rtol=0, atol=0, what="x after avg_pool_forward (must be unchanged)")
    assert "[0]" not in seen.aliases, "out shares memory with x: return a new array, not a view"
    out, cache = seen.value
    ref_out, ref_cache = reference.avg_pool_forward(x, pool_param)
    assert out.dtype == np.float32, f"out must be float32 for float32 inputs, got {out.dtype}"
    dout = rng.normal(size=out.shape).astype(np.float32)
    dx = call_pure(submission.avg_pool_backward, dout, cache)
    assert dx.dtype == np.float32, f"dx must be float32 for float32 inputs, got {dx.dtype}"
    assert_close((out, dx), (ref_out, reference.avg_pool_backward(dout, ref_cache)), **F32, what="(out, dx) in float32")


# ------------------------------------------------------------ Conv2dFunction


DTYPES = [pytest.param(torch.float64, F64, id="float64"), pytest.param(torch.float32, F32, id="float32")]


def _torch_inputs(rng, dtype, N=2, C=3, H=7, W=6, F=4, HH=3, WW=2):
    x, w, b = _conv_inputs(rng, N=N, C=C, H=H, W=W, F=F, HH=HH, WW=WW)
    return tuple(torch.tensor(a, dtype=dtype) for a in (x, w, b))


def _ref_vjp(reference, inputs, stride, pad, grad_out):
    """Output and gradients of the reference Conv2dFunction, computed in the judge."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = reference.convolution_torch.Conv2dFunction.apply(*leaves, stride, pad)
    return out.detach(), torch.autograd.grad(out, leaves, grad_out)


@points(1)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_conv2d_function_forward(submission, rng, dtype, tol):
    x, w, b = _torch_inputs(rng, dtype)
    out = submission.convolution_torch.Conv2dFunction.apply(x, w, b, 2, 1)
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    assert_close(out, tF.conv2d(x, w, b, stride=2, padding=1), **tol,
                 what="Conv2dFunction forward (stride 2, pad 1) vs F.conv2d")


def _check_conv2d_function_backward(submission, reference, rng, dtype, tol, stride, pad):
    x, w, b = _torch_inputs(rng, dtype)
    out_shape = tuple(tF.conv2d(x, w, b, stride=stride, padding=pad).shape)
    g = torch.tensor(rng.normal(size=out_shape), dtype=dtype)
    _, grads = submission.vjp(submission.convolution_torch.Conv2dFunction.apply, (x, w, b, stride, pad), (g,))
    _, ref_grads = _ref_vjp(reference, (x, w, b), stride, pad, g)
    for name, got, exp in zip(["x", "w", "b"], grads, ref_grads):
        assert got is not None, f"no gradient for {name}"
        assert got.dtype == dtype, f"grad of {name} must be {dtype}, got {got.dtype}"
        assert_close(got, exp, **tol, what=f"Conv2dFunction backward (grad of {name}, stride {stride}, pad {pad})")


@points(1)
@pytest.mark.parametrize("stride,pad", GEOMETRIES)
def test_conv2d_function_backward(submission, reference, rng, stride, pad):
    _check_conv2d_function_backward(submission, reference, rng, torch.float64, F64, stride, pad)


@points(1)
def test_conv2d_function_backward_float32(submission, reference, rng):
    _check_conv2d_function_backward(submission, reference, rng, torch.float32, F32, 2, 1)


@points(1)
def test_conv2d_function_non_square_pairs(submission, reference, rng):
    x, w, b = _torch_inputs(rng, torch.float64, N=1, C=1, H=6, W=9, F=1, HH=2, WW=3)
    stride, pad = (1, 2), (2, 0)
    g = torch.tensor(rng.normal(size=tuple(tF.conv2d(x, w, b, stride=stride, padding=pad).shape)))
    out, grads = submission.vjp(submission.convolution_torch.Conv2dFunction.apply, (x, w, b, stride, pad), (g,))
    ref_out, ref_grads = _ref_vjp(reference, (x, w, b), stride, pad, g)
    assert_close(out, ref_out, what="Conv2dFunction forward (stride (1, 2), pad (2, 0), N = C = F = 1)")
    assert_close(tuple(grads[:3]), tuple(ref_grads), what="Conv2dFunction (grad x, grad w, grad b)")


@points(2)
def test_conv2d_function_gradcheck(submission, rng):
    x, w, b = _torch_inputs(rng, torch.float64, N=2, C=2, H=5, W=4, F=2, HH=2, WW=2)
    gradcheck(submission.convolution_torch.Conv2dFunction.apply, (x, w, b, 2, 1))


# ----------------------------------------------------------------- Conv2d


@points(1)
def test_conv2d_module_parameters(submission):
    probes = submission.helpers
    layer = submission.convolution_torch.Conv2d(3, 5, (3, 2), stride=2, padding=1)
    params = probes.parameters(layer)
    assert list(params) == ["weight", "bias"], f"registered parameters: {list(params)}, expected ['weight', 'bias']"
    assert_shape(params["weight"], (5, 3, 3, 2), what="weight")
    assert_shape(params["bias"], (5,), what="bias")
    bound = 1 / np.sqrt(3 * 3 * 2)
    for name, p in params.items():
        assert p.dtype == torch.get_default_dtype(), f"{name} must be {torch.get_default_dtype()}, got {p.dtype}"
        assert float(p.abs().max()) <= bound, f"{name} has values beyond the bound 1/sqrt(C*KH*KW) = {bound:.4f}"


@points(1)
def test_conv2d_module_initial_weights_are_uniform_with_the_fan_in_bound(submission, rng):
    """The weights (and the bias) are drawn from U(-k, k), k = 1 / sqrt(in_channels * KH * KW) (the fan-in).

    Conv2d(8, 64, 3): n = 4608 weights, fan-in 72, fan-out 576. For U(-k, k), w^2 lies in [0, k^2]
    with mean k^2 / 3, and w in [-k, k] with mean 0. Hoeffding: mean(w^2) strays from k^2 / 3 by
    more than 15% of it (t = 0.05 k^2) with probability <= 2 exp(-2 n 0.05^2) = 2.0e-10, and mean(w)
    from 0 by more than 0.1 k with probability <= 2 exp(-2 n 0.1^2 / 4) = 2.0e-10. The bound of the
    fan-out, 1 / sqrt(64 * 3 * 3), gives mean(w^2) = k^2 / 24: 88% below k^2 / 3.
    """
    n, t_square, t_mean = 64 * 8 * 3 * 3, 0.05, 0.1
    assert 2 * np.exp(-2 * n * t_square ** 2) < 1e-6 and 2 * np.exp(-2 * n * t_mean ** 2 / 4) < 1e-6, \
        "the test's own bound on a false failure"
    # torch's global generator, seeded in the worker (replayed with the catalogue's variants).
    submission.library("autograder.probes").call(submission.library("torch").manual_seed, int(rng.integers(2 ** 31)))
    layer = submission.convolution_torch.Conv2d(8, 64, 3)
    params = submission.helpers.parameters(layer)
    weight, bias = params["weight"].double(), params["bias"].double()
    assert_shape(weight, (64, 8, 3, 3), what="weight")
    k = 1 / np.sqrt(8 * 3 * 3)
    assert float(weight.abs().max()) <= k, f"weight has values beyond k = 1/sqrt(C*KH*KW) = {k:.4f}"
    # The bias too is drawn from U(-k, k): all 64 values within 0.1 k of 0 has probability 0.1^64.
    assert float(bias.abs().max()) <= k, f"bias has values beyond k = 1/sqrt(C*KH*KW) = {k:.4f}"
    assert float(bias.abs().max()) >= 0.1 * k, \
        f"bias is not spread over [-k, k] (largest |b| {float(bias.abs().max()):.5f}): draw it from U(-k, k) too"
    mean_square = float((weight ** 2).mean())
    assert abs(mean_square / (k * k / 3) - 1) <= 3 * t_square, (
        f"mean(weight**2) = {mean_square:.5f}, expected {k * k / 3:.5f} +- 15% for U(-k, k) with "
        f"k = 1/sqrt(in_channels * KH * KW) = {k:.4f} (the fan-in, as torch.nn.Conv2d)")
    mean = float(weight.mean())
    assert abs(mean) <= t_mean * k, f"mean(weight) = {mean:.5f}, expected 0 +- {t_mean * k:.5f} (U(-k, k) is centred)"


@points(2)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_conv2d_module_forward_backward(submission, rng, dtype, tol):
    probes = submission.helpers
    layer = submission.convolution_torch.Conv2d(3, 4, 3, stride=(2, 1), padding=(1, 2))
    params = {k: v.to(dtype) for k, v in probes.parameters(layer).items()}
    x = torch.tensor(rng.normal(size=(2, 3, 7, 6)), dtype=dtype)
    weight, bias = (params[k].clone().requires_grad_(True) for k in ("weight", "bias"))
    leaf = x.clone().requires_grad_(True)
    expected = tF.conv2d(leaf, weight, bias, stride=(2, 1), padding=(1, 2))
    g = torch.tensor(rng.normal(size=tuple(expected.shape)), dtype=dtype)
    expected.backward(g)
    out, dx, grads = probes.module_vjp(layer, x, g)
    assert_close(out, expected.detach(), **tol, what="Conv2d(x) vs F.conv2d with the layer's parameters")
    assert_close(dx, leaf.grad, **tol, what="Conv2d: gradient of x")
    assert grads.get("weight") is not None and grads.get("bias") is not None, "weight and bias got no gradient"
    assert_close((grads["weight"], grads["bias"]), (weight.grad, bias.grad), **tol,
                 what="Conv2d: (weight.grad, bias.grad)")


# ------------------------------------------------------------------- CUDA


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_conv2d_function_cuda(submission, rng, dtype, tol):
    x, w, b = _torch_inputs(rng, dtype, N=4, C=3, H=9, W=8, F=5, HH=3, WW=3)
    stride, pad = 2, 1
    leaves = [t.clone().requires_grad_(True) for t in (x, w, b)]
    expected = tF.conv2d(*leaves, stride=stride, padding=pad)
    g = torch.tensor(rng.normal(size=tuple(expected.shape)), dtype=dtype)
    expected.backward(g)
    out, grads = submission.vjp(submission.convolution_torch.Conv2dFunction.apply,
                                (x.cuda(), w.cuda(), b.cuda(), stride, pad), (g.cuda(),))
    assert out.device.type == "cuda", f"output must stay on the input's device, got {out.device}"
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    # cuBLAS sums in another order than the CPU (and TF32 may be on): float32 gets a GPU tolerance.
    cuda_tol = dict(rtol=1e-3, atol=1e-3) if dtype == torch.float32 else tol
    assert_close(out.cpu(), expected.detach(), **cuda_tol, what="Conv2dFunction forward on CUDA vs F.conv2d")
    for name, got, leaf in zip(["x", "w", "b"], grads, leaves):
        assert got is not None, f"no gradient for {name}"
        assert got.device.type == "cuda" and got.dtype == dtype, \
            f"grad of {name} must be a {dtype} CUDA tensor, got {got.dtype} on {got.device}"
        assert_close(got.cpu(), leaf.grad, **cuda_tol, what=f"Conv2dFunction backward on CUDA (grad of {name})")


@points(1)
@pytest.mark.gpu
def test_conv2d_module_cuda(submission, rng):
    probes = submission.helpers
    layer = submission.convolution_torch.Conv2d(3, 4, 3, stride=1, padding=1)
    params = probes.parameters(layer)
    x = torch.tensor(rng.normal(size=(2, 3, 6, 6)), dtype=torch.float32)
    g = torch.tensor(rng.normal(size=(2, 4, 6, 6)), dtype=torch.float32)
    out, dx, grads = probes.module_vjp(layer, x.cuda(), g.cuda())
    assert out.device.type == "cuda" and dx.device.type == "cuda", \
        f"results must stay on the input's device, got {out.device} and {dx.device}"
    assert all(v is not None and v.device.type == "cuda" for v in grads.values()), "parameter gradients must be on CUDA"
    expected = tF.conv2d(x, params["weight"], params["bias"], stride=1, padding=1)
    assert_close(out.cpu(), expected, rtol=1e-3, atol=1e-3, what="Conv2d(x) on CUDA vs F.conv2d")


# The speed tests are public (test_public.py): graded there, with the reference timed in a worker
# of its own, under the same rule a student can run with `autograder check`.
