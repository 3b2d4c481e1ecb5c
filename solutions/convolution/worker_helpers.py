"""Worker-side helpers for the convolution assignment.

A student's Conv2d (an nn.Module) cannot travel to the judge; these functions
drive it inside the worker and return plain tensors. Every comparison happens
in the judge.
"""
from __future__ import annotations


def parameters(module):
    """{name: detached copy} of the module's registered parameters, in registration order."""
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def module_vjp(module, x, grad_out):
    """Run ``module(x)`` and backpropagate ``grad_out``.

    The module is first moved to the device and dtype of ``x`` with
    ``module.to``, as a user would do. Returns ``(out, dx, grads)``: the
    output, the gradient of the input, and {name: gradient} of the registered
    parameters (None for a parameter that got no gradient).
    """
    module.to(device=x.device, dtype=x.dtype)
    module.zero_grad(set_to_none=True)
    leaf = x.detach().clone().requires_grad_(True)
    out = module(leaf)
    out.backward(grad_out)
    grads = {name: None if p.grad is None else p.grad.detach().clone() for name, p in module.named_parameters()}
    return out.detach(), leaf.grad, grads
