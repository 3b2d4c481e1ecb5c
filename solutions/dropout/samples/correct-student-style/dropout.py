"""My dropout (student solution)."""
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    seed = dropout_param.get("seed")

    mask = None
    if mode == "train":
        rng = np.random.default_rng(seed)
        mask = (rng.random(x.shape) >= p).astype(x.dtype)  # 1 = keep, 0 = drop
        if variant == "inverted":
            if p < 1:
                mask = mask / (1 - p)
            else:
                mask = np.zeros_like(x)  # everything dropped
        out = x * mask
    elif mode == "test":
        if variant == "inverted":
            out = x.copy()
        else:
            out = x * (1 - p)
    else:
        raise ValueError("unknown mode " + str(mode))

    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    mode = dropout_param["mode"]
    if mode == "train":
        dx = dout * mask
    elif dropout_param.get("variant", "inverted") == "inverted":
        dx = dout.copy()
    else:
        dx = dout * (1 - dropout_param["p"])
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
