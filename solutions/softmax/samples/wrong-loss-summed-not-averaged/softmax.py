"""Softmax, its derivative, and cross-entropy, in numpy.

For a vector of logits x of length C, softmax turns scores into probabilities:

    s_i = exp(x_i) / sum_j exp(x_j)

and its derivative is a C x C Jacobian, J[i, j] = ds_i / dx_j:

    J[i, j] = s_i (1 - s_i)    if i == j
    J[i, j] = -s_i s_j         if i != j        (i.e. J = diag(s) - s s^T)

A layer never forms J: the backward pass needs only the vector-Jacobian
product dx = J^T dout, which costs O(C) per example instead of O(C^2).
Cross-entropy on top of softmax has the famous gradient p - y.

Layers use the functional style of CS231n:

    out, cache = softmax_forward(x)
    dx         = softmax_backward(dout, cache)

Rules that hold for every function in this file:

* never modify an argument in place (copy it first if you need to);
* return new arrays, not views of the arguments;
* keep the floating dtype of the input (float32 in, float32 out);
* be numerically stable: logits of magnitude 1000, in float32 and in float64,
  give no nan, no inf and no overflow warning, also in a batch whose rows lie
  far apart (one row near 1000, another near -1000);
* numpy only, and no Python loops over the batch or the classes.
"""
import numpy as np


# ------------------------------------------------------------------ softmax


def softmax(x, axis=-1):
    """Softmax along one axis, numerically stable.

    softmax(x) is unchanged when the same constant is subtracted from every
    logit along ``axis``: subtract the maximum first, so that exp() never
    sees a positive number and cannot overflow. The maximum along ``axis``,
    one per row (keepdims=True), not the maximum of the whole array: a row
    whose logits lie 1000 below another row's would underflow to 0 / 0.

    Inputs:
    - x: array of shape (d_1, ..., d_k), any number of dimensions, floating dtype
    - axis: int, the axis holding the C classes (negative values count from the end)

    Returns:
    - s: array of the same shape and dtype as x; the values along ``axis``
      are >= 0 and sum to 1
    """
    ### BEGIN SOLUTION
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)
    ### END SOLUTION


def log_softmax(x, axis=-1):
    """log(softmax(x)) along one axis, computed without taking the log of softmax.

    np.log(softmax(x)) is -inf wherever softmax underflows to 0 (logits 1000
    apart). Use instead, with m the maximum along the axis,

        log_softmax(x) = (x - m) - log(sum(exp(x - m)))

    Inputs:
    - x: array of shape (d_1, ..., d_k), any number of dimensions, floating dtype
    - axis: int, the axis holding the C classes

    Returns:
    - logp: array of the same shape and dtype as x, every value finite and <= 0
    """
    ### BEGIN SOLUTION
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    ### END SOLUTION


def softmax_jacobian(x):
    """The Jacobian of softmax over the last axis, J[..., i, j] = ds_i / dx_j.

    For one example, J = diag(s) - s s^T with s = softmax(x). For a batch,
    the Jacobians are stacked along the leading axes: J[n] is the Jacobian
    of example n, so the batch axis comes FIRST and the two class axes last.

    Inputs:
    - x: array of shape (C,), one example, or (N, C), a batch
      (any number of leading dimensions works the same way)

    Returns:
    - J: array of shape (C, C) for x of shape (C,); (N, C, C) for x of shape (N, C);
      same dtype as x
    """
    ### BEGIN SOLUTION
    s = softmax(x, axis=-1)
    C = s.shape[-1]
    return s[..., :, None] * np.eye(C, dtype=s.dtype) - s[..., :, None] * s[..., None, :]
    ### END SOLUTION


def softmax_forward(x):
    """Forward pass of a softmax layer over the last axis (the classes).

    Inputs:
    - x: array of shape (N, C), logits of N examples over C classes

    Returns a tuple of:
    - out: array of shape (N, C), softmax(x, axis=-1)
    - cache: whatever softmax_backward needs
    """
    ### BEGIN SOLUTION
    out = softmax(x, axis=-1)
    cache = out
    return out, cache
    ### END SOLUTION


def softmax_backward(dout, cache):
    """Backward pass of softmax_forward: the vector-Jacobian product, per example,

        dx_j = sum_i dout_i J[i, j] = s_j (dout_j - sum_i dout_i s_i)

    WITHOUT forming the Jacobian: memory and time must stay O(N * C). The
    hidden tests pass C = 50,000, where one Jacobian alone would take 20 GB.

    Inputs:
    - dout: array of shape (N, C), upstream gradient dL/dout
    - cache: the cache returned by softmax_forward

    Returns:
    - dx: array of shape (N, C), dL/dx
    """
    ### BEGIN SOLUTION
    out = cache
    dx = out * (dout - np.sum(dout * out, axis=-1, keepdims=True))
    return dx
    ### END SOLUTION


# --------------------------------------------------------------------- losses


def softmax_loss(x, y):
    """Softmax cross-entropy loss with integer labels (CS231n's softmax_loss).

    Convention: the loss is the MEAN over the batch,

        loss = -(1/N) sum_n log softmax(x)[n, y[n]]

    so dx = (softmax(x) - onehot(y)) / N.

    Inputs:
    - x: array of shape (N, C), class scores (logits)
    - y: integer array of shape (N,), labels with 0 <= y[n] < C

    Returns a tuple of:
    - loss: float, the scalar loss
    - dx: array of shape (N, C), gradient of the loss with respect to x
    """
    ### BEGIN SOLUTION
    N = x.shape[0]
    rows = np.arange(N)
    logp = log_softmax(x, axis=1)
    loss = -np.sum(logp[rows, y])
    dx = np.exp(logp)
    dx[rows, y] -= 1
    return float(loss), dx
    ### END SOLUTION


def cross_entropy(logits, targets, label_smoothing=0.0):
    """Cross-entropy between softmax(logits) and targets, as torch.nn.functional.cross_entropy.

    ``targets`` comes in either of torch's two forms:
    - integer labels of shape (N,): the target distribution q is one-hot;
    - class probabilities of shape (N, C), float: q = targets.

    Label smoothing (torch's convention): with eps = label_smoothing, the
    target becomes a mix of q and the uniform distribution over ALL C classes,

        q_smooth = (1 - eps) * q + eps / C

    (the true class gets 1 - eps + eps/C, every class gets at least eps/C),
    for both forms of targets. The loss is the MEAN over the batch:

        loss = -(1/N) sum_n sum_c q_smooth[n, c] * log_softmax(logits)[n, c]

    and dlogits = (softmax(logits) * sum_c q_smooth[n, c] - q_smooth) / N, which
    is (softmax(logits) - q_smooth) / N when each row of q sums to 1.

    Inputs:
    - logits: array of shape (N, C), floating dtype
    - targets: integer array of shape (N,), or float array of shape (N, C)
    - label_smoothing: float in [0, 1]

    Returns a tuple of:
    - loss: float, the scalar loss
    - dlogits: array of shape (N, C), same dtype as logits
    """
    ### BEGIN SOLUTION
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
    dlogits = (np.exp(logp) * np.sum(q, axis=1, keepdims=True) - q) / N
    return float(loss), dlogits.astype(logp.dtype, copy=False)
    ### END SOLUTION


def binary_cross_entropy_with_logits(z, y):
    """Sigmoid + binary cross-entropy in one stable step, as torch's F.binary_cross_entropy_with_logits.

    With sigma the logistic sigmoid, the loss per element is

        -y log sigma(z) - (1 - y) log(1 - sigma(z)) = max(z, 0) - z y + log(1 + exp(-|z|))

    The right-hand form never overflows and never takes log(0): use it. The
    loss is the MEAN over ALL elements (torch's reduction='mean'), so

        dz = (sigma(z) - y) / z.size

    Inputs:
    - z: array of shape (d_1, ..., d_k), logits, floating dtype
    - y: array of the same shape, targets in [0, 1]

    Returns a tuple of:
    - loss: float, the scalar loss
    - dz: array of the same shape and dtype as z
    """
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(z))  # in (0, 1]: cannot overflow
    loss = np.mean(np.maximum(z, 0) - z * y + np.log1p(e))
    sig = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    dz = (sig - y) / z.size
    return float(loss), dz.astype(z.dtype, copy=False)
    ### END SOLUTION
