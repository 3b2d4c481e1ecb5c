"""Worker-side helpers for the dropout assignment's torch module.

Tests reach them as ``submission.helpers``; see autograder.helpers.
They drive the student's nn.Module (set train/eval mode, seed torch's
generator, run forward and backward) and return what they observe as data;
every comparison is made by the judge. When a test fails, the judge replays
the same calls on the reference and on each catalogued mistake, so the
seeding here is what lets a wrong mask or scale be named.
"""
from __future__ import annotations


def _seeded(x, seed):
    """A context in which torch's default generators (CPU and x's CUDA device) start from ``seed``."""
    import torch

    devices = [x.device.index if x.device.index is not None else torch.cuda.current_device()] if x.is_cuda else []
    ctx = torch.random.fork_rng(devices=devices)
    ctx.__enter__()
    torch.manual_seed(int(seed))
    return ctx


def forward(module, x, training=True, seed=0):
    """``module.train(training)``, then ``module(x)`` with torch seeded by ``seed``: the output, detached."""
    ctx = _seeded(x, seed)
    try:
        module.train(bool(training))
        out = module(x)
    finally:
        ctx.__exit__(None, None, None)
    return out.detach() if hasattr(out, "detach") else out


def forward_backward(module, x, grad_out, training=True, seed=0):
    """Forward as in ``forward``, then backpropagate ``grad_out``: (output, gradient with respect to x)."""
    import torch

    leaf = x.detach().clone().requires_grad_(True)
    ctx = _seeded(x, seed)
    try:
        module.train(bool(training))
        out = module(leaf)
    finally:
        ctx.__exit__(None, None, None)
    if isinstance(out, torch.Tensor) and out.requires_grad:
        out.backward(grad_out)
    grad = leaf.grad
    return (out.detach() if hasattr(out, "detach") else out), grad


def modes(module, x, seed=0):
    """The module's ``training`` flag and output after eval(), then after train(): (flag, out) twice."""
    ctx = _seeded(x, seed)
    try:
        module.eval()
        first = (bool(module.training), module(x).detach())
        module.train()
        second = (bool(module.training), module(x).detach())
    finally:
        ctx.__exit__(None, None, None)
    return first, second


def forward_in_dtype(module, x, dtype, training=True, seed=0):
    """``forward`` on x cast to ``dtype`` (a name such as "bfloat16", a dtype the wire cannot carry).

    Returns (the output's dtype name, the cast input and the output, both as float32).
    """
    import torch

    xd = x.to(getattr(torch, str(dtype)))
    out = forward(module, xd, training, seed)
    name = str(out.dtype).replace("torch.", "") if isinstance(out, torch.Tensor) else type(out).__name__
    return name, xd.float(), (out.float() if isinstance(out, torch.Tensor) else out)
