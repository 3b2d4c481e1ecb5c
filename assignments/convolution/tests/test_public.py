"""Public tests for the convolution assignment: run them locally while you work.

They check shapes, a few values computed by hand, your forward passes against
torch's (torch.nn.functional.conv2d, max_pool2d, avg_pool2d, unfold, fold),
and your backward passes against finite differences. Passing them is a good
sign, not a guarantee: the hidden tests use other strides and paddings,
non-square inputs and kernels, float32, ties, overlapping windows.

The speed tests at the end are the ones your submission is graded with: each
of im2col, col2im, conv_forward_im2col and conv_backward_im2col may take at
most 3x the reference solution's time on the stated size, both timed the same
way in workers like yours. Here, without the reference, its time is
estimated from a numpy product timed next to your code (see _reference_time).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as tF

from autograder import assert_close, assert_shape, batched, gradcheck, numeric_gradient, points

pytestmark = pytest.mark.public

GRAD_TOL = dict(rtol=1e-6, atol=1e-8)


def _torch_conv(x, w, b, conv_param):
    """What your convolution must compute: torch's conv2d, in float64."""
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    return tF.conv2d(t(x), t(w), t(b), stride=conv_param["stride"], padding=conv_param["pad"]).numpy()


@points(1)
def test_conv_output_size_examples(submission):
    cases = [((4, 4, 3, 3, {"stride": 1, "pad": 1}), (4, 4)),     # "same" padding
             ((5, 5, 3, 3, {"stride": 2, "pad": 0}), (2, 2)),     # 1 + (5 - 3) // 2
             ((6, 6, 3, 3, {"stride": 2, "pad": 0}), (2, 2)),     # floor: the last column is never reached
             ((5, 8, 3, 2, {"stride": (1, 3), "pad": (0, 1)}), (3, 3))]
    got = [submission.conv_output_size(*args) for args, _ in cases]  # all cases, then the checks
    for (args, expected), mine in zip(cases, got):
        assert tuple(mine) == expected, f"conv_output_size{args} = {mine}, expected {expected}"


@points(1)
@pytest.mark.parametrize("kind", ["naive", "im2col"])
def test_conv_forward_hand_computed(submission, kind):
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # x[i, j] - x[i + 1, j + 1] = -5 everywhere
    b = np.array([0.5])
    out, _ = getattr(submission, f"conv_forward_{kind}")(x, w, b, {"stride": 2, "pad": 0})
    assert_close(out, np.full((1, 1, 2, 2), -4.5), what="out with stride 2, no padding")
    out, _ = getattr(submission, f"conv_forward_{kind}")(x, w, np.zeros(1), {"stride": 3, "pad": 1})
    # the window at padded (r, c) gives xp[r, c] - xp[r + 1, c + 1] = x[r - 1, c - 1] - x[r, c] (0 in the padding):
    # (0, 0): 0 - 0, (0, 3): 0 - 3, (3, 0): 0 - 12, (3, 3): 10 - 15
    assert_close(out, np.array([[[[0.0, -3.0], [-12.0, -5.0]]]]), what="out with stride 3, pad 1")


@points(1)
@pytest.mark.parametrize("kind", ["naive", "im2col"])
def test_conv_forward_matches_torch(submission, rng, kind):
    x, w, b = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    for conv_param in ({"stride": 1, "pad": 1}, {"stride": 2, "pad": 0}, {"stride": (2, 1), "pad": (1, 2)}):
        out, _ = getattr(submission, f"conv_forward_{kind}")(x, w, b, conv_param)
        assert_close(out, _torch_conv(x, w, b, conv_param), what=f"out with {conv_param} (vs torch conv2d)")


@points(2)
@pytest.mark.parametrize("kind", ["naive", "im2col"])
def test_conv_backward_matches_numeric_gradient(submission, rng, kind):
    forward, backward = getattr(submission, f"conv_forward_{kind}"), getattr(submission, f"conv_backward_{kind}")
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = forward(x, w, b, conv_param)
    dout = rng.normal(size=out.shape)
    dx, dw, db = backward(dout, cache)
    assert_shape(dx, x.shape, what="dx")
    assert_shape(dw, w.shape, what="dw")
    assert_shape(db, b.shape, what="db")
    assert_close(dx, numeric_gradient(batched(forward, lambda v: (v, w, b, conv_param), out=0), x, dout),
                 **GRAD_TOL, what="dx")
    assert_close(dw, numeric_gradient(batched(forward, lambda v: (x, v, b, conv_param), out=0), w, dout),
                 **GRAD_TOL, what="dw")
    assert_close(db, numeric_gradient(batched(forward, lambda v: (x, w, v, conv_param), out=0), b, dout),
                 **GRAD_TOL, what="db")


@points(1)
def test_im2col_layout(submission):
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    cols = submission.im2col(x, 2, 2, {"stride": 1, "pad": 0})
    # rows: kernel offsets (di, dj) in row-major order; columns: output positions in row-major order
    expected = np.array([[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]], dtype=np.float64)
    assert_close(cols, expected[None], what="im2col of a 3x3 image, 2x2 kernel")


@points(1)
def test_im2col_matches_torch_unfold(submission, rng):
    x = rng.normal(size=(2, 3, 6, 7))
    conv_param = {"stride": (2, 1), "pad": (1, 0)}
    cols = submission.im2col(x, 3, 2, conv_param)
    assert_close(cols, tF.unfold(torch.tensor(x), (3, 2), stride=(2, 1), padding=(1, 0)).numpy(),
                 what="im2col vs torch unfold")


@points(1)
def test_col2im_adds_overlapping_windows(submission):
    ones = np.ones((1, 4, 4))  # 2x2 kernel on a 3x3 image, 4 positions
    x = submission.col2im(ones, (1, 1, 3, 3), 2, 2, {"stride": 1, "pad": 0})
    # each pixel receives one 1 per window that covers it
    assert_close(x, np.array([[[[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]]]), what="col2im of ones")


@points(1)
def test_col2im_matches_torch_fold(submission, rng):
    cols = rng.normal(size=(2, 3 * 3 * 2, 3 * 6))  # H' = 1 + (6 + 2 - 3) // 2 = 3, W' = 1 + (7 - 2) // 1 = 6
    conv_param = {"stride": (2, 1), "pad": (1, 0)}
    x = submission.col2im(cols, (2, 3, 6, 7), 3, 2, conv_param)
    expected = tF.fold(torch.tensor(cols), (6, 7), (3, 2), stride=(2, 1), padding=(1, 0)).numpy()
    assert_close(x, expected, what="col2im vs torch fold")


def _pool_param(PH, PW, stride):
    return {"pool_height": PH, "pool_width": PW, "stride": stride}


@points(1)
def test_max_pool_forward_matches_torch(submission, rng):
    x = rng.normal(size=(2, 3, 6, 7))
    for PH, PW, s in [(2, 2, 2), (3, 2, 1)]:
        out, _ = submission.max_pool_forward_naive(x, _pool_param(PH, PW, s))
        assert_close(out, tF.max_pool2d(torch.tensor(x), (PH, PW), stride=s).numpy(),
                     what=f"out ({PH}x{PW} windows, stride {s})")


@points(1)
@pytest.mark.parametrize("PH,PW,stride", [(2, 2, 2), (3, 3, 2)], ids=["2x2-s2", "3x3-s2-overlap"])
def test_max_pool_backward_matches_numeric_gradient(submission, rng, PH, PW, stride):
    x = rng.permutation(2 * 2 * 7 * 7).reshape(2, 2, 7, 7) / 10.0  # distinct values: no ties
    pool_param = _pool_param(PH, PW, stride)
    out, cache = submission.max_pool_forward_naive(x, pool_param)
    dout = rng.normal(size=out.shape)
    dx = submission.max_pool_backward_naive(dout, cache)
    expected = numeric_gradient(batched(submission.max_pool_forward_naive, lambda v: (v, pool_param), out=0), x, dout)
    assert_close(dx, expected, **GRAD_TOL, what="dx")


@points(1)
def test_max_pool_tie_goes_to_the_first_maximum(submission):
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])
    _, cache = submission.max_pool_forward_naive(x, _pool_param(2, 2, 2))
    dx = submission.max_pool_backward_naive(np.array([[[[3.0]]]]), cache)
    assert_close(dx, np.array([[[[0.0, 3.0], [0.0, 0.0]]]]),
                 what="dx (a tie: the first maximum in row-major order gets the whole gradient)")


@points(1)
def test_avg_pool_forward_matches_torch(submission, rng):
    x = rng.normal(size=(2, 3, 6, 7))
    for PH, PW, s in [(2, 2, 2), (3, 2, 1)]:
        out, _ = submission.avg_pool_forward(x, _pool_param(PH, PW, s))
        assert_close(out, tF.avg_pool2d(torch.tensor(x), (PH, PW), stride=s).numpy(),
                     what=f"out ({PH}x{PW} windows, stride {s})")


@points(1)
def test_avg_pool_backward_matches_numeric_gradient(submission, rng):
    x = rng.normal(size=(2, 2, 6, 5))
    pool_param = _pool_param(3, 2, 1)
    out, cache = submission.avg_pool_forward(x, pool_param)
    dout = rng.normal(size=out.shape)
    dx = submission.avg_pool_backward(dout, cache)
    expected = numeric_gradient(batched(submission.avg_pool_forward, lambda v: (v, pool_param), out=0), x, dout)
    assert_close(dx, expected, **GRAD_TOL, what="dx")


@points(1)
def test_conv2d_function_forward_and_gradcheck(submission, rng):
    x, w, b = (torch.tensor(rng.normal(size=s), dtype=torch.float64) for s in [(2, 2, 5, 4), (3, 2, 2, 3), (3,)])
    out = submission.convolution_torch.Conv2dFunction.apply(x, w, b, 2, 1)
    assert_close(out, tF.conv2d(x, w, b, stride=2, padding=1), what="Conv2dFunction forward vs F.conv2d")
    gradcheck(submission.convolution_torch.Conv2dFunction.apply, (x, w, b, 2, 1))


@points(1)
def test_conv2d_module_parameters(submission):
    params = submission.helpers.parameters(
        submission.convolution_torch.Conv2d(3, 5, 3, stride=1, padding=1))
    assert list(params) == ["weight", "bias"], f"registered parameters: {list(params)}, expected ['weight', 'bias']"
    assert_shape(params["weight"], (5, 3, 3, 3), what="weight")
    assert_shape(params["bias"], (5,), what="bias")


# --------------------------------------------------------------------- speed
#
# The rule, graded exactly as written here: on x (8, 4, 16, 16), w (32, 4, 3, 3), stride 1, pad 1,
# each of im2col, col2im, conv_forward_im2col and conv_backward_im2col takes at most 3x the
# reference solution's time, each time the best of 10 calls in a worker (yours; the reference's
# own, alike, when graded). Never your naive loops' time: how slow they are is not graded. Each
# test first checks the result (against torch), so a fast wrong answer earns nothing.

SPEED_PARAM = {"stride": 1, "pad": 1}
REPEATS = 10
MAX_RATIO = 3.0
# Under `autograder check` the reference is not on your machine: its time is estimated as this
# multiple of the best time of numpy.matmul(w.reshape(32, -1), cols) (the im2col convolution's
# product, 8 x (32 x 36) @ (36 x 256)) timed in your worker. Measured on the grading machine
# (one thread; the engine's tests/test_convolution_speed.py keeps it honest); other machines
# and BLAS libraries shift the estimate, not the graded rule.
REFERENCE_RATIO = {"im2col": 0.9, "col2im": 1.35, "conv_forward_im2col": 5.3, "conv_backward_im2col": 5.0}


def _speed_inputs(rng):
    x, w, b = rng.normal(size=(8, 4, 16, 16)), rng.normal(size=(32, 4, 3, 3)), rng.normal(size=32)
    return x, w, b, rng.normal(size=(8, 32, 16, 16))


def _best_time(proxy, fn, args):
    return proxy.library("autograder.probes").best_time(fn, args, REPEATS)


def _reference_time(submission, request, name, args, cols):
    """The reference's best time for ``name``: measured in a worker of its own when graded,
    estimated (REFERENCE_RATIO) under ``autograder check``.

    ``args`` builds the arguments for a proxy (the reference's worker needs its own cache)."""
    try:
        reference_worker = request.getfixturevalue("reference_worker")
    except pytest.UsageError:  # autograder check: no reference here
        w_rows = np.ones((32, 4 * 3 * 3))
        return REFERENCE_RATIO[name] * _best_time(submission, submission.library("numpy").matmul, (w_rows, cols)), \
            " (estimated here; measured when graded)"
    return _best_time(reference_worker, getattr(reference_worker, name), args(reference_worker)), ""


def _check_speed(name, mine, ref):
    ref_time, note = ref
    assert mine <= MAX_RATIO * ref_time, \
        f"{name} took {mine / ref_time:.1f}x the reference's time (at most 3x){note}"


@points(1)
@pytest.mark.time_limit(20)
def test_speed_im2col_within_3x_of_the_reference(submission, request, rng):
    x, _, _, _ = _speed_inputs(rng)
    cols = submission.im2col(x, 3, 3, SPEED_PARAM)
    expected = tF.unfold(torch.tensor(x), (3, 3), padding=1).numpy()
    assert_close(cols, expected, what="im2col vs torch unfold")
    mine = _best_time(submission, submission.im2col, (x, 3, 3, SPEED_PARAM))
    _check_speed("im2col", mine, _reference_time(submission, request, "im2col",
                                                   lambda p: (x, 3, 3, SPEED_PARAM), expected))


@points(1)
@pytest.mark.time_limit(20)
def test_speed_col2im_within_3x_of_the_reference(submission, request, rng):
    x, _, _, _ = _speed_inputs(rng)
    cols = rng.normal(size=(8, 4 * 3 * 3, 16 * 16))
    got = submission.col2im(cols, x.shape, 3, 3, SPEED_PARAM)
    assert_close(got, tF.fold(torch.tensor(cols), (16, 16), (3, 3), padding=1).numpy(), what="col2im vs torch fold")
    mine = _best_time(submission, submission.col2im, (cols, x.shape, 3, 3, SPEED_PARAM))
    _check_speed("col2im", mine, _reference_time(submission, request, "col2im",
                                                   lambda p: (cols, x.shape, 3, 3, SPEED_PARAM), cols))


@points(2)
@pytest.mark.time_limit(20)
def test_speed_conv_forward_im2col_within_3x_of_the_reference(submission, request, rng):
    x, w, b, _ = _speed_inputs(rng)
    out, _ = submission.conv_forward_im2col(x, w, b, SPEED_PARAM)
    assert_close(out, _torch_conv(x, w, b, SPEED_PARAM), what="conv_forward_im2col out (vs torch conv2d)")
    mine = _best_time(submission, submission.conv_forward_im2col, (x, w, b, SPEED_PARAM))
    cols = tF.unfold(torch.tensor(x), (3, 3), padding=1).numpy()
    _check_speed("conv_forward_im2col", mine, _reference_time(
        submission, request, "conv_forward_im2col", lambda p: (x, w, b, SPEED_PARAM), cols))


@points(2)
@pytest.mark.time_limit(20)
def test_speed_conv_backward_im2col_within_3x_of_the_reference(submission, request, rng):
    x, w, b, dout = _speed_inputs(rng)
    _, cache = submission.conv_forward_im2col(x, w, b, SPEED_PARAM)
    dx, dw, db = submission.conv_backward_im2col(dout, cache)
    t = lambda a: torch.tensor(a, requires_grad=True)  # noqa: E731
    tx, tw, tb = t(x), t(w), t(b)
    tF.conv2d(tx, tw, tb, padding=1).backward(torch.tensor(dout))
    assert_close((dx, dw, db), (tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()),
                 what="conv_backward_im2col (dx, dw, db) (vs torch autograd)")
    mine = _best_time(submission, submission.conv_backward_im2col, (dout, cache))
    cols = tF.unfold(torch.tensor(x), (3, 3), padding=1).numpy()
    _check_speed("conv_backward_im2col", mine, _reference_time(
        submission, request, "conv_backward_im2col",
        lambda p: (dout, p.conv_forward_im2col(x, w, b, SPEED_PARAM)[1]), cols))
