"""Known mistakes of the backprop assignment.

Each variant is a small wrong copy of ONE reference function (or class). The
engine binds each variant to a copy of the reference module in which the
target is replaced, so a body may use the reference's globals (np, torch,
affine_forward, ...) and must read the cache format of the reference's
forward functions:

    sigmoid_forward / tanh_forward: cache = out
    relu_forward:                   cache = x
    affine_forward:                 cache = (x, w, b)

Function variants may reuse the target's name; class variants get names of
their own (inspect.getsource, which the validation step uses, returns the
first class of a given name on Python < 3.13). The engine renames them.
"""
import numpy as np
import torch

from autograder.mistakes import mistake

# ------------------------------------------------------------------ sigmoid


@mistake("sigmoid_forward", "sigmoid not numerically stable (exp(x) / (1 + exp(x)))",
         hint="For large |x|, exp(x) overflows to inf and inf / inf is nan. Use exp(-|x|), "
              "which never overflows, and pick the formula by the sign of x.")
def sigmoid_forward(x):
    e = np.exp(x)
    out = e / (1 + e)
    cache = out
    return out, cache


@mistake("sigmoid_backward", "sigmoid derivative applied to the cached output as if it were x",
         hint="The cache already holds sigma(x); the derivative is out * (1 - out). "
              "Applying sigma again computes sigma(sigma(x)) * (1 - sigma(sigma(x))).")
def sigmoid_backward(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    dx = dout * s * (1 - s)
    return dx


@mistake("sigmoid_backward", "sigmoid backward computed from x instead of the output",
         hint="dsigma/dx = sigma(x) * (1 - sigma(x)): keep the forward pass's OUTPUT in the cache "
              "and use it; x * (1 - x) with the input x is a different function.")
def sigmoid_backward(dout, cache):  # noqa: F811
    out = cache
    x = np.log(out) - np.log1p(-out)  # the input a cache of x would have held
    return dout * x * (1 - x)


# --------------------------------------------------------------------- tanh


@mistake("tanh_forward", "tanh by its exp formula (exp(x) - exp(-x)) / (exp(x) + exp(-x)): nan for large |x|",
         hint="exp(|x|) overflows to inf beyond |x| ~ 710 in float64 (~ 89 in float32), and inf / inf is nan. "
              "Use np.tanh, or (1 - e) / (1 + e) * sign(x) with e = exp(-2|x|), which never overflows.")
def tanh_forward(x):
    ep, em = np.exp(x), np.exp(-x)
    out = (ep - em) / (ep + em)
    cache = out
    return out, cache


@mistake("tanh_backward", "tanh derivative written as 1 - tanh(x) instead of 1 - tanh(x)**2",
         hint="d tanh(x)/dx = 1 - tanh(x)**2.")
def tanh_backward(dout, cache):
    out = cache
    dx = dout * (1 - out)
    return dx


@mistake("tanh_backward", "tanh derivative applied to the cached output as if it were x (1 - tanh(tanh(x))**2)",
         hint="The cache already holds tanh(x); the derivative is 1 - out**2. Applying tanh again computes "
              "1 - tanh(tanh(x))**2.")
def tanh_backward(dout, cache):  # noqa: F811
    out = cache
    dx = dout * (1 - np.tanh(out) ** 2)
    return dx


# --------------------------------------------------------------------- relu


@mistake("relu_forward", "relu_forward overwrites x in place",
         hint="x[x < 0] = 0 changes the caller's array. Build a new array: np.maximum(x, 0).")
def relu_forward(x):
    x[x < 0] = 0
    out = x
    cache = x
    return out, cache


@mistake("relu_backward", "relu gradient masked with dout > 0 instead of x > 0",
         hint="Whether the gradient flows depends on the input of the relu (x > 0, from the cache), "
              "not on the sign of the upstream gradient.")
def relu_backward(dout, cache):
    dx = np.where(dout > 0, dout, 0)
    return dx


@mistake("relu_backward", "relu gradient 1 at x == 0 (mask x >= 0 instead of x > 0)",
         hint="This assignment's convention (torch's): the gradient at exactly x == 0 is 0, so the mask is x > 0.")
def relu_backward(dout, cache):  # noqa: F811
    x = cache
    dx = np.where(x >= 0, dout, 0)
    return dx


@mistake("relu_backward", "relu_backward zeroes dout in place and returns it",
         hint="dx = dout does not copy: dx[x <= 0] = 0 then changes the caller's dout. "
              "Use np.where(x > 0, dout, 0), or dx = dout.copy() first.")
def relu_backward(dout, cache):  # noqa: F811
    x = cache
    dx = dout
    dx[x <= 0] = 0
    return dx


# ------------------------------------------------------------------- affine


@mistake("affine_backward", "db not summed over the batch",
         hint="db must have shape (M,): sum dout over the batch axis (axis 0).")
def affine_backward(dout, cache):  # noqa: F811
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout
    return dx, dw, db


@mistake("affine_backward", "db summed with keepdims=True: shape (1, M) instead of (M,)",
         hint="db must have the shape of b, (M,): np.sum(dout, axis=0) without keepdims.")
def affine_backward(dout, cache):  # noqa: F811
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout.sum(axis=0, keepdims=True)
    return dx, dw, db


@mistake("affine_backward", "dw transposed: dout.T @ x, of shape (M, D) instead of (D, M)",
         hint="dw has the shape of w, (D, M): x_rows.T @ dout.")
def affine_backward(dout, cache):  # noqa: F811
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x_rows
    db = dout.sum(axis=0)
    return dx, dw, db


@mistake("affine_backward", "db averaged over the batch instead of summed",
         hint="b is added to every one of the N rows, so its gradient is the SUM of dout over the batch, "
              "not the mean.")
def affine_backward(dout, cache):  # noqa: F811
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout.mean(axis=0)
    return dx, dw, db


@mistake("affine_backward", "dx not reshaped back to the shape of x",
         hint="The forward pass flattened x to (N, D); dx must be reshaped back to x.shape, "
              "e.g. (N, d_1, ..., d_k).")
def affine_backward(dout, cache):  # noqa: F811
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = dout @ w.T
    dw = x_rows.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# ---------------------------------------------------------------------- mse


@mistake("mse_loss", "mse gradient divided by N instead of by the number of elements",
         hint="The loss is the mean over all N*C elements, so dpred = 2 * (pred - target) / pred.size.")
def mse_loss(pred, target):
    diff = pred - target
    loss = float(np.mean(diff * diff))
    dpred = 2 * diff / pred.shape[0]
    return loss, dpred


@mistake("mse_loss", "mse averaged over the batch only (loss and gradient divided by N, not by N * C)",
         hint="This assignment's MSE is the mean over ALL N * C elements: loss = sum((pred - target)**2) / pred.size "
              "and dpred = 2 * (pred - target) / pred.size.")
def mse_loss(pred, target):  # noqa: F811
    diff = pred - target
    N = pred.shape[0]
    loss = float(np.sum(diff * diff) / N)
    dpred = 2 * diff / N
    return loss, dpred


@mistake("mse_loss", "mse gradient missing the factor 2",
         hint="d/dp (p - t)**2 = 2 (p - t).")
def mse_loss(pred, target):  # noqa: F811
    diff = pred - target
    loss = float(np.mean(diff * diff))
    dpred = diff / diff.size
    return loss, dpred


# ---------------------------------------------------------- two-layer network


@mistake("two_layer_net", "L2 regularization missing from the weight gradients",
         hint="The penalty 0.5 * reg * sum(W**2) adds reg * W to dW1 and dW2.")
def two_layer_net(X, params, y=None, reg=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden, cache1 = affine_forward(X, W1, b1)
    act, cache_relu = relu_forward(hidden)
    scores, cache2 = affine_forward(act, W2, b2)
    if y is None:
        return scores
    data_loss, dscores = mse_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dact, dW2, db2 = affine_backward(dscores, cache2)
    dhidden = relu_backward(dact, cache_relu)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    return float(loss), grads


@mistake("two_layer_net", "L2 penalty without the factor 0.5 (reg * sum(W**2), gradient 2 * reg * W)",
         hint="This assignment's convention is loss += 0.5 * reg * (sum(W1**2) + sum(W2**2)), "
              "whose gradient is reg * W.")
def two_layer_net(X, params, y=None, reg=0.0):  # noqa: F811
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden, cache1 = affine_forward(X, W1, b1)
    act, cache_relu = relu_forward(hidden)
    scores, cache2 = affine_forward(act, W2, b2)
    if y is None:
        return scores
    data_loss, dscores = mse_loss(scores, y)
    loss = data_loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dact, dW2, db2 = affine_backward(dscores, cache2)
    dhidden = relu_backward(dact, cache_relu)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": dW2 + 2 * reg * W2, "b2": db2}
    return float(loss), grads


@mistake("two_layer_net", "L2 loss without the factor 0.5 (reg * sum(W**2)), gradient reg * W",
         hint="The gradient reg * W belongs to the loss 0.5 * reg * sum(W**2): keep the 0.5 in the loss.")
def two_layer_net(X, params, y=None, reg=0.0):  # noqa: F811
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden, cache1 = affine_forward(X, W1, b1)
    act, cache_relu = relu_forward(hidden)
    scores, cache2 = affine_forward(act, W2, b2)
    if y is None:
        return scores
    data_loss, dscores = mse_loss(scores, y)
    loss = data_loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    dact, dW2, db2 = affine_backward(dscores, cache2)
    dhidden = relu_backward(dact, cache_relu)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    grads = {"W1": dW1 + reg * W1, "b1": db1, "W2": dW2 + reg * W2, "b2": db2}
    return float(loss), grads


@mistake("two_layer_net", "biases regularized too",
         hint="Only the weights W1 and W2 are regularized; the biases get no L2 term.")
def two_layer_net(X, params, y=None, reg=0.0):  # noqa: F811
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    hidden, cache1 = affine_forward(X, W1, b1)
    act, cache_relu = relu_forward(hidden)
    scores, cache2 = affine_forward(act, W2, b2)
    if y is None:
        return scores
    data_loss, dscores = mse_loss(scores, y)
    loss = data_loss + 0.5 * reg * sum(np.sum(p * p) for p in (W1, b1, W2, b2))
    dact, dW2, db2 = affine_backward(dscores, cache2)
    dhidden = relu_backward(dact, cache_relu)
    _, dW1, db1 = affine_backward(dhidden, cache1)
    grads = {"W1": dW1 + reg * W1, "b1": db1 + reg * b1, "W2": dW2 + reg * W2, "b2": db2 + reg * b2}
    return float(loss), grads


# ------------------------------------------------------ numerical gradient


@mistake("eval_numerical_gradient", "one-sided differences (f(x + h) - f(x)) / h",
         hint="Use centered differences (f(x + h) - f(x - h)) / (2h): their error is O(h**2), "
              "a one-sided quotient's is O(h).")
def eval_numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old
        grad[i] = (f_plus - fx) / h
    return grad


@mistake("eval_numerical_gradient", "centered difference divided by h instead of 2h",
         hint="(f(x + h) - f(x - h)) spans 2h: divide by 2 * h.")
def eval_numerical_gradient(f, x, h=1e-5):  # noqa: F811
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / h
    return grad


@mistake("eval_numerical_gradient", "x not restored after perturbing an element",
         hint="After evaluating f(x + h) and f(x - h), put the original value back: x[i] = old. "
              "Otherwise x is left shifted by -h, and every later entry is evaluated at the wrong point.")
def eval_numerical_gradient(f, x, h=1e-5):  # noqa: F811
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@mistake("eval_numerical_gradient", "step h ignored (a hard-coded step is used)",
         hint="Use the h passed by the caller.")
def eval_numerical_gradient(f, x, h=1e-5):  # noqa: F811
    grad = np.zeros_like(x)
    step = 1e-5
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + step
        f_plus = f(x)
        x[i] = old - step
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * step)
    return grad


# ---------------------------------------------------------- torch Functions


@mistake("backprop_torch.SigmoidFunction", "SigmoidFunction backward computed from the input x",
         hint="x * (1 - x) is not the derivative of the sigmoid: save the OUTPUT in forward "
              "and return grad_output * out * (1 - out).")
class SigmoidFunctionBackwardFromInput(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        z = torch.exp(-x.abs())
        out = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x * (1 - x)


@mistake("backprop_torch.SigmoidFunction", "SigmoidFunction forward not numerically stable",
         hint="torch.exp(x) overflows to inf for large x and inf / inf is nan; use exp(-|x|).")
class SigmoidFunctionUnstable(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        e = torch.exp(x)
        out = e / (1 + e)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return grad_output * out * (1 - out)


@mistake("backprop_torch.AffineFunction", "AffineFunction grad_b averaged over the batch",
         hint="grad_b is the SUM of grad_output over the batch (dim 0), not its mean.")
class AffineFunctionMeanBias(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.t(), x.t() @ grad_output, grad_output.mean(dim=0)


@mistake("backprop_torch.AffineFunction", "AffineFunction grad_w transposed: grad_output.t() @ x, of shape (M, D) instead of (D, M)",
         hint="grad_w has the shape of w, (D, M): x.t() @ grad_output.")
class AffineFunctionTransposedWeightGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        return x @ w + b

    @staticmethod
    def backward(ctx, grad_output):
        x, w = ctx.saved_tensors
        return grad_output @ w.t(), grad_output.t() @ x, grad_output.sum(dim=0)
