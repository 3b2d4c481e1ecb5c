"""Hidden tests for the softmax assignment.

Every comparison is against the reference solution run on the same inputs.
Shapes, axes and values come from the seeded ``rng``; each test checks one
thing, so that partial understanding earns partial credit: the forward
passes, the Jacobian, the vector-Jacobian product and the losses each carry
their own points.
"""
import numpy as np
import pytest
import torch

from autograder import assert_close, assert_shape, call_pure, gradcheck, points

F32 = dict(rtol=1e-5, atol=1e-6)      # float32 tolerances
F64 = dict(rtol=1e-7, atol=1e-9)      # float64 tolerances (the defaults, spelled out)
TOL = {np.float32: F32, np.float64: F64}
# Logits of magnitude 1000 carry, in float32, a rounding of up to ulp(1000) / 2 = 3e-5 in any sum or
# difference of them (a log-sum-exp of 1000.31 in float32 is off by as much): correct formulations
# other than the reference's differ from it by that much, relatively, in the probabilities and
# absolutely in the log-probabilities (a correct log-sum-exp softmax lost 5 points to F32 here).
# Stability mistakes are off by far more (nan, inf, or a whole row wrong).
EXTREME = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: F64}
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]


def _shape(rng, ndim_min=1, ndim_max=4, low=1, high=6):
    ndim = int(rng.integers(ndim_min, ndim_max + 1))
    return tuple(int(s) for s in rng.integers(low, high, size=ndim))


def _batch(rng, N=None, C=None):
    N = int(rng.integers(2, 8)) if N is None else N
    C = int(rng.integers(2, 8)) if C is None else C
    return N, C


def _extreme(rng, shape, dtype):
    """Logits of magnitude up to 1000, with near-ties in every row (along the last axis).

    The even rows span [-1000, 1000], with an exact 1000 and -1000; every odd row lies in
    [-1000, -980], its maximum 1980 below the global one: a shift by the global maximum instead of
    each row's own makes exp() underflow to 0 in the whole row (exp(-1980) is 0 in float64 as in
    float32), and 0 / 0 is nan, whatever the seed.
    """
    x = rng.uniform(-1000, 1000, size=shape)
    x[..., 0] = 1000.0
    x[..., -1] = -1000.0
    if shape[-1] > 2:
        x[..., 1] = 999.0
    rows = x.reshape(-1, shape[-1])  # a view: each row along the last axis
    far = rng.uniform(-1000, -980, size=rows[1::2].shape)
    far[:, 0] = -980.0
    if shape[-1] > 2:
        far[:, 1] = -980.5
    rows[1::2] = far
    return x.astype(dtype)


def _ref_vjp(fn, inputs, grad_outputs):
    """Output and input gradients of the reference torch Function, computed in the judge."""
    leaves = [t.detach().clone().requires_grad_(True) if isinstance(t, torch.Tensor) else t for t in inputs]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, [t for t in leaves if isinstance(t, torch.Tensor)], grad_outputs)
    return out.detach(), grads


# ------------------------------------------------------------------ softmax


@points(1)
def test_softmax_random_shape(submission, reference, rng):
    x = rng.normal(size=_shape(rng)) * 3
    assert_close(submission.softmax(x), reference.softmax(x), what="softmax(x) (last axis)")


@points(1)
def test_softmax_random_axis(submission, reference, rng):
    shape = _shape(rng, 2, 4, low=2)
    axis = int(rng.integers(0, len(shape) - 1))  # never the last: the axis argument must be used
    axis -= len(shape) * int(rng.integers(0, 2))  # as often negative as not
    x = rng.normal(size=shape) * 3
    assert_close(submission.softmax(x, axis=axis), reference.softmax(x, axis=axis),
                 what=f"softmax(x, axis={axis}) for x of shape {shape}")


@points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_extreme_logits(submission, reference, rng, dtype):
    x = _extreme(rng, (5, 6), dtype)
    out = submission.softmax(x)
    assert np.all(np.isfinite(out)), f"softmax returned nan/inf for logits of magnitude 1000: {out}"
    assert out.dtype == dtype, f"softmax of a {np.dtype(dtype).name} array must be {np.dtype(dtype).name}, got {out.dtype}"
    assert_close(out, reference.softmax(x), **EXTREME[dtype],
                 what=f"softmax(x) for |x| up to 1000 ({np.dtype(dtype).name})")


@points(1)
def test_softmax_single_class(submission, reference, rng):
    x = rng.normal(size=(int(rng.integers(2, 6)), 1)) * 5
    assert_close(submission.softmax(x), reference.softmax(x), what="softmax(x) with C = 1 (all ones)")


@points(1)
def test_softmax_is_pure(submission, reference, rng):
    x = rng.normal(size=(4, 5)) * 3
    out = call_pure(submission.softmax, x)
    assert_close(out, reference.softmax(x), what="softmax(x)")


# -------------------------------------------------------------- log_softmax


@points(1)
def test_log_softmax_random_shape_and_axis(submission, reference, rng):
    shape = _shape(rng, 2, 4, low=2)
    axis = int(rng.integers(0, len(shape) - 1))  # never the last: the axis argument must be used
    axis -= len(shape) * int(rng.integers(0, 2))
    x = rng.normal(size=shape) * 3
    assert_close(submission.log_softmax(x, axis=axis), reference.log_softmax(x, axis=axis),
                 what=f"log_softmax(x, axis={axis}) for x of shape {shape}")


@points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_extreme_logits(submission, reference, rng, dtype):
    x = _extreme(rng, (4, 7), dtype)
    out = submission.log_softmax(x)
    assert np.all(np.isfinite(out)), f"log_softmax returned -inf/nan for logits of magnitude 1000: {out}"
    assert out.dtype == dtype, f"log_softmax of a {np.dtype(dtype).name} array must be {np.dtype(dtype).name}, got {out.dtype}"
    assert_close(out, reference.log_softmax(x), **EXTREME[dtype],
                 what=f"log_softmax(x) for |x| up to 1000 ({np.dtype(dtype).name})")


@points(1)
def test_log_softmax_is_pure(submission, reference, rng):
    x = rng.normal(size=(3, 6)) * 3
    out = call_pure(submission.log_softmax, x)
    assert_close(out, reference.log_softmax(x), what="log_softmax(x)")


# ----------------------------------------------------------------- Jacobian


@points(1)
def test_softmax_jacobian_single_example(submission, reference, rng):
    x = rng.normal(size=int(rng.integers(2, 9))) * 2
    J = submission.softmax_jacobian(x)
    assert_shape(J, (x.size, x.size), what="softmax_jacobian of x of shape (C,)")
    assert_close(J, reference.softmax_jacobian(x), what="softmax_jacobian (C,)")


@points(2)
def test_softmax_jacobian_batch(submission, reference, rng):
    N = int(rng.integers(2, 6))
    C = N + int(rng.integers(1, 4))  # N != C: a transposed layout has the wrong shape
    x = rng.normal(size=(N, C)) * 2
    J = call_pure(submission.softmax_jacobian, x)
    assert_shape(J, (N, C, C), what=f"softmax_jacobian of x of shape (N, C) = {x.shape}: (N, C, C)")
    assert_close(J, reference.softmax_jacobian(x), what="softmax_jacobian (N, C)")


@points(1)
def test_softmax_jacobian_batch_axis_first(submission, reference, rng):
    """Square batch (N == C): each J[n] is symmetric, the stack is not, so a transposed stack fails."""
    N = C = int(rng.integers(3, 6))
    x = rng.normal(size=(N, C)) * 2
    J = submission.softmax_jacobian(x)
    assert_close(J, reference.softmax_jacobian(x),
                 what=f"softmax_jacobian of a square ({N}, {C}) batch (J[n] must be example n's Jacobian)")


@points(1)
def test_softmax_jacobian_extreme_logits_float32(submission, reference, rng):
    x = _extreme(rng, (3, 5), np.float32)
    J = submission.softmax_jacobian(x)
    assert np.all(np.isfinite(J)), f"softmax_jacobian returned nan/inf for logits of magnitude 1000"
    assert_close(J, reference.softmax_jacobian(x), **EXTREME[np.float32],
                 what="softmax_jacobian for |x| up to 1000 (float32)")


@points(1)
def test_softmax_jacobian_single_class(submission, reference, rng):
    x = rng.normal(size=(3, 1))
    assert_close(submission.softmax_jacobian(x), reference.softmax_jacobian(x),
                 what="softmax_jacobian with C = 1 (all zeros: softmax is constant)")


# ------------------------------------------------------- forward / backward


@points(1)
def test_softmax_forward(submission, reference, rng):
    N, C = _batch(rng)
    x = rng.normal(size=(N, C)) * 3
    seen = submission.softmax_forward.inspect(x)  # the cache may hold x: only out must be new
    assert_close(seen.args_after[0], x, rtol=0, atol=0, what="x after softmax_forward (must be unchanged)")
    assert "[0]" not in seen.aliases, "out shares memory with x: return a new array, not a view"
    out, _ = seen.value
    assert_close(out, reference.softmax_forward(x)[0], what="softmax_forward out")


@points(2)
def test_softmax_backward(submission, reference, rng):
    N, C = _batch(rng)
    x, dout = rng.normal(size=(N, C)) * 3, rng.normal(size=(N, C))
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), what="softmax_backward dx")


@points(1)
def test_softmax_backward_batch_of_one(submission, reference, rng):
    C = int(rng.integers(3, 9))
    x, dout = rng.normal(size=(1, C)) * 3, rng.normal(size=(1, C))
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), what="softmax_backward dx with N = 1")


@points(1)
def test_softmax_backward_square_batch(submission, reference, rng):
    """N == C: summing over the wrong axis keeps the shape, so only the values can tell."""
    N = C = int(rng.integers(3, 7))
    x, dout = rng.normal(size=(N, C)) * 3, rng.normal(size=(N, C))
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), what=f"softmax_backward dx for a square ({N}, {C}) batch")


@points(1)
def test_softmax_backward_single_class(submission, reference, rng):
    x, dout = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), what="softmax_backward dx with C = 1 (zero)")


@points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_backward_extreme_logits(submission, reference, rng, dtype):
    x = _extreme(rng, (4, 6), dtype)
    dout = rng.normal(size=x.shape).astype(dtype)
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    assert np.all(np.isfinite(dx)), "softmax_backward returned nan/inf for logits of magnitude 1000"
    assert dx.dtype == dtype, f"dx must be {np.dtype(dtype).name}, got {dx.dtype}"
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), **EXTREME[dtype],
                 what=f"softmax_backward dx for |x| up to 1000 ({np.dtype(dtype).name})")


@points(1)
def test_softmax_backward_is_pure(submission, reference, rng):
    x, dout = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    _, cache = submission.softmax_forward(x)
    dx = call_pure(submission.softmax_backward, dout, cache)
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), what="softmax_backward dx")


@points(2)
@pytest.mark.limits(memory_mb=256)
def test_softmax_backward_large_C(submission, reference, rng):
    """C = 50,000: the backward pass must not form the Jacobian.

    x and dout are (N, C) = (4, 50,000) float64 arrays of 1.5 MiB each; the
    reference needs a handful of those (under 10 MiB), well inside the 256 MiB
    this test allows. The (N, C, C) Jacobian would take 4 * 50,000**2 * 8 bytes
    = 80 GB, and even one example's (C, C) Jacobian 20 GB (10 GB in float32):
    a solution that forms it runs out of memory.
    """
    N, C = 4, 50_000
    x, dout = rng.normal(size=(N, C)) * 3, rng.normal(size=(N, C))
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    _, ref_cache = reference.softmax_forward(x)
    assert_close(dx, reference.softmax_backward(dout, ref_cache), what="softmax_backward dx for C = 50,000")


# --------------------------------------------------------------------- softmax_loss


@points(1)
def test_softmax_loss_value(submission, reference, rng):
    N, C = _batch(rng)
    x, y = rng.normal(size=(N, C)) * 3, rng.integers(0, C, size=N)
    loss, _ = submission.softmax_loss(x, y)
    assert_close(loss, reference.softmax_loss(x, y)[0], what="loss (mean over the batch)")


@points(2)
def test_softmax_loss_gradient(submission, reference, rng):
    N, C = _batch(rng)
    x, y = rng.normal(size=(N, C)) * 3, rng.integers(0, C, size=N)
    _, dx = submission.softmax_loss(x, y)
    assert_close(dx, reference.softmax_loss(x, y)[1], what="dx = (softmax(x) - onehot(y)) / N")


@points(1)
def test_softmax_loss_batch_of_one(submission, reference, rng):
    C = int(rng.integers(3, 9))
    x, y = rng.normal(size=(1, C)) * 3, rng.integers(0, C, size=1)
    assert_close(submission.softmax_loss(x, y), reference.softmax_loss(x, y), what="(loss, dx) with N = 1")


@points(1)
def test_softmax_loss_single_class(submission, reference, rng):
    x, y = rng.normal(size=(3, 1)), np.zeros(3, dtype=np.int64)
    assert_close(submission.softmax_loss(x, y), reference.softmax_loss(x, y),
                 what="(loss, dx) with C = 1 (loss 0, dx 0)")


@points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_loss_extreme_logits(submission, reference, rng, dtype):
    x = _extreme(rng, (5, 6), dtype)
    y = rng.integers(0, 6, size=5)
    y[0] = 5  # row 0's -1000, whose softmax underflows to 0: log(softmax) gives an infinite loss, whatever the seed
    try:
        # Not graded here: recorded so that, when this test fails, the diagnosis can tell a mistake
        # of log_softmax (which softmax_loss may call) from one of softmax_loss itself.
        submission.log_softmax(x, axis=1)
    except Exception:  # noqa: BLE001 - a softmax_loss written without log_softmax is fine
        pass
    loss, dx = submission.softmax_loss(x, y)
    assert np.isfinite(loss), f"softmax_loss returned {loss} for logits of magnitude 1000"
    assert dx.dtype == dtype, f"dx must be {np.dtype(dtype).name}, got {dx.dtype}"
    assert_close((loss, dx), reference.softmax_loss(x, y), **EXTREME[dtype],
                 what=f"(loss, dx) for |x| up to 1000 ({np.dtype(dtype).name})")


@points(1)
def test_softmax_loss_is_pure(submission, reference, rng):
    x, y = rng.normal(size=(4, 3)), rng.integers(0, 3, size=4)
    result = call_pure(submission.softmax_loss, x, y)
    assert_close(result, reference.softmax_loss(x, y), what="(loss, dx)")


# -------------------------------------------------------------- cross_entropy


def _probs(rng, N, C):
    return rng.dirichlet(np.ones(C), size=N)


@points(1)
def test_cross_entropy_integer_labels(submission, reference, rng):
    N, C = _batch(rng)
    x, y = rng.normal(size=(N, C)) * 3, rng.integers(0, C, size=N)
    assert_close(submission.cross_entropy(x, y), reference.cross_entropy(x, y),
                 what="(loss, dlogits) with integer labels")


@points(1)
def test_cross_entropy_integer_labels_smoothed(submission, reference, rng):
    N, C = _batch(rng, C=int(rng.integers(3, 8)))
    x, y = rng.normal(size=(N, C)) * 3, rng.integers(0, C, size=N)
    eps = float(rng.uniform(0.05, 0.4))
    assert_close(submission.cross_entropy(x, y, eps), reference.cross_entropy(x, y, eps),
                 what=f"(loss, dlogits) with integer labels, label_smoothing={eps:.3f} (eps / C to every class)")


@points(1)
def test_cross_entropy_probability_targets(submission, reference, rng):
    N, C = _batch(rng)
    x, q = rng.normal(size=(N, C)) * 3, _probs(rng, N, C)
    assert_close(submission.cross_entropy(x, q), reference.cross_entropy(x, q),
                 what="(loss, dlogits) with probability targets")


@points(1)
def test_cross_entropy_probability_targets_smoothed(submission, reference, rng):
    N, C = _batch(rng, C=int(rng.integers(3, 8)))
    x, q = rng.normal(size=(N, C)) * 3, _probs(rng, N, C)
    eps = float(rng.uniform(0.05, 0.4))
    assert_close(submission.cross_entropy(x, q, eps), reference.cross_entropy(x, q, eps),
                 what=f"(loss, dlogits) with probability targets, label_smoothing={eps:.3f}")


@points(1)
def test_cross_entropy_targets_not_summing_to_one(submission, reference, rng):
    """Probability targets whose rows do not sum to 1 (the docstring covers them, as torch does):
    dlogits = (softmax(logits) * sum_c q - q) / N, which (p - q) / N is only when the rows sum to 1.
    Every row here sums to at least 1.2 (C >= 2 values of 0.6 or more)."""
    N, C = _batch(rng)
    x, q = rng.normal(size=(N, C)) * 3, rng.uniform(0.6, 1.0, size=(N, C))
    assert_close(submission.cross_entropy(x, q), reference.cross_entropy(x, q),
                 what="(loss, dlogits) with probability targets whose rows sum to more than 1")


@points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits(submission, reference, rng, dtype):
    x = _extreme(rng, (4, 5), dtype)
    y = rng.integers(0, 5, size=4)
    y[0] = 4  # row 0's -1000, whose softmax underflows to 0
    loss, dlogits = submission.cross_entropy(x, y, 0.1)
    assert np.isfinite(loss), f"cross_entropy returned {loss} for logits of magnitude 1000"
    assert dlogits.dtype == dtype, f"dlogits must be {np.dtype(dtype).name}, got {dlogits.dtype}"
    assert_close((loss, dlogits), reference.cross_entropy(x, y, 0.1), **EXTREME[dtype],
                 what=f"(loss, dlogits) for |x| up to 1000 ({np.dtype(dtype).name}, label_smoothing=0.1)")


@points(1)
def test_cross_entropy_is_pure(submission, reference, rng):
    x, q = rng.normal(size=(3, 4)), _probs(rng, 3, 4)
    result = call_pure(submission.cross_entropy, x, q, 0.2)
    assert_close(result, reference.cross_entropy(x, q, 0.2), what="(loss, dlogits) with probability targets")


# ---------------------------------------------------------------------- BCE


@points(1)
def test_bce_with_logits(submission, reference, rng):
    shape = _shape(rng, 2, 3, low=2)  # z.size > z.shape[0]: a mean over the first axis only shows
    z, y = rng.normal(size=shape) * 3, rng.uniform(0, 1, size=shape)
    assert_close(submission.binary_cross_entropy_with_logits(z, y), reference.binary_cross_entropy_with_logits(z, y),
                 what="(loss, dz) (mean over all elements)")


@points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_extreme(submission, reference, rng, dtype):
    z = np.concatenate([[-1000.0, -100.0, -40.0, 40.0, 100.0, 1000.0], rng.uniform(-1000, 1000, size=6)]).astype(dtype)
    y = rng.integers(0, 2, size=z.shape).astype(dtype)
    loss, dz = submission.binary_cross_entropy_with_logits(z, y)
    assert np.isfinite(loss), f"binary_cross_entropy_with_logits returned {loss} for logits of magnitude 1000"
    assert np.all(np.isfinite(dz)), "dz holds nan/inf for logits of magnitude 1000"
    assert dz.dtype == dtype, f"dz must be {np.dtype(dtype).name}, got {dz.dtype}"
    assert_close((loss, dz), reference.binary_cross_entropy_with_logits(z, y), **TOL[dtype],
                 what=f"(loss, dz) for |z| up to 1000 ({np.dtype(dtype).name})")


@points(1)
def test_bce_with_logits_is_pure(submission, reference, rng):
    z, y = rng.normal(size=(3, 4)), rng.uniform(0, 1, size=(3, 4))
    result = call_pure(submission.binary_cross_entropy_with_logits, z, y)
    assert_close(result, reference.binary_cross_entropy_with_logits(z, y), what="(loss, dz)")


# ----------------------------------------------------------- torch Function


TORCH_DTYPES = [pytest.param(torch.float64, F64, id="float64"), pytest.param(torch.float32, F32, id="float32")]


@points(1)
@pytest.mark.parametrize("dtype,tol", TORCH_DTYPES)
def test_softmax_function_forward(submission, reference, rng, dtype, tol):
    x = torch.tensor(_extreme(rng, (4, 6), np.float64), dtype=dtype)
    out = submission.softmax_torch.SoftmaxFunction.apply(x)
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    assert bool(torch.isfinite(out).all()), f"SoftmaxFunction returned nan/inf for logits of magnitude 1000: {out}"
    extreme = EXTREME[np.float32] if dtype == torch.float32 else tol  # logits of magnitude 1000: see EXTREME
    assert_close(out, reference.softmax_torch.SoftmaxFunction.apply(x), **extreme, what="SoftmaxFunction forward")


@points(1)
@pytest.mark.parametrize("dtype,tol", TORCH_DTYPES)
def test_softmax_function_vjp(submission, reference, rng, dtype, tol):
    shape = _shape(rng, 2, 3, low=2)
    dim = int(rng.integers(0, len(shape) - 1))  # never the last: dim must be used in backward too
    dim -= len(shape) * int(rng.integers(0, 2))  # as often negative as not
    x = torch.tensor(rng.normal(size=shape) * 3, dtype=dtype)
    g = torch.tensor(rng.normal(size=shape), dtype=dtype)
    fn = submission.softmax_torch.SoftmaxFunction.apply
    _, (dx, _) = submission.vjp(fn, (x, dim), (g,))
    _, (ref_dx,) = _ref_vjp(reference.softmax_torch.SoftmaxFunction.apply, (x, dim), (g,))
    assert dx is not None, "no gradient for x"
    assert dx.dtype == dtype, f"gradient dtype must be {dtype}, got {dx.dtype}"
    assert_close(dx, ref_dx, **tol, what=f"SoftmaxFunction backward (dim={dim}, x of shape {shape})")


@points(1)
def test_softmax_function_gradcheck(submission, rng):
    x = torch.tensor(rng.normal(size=(3, 5)) * 2, dtype=torch.float64)
    gradcheck(submission.softmax_torch.SoftmaxFunction.apply, (x,))
    gradcheck(submission.softmax_torch.SoftmaxFunction.apply, (x, 0))


# ------------------------------------------------------------------- CUDA


@points(1)
@pytest.mark.gpu
def test_softmax_function_gradcheck_cuda(submission, rng):
    x = torch.tensor(rng.normal(size=(3, 5)) * 2, dtype=torch.float64).cuda()
    gradcheck(submission.softmax_torch.SoftmaxFunction.apply, (x,))


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", TORCH_DTYPES)
def test_softmax_function_cuda(submission, reference, rng, dtype, tol):
    x = torch.tensor(_extreme(rng, (8, 32), np.float64), dtype=dtype)
    g = torch.tensor(rng.normal(size=x.shape), dtype=dtype)
    out, (dx,) = submission.vjp(submission.softmax_torch.SoftmaxFunction.apply, (x.cuda(),), (g.cuda(),))
    assert out.device.type == "cuda" and dx.device.type == "cuda", \
        f"results must stay on the input's device, got {out.device} and {dx.device}"
    assert out.dtype == dtype and dx.dtype == dtype, f"dtype must be {dtype}, got {out.dtype} and {dx.dtype}"
    ref_out, (ref_dx,) = _ref_vjp(reference.softmax_torch.SoftmaxFunction.apply, (x,), (g,))
    extreme = EXTREME[np.float32] if dtype == torch.float32 else tol  # logits of magnitude 1000: see EXTREME
    assert_close(out.cpu(), ref_out, **extreme, what="SoftmaxFunction forward on CUDA (vs the CPU reference)")
    assert_close(dx.cpu(), ref_dx, **extreme, what="SoftmaxFunction backward on CUDA (vs the CPU reference)")
