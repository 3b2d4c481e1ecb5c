"""My softmax assignment."""
import numpy as np


def softmax(x, axis=-1):
    # shift by the max so exp never overflows
    z = x - x.max(axis=axis, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return z - lse


def softmax_jacobian(x):
    s = softmax(x)
    C = s.shape[-1]
    diag = np.einsum("...i,ij->...ij", s, np.eye(C, dtype=s.dtype))
    outer = np.einsum("...i,...j->...ij", s, s)
    return diag - outer


def softmax_forward(x):
    probs = softmax(x, axis=-1)
    return probs, probs


def softmax_backward(dout, cache):
    probs = cache
    # J^T dout without building J
    dot = (dout * probs).sum(axis=-1, keepdims=True)
    return probs * (dout - dot)


def softmax_loss(x, y):
    num_train = x.shape[0]
    logprobs = log_softmax(x, axis=1)
    loss = -logprobs[np.arange(num_train), y].sum() / num_train
    dx = np.exp(logprobs)
    dx[np.arange(num_train), y] -= 1
    dx = dx / num_train
    return float(loss), dx


def cross_entropy(logits, targets, label_smoothing=0.0):
    N, C = logits.shape
    logprobs = log_softmax(logits, axis=1)
    targets = np.asarray(targets)
    if targets.ndim == 1:  # class indices
        q = np.eye(C, dtype=logits.dtype)[targets]
    else:
        q = np.array(targets, dtype=logits.dtype)
    q = q * (1 - label_smoothing) + label_smoothing / C
    loss = -(q * logprobs).sum() / N
    probs = np.exp(logprobs)
    dlogits = (probs * q.sum(axis=1, keepdims=True) - q) / N
    return float(loss), dlogits


def binary_cross_entropy_with_logits(z, y):
    # stable: max(z, 0) - z*y + log(1 + exp(-|z|))
    per_elem = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    loss = per_elem.mean()
    sig = np.empty_like(z)
    pos = z >= 0
    sig[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    sig[~pos] = ez / (1 + ez)
    dz = (sig - y) / z.size
    return float(loss), dz.astype(z.dtype)
