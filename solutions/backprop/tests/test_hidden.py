"""Hidden tests for the backprop assignment.

Every comparison is against the reference solution run on the same inputs.
Shapes and values come from the seeded ``rng``; each test checks one thing
so that partial understanding earns partial credit.
"""
import numpy as np
import pytest
import torch

from autograder import (assert_close, assert_no_warnings, assert_shape, call_pure, forward_backward, gradcheck,
                        points)
from autograder.asserts import SmoothFunction

F32 = dict(rtol=1e-5, atol=1e-6)      # float32 tolerances
F64 = dict(rtol=1e-7, atol=1e-9)      # float64 tolerances (the defaults, spelled out)


def _shape(rng, ndim_min=1, ndim_max=4):
    ndim = int(rng.integers(ndim_min, ndim_max + 1))
    return tuple(int(s) for s in rng.integers(1, 6, size=ndim))


def _with_a_positive(x):
    """x with its first element made positive: were every element negative, relu's answer
    would be all zeros, which an answer of zeros would match (seen for a few seeds)."""
    x.reshape(-1)[0] = abs(x.reshape(-1)[0]) + 0.5
    return x


def _signs_disagree(x, dout):
    """x and dout (of at least two elements) with x > 0 > dout at the first element and x < 0 < dout
    at the second: a relu mask taken from dout instead of x then differs whatever the seed (with
    random signs, all elements agree with probability 2^-n, 1/16 for four)."""
    xs, ds = x.reshape(-1), dout.reshape(-1)
    xs[0], ds[0] = abs(xs[0]) + 0.5, -abs(ds[0]) - 0.5
    xs[1], ds[1] = -abs(xs[1]) - 0.5, abs(ds[1]) + 0.5
    return x, dout


def _pure_out(fn, *args):
    """fn(*args)'s out, checked to follow the module's rules: the arguments unchanged, and out a new
    array, not one sharing memory with an argument (the cache may hold them)."""
    seen = fn.inspect(*args)
    for i, (before, after) in enumerate(zip(args, seen.args_after)):
        assert_close(after, before, rtol=0, atol=0, what=f"argument #{i + 1} after the call (must be unchanged)")
    assert "[0]" not in seen.aliases, "out shares memory with an argument: return a new array, not a view"
    return seen.value[0]


def _params(rng, D, H, C):
    return {"W1": rng.normal(size=(D, H)) / np.sqrt(D), "b1": rng.normal(size=H),
            "W2": rng.normal(size=(H, C)) / np.sqrt(H), "b2": rng.normal(size=C)}


def _ref_vjp(fn, inputs, grad_outputs):
    """Output and input gradients of the reference torch Function, computed in the judge."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    grads = torch.autograd.grad(out, leaves, grad_outputs)
    return out.detach(), grads


# ------------------------------------------------------------------ sigmoid


@points(1)
def test_sigmoid_forward(submission, reference, rng):
    x = rng.normal(size=_shape(rng)) * 4
    out = _pure_out(submission.sigmoid_forward, x)
    assert_close(out, reference.sigmoid_forward(x)[0], what="sigmoid(x)")


@points(1)
def test_sigmoid_forward_float32_keeps_dtype(submission, reference, rng):
    x = (rng.normal(size=(6, 5)) * 4).astype(np.float32)
    out, _ = submission.sigmoid_forward(x)
    assert out.dtype == np.float32, f"sigmoid of a float32 array must be float32, got {out.dtype}"
    assert_close(out, reference.sigmoid_forward(x)[0], **F32, what="sigmoid(x) in float32")


@points(1)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_sigmoid_forward_large_inputs(submission, reference, rng, dtype):
    x = np.concatenate([[-1000.0, -500.0, -100.0, -40.0, 40.0, 100.0, 500.0, 1000.0],
                        rng.uniform(-1000, 1000, size=12)]).astype(dtype)
    out, _ = submission.sigmoid_forward(x)
    assert np.all(np.isfinite(out)), f"sigmoid returned nan/inf for large |x|: {out}"
    assert_close(out, reference.sigmoid_forward(x)[0], rtol=1e-6, atol=1e-12,
                 what=f"sigmoid(x) for |x| up to 1000 ({np.dtype(dtype).name})")
    assert_no_warnings(submission)  # the docstring: no overflow warning


@points(1)
def test_sigmoid_backward(submission, reference, rng):
    shape = _shape(rng)
    x, dout = rng.normal(size=shape) * 3, rng.normal(size=shape)
    _, cache = submission.sigmoid_forward(x)
    dx = call_pure(submission.sigmoid_backward, dout, cache)
    _, ref_cache = reference.sigmoid_forward(x)
    assert_close(dx, reference.sigmoid_backward(dout, ref_cache), what="sigmoid_backward dx")


@points(1)
def test_sigmoid_backward_large_inputs(submission, reference, rng):
    x = np.array([-1000.0, -100.0, -20.0, 0.0, 20.0, 100.0, 1000.0])
    dout = rng.normal(size=x.shape)
    _, dx = forward_backward(submission.sigmoid_forward, submission.sigmoid_backward, (x,), dout)
    assert np.all(np.isfinite(dx)), f"sigmoid_backward returned nan/inf for large |x|: {dx}"
    _, ref_cache = reference.sigmoid_forward(x)
    assert_close(dx, reference.sigmoid_backward(dout, ref_cache), rtol=1e-6, atol=1e-12,
                 what="sigmoid_backward dx for large |x|")
    assert_no_warnings(submission)  # sigmoid_forward's docstring: no overflow warning


# --------------------------------------------------------------------- tanh


@points(1)
def test_tanh_forward(submission, reference, rng):
    x = rng.normal(size=_shape(rng)) * 3
    out = _pure_out(submission.tanh_forward, x)
    assert_close(out, reference.tanh_forward(x)[0], what="tanh(x)")


@points(1)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_tanh_forward_large_inputs(submission, reference, rng, dtype):
    x = np.concatenate([[-1000.0, -750.0, -100.0, -20.0, 20.0, 100.0, 750.0, 1000.0],
                        rng.uniform(-1000, 1000, size=12)]).astype(dtype)
    out, _ = submission.tanh_forward(x)
    assert np.all(np.isfinite(out)), f"tanh returned nan/inf for large |x|: {out}"
    assert_close(out, reference.tanh_forward(x)[0], rtol=1e-6, atol=1e-12,
                 what=f"tanh(x) for |x| up to 1000 ({np.dtype(dtype).name})")
    assert_no_warnings(submission)  # the docstring: no overflow warning


@points(1)
def test_tanh_backward_large_inputs(submission, reference, rng):
    x = np.array([-1000.0, -750.0, -20.0, 0.0, 20.0, 750.0, 1000.0])
    dout = rng.normal(size=x.shape)
    _, dx = forward_backward(submission.tanh_forward, submission.tanh_backward, (x,), dout)
    assert np.all(np.isfinite(dx)), f"tanh_backward returned nan/inf for large |x|: {dx}"
    _, ref_cache = reference.tanh_forward(x)
    assert_close(dx, reference.tanh_backward(dout, ref_cache), rtol=1e-6, atol=1e-12,
                 what="tanh_backward dx for large |x|")
    assert_no_warnings(submission)  # tanh_forward's docstring: no overflow warning


@points(1)
def test_tanh_backward(submission, reference, rng):
    shape = _shape(rng)
    x, dout = rng.normal(size=shape) * 2, rng.normal(size=shape)
    _, cache = submission.tanh_forward(x)
    dx = call_pure(submission.tanh_backward, dout, cache)
    _, ref_cache = reference.tanh_forward(x)
    assert_close(dx, reference.tanh_backward(dout, ref_cache), what="tanh_backward dx")


# --------------------------------------------------------------------- relu


@points(1)
def test_relu_forward(submission, reference, rng):
    x = _with_a_positive(rng.normal(size=_shape(rng)))
    out, _ = submission.relu_forward(x)
    assert_close(out, reference.relu_forward(x)[0], what="relu(x)")


@points(1)
def test_relu_forward_does_not_modify_x(submission, reference, rng):
    x = rng.normal(size=(5, 4))
    result = submission.relu_forward.inspect(x)
    assert_close(result.args_after[0], x, rtol=0, atol=0, what="x after relu_forward (must be unchanged)")
    assert "[0]" not in result.aliases, "out shares memory with x: return a new array, not a view"
    assert_close(result.value[0], reference.relu_forward(x)[0], what="relu(x)")


@points(1)
def test_relu_backward(submission, reference, rng):
    shape = (int(rng.integers(4, 9)),) + _shape(rng, 1, 3)
    x, dout = _signs_disagree(rng.normal(size=shape), rng.normal(size=shape))
    _, dx = forward_backward(submission.relu_forward, submission.relu_backward, (x,), dout)
    _, ref_cache = reference.relu_forward(x)
    assert_close(dx, reference.relu_backward(dout, ref_cache), what="relu_backward dx")


@points(1)
def test_relu_backward_at_zero_is_zero(submission, reference, rng):
    x = np.array([[-1.0, 0.0, 1.0], [0.0, 2.0, -0.0]])
    dout = rng.uniform(0.5, 1.5, size=x.shape)
    _, dx = forward_backward(submission.relu_forward, submission.relu_backward, (x,), dout)
    _, ref_cache = reference.relu_forward(x)
    assert_close(dx, reference.relu_backward(dout, ref_cache), what="relu_backward dx (gradient at x == 0 is 0)")


@points(1)
def test_relu_backward_leaves_dout_alone(submission, reference, rng):
    x, dout = _signs_disagree(rng.normal(size=(4, 6)), rng.normal(size=(4, 6)))
    _, cache = submission.relu_forward(x)
    dx = call_pure(submission.relu_backward, dout, cache)
    _, ref_cache = reference.relu_forward(x)
    assert_close(dx, reference.relu_backward(dout, ref_cache), what="relu_backward dx")


@points(1)
def test_activation_backward_float32(submission, reference, rng):
    x, dout = _signs_disagree(rng.normal(size=(7, 3)) * 2, rng.normal(size=(7, 3)))
    x, dout = x.astype(np.float32), dout.astype(np.float32)
    for name in ["sigmoid", "tanh", "relu"]:
        forward, backward = getattr(submission, f"{name}_forward"), getattr(submission, f"{name}_backward")
        _, dx = forward_backward(forward, backward, (x,), dout)
        assert dx.dtype == np.float32, f"{name}_backward of float32 inputs must be float32, got {dx.dtype}"
        _, ref_cache = getattr(reference, f"{name}_forward")(x)
        assert_close(dx, getattr(reference, f"{name}_backward")(dout, ref_cache), **F32,
                     what=f"{name}_backward dx in float32")


# ------------------------------------------------------------------- affine


def _affine_inputs(rng, x_shape, M=None, dtype=np.float64):
    D = int(np.prod(x_shape[1:]))
    M = int(rng.integers(2, 7)) if M is None else M
    x, w, b = rng.normal(size=x_shape), rng.normal(size=(D, M)), rng.normal(size=M)
    dout = rng.normal(size=(x_shape[0], M))
    return tuple(a.astype(dtype) for a in (x, w, b, dout))


@points(1)
def test_affine_forward(submission, reference, rng):
    x, w, b, _ = _affine_inputs(rng, (int(rng.integers(2, 8)), int(rng.integers(1, 9))))
    out = _pure_out(submission.affine_forward, x, w, b)
    assert_close(out, reference.affine_forward(x, w, b)[0], what="out")


@points(1)
def test_affine_forward_extra_dims(submission, reference, rng):
    x, w, b, _ = _affine_inputs(rng, (int(rng.integers(2, 5)), 2, 3, 4))
    out, _ = submission.affine_forward(x, w, b)
    assert_shape(out, (x.shape[0], w.shape[1]), what="out")
    assert_close(out, reference.affine_forward(x, w, b)[0], what="out for x of shape (N, 2, 3, 4)")


@points(1)
def test_affine_single_example(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (1, 3, 2))
    out, (dx, dw, db) = forward_backward(submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    ref_out, ref_cache = reference.affine_forward(x, w, b)
    assert_close(out, ref_out, what="out (N=1)")
    assert_close((dx, dw, db), reference.affine_backward(dout, ref_cache), what="(dx, dw, db) with N=1")


@points(1)
def test_affine_backward_dx(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (int(rng.integers(2, 8)), int(rng.integers(1, 9))))
    _, (dx, _, _) = forward_backward(submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    ref_dx, _, _ = reference.affine_backward(dout, reference.affine_forward(x, w, b)[1])
    assert_close(dx, ref_dx, what="dx")


@points(2)
def test_affine_backward_dx_extra_dims(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (int(rng.integers(2, 5)), 2, 3, 4))
    _, (dx, _, _) = forward_backward(submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    assert_shape(dx, x.shape, what="dx (must have the shape of x)")
    ref_dx, _, _ = reference.affine_backward(dout, reference.affine_forward(x, w, b)[1])
    assert_close(dx, ref_dx, what="dx for x of shape (N, 2, 3, 4)")


@points(1)
def test_affine_backward_dw(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (int(rng.integers(2, 8)), 3, 2))
    _, (_, dw, _) = forward_backward(submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    _, ref_dw, _ = reference.affine_backward(dout, reference.affine_forward(x, w, b)[1])
    assert_close(dw, ref_dw, what="dw")


@points(2)
def test_affine_backward_db(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (int(rng.integers(3, 9)), 4))
    _, (_, _, db) = forward_backward(submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    assert_shape(db, b.shape, what="db (sum over the batch)")
    _, _, ref_db = reference.affine_backward(dout, reference.affine_forward(x, w, b)[1])
    assert_close(db, ref_db, what="db")


@points(1)
def test_affine_backward_is_pure(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (4, 5), M=3)
    _, cache = submission.affine_forward(x, w, b)
    grads = call_pure(submission.affine_backward, dout, cache)
    assert_close(grads, reference.affine_backward(dout, reference.affine_forward(x, w, b)[1]), what="(dx, dw, db)")


@points(1)
def test_affine_float32(submission, reference, rng):
    x, w, b, dout = _affine_inputs(rng, (5, 2, 3), dtype=np.float32)
    out, grads = forward_backward(submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    ref_out, ref_cache = reference.affine_forward(x, w, b)
    assert out.dtype == np.float32, f"out must be float32 for float32 inputs, got {out.dtype}"
    assert_close(out, ref_out, **F32, what="out in float32")
    assert_close(grads, reference.affine_backward(dout, ref_cache), **F32, what="(dx, dw, db) in float32")


# ---------------------------------------------------------------------- mse


@points(1)
def test_mse_loss_value(submission, reference, rng):
    shape = (int(rng.integers(2, 8)), int(rng.integers(2, 5)))
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    loss, _ = submission.mse_loss(pred, target)
    assert_close(loss, reference.mse_loss(pred, target)[0], what="loss (mean over all N*C elements)")


@points(2)
def test_mse_loss_gradient(submission, reference, rng):
    shape = (int(rng.integers(2, 8)), int(rng.integers(2, 5)))
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    _, dpred = call_pure(submission.mse_loss, pred, target)
    assert_close(dpred, reference.mse_loss(pred, target)[1], what="dpred")


# ---------------------------------------------------------- two-layer network


def _net_problem(rng, N=None):
    """X, y, params of a regression net, redrawn (deterministically, from rng) until the relu is
    active and inactive and its mask disagrees with the sign of the gradient reaching it both
    ways: some hidden unit with h > 0 > dact and one with h < 0 < dact. Otherwise a relu mask
    taken from the gradient (or no mask) gives the right gradients for some seeds (seen for
    N = 1: a wrong sample scored 50 or 51 with the seed)."""
    N = int(rng.integers(3, 9)) if N is None else N
    # Three different sizes: a gradient of the wrong shape (a transposed dW, say) never fits by chance.
    D, H, C = (int(v) for v in rng.choice(np.arange(2, 7), size=3, replace=False))
    while True:
        X, y, params = rng.normal(size=(N, D)), rng.normal(size=(N, C)), _params(rng, D, H, C)
        h = X @ params["W1"] + params["b1"]
        scores = np.maximum(h, 0) @ params["W2"] + params["b2"]
        dact = (2 * (scores - y) / scores.size) @ params["W2"].T
        if np.any((h > 0) & (dact < 0)) and np.any((h < 0) & (dact > 0)):
            return X, y, params


@points(1)
def test_two_layer_net_scores(submission, reference, rng):
    X, _, params = _net_problem(rng)
    scores = call_pure(submission.two_layer_net, X, params)
    assert_close(scores, reference.two_layer_net(X, params), what="scores (y is None)")


@points(1)
def test_two_layer_net_loss_with_reg(submission, reference, rng):
    X, y, params = _net_problem(rng)
    reg = float(rng.uniform(0.1, 1.0))
    loss, _ = submission.two_layer_net(X, params, y, reg)
    assert_close(loss, reference.two_layer_net(X, params, y, reg)[0],
                 what=f"loss with reg={reg:.3f} (data loss + 0.5 * reg * sum of squared weights)")


@points(2)
def test_two_layer_net_weight_gradients_with_reg(submission, reference, rng):
    X, y, params = _net_problem(rng)
    reg = float(rng.uniform(0.1, 1.0))
    _, grads = submission.two_layer_net(X, params, y, reg)
    _, ref_grads = reference.two_layer_net(X, params, y, reg)
    for name in ["W1", "W2"]:
        assert_close(grads[name], ref_grads[name], what=f"grads[{name!r}] with reg={reg:.3f}")


@points(1)
def test_two_layer_net_bias_gradients(submission, reference, rng):
    X, y, params = _net_problem(rng)
    reg = float(rng.uniform(0.1, 1.0))
    _, grads = call_pure(submission.two_layer_net, X, params, y, reg)
    _, ref_grads = reference.two_layer_net(X, params, y, reg)
    for name in ["b1", "b2"]:
        assert_close(grads[name], ref_grads[name], what=f"grads[{name!r}] (biases are not regularized)")


@points(1)
def test_two_layer_net_single_example_no_reg(submission, reference, rng):
    X, y, params = _net_problem(rng, N=1)
    loss, grads = submission.two_layer_net(X, params, y, 0.0)
    ref_loss, ref_grads = reference.two_layer_net(X, params, y, 0.0)
    assert_close(loss, ref_loss, what="loss (N=1, reg=0)")
    assert_close(grads, ref_grads, what="grads (N=1, reg=0)")


# ------------------------------------------------------ numerical gradient


# The function to differentiate is built in the worker from random coefficients (SmoothFunction):
# a submission cannot recognise it and answer with a gradient known in advance. The judge
# computes its exact gradient, and the exact centered quotient for a given step, itself.
WHAT = "numerical gradient of sum(a sin(b x + c)) + sum(d x**3) + (u . x)**2"


@points(1)
def test_eval_numerical_gradient_any_shape(submission, rng):
    shape = _shape(rng, 1, 3)
    while np.prod(shape) < 2:  # with one element, x left perturbed changes no later derivative
        shape = _shape(rng, 1, 3)
    f, x = SmoothFunction(rng, shape), rng.normal(size=shape)
    grad = submission.eval_numerical_gradient(f.in_worker(submission), x)
    # Centered differences are off by O(h**2) (about 1e-10 here); one-sided ones by O(h).
    assert_close(grad, f.gradient(x), rtol=1e-6, atol=1e-7, what=WHAT)


@points(1)
def test_eval_numerical_gradient_3d(submission, rng):
    f, x = SmoothFunction(rng, (2, 3, 2)), rng.normal(size=(2, 3, 2))
    grad = submission.eval_numerical_gradient(f.in_worker(submission), x)
    assert_close(grad, f.gradient(x), rtol=1e-6, atol=1e-7, what=f"{WHAT}, x of shape (2, 3, 2)")


@points(1)
def test_eval_numerical_gradient_uses_h(submission, rng):
    f, x = SmoothFunction(rng, (6,)), rng.normal(size=6)
    h = 1e-3
    grad = submission.eval_numerical_gradient(f.in_worker(submission), x, h)
    # The centered quotient with this h, exactly: the d x**3 term adds d * h**2 (at least 5e-7).
    assert_close(grad, f.centered(x, h), rtol=0, atol=1e-8, what=f"{WHAT} with h={h}")


@points(1)
def test_eval_numerical_gradient_restores_x(submission, rng):
    f, x = SmoothFunction(rng, (3, 4)), rng.normal(size=(3, 4))
    seen = submission.eval_numerical_gradient.inspect(f.in_worker(submission), x)
    # Perturbing x in place is the method; leaving it perturbed is the mistake.
    assert_close(seen.args_after[1], x, rtol=0, atol=0,
                 what="x after eval_numerical_gradient returned (restore each element after perturbing it)")
    grad = seen.value
    # Through (u . x)**2 every element's derivative depends on all of x: an element left
    # perturbed shifts the later ones by about 1e-5.
    assert_close(grad, f.gradient(x), rtol=1e-7, atol=1e-7, what=WHAT)


# ---------------------------------------------------------- torch Functions


DTYPES = [pytest.param(torch.float64, F64, id="float64"), pytest.param(torch.float32, F32, id="float32")]


@points(1)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_sigmoid_function_forward(submission, reference, rng, dtype, tol):
    x = torch.tensor(np.r_[-1000.0, -60.0, rng.normal(size=10) * 4, 60.0, 1000.0], dtype=dtype)
    out = submission.backprop_torch.SigmoidFunction.apply(x)
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    assert bool(torch.isfinite(out).all()), f"SigmoidFunction returned nan/inf: {out}"
    assert_close(out, reference.backprop_torch.SigmoidFunction.apply(x), **tol, what="SigmoidFunction forward")


@points(1)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_sigmoid_function_vjp(submission, reference, rng, dtype, tol):
    shape = _shape(rng, 1, 3)
    x = torch.tensor(rng.normal(size=shape) * 3, dtype=dtype)
    g = torch.tensor(rng.normal(size=shape), dtype=dtype)
    _, (dx,) = submission.vjp(submission.backprop_torch.SigmoidFunction.apply, (x,), (g,))
    _, (ref_dx,) = _ref_vjp(reference.backprop_torch.SigmoidFunction.apply, (x,), (g,))
    assert dx.dtype == dtype, f"gradient dtype must be {dtype}, got {dx.dtype}"
    assert_close(dx, ref_dx, **tol, what="SigmoidFunction backward (grad of x)")


@points(1)
def test_sigmoid_function_gradcheck(submission, rng):
    x = torch.tensor(rng.normal(size=(4, 3)) * 3, dtype=torch.float64)
    gradcheck(submission.backprop_torch.SigmoidFunction.apply, (x,))


@points(1)
def test_affine_function_forward(submission, reference, rng):
    N, D, M = (int(v) for v in rng.integers(1, 7, size=3))
    x, w, b = (torch.tensor(rng.normal(size=s), dtype=torch.float64) for s in [(N, D), (D, M), (M,)])
    out = submission.backprop_torch.AffineFunction.apply(x, w, b)
    assert_close(out, reference.backprop_torch.AffineFunction.apply(x, w, b), what="AffineFunction forward")


@points(1)
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_affine_function_vjp(submission, reference, rng, dtype, tol):
    N, D, M = int(rng.integers(2, 8)), int(rng.integers(1, 7)), int(rng.integers(1, 7))
    # A square w first: autograd rejects a grad_w of the wrong shape before it returns, so only a
    # square w shows what a transposed grad_w holds (and lets the grader name that mistake).
    for D_, M_ in [(D + 1, D + 1), (D, M)]:
        x, w, b = (torch.tensor(rng.normal(size=s), dtype=dtype) for s in [(N, D_), (D_, M_), (M_,)])
        g = torch.tensor(rng.normal(size=(N, M_)), dtype=dtype)
        _, grads = submission.vjp(submission.backprop_torch.AffineFunction.apply, (x, w, b), (g,))
        _, ref_grads = _ref_vjp(reference.backprop_torch.AffineFunction.apply, (x, w, b), (g,))
        for name, got, exp in zip(["x", "w", "b"], grads, ref_grads):
            assert got is not None, f"no gradient for {name}"
            assert got.dtype == dtype, f"grad of {name} must be {dtype}, got {got.dtype}"
            assert_close(got, exp, **tol, what=f"AffineFunction backward (grad of {name}, w of shape {(D_, M_)})")


@points(1)
def test_affine_function_gradcheck(submission, rng):
    x, w, b = (torch.tensor(rng.normal(size=s), dtype=torch.float64) for s in [(5, 3), (3, 4), (4,)])
    gradcheck(submission.backprop_torch.AffineFunction.apply, (x, w, b))


# ------------------------------------------------------------------- CUDA


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_sigmoid_function_cuda(submission, reference, rng, dtype, tol):
    x = torch.tensor(np.r_[-1000.0, rng.normal(size=(30,)) * 4, 1000.0], dtype=dtype)
    g = torch.tensor(rng.normal(size=x.shape), dtype=dtype)
    out, (dx,) = submission.vjp(submission.backprop_torch.SigmoidFunction.apply, (x.cuda(),), (g.cuda(),))
    assert out.device.type == "cuda" and dx.device.type == "cuda", \
        f"results must stay on the input's device, got {out.device} and {dx.device}"
    assert out.dtype == dtype and dx.dtype == dtype, f"dtype must be {dtype}, got {out.dtype} and {dx.dtype}"
    ref_out, (ref_dx,) = _ref_vjp(reference.backprop_torch.SigmoidFunction.apply, (x,), (g,))
    assert_close(out.cpu(), ref_out, **tol, what="SigmoidFunction forward on CUDA")
    assert_close(dx.cpu(), ref_dx, **tol, what="SigmoidFunction backward on CUDA")


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_affine_function_cuda(submission, reference, rng, dtype, tol):
    N, D, M = 16, 12, 8
    x, w, b = (torch.tensor(rng.normal(size=s), dtype=dtype) for s in [(N, D), (D, M), (M,)])
    g = torch.tensor(rng.normal(size=(N, M)), dtype=dtype)
    out, grads = submission.vjp(submission.backprop_torch.AffineFunction.apply,
                                (x.cuda(), w.cuda(), b.cuda()), (g.cuda(),))
    ref_out, ref_grads = _ref_vjp(reference.backprop_torch.AffineFunction.apply, (x, w, b), (g,))
    assert out.device.type == "cuda", f"output must stay on CUDA, got {out.device}"
    assert out.dtype == dtype, f"output dtype must be {dtype}, got {out.dtype}"
    # cuBLAS sums in another order than the CPU (and TF32 may be on): float32 gets a GPU tolerance.
    cuda_tol = dict(rtol=1e-3, atol=1e-3) if dtype == torch.float32 else tol
    assert_close(out.cpu(), ref_out, **cuda_tol, what="AffineFunction forward on CUDA")
    for name, got, exp in zip(["x", "w", "b"], grads, ref_grads):
        assert got.device.type == "cuda" and got.dtype == dtype, \
            f"grad of {name} must be a {dtype} CUDA tensor, got {got.dtype} on {got.device}"
        assert_close(got.cpu(), exp, **cuda_tol, what=f"AffineFunction backward on CUDA (grad of {name})")
