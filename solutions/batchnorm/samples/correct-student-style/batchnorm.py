"""Batch normalization and layer normalization, in numpy.

The layers use the functional style of CS231n:

    out, cache = layer_forward(x, gamma, beta, param)
    dx, dgamma, dbeta = layer_backward(dout, cache)

``cache`` is whatever the forward pass needs to keep for the backward pass;
its format is yours to choose (the grader only hands it back to your own
backward functions). ``dout`` is the upstream gradient dL/dout, of the shape
of ``out``.

Conventions of this file (courses and libraries disagree on them):

* the variance used to NORMALIZE is the biased one, the mean of squared
  deviations (divide by N, np.var's default), in batch norm and layer norm,
  as in the original paper and in torch;
* eps is added to the variance INSIDE the square root: x_hat = (x - mu) / sqrt(var + eps);
* batch norm's running averages follow CS231n, with momentum the weight of the
  OLD value (default 0.9):

      running_mean = momentum * running_mean + (1 - momentum) * batch_mean
      running_var  = momentum * running_var  + (1 - momentum) * batch_var

  where batch_var is the same biased variance used to normalize.
  torch.nn.BatchNorm1d differs on both counts: its momentum is the weight of
  the NEW value (torch momentum 0.1 = this file's 0.9), and its running_var
  averages the UNBIASED batch variance (times N / (N - 1)). batchnorm_torch.py
  follows torch.

Rules that hold for every function in this file:

* never modify x, gamma, beta or dout in place (batchnorm_forward does update
  bn_param, on purpose: that is how the running averages persist);
* keep the floating dtype of the input (float32 in, float32 out);
* numpy only, vectorized: no loops over the batch or the features.
"""
import numpy as np


# ---------------------------------------------------------------- batch norm


def batchnorm_forward(x, gamma, beta, bn_param):
    """Forward pass of batch normalization.

    In 'train' mode, normalize every feature (column) of x with the mean and
    the biased variance of that feature over the minibatch,

        mu  = mean of x over the batch axis (axis 0)
        var = mean of (x - mu) ** 2 over axis 0          (biased: divide by N)
        x_hat = (x - mu) / sqrt(var + eps)
        out = gamma * x_hat + beta

    and update the running averages in bn_param (formula in the module
    docstring, momentum = weight of the old value). With N = 1 the variance is
    0, x_hat is 0 and out is beta: no error, no nan.

    In 'test' mode, normalize with the running averages instead of the batch
    statistics, and leave them unchanged:

        out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta

    Inputs:
    - x: array of shape (N, D), a minibatch of N examples with D features
    - gamma: array of shape (D,), scale
    - beta: array of shape (D,), shift
    - bn_param: dict with the keys
      - mode: 'train' or 'test' (required); any other value raises ValueError
      - eps: float, added to the variance inside the square root (default 1e-5)
      - momentum: float, weight of the old value in the running averages (default 0.9)
      - running_mean: array of shape (D,) (default: zeros, as in CS231n)
      - running_var: array of shape (D,) (default: zeros, as in CS231n)
      In 'train' mode, store the updated averages in bn_param['running_mean']
      and bn_param['running_var'] (arrays of shape (D,), the dtype of x) before
      returning; the missing keys get their defaults.

    Returns a tuple of:
    - out: array of shape (N, D), the dtype of x
    - cache: whatever batchnorm_backward needs (training mode; anything in test mode)
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

    if mode == "train":
        sample_mean = np.mean(x, axis=0)
        sample_var = np.var(x, axis=0)
        x_centered = x - sample_mean
        std = np.sqrt(sample_var + eps)
        x_norm = x_centered / std
        out = gamma * x_norm + beta

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var

        cache = (x, x_norm, x_centered, sample_var, std, gamma, eps)
    elif mode == "test":
        x_norm = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * x_norm + beta
        cache = None
    else:
        raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of batch normalization (training mode), through the graph.

    Draw the computational graph of the forward pass (mean, centring, square,
    variance, square root, division, scale and shift) and backpropagate
    through it one node at a time. Remember that mu and var are functions of
    every x[i]: the gradient reaches x along three paths, directly through
    x - mu, through mu, and through var.

    Inputs:
    - dout: array of shape (N, D), upstream gradient
    - cache: the cache returned by batchnorm_forward in 'train' mode

    Returns a tuple of:
    - dx: array of shape (N, D)
    - dgamma: array of shape (D,), summed over the batch
    - dbeta: array of shape (D,), summed over the batch
    """
    x, x_norm, x_centered, sample_var, std, gamma, eps = cache
    N = x.shape[0]

    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)

    dx_norm = dout * gamma
    # x_norm = x_centered * ivar, with ivar = 1 / std
    ivar = 1.0 / std
    dx_centered = dx_norm * ivar
    divar = np.sum(dx_norm * x_centered, axis=0)
    # std = sqrt(var + eps)
    dstd = -1.0 / (std ** 2) * divar
    dvar = 0.5 / np.sqrt(sample_var + eps) * dstd
    # var = 1/N sum (x - mu)^2
    dsq = np.ones_like(x) * dvar / N
    dx_centered += 2 * x_centered * dsq
    # x_centered = x - mu
    dmu = -np.sum(dx_centered, axis=0)
    dx = dx_centered + np.ones_like(x) * dmu / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batch normalization from the simplified closed form.

    Work out dL/dx on paper in terms of x_hat, and write it in one expression:

        dx = gamma / (N * sqrt(var + eps)) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat))

    (sums over the batch axis). It must give the same result as
    batchnorm_backward, and it is faster.

    Inputs:
    - dout: array of shape (N, D), upstream gradient
    - cache: the cache returned by batchnorm_forward in 'train' mode

    Returns a tuple of:
    - dx: array of shape (N, D)
    - dgamma: array of shape (D,)
    - dbeta: array of shape (D,)
    """
    x, x_norm, x_centered, sample_var, std, gamma, eps = cache
    N = x.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx = (gamma / std / N) * (N * dout - dbeta - x_norm * dgamma)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------- layer norm


def layernorm_forward(x, gamma, beta, ln_param):
    """Forward pass of layer normalization.

    Every example (row) is normalized over its own D features, with the mean
    and the biased variance of that row; the same computation in training and
    at test time, with no running averages:

        mu_i  = mean of x[i, :]
        var_i = mean of (x[i, :] - mu_i) ** 2             (biased: divide by D)
        out[i] = gamma * (x[i] - mu_i) / sqrt(var_i + eps) + beta

    Inputs:
    - x: array of shape (N, D)
    - gamma: array of shape (D,), scale (per feature, as in batch norm)
    - beta: array of shape (D,), shift
    - ln_param: dict with the key
      - eps: float, added to the variance inside the square root (default 1e-5)

    Returns a tuple of:
    - out: array of shape (N, D), the dtype of x
    - cache: whatever layernorm_backward needs
    """
    eps = ln_param.get("eps", 1e-5)
    mean = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    x_norm = (x - mean) / std
    out = x_norm * gamma + beta
    cache = (x_norm, gamma, std)
    return out, cache


def layernorm_backward(dout, cache):
    """Backward pass of layer normalization.

    Layer norm is batch norm applied to the transpose of x, with gamma and
    beta still per feature: the sums of batch norm's dx over the batch axis
    become sums over the feature axis, while dgamma and dbeta are still summed
    over the batch.

    Inputs:
    - dout: array of shape (N, D), upstream gradient
    - cache: the cache returned by layernorm_forward

    Returns a tuple of:
    - dx: array of shape (N, D)
    - dgamma: array of shape (D,)
    - dbeta: array of shape (D,)
    """
    x_norm, gamma, std = cache
    D = x_norm.shape[1]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_norm, axis=0)
    dx_norm = dout * gamma
    dx = (1.0 / D) / std * (D * dx_norm - np.sum(dx_norm, axis=1, keepdims=True)
                            - x_norm * np.sum(dx_norm * x_norm, axis=1, keepdims=True))
    return dx, dgamma, dbeta
