"""Known mistakes of the softmax assignment.

Each variant is a small wrong copy of ONE reference function (or class). The
engine binds each variant to a copy of the reference module in which the
target is replaced, so a body may use the reference's globals (np, torch,
softmax, log_softmax, ...) and must read the cache format of the reference's
forward function:

    softmax_forward: cache = out (the softmax probabilities)

Functions of the reference that call the target inherit the mistake
(softmax_forward and softmax_jacobian call softmax).

Class variants get names of their own (inspect.getsource, which the
validation step uses, returns the first class of a given name on
Python < 3.13). The engine renames them.
"""
import numpy as np
import torch

from autograder.mistakes import mistake

# ------------------------------------------------------------------ softmax


@mistake("softmax", "softmax without the max shift (exp overflows: inf / inf = nan)",
         hint="exp(1000) is inf in float64 (exp(89) already in float32), and inf / inf is nan. "
              "Subtract the maximum along the axis first: softmax(x) = softmax(x - max(x)), "
              "and exp of a number <= 0 never overflows.")
def softmax(x, axis=-1):
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


@mistake("softmax", "softmax shifted by the global maximum (np.max(x)) instead of each row's",
         hint="The shift must be the maximum ALONG `axis`, one per row: np.max(x, axis=axis, keepdims=True). "
              "With the maximum of the whole array, a row whose logits lie far below it (1000 lower) "
              "underflows to exp(...) = 0 everywhere, and 0 / 0 is nan.")
def softmax(x, axis=-1):  # noqa: F811
    shifted = x - np.max(x)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


@mistake("softmax", "softmax normalized over the last axis whatever `axis` says (sum over the wrong axis)",
         hint="Take the max and the sum along the `axis` argument (np.max(x, axis=axis, keepdims=True)), "
              "not a hard-coded axis=-1.")
def softmax(x, axis=-1):  # noqa: F811
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


@mistake("softmax", "softmax subtracts the max from x in place (x -= max)",
         hint="x -= x.max(...) changes the caller's array. Write shifted = x - x.max(...) instead.")
def softmax(x, axis=-1):  # noqa: F811
    x -= np.max(x, axis=axis, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=axis, keepdims=True)


@mistake("log_softmax", "log_softmax computed as log(softmax(x)) (-inf where softmax underflows)",
         hint="softmax underflows to 0 for logits far below the maximum, and log(0) = -inf. "
              "Compute (x - m) - log(sum(exp(x - m))) with m the maximum, never the log of softmax.")
def log_softmax(x, axis=-1):
    return np.log(softmax(x, axis=axis))


@mistake("log_softmax", "log_softmax shifted by the global maximum (np.max(x)) instead of each row's",
         hint="m must be the maximum ALONG `axis` (keepdims=True), one per row. With the maximum of the whole "
              "array, a row 1000 below it has sum(exp(x - m)) = 0 and log(0) = -inf.")
def log_softmax(x, axis=-1):  # noqa: F811
    shifted = x - np.max(x)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


# ----------------------------------------------------------------- Jacobian


@mistake("softmax_jacobian", "Jacobian with only the diagonal s_i (1 - s_i)",
         hint="Every output s_i depends on every input x_j: off the diagonal ds_i/dx_j = -s_i s_j, "
              "so J = diag(s) - s s^T, not diag(s (1 - s)).")
def softmax_jacobian(x):
    s = softmax(x, axis=-1)
    C = s.shape[-1]
    return np.eye(C) * (s * (1 - s))[..., None, :]


@mistake("softmax_jacobian", "Jacobian written for one example only: np.diag(s) - np.outer(s, s) on a batch",
         hint="For a batch, np.diag of an (N, C) array takes its diagonal and np.outer flattens both arguments. "
              "Build the stack of per-example Jacobians with broadcasting: "
              "s[..., :, None] * np.eye(C) - s[..., :, None] * s[..., None, :].")
def softmax_jacobian(x):  # noqa: F811
    s = softmax(x, axis=-1)
    return np.diag(s) - np.outer(s, s)


@mistake("softmax_jacobian", "batched Jacobian transposed: laid out (C, C, N) instead of (N, C, C)",
         hint="The batch axis comes first: J[n] is the (C, C) Jacobian of example n. Stacking the "
              "per-example Jacobians along the last axis (or transposing with .T) puts it last.")
def softmax_jacobian(x):  # noqa: F811
    s = softmax(x, axis=-1)
    if s.ndim == 1:
        return np.diag(s) - np.outer(s, s)
    return np.stack([np.diag(row) - np.outer(row, row) for row in s], axis=-1)


# ------------------------------------------------------------ softmax_backward


@mistake("softmax_backward", "softmax backward uses only the Jacobian's diagonal (dout * s * (1 - s))",
         hint="Softmax is not elementwise: dx_j = s_j (dout_j - sum_i dout_i s_i). The term "
              "sum_i dout_i s_i comes from the off-diagonal entries -s_i s_j.")
def softmax_backward(dout, cache):
    out = cache
    return dout * out * (1 - out)


@mistake("softmax_backward", "softmax backward sums dout * s over the batch axis instead of the classes",
         hint="The sum in dx = s * (dout - sum(dout * s)) runs over the classes of each example: "
              "np.sum(dout * s, axis=-1, keepdims=True), not axis=0.")
def softmax_backward(dout, cache):  # noqa: F811
    out = cache
    return out * (dout - np.sum(dout * out, axis=0, keepdims=True))


@mistake("softmax_backward", "softmax backward sums without keepdims=True (the sum broadcasts along the wrong axis)",
         hint="np.sum(dout * s, axis=-1) has shape (N,), which broadcasts against (N, C) along the CLASSES "
              "(and fails unless N == C or N == 1): keep the axis, np.sum(..., axis=-1, keepdims=True).")
def softmax_backward(dout, cache):  # noqa: F811
    out = cache
    return out * (dout - np.sum(dout * out, axis=-1))


@mistake("softmax_backward", "softmax backward subtracts from dout in place",
         hint="dout -= ... changes the caller's array. Build a new one: "
              "dx = s * (dout - np.sum(dout * s, axis=-1, keepdims=True)).")
def softmax_backward(dout, cache):  # noqa: F811
    out = cache
    dout -= np.sum(dout * out, axis=-1, keepdims=True)
    return out * dout


# --------------------------------------------------------------------- losses


@mistake("softmax_loss", "loss gradient not divided by N",
         hint="The loss is the MEAN over the N examples, so its gradient is (softmax(x) - onehot(y)) / N.")
def softmax_loss(x, y):
    N = x.shape[0]
    rows = np.arange(N)
    logp = log_softmax(x, axis=1)
    loss = -np.mean(logp[rows, y])
    dx = np.exp(logp)
    dx[rows, y] -= 1
    return float(loss), dx


@mistake("softmax_loss", "loss and gradient both summed over the batch instead of averaged",
         hint="This assignment's loss is the MEAN over the N examples (CS231n's convention): "
              "loss = -(1/N) sum log p[n, y[n]], and so dx = (softmax(x) - onehot(y)) / N.")
def softmax_loss(x, y):  # noqa: F811
    N = x.shape[0]
    rows = np.arange(N)
    logp = log_softmax(x, axis=1)
    loss = -np.sum(logp[rows, y])
    dx = np.exp(logp)
    dx[rows, y] -= 1
    return float(loss), dx


@mistake("softmax_loss", "softmax_loss shifted by the global maximum (np.max(x)) instead of each row's",
         hint="Subtract each example's own maximum, np.max(x, axis=1, keepdims=True). With the maximum of the "
              "whole batch, an example whose scores lie 1000 below it gets exp(...) = 0 in every class, "
              "and log(0) = -inf.")
def softmax_loss(x, y):  # noqa: F811
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - np.max(x)
    logp = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.mean(logp[rows, y])
    dx = np.exp(logp)
    dx[rows, y] -= 1
    dx /= N
    return float(loss), dx


@mistake("cross_entropy", "label smoothing spread as eps / (C - 1) over the other classes",
         hint="This assignment follows torch: q_smooth = (1 - eps) * q + eps / C, i.e. eps / C goes to "
              "EVERY class, the true one included (which gets 1 - eps + eps / C).")
def cross_entropy(logits, targets, label_smoothing=0.0):
    N, C = logits.shape
    logp = log_softmax(logits, axis=1)
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer):
        q = np.zeros_like(logp)
        q[np.arange(N), targets] = 1
    else:
        q = targets.astype(logp.dtype)
    if label_smoothing:
        q = (1 - label_smoothing) * q + label_smoothing * (1 - q) / (C - 1)
    loss = -np.sum(q * logp) / N
    dlogits = (np.exp(logp) * np.sum(q, axis=1, keepdims=True) - q) / N
    return float(loss), dlogits.astype(logp.dtype, copy=False)


@mistake("cross_entropy", "label smoothing not applied to probability targets",
         hint="torch smooths both forms of targets: for class probabilities too, "
              "q_smooth = (1 - eps) * q + eps / C.")
def cross_entropy(logits, targets, label_smoothing=0.0):  # noqa: F811
    N, C = logits.shape
    logp = log_softmax(logits, axis=1)
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer):
        q = np.zeros_like(logp)
        q[np.arange(N), targets] = 1
        q = (1 - label_smoothing) * q + label_smoothing / C
    else:
        q = targets.astype(logp.dtype)
    loss = -np.sum(q * logp) / N
    dlogits = (np.exp(logp) * np.sum(q, axis=1, keepdims=True) - q) / N
    return float(loss), dlogits.astype(logp.dtype, copy=False)


@mistake("cross_entropy", "cross_entropy gradient (softmax - q) / N, right only when each row of q sums to 1",
         hint="The loss is -sum_c q_c log p_c, whose gradient is p * sum_c q_c - q: the docstring's "
              "(softmax(logits) * sum_c q_smooth[n, c] - q_smooth) / N. (p - q) / N assumes the rows of q sum to 1.")
def cross_entropy(logits, targets, label_smoothing=0.0):  # noqa: F811
    N, C = logits.shape
    logp = log_softmax(logits, axis=1)
    targets = np.asarray(targets)
    if np.issubdtype(targets.dtype, np.integer):
        q = np.zeros_like(logp)
        q[np.arange(N), targets] = 1
    else:
        q = targets.astype(logp.dtype)
    if label_smoothing:
        q = (1 - label_smoothing) * q + label_smoothing / C
    loss = -np.sum(q * logp) / N
    dlogits = (np.exp(logp) - q) / N
    return float(loss), dlogits.astype(logp.dtype, copy=False)


@mistake("binary_cross_entropy_with_logits",
         "BCE computed from sigmoid(z) with log (log(0) = -inf and nan for large |z|)",
         hint="For z = 1000, sigmoid(z) rounds to 1 and log(1 - sigmoid(z)) = log(0) = -inf. Use the "
              "stable form max(z, 0) - z * y + log(1 + exp(-|z|)) (np.log1p).")
def binary_cross_entropy_with_logits(z, y):
    s = 1 / (1 + np.exp(-z))
    loss = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    dz = (s - y) / z.size
    return float(loss), dz.astype(z.dtype, copy=False)


@mistake("binary_cross_entropy_with_logits", "BCE averaged over the first axis only (divided by N, not z.size)",
         hint="The loss is the mean over ALL elements (torch's reduction='mean'): divide by z.size, "
              "so dz = (sigmoid(z) - y) / z.size, not / z.shape[0].")
def binary_cross_entropy_with_logits(z, y):  # noqa: F811
    e = np.exp(-np.abs(z))
    loss = np.sum(np.maximum(z, 0) - z * y + np.log1p(e)) / z.shape[0]
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    dz = (sig - y) / z.shape[0]
    return float(loss), dz.astype(z.dtype, copy=False)


# ----------------------------------------------------------- torch Function


@mistake("softmax_torch.SoftmaxFunction", "SoftmaxFunction backward uses only the Jacobian's diagonal",
         hint="grad_x = s * (grad_output - (grad_output * s).sum(dim, keepdim=True)); "
              "grad_output * s * (1 - s) leaves out the off-diagonal terms -s_i s_j.")
class SoftmaxFunctionDiagonalBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim=-1):
        shifted = x - x.amax(dim=dim, keepdim=True)
        e = shifted.exp()
        s = e / e.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return grad_output * s * (1 - s), None


@mistake("softmax_torch.SoftmaxFunction", "SoftmaxFunction forward without the max shift",
         hint="x.exp() overflows to inf for logits of magnitude 1000 and inf / inf is nan: subtract "
              "x.amax(dim, keepdim=True) first.")
class SoftmaxFunctionNoShift(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim=-1):
        e = x.exp()
        s = e / e.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return s * (grad_output - (grad_output * s).sum(dim=ctx.dim, keepdim=True)), None


@mistake("softmax_torch.SoftmaxFunction", "SoftmaxFunction shifted by the global maximum (x.max()) instead of along dim",
         hint="Shift by x.amax(dim=dim, keepdim=True), one maximum per slice along dim: with x.max() of the "
              "whole tensor, a row 1000 below it underflows to exp(...) = 0 and 0 / 0 is nan.")
class SoftmaxFunctionGlobalShift(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim=-1):
        shifted = x - x.max()
        e = shifted.exp()
        s = e / e.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return s * (grad_output - (grad_output * s).sum(dim=ctx.dim, keepdim=True)), None


@mistake("softmax_torch.SoftmaxFunction", "SoftmaxFunction backward sums over the last dim instead of ctx.dim",
         hint="The backward's sum runs over the dimension of the softmax: "
              "(grad_output * s).sum(dim=ctx.dim, keepdim=True), not dim=-1.")
class SoftmaxFunctionBackwardLastDim(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, dim=-1):
        shifted = x - x.amax(dim=dim, keepdim=True)
        e = shifted.exp()
        s = e / e.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s

    @staticmethod
    def backward(ctx, grad_output):
        (s,) = ctx.saved_tensors
        return s * (grad_output - (grad_output * s).sum(dim=-1, keepdim=True)), None
