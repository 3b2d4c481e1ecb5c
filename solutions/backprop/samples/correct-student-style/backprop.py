"""Backpropagation by hand, in numpy.

Every layer comes as a pair of functions in the functional style used by
CS231n:

    out, cache = layer_forward(x, ...)
    dx, ...    = layer_backward(dout, cache)

``cache`` is whatever the forward pass needs to keep for the backward pass;
its format is yours to choose (the grader only hands it back to your own
backward function). ``dout`` is the upstream gradient dL/dout, of the same
shape as ``out``; the backward functions return dL/dx (and dL/dw, dL/db),
each of the same shape as the input it belongs to.

Rules that hold for every function in this file:

* never modify an argument in place (copy it first if you need to);
* return new arrays, not views of the arguments;
* keep the floating dtype of the input (float32 in, float32 out);
* numpy only: no torch, no loops over the batch where a matrix product will do.
"""
import numpy as np


# ---------------------------------------------------------------- activations


def sigmoid_forward(x):
    """Elementwise logistic sigmoid, sigma(x) = 1 / (1 + exp(-x)).

    The implementation must be numerically stable: for |x| as large as 1000
    (in float32 and in float64) it returns values in [0, 1] with no nan, no
    inf and no overflow warning. Hint: exp(-|x|) never overflows.

    Inputs:
    - x: array of shape (d_1, ..., d_k), any shape, floating dtype

    Returns a tuple of:
    - out: array of the same shape and dtype as x, sigma(x)
    - cache: whatever sigmoid_backward needs
    """
    # stable version: only ever exponentiate a non-positive number
    out = np.zeros_like(x)
    pos = x >= 0
    neg = ~pos
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[neg])
    out[neg] = ex / (1.0 + ex)
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward.

    Use the output of the forward pass: dsigma/dx = sigma(x) * (1 - sigma(x)).

    Inputs:
    - dout: array of shape (d_1, ..., d_k), upstream gradient
    - cache: the cache returned by sigmoid_forward

    Returns:
    - dx: array of shape (d_1, ..., d_k), gradient with respect to x
    """
    out = cache
    dx = dout * out * (1.0 - out)
    return dx


def tanh_forward(x):
    """Elementwise hyperbolic tangent.

    Inputs:
    - x: array of shape (d_1, ..., d_k), any shape, floating dtype

    Returns a tuple of:
    - out: array of the same shape and dtype as x, tanh(x)
    - cache: whatever tanh_backward needs
    """
    out = np.tanh(x)
    cache = out
    return out, cache


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward: dtanh/dx = 1 - tanh(x)**2.

    Inputs:
    - dout: array of shape (d_1, ..., d_k), upstream gradient
    - cache: the cache returned by tanh_forward

    Returns:
    - dx: array of shape (d_1, ..., d_k), gradient with respect to x
    """
    out = cache
    dx = dout * (1.0 - out ** 2)
    return dx


def relu_forward(x):
    """Elementwise rectified linear unit, max(0, x).

    Inputs:
    - x: array of shape (d_1, ..., d_k), any shape, floating dtype

    Returns a tuple of:
    - out: array of the same shape and dtype as x
    - cache: whatever relu_backward needs
    """
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of relu_forward.

    Convention: the gradient at exactly x == 0 is 0 (as in torch), so the
    gradient flows only where x > 0. The mask depends on x, not on dout.

    Inputs:
    - dout: array of shape (d_1, ..., d_k), upstream gradient
    - cache: the cache returned by relu_forward

    Returns:
    - dx: array of shape (d_1, ..., d_k), gradient with respect to x
    """
    x = cache
    dx = dout.copy()
    dx[x <= 0] = 0  # no gradient where the relu was off (including x == 0)
    return dx


# ------------------------------------------------------------- affine layer


def affine_forward(x, w, b):
    """Forward pass of a fully connected (affine) layer: out = x w + b.

    Each example x[i] has shape (d_1, ..., d_k); it is flattened into a row
    vector of length D = d_1 * ... * d_k before the product.

    Inputs:
    - x: array of shape (N, d_1, ..., d_k), a minibatch of N examples
    - w: array of shape (D, M), weights
    - b: array of shape (M,), biases

    Returns a tuple of:
    - out: array of shape (N, M)
    - cache: whatever affine_backward needs
    """
    N = x.shape[0]
    x_flat = x.reshape(N, -1)  # (N, D)
    out = x_flat.dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of affine_forward.

    Inputs:
    - dout: array of shape (N, M), upstream gradient
    - cache: the cache returned by affine_forward

    Returns a tuple of:
    - dx: array of shape (N, d_1, ..., d_k), the shape of x
    - dw: array of shape (D, M)
    - db: array of shape (M,), summed over the batch
    """
    x, w, b = cache
    N = x.shape[0]
    x_flat = x.reshape(N, -1)
    dx = dout.dot(w.T).reshape(x.shape)  # back to (N, d_1, ..., d_k)
    dw = x_flat.T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


# ----------------------------------------------------------------------- loss


def mse_loss(pred, target):
    """Mean squared error and its gradient.

    Convention: the mean is taken over ALL elements, not just over the batch:

        loss = sum((pred - target) ** 2) / pred.size

    so dloss/dpred = 2 * (pred - target) / pred.size.

    Inputs:
    - pred: array of shape (N, C), predictions
    - target: array of shape (N, C), regression targets

    Returns a tuple of:
    - loss: float, the scalar loss
    - dpred: array of shape (N, C), gradient of loss with respect to pred
    """
    diff = pred - target
    loss = np.sum(diff ** 2) / pred.size
    dpred = 2.0 * diff / pred.size
    return float(loss), dpred


# ---------------------------------------------------------- two-layer network


def two_layer_net(X, params, y=None, reg=0.0):
    """A two-layer regression network: affine - relu - affine.

    Build it from affine_forward, relu_forward, mse_loss and their backward
    functions.

    Regularization convention: L2 on the weights only, with a factor 0.5,

        loss = mse_loss(scores, y) + 0.5 * reg * (sum(W1**2) + sum(W2**2))

    so the penalty adds reg * W to dW1 and dW2; the biases are not regularized.

    Inputs:
    - X: array of shape (N, D), input data
    - params: dict of arrays
        'W1': array of shape (D, H), first layer weights
        'b1': array of shape (H,), first layer biases
        'W2': array of shape (H, C), second layer weights
        'b2': array of shape (C,), second layer biases
    - y: None, or float array of shape (N, C), regression targets
    - reg: float, regularization strength

    Returns:
    - if y is None: scores, array of shape (N, C)
    - else a tuple of:
        loss: float, data loss plus regularization
        grads: dict with the keys of params; grads[k] has the shape of params[k]
    """
    W1, b1 = params["W1"], params["b1"]
    W2, b2 = params["W2"], params["b2"]

    # forward
    h, fc1_cache = affine_forward(X, W1, b1)
    a, relu_cache = relu_forward(h)
    scores, fc2_cache = affine_forward(a, W2, b2)
    if y is None:
        return scores

    loss, dscores = mse_loss(scores, y)
    loss += 0.5 * reg * (np.sum(W1 ** 2) + np.sum(W2 ** 2))

    # backward
    grads = {}
    da, grads["W2"], grads["b2"] = affine_backward(dscores, fc2_cache)
    dh = relu_backward(da, relu_cache)
    _, grads["W1"], grads["b1"] = affine_backward(dh, fc1_cache)
    grads["W1"] += reg * W1
    grads["W2"] += reg * W2
    return loss, grads


# ------------------------------------------------------- gradient checking


def eval_numerical_gradient(f, x, h=1e-5):
    """Numerical gradient of a scalar function by centered differences.

        grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h)

    for every element i of x (any shape). Perturb x one element at a time,
    in place, and restore each element before moving on: x must hold its
    original values when the function returns.

    Inputs:
    - f: function that takes an array of the shape of x and returns a float
    - x: float array of shape (d_1, ..., d_k), the point to evaluate at
    - h: float, the step

    Returns:
    - grad: float array of the same shape as x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)  # f(x + h)
        x[ix] = oldval - h
        fxmh = f(x)  # f(x - h)
        x[ix] = oldval  # restore
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad
