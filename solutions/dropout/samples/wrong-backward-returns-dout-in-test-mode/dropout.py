"""Dropout, in numpy: the inverted form used in practice, the "vanilla" form of
the original paper, and the ensemble average that explains both.

During training, dropout zeroes each unit independently with probability
``p`` (the probability of DROPPING a unit, as in torch.nn.Dropout; some
courses call the probability of keeping a unit p: not here). The two forms
differ only in where they compensate for the dropped units:

* 'inverted' (the default, what torch does): kept units are scaled by
  1 / (1 - p) at training time, so the expected output equals the input and
  test time is the identity;
* 'vanilla': nothing is scaled at training time; at test time every unit is
  multiplied by (1 - p), its probability of having been kept.

The layers use the functional style of CS231n:

    out, cache = dropout_forward(x, dropout_param)
    dx         = dropout_backward(dout, cache)

``cache`` is whatever the forward pass needs to keep for the backward pass;
its format is yours to choose (the grader only hands it back to your own
backward function).

Rules that hold for every function in this file:

* never modify an argument in place, and return new arrays, not views;
* keep the floating dtype of the input (float32 in, float32 out);
* numpy only: no torch.
"""
import numpy as np


def dropout_forward(x, dropout_param):
    """Forward pass of (inverted or vanilla) dropout.

    Inputs:
    - x: array of shape (d_1, ..., d_k), any shape, floating dtype
    - dropout_param: dict with the keys
        'p': float in [0, 1], the probability of DROPPING each unit (as in
            torch.nn.Dropout). p = 0 keeps everything; p close to 1 is legal;
            p = 1 drops every unit and returns zeros in training, with no
            division by zero (the scale 1 / (1 - p) is never needed then).
        'mode': 'train' or 'test'.
        'seed': optional int. The mask convention, which the tests pin
            (for float64 and for float32 x):
            rng = np.random.default_rng(seed)
            keep = rng.random(x.shape) >= p      # True: the unit is kept
            one draw per element of x, so every element (every example of a
            batch too) gets its own independent mask value. The draws are
            float64 whatever the dtype of x: rng.random(x.shape,
            dtype=np.float32) is another random stream. Without a seed
            (key absent or None), draw from np.random.default_rng() (fresh
            entropy), so two calls give different masks.
        'variant': 'inverted' (default when absent) or 'vanilla'.

    What each mode returns (keep is the mask above, drawn only in 'train'):

        variant    'train'                   'test'
        inverted   x * keep / (1 - p)        x            (a copy)
        vanilla    x * keep                  x * (1 - p)

    Returns a tuple of:
    - out: array of the same shape and dtype as x
    - cache: whatever dropout_backward needs (in 'train' mode, the mask:
      the backward pass must reuse exactly the units dropped here)
    """
    ### BEGIN SOLUTION
    from types import SimpleNamespace

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    if variant not in ("inverted", "vanilla"):
        raise ValueError(f"variant must be 'inverted' or 'vanilla', got {variant!r}")

    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        if variant == "inverted":
            scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0  # p = 1: nothing is kept
        else:
            scale = 1.0
        mask = keep.astype(x.dtype) * scale  # the factor of each unit, in x's dtype
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p  # a scalar factor
    out = x * mask
    # The cache is an object, not a tuple: when a test fails, the grader compares the student's
    # outputs with the catalogued mistakes', and only data on both sides is compared, so the
    # student's own cache format (often a tuple holding dropout_param) never hides a match.
    cache = SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)
    return out, cache
    ### END SOLUTION


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward.

    out = x * factor, where the factor is the training mask (scaled by
    1 / (1 - p) in the inverted variant) or the test-time constant, so
    dx = dout * factor: the SAME units as in the forward pass get no gradient.

    Inputs:
    - dout: array of shape (d_1, ..., d_k), upstream gradient
    - cache: the cache returned by dropout_forward

    Returns:
    - dx: array of shape (d_1, ..., d_k), gradient with respect to x
    """
    ### BEGIN SOLUTION
    if cache.mode == "test" and cache.variant == "inverted":
        return dout  # the identity: nothing to do
    dx = dout * cache.mask
    return dx
    ### END SOLUTION


def dropout_ensemble_average(x, w, b, p):
    """The exact average of all 2^D thinned versions of a linear layer.

    The notes explain dropout as training 2^D "thinned" networks that share
    their weights, one per mask m in {0, 1}^D over the D input units, and
    averaging them at test time. For a linear layer that average can be
    computed exactly, by brute force over all masks:

        thinned_m(x) = (x * m) @ w + b                  (no 1 / (1 - p) scaling)
        P(m)         = prod_j (1 - p) ** m_j * p ** (1 - m_j)
        average(x)   = sum over all 2^D masks m of P(m) * thinned_m(x)

    Each unit is kept with probability 1 - p, so the average is weighted by
    the probability of each mask (for p = 0.5 all masks are equally likely
    and it is the plain mean). Since the layer is linear, the average equals
    the weight-scaled network x @ ((1 - p) * w) + b exactly; for a non-linear
    network that is only an approximation.

    Enumerate the masks; do not use the closed form. Keep D small: the cost
    is 2^D * N * D * M (D <= 16 is plenty).

    Inputs:
    - x: array of shape (N, D), N examples of D input units
    - w: array of shape (D, M), weights
    - b: array of shape (M,), biases
    - p: float in [0, 1], the probability of dropping each input unit

    Returns:
    - average: array of shape (N, M), the probability-weighted average of the
      2^D thinned networks' outputs
    """
    ### BEGIN SOLUTION
    D = x.shape[1]
    # Row k of masks is the binary expansion of k: all 2^D masks, shape (2^D, D).
    masks = (np.arange(2 ** D)[:, None] >> np.arange(D)[None, :]) & 1
    prob = np.prod(np.where(masks == 1, 1.0 - p, p), axis=1)  # (2^D,), sums to 1
    thinned = (x[None, :, :] * masks[:, None, :]) @ w + b  # (2^D, N, M)
    average = np.tensordot(prob, thinned, axes=1)  # (N, M)
    return average
    ### END SOLUTION
