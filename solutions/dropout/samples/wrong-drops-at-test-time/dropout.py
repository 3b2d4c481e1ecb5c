"""My dropout (student solution)."""
import numpy as np


def dropout_forward(x, dropout_param):
    p = dropout_param["p"]
    variant = dropout_param.get("variant", "inverted")
    rng = np.random.default_rng(dropout_param.get("seed"))
    mask = (rng.random(x.shape) >= p).astype(x.dtype)  # 1 = keep, 0 = drop
    if variant == "inverted":
        if p < 1:
            mask = mask / (1 - p)
        else:
            mask = np.zeros_like(x)
    out = x * mask
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    dx = dout * mask
    return dx


def dropout_ensemble_average(x, w, b, p):
    N, D = x.shape
    M = w.shape[1]
    average = np.zeros((N, M))
    for k in range(2 ** D):
        m = np.array([(k >> j) & 1 for j in range(D)], dtype=float)
        prob = 1.0
        for j in range(D):
            prob *= (1 - p) if m[j] == 1 else p
        average += prob * ((x * m) @ w + b)
    return average
