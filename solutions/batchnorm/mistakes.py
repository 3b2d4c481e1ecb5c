"""Known mistakes of the batchnorm assignment.

Each variant is a small wrong copy of ONE reference function (or class). The
engine binds each variant to a copy of the reference module in which the
target is replaced, so a body may use the reference's globals (np, torch, nn)
and must read the cache format of the reference's forward functions:

    batchnorm_forward ('train'):  cache = (x_hat, xmu, std, gamma)
                                  xmu = x - mu, std = sqrt(var + eps), shapes (N, D), (N, D), (D,), (D,)
    layernorm_forward:            cache = (x_hat, std, gamma), std of shape (N, 1)

Class variants get names of their own (inspect.getsource returns the first
class of a given name on Python < 3.13); the engine renames them.
"""
import numpy as np
import torch
from torch import nn

from autograder.mistakes import mistake

# ------------------------------------------------------- batch norm forward


@mistake("batchnorm_forward", "batch norm with the unbiased variance in training",
         hint="Batch norm normalizes with the BIASED batch variance, the mean of (x - mu)**2 "
              "(np.var's default, ddof=0), and the running average uses the same one; "
              "np.var(x, axis=0, ddof=1) divides by N - 1 (and by 0 when N = 1).")
def batchnorm_forward(x, gamma, beta, bn_param):
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu * xmu).sum(axis=0) / (N - 1)
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "batch mean computed in float64 (x.mean(axis=0, dtype=np.float64)): float64 results for float32 x",
         hint="Keep x's dtype: x.mean(axis=0) is already accumulated carefully (pairwise summation) and returns "
              "float32 for float32 x; a float64 mean turns x - mu, the output, the cache and the running "
              "averages into float64, and a float32 network must stay float32.")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0, dtype=np.float64)
        xmu = x - mu
        var = (xmu * xmu).mean(axis=0)
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "running-average weights swapped (momentum on the batch statistic)",
         hint="In this assignment momentum is the weight of the OLD value: "
              "running = momentum * running + (1 - momentum) * batch, with momentum 0.9 by default "
              "(CS231n's convention; torch's momentum is the complement, 0.1).")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu * xmu).mean(axis=0)
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = (1 - momentum) * running_mean + momentum * mu
        running_var = (1 - momentum) * running_var + momentum * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "eps added outside the square root",
         hint="x_hat = (x - mu) / sqrt(var + eps): eps goes INSIDE the square root "
              "(as in the paper and in torch), not (x - mu) / (sqrt(var) + eps).")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu * xmu).mean(axis=0)
        std = np.sqrt(var) + eps
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / (np.sqrt(running_var) + eps) + beta
        cache = None
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "test mode normalizes with the batch statistics",
         hint="In 'test' mode use bn_param's running_mean and running_var, not the mean and "
              "variance of the test batch: a prediction must not depend on the other examples.")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    mu = x.mean(axis=0)
    xmu = x - mu
    var = (xmu * xmu).mean(axis=0)
    std = np.sqrt(var + eps)
    x_hat = xmu / std
    out = gamma * x_hat + beta
    cache = (x_hat, xmu, std, gamma)
    if mode == "train":
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "running averages also updated in test mode",
         hint="Only 'train' mode updates running_mean and running_var; 'test' mode reads them "
              "and leaves them as they were.")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    if mode not in ("train", "test"):
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    if mode == "train":
        xmu = x - mu
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    running_mean = momentum * running_mean + (1 - momentum) * mu
    running_var = momentum * running_var + (1 - momentum) * var
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "running_var averages the unbiased batch variance (torch's rule, not this file's)",
         hint="batchnorm.py's running_var averages the same BIASED variance that normalizes (mean of (x - mu)**2); "
              "only batchnorm_torch.py follows torch and averages the unbiased one (times N / (N - 1)).")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu * xmu).mean(axis=0)
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        with np.errstate(divide="ignore", invalid="ignore"):
            running_var = momentum * running_var + (1 - momentum) * var * (N / (N - 1))
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "a mode other than 'train' treated as 'test' (no ValueError)",
         hint="The docstring: any mode other than 'train' or 'test' raises ValueError, so that a typo "
              "('eval', 'training') does not silently normalize with the running averages.")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (xmu * xmu).mean(axis=0)
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    else:
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


@mistake("batchnorm_forward", "variance computed as mean(x**2) - mean(x)**2 (catastrophic cancellation)",
         hint="For a feature with a large mean and a small spread, mean(x**2) and mean(x)**2 are huge and "
              "nearly equal: their difference loses most of its digits (in float32 with mean 100 and "
              "spread 0.1 it is off by 0.1 or more, and can be negative). Subtract the mean first: "
              "var = mean((x - mu)**2), or np.var.")
def batchnorm_forward(x, gamma, beta, bn_param):  # noqa: F811
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        xmu = x - mu
        var = (x * x).mean(axis=0) - mu * mu
        std = np.sqrt(var + eps)
        x_hat = xmu / std
        out = gamma * x_hat + beta
        cache = (x_hat, xmu, std, gamma)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError(f'invalid batchnorm mode "{mode}"')
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


# ------------------------------------------------------ batch norm backward


@mistake("batchnorm_backward", "batch-norm backward missing the terms through the mean and the variance",
         hint="mu and var depend on every x[i]: treating them as constants gives only "
              "dout * gamma / sqrt(var + eps). Add the paths through var and through mu.")
def batchnorm_backward(dout, cache):
    x_hat, xmu, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = dout * gamma / std
    return dx, dgamma, dbeta


@mistake("batchnorm_backward", "batch-norm backward missing the term through the mean",
         hint="mu = mean(x) depends on every x[i]: after the paths through x - mu and through var, "
              "add dmu / N with dmu = -sum over the batch of the gradient reaching x - mu.")
def batchnorm_backward(dout, cache):  # noqa: F811
    x_hat, xmu, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dvar = -0.5 * (dx_hat * xmu).sum(axis=0) / std ** 3
    dx = dx_hat / std + 2 * xmu * dvar / N
    return dx, dgamma, dbeta


@mistake("batchnorm_backward", "batch-norm backward missing the term through the variance",
         hint="var = mean((x - mu)**2) depends on every x[i]: add the path through var, "
              "dvar = -0.5 * sum(dx_hat * (x - mu)) / (var + eps)**1.5, which adds 2 * (x - mu) * dvar / N.")
def batchnorm_backward(dout, cache):  # noqa: F811
    x_hat, xmu, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dxmu = dout * gamma / std
    dx = dxmu - dxmu.mean(axis=0)
    return dx, dgamma, dbeta


@mistake("batchnorm_backward", "dgamma not summed over the batch (shape (N, D))",
         hint="gamma multiplies every row: dgamma is the SUM over the batch of dout * x_hat, of shape (D,).")
def batchnorm_backward(dout, cache):  # noqa: F811
    x_hat, xmu, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = dout * x_hat
    dx_hat = dout * gamma
    dx = gamma / (N * std) * (N * dout - dbeta - x_hat * (dout * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


@mistake("batchnorm_backward_alt", "closed-form backward missing the x_hat * sum(dout * x_hat) term",
         hint="dx = gamma / (N * sqrt(var + eps)) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat)): "
              "the last term is the path through the variance.")
def batchnorm_backward_alt(dout, cache):
    x_hat, _, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma / (N * std) * (N * dout - dbeta)
    return dx, dgamma, dbeta


@mistake("batchnorm_backward_alt", "closed-form backward with dout where N * dout belongs",
         hint="dx = gamma / (N * sqrt(var + eps)) * (N * dout - sum(dout) - x_hat * sum(dout * x_hat)): "
              "the first term is N * dout.")
def batchnorm_backward_alt(dout, cache):  # noqa: F811
    x_hat, _, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx = gamma / (N * std) * (dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


# ----------------------------------------------------------------- layer norm


@mistake("layernorm_forward", "layer norm normalizing over the batch axis",
         hint="Layer norm normalizes each example (row) over its own features: the mean and "
              "variance are taken over axis 1 (keepdims=True), not over the batch (axis 0).")
def layernorm_forward(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=0, keepdims=True)
    xmu = x - mu
    var = (xmu * xmu).mean(axis=0, keepdims=True)
    std = np.sqrt(var + eps)
    x_hat = xmu / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


@mistake("layernorm_forward", "layer-norm variance computed as mean(x**2) - mean(x)**2 (catastrophic cancellation)",
         hint="For a row with a large mean and a small spread, mean(x**2) and mean(x)**2 are huge and nearly "
              "equal, and their difference loses most of its digits. Subtract the row's mean first: "
              "var = mean((x - mu)**2, axis=1, keepdims=True).")
def layernorm_forward(x, gamma, beta, ln_param):  # noqa: F811
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    xmu = x - mu
    var = (x * x).mean(axis=1, keepdims=True) - mu * mu
    std = np.sqrt(var + eps)
    x_hat = xmu / std
    out = gamma * x_hat + beta
    cache = (x_hat, std, gamma)
    return out, cache


@mistake("layernorm_backward", "layer-norm backward summing over the batch axis (batch norm's dx)",
         hint="In layer norm's dx the sums run over the features of each example (axis 1, "
              "keepdims=True), not over the batch as in batch norm; dgamma and dbeta are still "
              "summed over the batch.")
def layernorm_backward(dout, cache):
    x_hat, std, gamma = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta


# ------------------------------------------------------------ torch module
# Each class variant is self-contained: validation swaps the class's source alone into
# batchnorm_torch.py.


@mistake("batchnorm_torch.BatchNorm1d", "BatchNorm1d normalizes with the unbiased variance (torch.var's default)",
         hint="x.var(dim) is UNBIASED by default in torch; the normalization uses the biased variance, "
              "x.var(dim, unbiased=False). Only running_var averages the unbiased one.")
class BatchNorm1dUnbiasedNormalization(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        if self.training and x.numel() // x.shape[1] <= 1:
            raise ValueError("expected more than 1 value per channel when training")
        dims = [0] + list(range(2, x.dim()))
        if self.training:
            mean, var = x.mean(dim=dims), x.var(dim=dims)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
        else:
            mean, var = self.running_mean, self.running_var
        shape = [1, -1] + [1] * (x.dim() - 2)
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d", "BatchNorm1d running_var averages the biased variance",
         hint="torch's convention (which this module follows, unlike batchnorm.py) averages the UNBIASED "
              "batch variance into running_var: multiply the biased one by n / (n - 1).")
class BatchNorm1dBiasedRunningVar(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        if self.training and x.numel() // x.shape[1] <= 1:
            raise ValueError("expected more than 1 value per channel when training")
        dims = [0] + list(range(2, x.dim()))
        if self.training:
            mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
        else:
            mean, var = self.running_mean, self.running_var
        shape = [1, -1] + [1] * (x.dim() - 2)
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d", "BatchNorm1d running-average weights swapped (CS231n's momentum)",
         hint="torch's momentum is the weight of the NEW value: "
              "running = (1 - momentum) * running + momentum * batch, momentum 0.1 by default.")
class BatchNorm1dSwappedMomentum(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        if self.training and x.numel() // x.shape[1] <= 1:
            raise ValueError("expected more than 1 value per channel when training")
        dims = [0] + list(range(2, x.dim()))
        if self.training:
            n = x.numel() // x.shape[1]
            mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)
                self.running_var.mul_(self.momentum).add_((1 - self.momentum) * var * (n / (n - 1)))
        else:
            mean, var = self.running_mean, self.running_var
        shape = [1, -1] + [1] * (x.dim() - 2)
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d", "BatchNorm1d eval mode normalizes with the batch statistics",
         hint="In eval mode (self.training is False) normalize with running_mean and running_var.")
class BatchNorm1dEvalBatchStats(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        if self.training and x.numel() // x.shape[1] <= 1:
            raise ValueError("expected more than 1 value per channel when training")
        dims = [0] + list(range(2, x.dim()))
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        if self.training:
            n = x.numel() // x.shape[1]
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * (n / (n - 1)))
        shape = [1, -1] + [1] * (x.dim() - 2)
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d", "BatchNorm1d updates the running statistics in eval mode",
         hint="Only training mode updates the buffers; in eval mode they are read, not written.")
class BatchNorm1dUpdatesInEval(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        if self.training and x.numel() // x.shape[1] <= 1:
            raise ValueError("expected more than 1 value per channel when training")
        dims = [0] + list(range(2, x.dim()))
        n = x.numel() // x.shape[1]
        batch_mean, batch_var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        if self.training:
            mean, var = batch_mean, batch_var
        else:
            mean, var = self.running_mean.clone(), self.running_var.clone()
        with torch.no_grad():
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * batch_mean)
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * batch_var * (n / max(n - 1, 1)))
        shape = [1, -1] + [1] * (x.dim() - 2)
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d",
         "BatchNorm1d variance computed as mean(x**2) - mean(x)**2 (catastrophic cancellation)",
         hint="For a channel with a large mean and a small spread, (x**2).mean() and x.mean()**2 are huge and "
              "nearly equal, and their difference loses most of its digits. Use x.var(dim, unbiased=False), "
              "or subtract the mean first.")
class BatchNorm1dCancellingVariance(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        if self.training:
            n = x.numel() // x.shape[1]
            if n <= 1:
                raise ValueError("expected more than 1 value per channel when training")
            mean = x.mean(dim=dims)
            var = (x * x).mean(dim=dims) - mean * mean
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * (n / (n - 1)))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d", "BatchNorm1d accepts a single value per channel in training (no ValueError)",
         hint="With one value per channel the unbiased variance divides by n - 1 = 0 (running_var becomes inf or "
              "nan). Raise ValueError, as torch does.")
class BatchNorm1dNoSingleValueCheck(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.register_buffer("running_mean", torch.zeros(num_features, **factory))
        self.register_buffer("running_var", torch.ones(num_features, **factory))

    def forward(self, x):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        if self.training:
            n = x.numel() // x.shape[1]
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * (n / (n - 1) if n > 1 else float("inf")))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)


@mistake("batchnorm_torch.BatchNorm1d",
         "BatchNorm1d running statistics kept as plain tensor attributes, not registered buffers",
         hint="self.running_mean = torch.zeros(...) is invisible to the module: .to(), .double() and .cuda() "
              "do not convert it, and state_dict() does not save it. Register them: "
              "self.register_buffer('running_mean', torch.zeros(num_features, **factory)).")
class BatchNorm1dPlainAttributes(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory))
        self.bias = nn.Parameter(torch.zeros(num_features, **factory))
        self.running_mean = torch.zeros(num_features, **factory)
        self.running_var = torch.ones(num_features, **factory)

    def forward(self, x):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        if self.training:
            n = x.numel() // x.shape[1]
            if n <= 1:
                raise ValueError("expected more than 1 value per channel when training")
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * (n / (n - 1)))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)
