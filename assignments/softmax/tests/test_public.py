"""Public tests for the softmax assignment: run them locally while you work.

They check values computed by hand, your backward passes against finite
differences, and your losses against torch. Passing them is a good sign, not
a guarantee: the hidden tests use random shapes and axes, float32, logits of
magnitude 1000, a batch of one, a single class, and C = 50,000.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder import assert_close, assert_shape, batched, gradcheck, numeric_gradient, points

pytestmark = pytest.mark.public

def _s3():
    """softmax([0, log 2, log 3]) = [1, 2, 3] / 6."""
    return np.array([0.0, np.log(2.0), np.log(3.0)]), np.array([1.0, 2.0, 3.0]) / 6


# ------------------------------------------------------------------ forward


@points(1)
def test_softmax_known_values(submission):
    x, s = _s3()
    assert_close(submission.softmax(x), s, what="softmax([0, log 2, log 3])")
    # adding a constant to every logit changes nothing
    assert_close(submission.softmax(x + 7.5), s, what="softmax([0, log 2, log 3] + 7.5)")
    batch = np.stack([x, x[::-1]])
    assert_close(submission.softmax(batch), np.stack([s, s[::-1]]), what="softmax of a (2, 3) batch, rows")


@points(1)
def test_softmax_along_axis_0(submission):
    x, s = _s3()
    columns = np.stack([x, np.zeros(3)], axis=1)  # shape (3, 2): the classes run down axis 0
    assert_close(submission.softmax(columns, axis=0), np.stack([s, np.full(3, 1 / 3)], axis=1),
                 what="softmax(x, axis=0) of a (3, 2) array")


@points(1)
def test_softmax_large_logits_stay_finite(submission):
    out = submission.softmax(np.array([1000.0, 1000.0, -1000.0]))
    assert np.all(np.isfinite(out)), f"softmax returned nan/inf for logits of magnitude 1000: {out}"
    assert_close(out, np.array([0.5, 0.5, 0.0]), what="softmax([1000, 1000, -1000])")
    # Each row is shifted by its OWN maximum: the second row lies 2000 below the first one's.
    rows = np.array([[1000.0, 999.0], [-1000.0, -999.0]])
    out = submission.softmax(rows)
    assert np.all(np.isfinite(out)), f"softmax returned nan/inf for rows far apart: {out}"
    p = 1 / (1 + np.exp(-1.0))
    assert_close(out, np.array([[p, 1 - p], [1 - p, p]]), what="softmax([[1000, 999], [-1000, -999]]) (row by row)")


@points(1)
def test_log_softmax_known_values(submission):
    x, s = _s3()
    assert_close(submission.log_softmax(x), np.log(s), what="log_softmax([0, log 2, log 3])")
    # log(softmax) would be log(0) = -inf here; log_softmax must stay finite
    out = submission.log_softmax(np.array([0.0, -1000.0]))
    assert np.all(np.isfinite(out)), f"log_softmax returned -inf/nan: {out}"
    assert_close(out, np.array([0.0, -1000.0]), what="log_softmax([0, -1000])")
    # Each row is shifted by its OWN maximum: the second row lies 2000 below the first one's.
    out = submission.log_softmax(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]]))
    assert np.all(np.isfinite(out)), f"log_softmax returned -inf/nan for rows far apart: {out}"
    assert_close(out, np.full((2, 2), -np.log(2.0)), what="log_softmax([[1000, 1000], [-1000, -1000]]) (row by row)")


# ----------------------------------------------------------------- Jacobian


@points(1)
def test_softmax_jacobian_by_hand(submission):
    x, s = _s3()
    # J[i, j] = s_i (1 - s_i) on the diagonal, -s_i s_j off it
    expected = np.array([[s[0] * (1 - s[0]), -s[0] * s[1], -s[0] * s[2]],
                         [-s[1] * s[0], s[1] * (1 - s[1]), -s[1] * s[2]],
                         [-s[2] * s[0], -s[2] * s[1], s[2] * (1 - s[2])]])
    assert_close(submission.softmax_jacobian(x), expected, what="softmax_jacobian([0, log 2, log 3])")


@points(1)
def test_softmax_jacobian_batch_layout(submission):
    x, s = _s3()
    batch = np.stack([x, np.zeros(3)])  # N = 2 examples, C = 3 classes
    J = submission.softmax_jacobian(batch)
    assert_shape(J, (2, 3, 3), what="softmax_jacobian of an (N, C) = (2, 3) batch: (N, C, C)")
    uniform = np.full(3, 1 / 3)
    expected = np.stack([np.diag(s) - np.outer(s, s), np.diag(uniform) - np.outer(uniform, uniform)])
    assert_close(J, expected, what="softmax_jacobian of a batch (J[n] is example n's Jacobian)")


@points(1)
def test_softmax_jacobian_columns_are_numeric_gradients(submission, rng):
    x = rng.normal(size=4)
    J = submission.softmax_jacobian(x)
    for i in range(4):
        # row i of J is the gradient of s_i: finite differences of sum(softmax(x) * e_i)
        row = numeric_gradient(batched(submission.softmax, lambda v: (v,)), x, np.eye(4)[i])
        assert_close(J[i], row, rtol=1e-6, atol=1e-8, what=f"softmax_jacobian row {i} (ds_{i}/dx)")


# ---------------------------------------------------------- forward/backward


@points(1)
def test_softmax_forward(submission):
    x, s = _s3()
    out, _ = submission.softmax_forward(np.stack([x, x + 1]))
    assert_close(out, np.stack([s, s]), what="softmax_forward out")


@points(2)
def test_softmax_backward_matches_numeric_gradient(submission, rng):
    x, dout = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    _, cache = submission.softmax_forward(x)
    dx = submission.softmax_backward(dout, cache)
    assert_shape(dx, x.shape, what="dx")
    expected = numeric_gradient(batched(submission.softmax_forward, lambda v: (v,), out=0), x, dout)
    assert_close(dx, expected, rtol=1e-6, atol=1e-8, what="softmax_backward dx")


# --------------------------------------------------------------------- losses


@points(1)
def test_softmax_loss_by_hand(submission):
    x = np.zeros((2, 4))  # uniform probabilities 1/4
    y = np.array([0, 3])
    loss, dx = submission.softmax_loss(x, y)
    assert np.ndim(loss) == 0, "loss must be a scalar"
    assert_close(loss, np.log(4.0), what="loss of all-zero scores (-log 1/4)")
    expected = (np.full((2, 4), 0.25) - np.eye(4)[y]) / 2  # (p - onehot) / N
    assert_close(dx, expected, what="dx = (softmax(x) - onehot(y)) / N")


@points(1)
def test_softmax_loss_matches_numeric_gradient(submission, rng):
    x, y = rng.normal(size=(4, 3)), rng.integers(0, 3, size=4)
    _, dx = submission.softmax_loss(x, y)
    expected = numeric_gradient(batched(submission.softmax_loss, lambda v: (v, y), out=0), x)
    assert_close(dx, expected, rtol=1e-6, atol=1e-8, what="softmax_loss dx")


@points(1)
def test_cross_entropy_matches_torch(submission, rng):
    """Integer labels and probability targets, with and without label smoothing."""
    x = rng.normal(size=(4, 5))
    labels, probs = rng.integers(0, 5, size=4), rng.dirichlet(np.ones(5), size=4)
    for targets, torch_targets, kind in [(labels, torch.tensor(labels), "integer labels"),
                                         (probs, torch.tensor(probs), "probability targets")]:
        for eps in [0.0, 0.1]:
            t = torch.tensor(x, requires_grad=True)
            expected = F.cross_entropy(t, torch_targets, label_smoothing=eps)
            expected.backward()
            loss, dlogits = submission.cross_entropy(x, targets, eps)
            assert_close(loss, expected.item(), what=f"cross_entropy loss ({kind}, label_smoothing={eps})")
            assert_close(dlogits, t.grad, what=f"cross_entropy dlogits ({kind}, label_smoothing={eps})")


@points(1)
def test_binary_cross_entropy_with_logits(submission):
    z = np.array([[0.0, 0.0], [1000.0, -1000.0]])
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    loss, dz = submission.binary_cross_entropy_with_logits(z, y)
    # log 2 for the two zeros, 0 for the two confident right answers; mean over 4 elements
    assert_close(loss, 2 * np.log(2.0) / 4, what="loss")
    assert_close(dz, (np.array([[0.5, 0.5], [1.0, 0.0]]) - y) / 4, what="dz = (sigmoid(z) - y) / z.size")


# --------------------------------------------------------- torch Function


@points(1)
def test_softmax_function_gradcheck(submission, rng):
    x = torch.tensor(rng.normal(size=(3, 4)) * 2, dtype=torch.float64)
    out = submission.softmax_torch.SoftmaxFunction.apply(x)
    assert_close(out, torch.softmax(x, dim=-1), what="SoftmaxFunction forward")
    gradcheck(submission.softmax_torch.SoftmaxFunction.apply, (x,))
    gradcheck(submission.softmax_torch.SoftmaxFunction.apply, (x, 0))
