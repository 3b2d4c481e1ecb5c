"""Public tests for the backprop assignment: run them locally while you work.

They check shapes, a few values computed by hand, and your backward passes
against finite differences. Here (`autograder check`) the finite differences
are those of your own forward passes; when your submission is graded, they are
those of the reference solution's, so a backward that only agrees with a wrong
forward does not pass. Passing them is a good sign, not a guarantee: the
hidden tests use random shapes, float32, large inputs, and more edge cases.
"""
import numpy as np
import pytest
import torch

from autograder import (assert_close, assert_no_warnings, assert_shape, forward_backward_numeric, gradcheck,
                        numeric_gradients, points, together)
from autograder.asserts import SmoothFunction

pytestmark = pytest.mark.public


def _away_from_zero(rng, shape):
    """Random values with |x| in [0.1, 1.5]: finite differences stay off relu's kink."""
    return rng.uniform(0.1, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


@points(1)
def test_activation_forward_known_values(submission):
    x = np.array([-2.0, 0.0, np.log(3.0)])
    (sig, _), (th, _), (r, _) = together(  # three calls, one round trip to your code
        (submission.sigmoid_forward, x), (submission.tanh_forward, x),
        (submission.relu_forward, np.array([[-1.5, 0.0], [2.0, -0.25]])))
    assert_close(sig, np.array([1 / (1 + np.exp(2.0)), 0.5, 0.75]), what="sigmoid(x)")
    assert_close(th, np.array([np.tanh(-2.0), 0.0, 0.8]), what="tanh(x)")
    assert_close(r, np.array([[0.0, 0.0], [2.0, 0.0]]), what="relu(x)")


@points(1)
def test_sigmoid_large_inputs_stay_finite(submission):
    x = np.array([-1000.0, -30.0, 30.0, 1000.0])
    out, _ = submission.sigmoid_forward(x)
    assert np.all(np.isfinite(out)), f"sigmoid returned non-finite values: {out}"
    assert_close(out, np.array([0.0, 1 / (1 + np.exp(30.0)), 1 / (1 + np.exp(-30.0)), 1.0]),
                 rtol=1e-6, atol=1e-12, what="sigmoid(x)")
    assert_no_warnings(submission)  # the docstring: no overflow warning


@points(1)
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
def test_activation_backward_matches_numeric_gradient(submission, rng, name):
    forward = getattr(submission, f"{name}_forward")
    backward = getattr(submission, f"{name}_backward")
    x = _away_from_zero(rng, (3, 4))
    dout = rng.normal(size=(3, 4))
    # Your backward's dx, and centered differences of your forward (of the reference's when graded).
    _, dx, (expected,) = forward_backward_numeric(forward, backward, (x,), dout)
    assert_close(dx, expected, rtol=1e-6, atol=1e-8, what=f"{name}_backward dx")


@points(1)
def test_affine_forward_shape_and_values(submission):
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
    w = np.linspace(-1, 1, 12 * 5).reshape(12, 5)
    b = np.array([0.5, -0.5, 1.0, 0.0, 2.0])
    out, _ = submission.affine_forward(x, w, b)
    assert_shape(out, (2, 5), what="out")
    assert_close(out, x.reshape(2, 12) @ w + b, what="out")


@points(2)
def test_affine_backward_matches_numeric_gradient(submission, rng):
    x = rng.normal(size=(3, 2, 2))
    w = rng.normal(size=(4, 5))
    b = rng.normal(size=5)
    dout = rng.normal(size=(3, 5))
    # Your gradients and the numerical ones of all three inputs travel in one round trip.
    _, (dx, dw, db), (num_dx, num_dw, num_db) = forward_backward_numeric(
        submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    assert_shape(dx, x.shape, what="dx")
    assert_shape(dw, w.shape, what="dw")
    assert_shape(db, b.shape, what="db")
    assert_close(dx, num_dx, rtol=1e-6, atol=1e-8, what="dx")
    assert_close(dw, num_dw, rtol=1e-6, atol=1e-8, what="dw")
    assert_close(db, num_db, rtol=1e-6, atol=1e-8, what="db")


@points(1)
def test_mse_loss_hand_computed(submission):
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[1.0, 0.0], [0.0, 4.0]])
    loss, dpred = submission.mse_loss(pred, target)
    # mean over all 4 elements of (0, 4, 9, 0); gradient 2 * diff / 4
    assert_close(loss, 13.0 / 4, what="loss")
    assert_close(dpred, np.array([[0.0, 1.0], [1.5, 0.0]]), what="dpred")


@points(2)
def test_two_layer_net_matches_numeric_gradient(submission, rng):
    N, D, H, C, reg = 4, 3, 5, 2, 0.1
    params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(H, C)), "b2": rng.normal(size=C)}
    X, y = rng.normal(size=(N, D)), rng.normal(size=(N, C))
    scores, (loss, grads) = together((submission.two_layer_net, X, params),
                                     (submission.two_layer_net, X, params, y, reg))
    assert_shape(scores, (N, C), what="scores")
    assert np.ndim(loss) == 0, "loss must be a scalar"
    names = ["W1", "b1", "W2", "b2"]
    expected = numeric_gradients(submission.two_layer_net, (X, params, y, reg), out=0,
                                 wrt=[(1, name) for name in names])  # params[name], for each name
    for name, numeric in zip(names, expected):
        assert_close(grads[name], numeric, rtol=1e-5, atol=1e-7, what=f"grads[{name!r}]")


@points(1)
def test_eval_numerical_gradient_matches_the_exact_gradient(submission, rng):
    # f(x) = sum(a sin(b x + c)) + sum(d x**3) + (u . x)**2 with random coefficients, built
    # next to your code; its exact gradient is known here.
    f = SmoothFunction(rng, (2, 3))
    x = rng.normal(size=(2, 3))
    grad = submission.eval_numerical_gradient(f.in_worker(submission), x)
    assert_close(grad, f.gradient(x), rtol=1e-6, atol=1e-7,
                 what="numerical gradient of sum(a sin(b x + c)) + sum(d x**3) + (u . x)**2")


@points(1)
def test_sigmoid_function_gradcheck(submission, rng):
    x = torch.tensor(rng.normal(size=(3, 4)) * 2, dtype=torch.float64)
    # Your forward against torch.sigmoid, then your backward against finite differences
    # (of your forward here, of the reference's when graded).
    gradcheck(submission.backprop_torch.SigmoidFunction.apply, (x,), expected=torch.sigmoid(x))


@points(1)
def test_affine_function_gradcheck(submission, rng):
    x = torch.tensor(rng.normal(size=(3, 4)), dtype=torch.float64)
    w = torch.tensor(rng.normal(size=(4, 2)), dtype=torch.float64)
    b = torch.tensor(rng.normal(size=2), dtype=torch.float64)
    gradcheck(submission.backprop_torch.AffineFunction.apply, (x, w, b), expected=x @ w + b)
