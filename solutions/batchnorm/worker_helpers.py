"""Worker-side helpers for the batchnorm assignment.

Tests reach them as ``submission.helpers`` (the worker's copy) and ``load_helpers(__file__)``
(the judge's copy, run on the reference); see autograder.helpers.
They drive the student's code where the proxy alone cannot (a bn_param dict
that the student's batchnorm_forward updates in the worker, a training loop,
an nn.Module's buffers and parameter gradients) and return what they observe
as plain data; every comparison is made by the judge. When a test fails, the
judge replays these calls on the reference and on each catalogued mistake,
which is what lets a wrong running average or a wrong variance be named.
"""
from __future__ import annotations

import numpy as np


def _out(result):
    """The ``out`` of a forward's ``(out, cache)``; anything else is returned as it is, for the judge to reject."""
    return result[0] if isinstance(result, tuple) and len(result) == 2 else result


def _copied(value):
    return value.copy() if isinstance(value, np.ndarray) else value


# ------------------------------------------------------------------ numpy


def bn_forward(fn, x, gamma, beta, bn_param):
    """``fn(x, gamma, beta, bn_param)``: its out, and bn_param's running_mean and running_var after it.

    Returns ``(out, running_mean, running_var)`` (None for a key fn left missing).
    """
    out = _out(fn(x, gamma, beta, bn_param))
    return out, _copied(bn_param.get("running_mean")), _copied(bn_param.get("running_var"))


def bn_train_steps(fn, xs, gamma, beta, bn_param):
    """A training loop's use of batchnorm_forward: one bn_param dict, one call per batch of ``xs``.

    Returns ``(outs, running_mean, running_var)``: the list of outputs, and the running averages
    in bn_param after the last batch.
    """
    outs = [_out(fn(x, gamma, beta, bn_param)) for x in xs]
    return outs, _copied(bn_param.get("running_mean")), _copied(bn_param.get("running_var"))


def inputs_after(fn, *args):
    """``fn(*args)`` on copies of the array arguments: those arrays as the call left them (a tuple)."""
    copies = [_copied(a) for a in args]
    fn(*copies)
    return tuple(c for c in copies if isinstance(c, np.ndarray))


# ------------------------------------------------------------------ torch


def make_module(cls, *args, dtype=None, device=None, **kwargs):
    """``cls(*args, dtype=..., device=..., **kwargs)`` with the dtype given by name ("float64")."""
    import torch

    if dtype is not None:
        kwargs["dtype"] = getattr(torch, dtype)
    if device is not None:
        kwargs["device"] = torch.device(device)
    return cls(*args, **kwargs)


def module_to(module, dtype=None, device=None):
    """``module.to(...)`` with the dtype given by name; returns what ``to`` returns (the module)."""
    import torch

    kwargs = {}
    if dtype is not None:
        kwargs["dtype"] = getattr(torch, dtype)
    if device is not None:
        kwargs["device"] = torch.device(device)
    return module.to(**kwargs)


def set_affine(module, weight, bias):
    """Copy ``weight`` and ``bias`` into the module's parameters of those names (without autograd)."""
    import torch

    with torch.no_grad():
        module.weight.copy_(weight)
        module.bias.copy_(bias)


def _tensor(value):
    return value.detach().clone() if hasattr(value, "detach") else value


def module_state(module):
    """Names of the module's parameters and buffers, its mode, and their values (detached copies)."""
    params = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    values = {name: _tensor(getattr(module, name, None))
              for name in ("weight", "bias", "running_mean", "running_var")}
    return {"parameters": sorted(params), "buffers": sorted(buffers), "training": bool(module.training),
            "values": values}


def module_run(module, xs, training=True):
    """``module.train(training)``, then ``module(x)`` for each x of ``xs`` without autograd.

    Returns ``(outs, running_mean, running_var)``: the outputs (detached) and the buffers after the last call.
    """
    import torch

    module.train(bool(training))
    with torch.no_grad():
        outs = [_tensor(module(x)) for x in xs]
    return outs, _tensor(getattr(module, "running_mean", None)), _tensor(getattr(module, "running_var", None))


def module_vjp(module, x, grad_out, training=True):
    """One forward and backward pass: ``(out, dx, dweight, dbias)``, after ``module.train(training)``.

    The parameters' gradients are cleared first, so they hold this pass's gradients only.
    """
    module.train(bool(training))
    module.zero_grad(set_to_none=True)
    leaf = x.detach().clone().requires_grad_(True)
    out = module(leaf)
    out.backward(grad_out)
    weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
    grads = [p.grad.detach().clone() if getattr(p, "grad", None) is not None else None for p in (weight, bias)]
    return out.detach(), _tensor(leaf.grad), grads[0], grads[1]
