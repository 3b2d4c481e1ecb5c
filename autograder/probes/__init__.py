"""Helpers that run inside the worker, next to the student's code.

They only gather observations and return them as data; every comparison is
made by the judge. A student may patch them, which can only change the data
returned, never the verdict's logic.
"""
from __future__ import annotations

import sys
import time

import numpy as np


def cuda_ready():
    """Start CUDA in this worker and run a forward and a backward pass on it: raises where the
    sandbox leaves CUDA unusable (a grader's fault, checked before a GPU test's first call)."""
    import torch

    x = torch.linspace(-1.0, 1.0, 8, device="cuda", requires_grad=True)
    (x.sigmoid() * x).sum().backward()
    torch.cuda.synchronize()
    return float(x.grad.sum())


def sum_of_squares(x):
    """f(x) = sum(x**2); gradient 2x."""
    return float(np.sum(x * x))


def sin_sum(x):
    """f(x) = sum(sin x); gradient cos x."""
    return float(np.sum(np.sin(x)))


def cubic_mix(x):
    """f(x) = sum(x**3 + x**2); gradient 3x**2 + 2x."""
    return float(np.sum(x**3 + x**2))


def smooth_function(a, b, c, d, u):
    """f(x) = sum(a sin(b x + c)) + sum(d x**3) + (u . x)**2, from coefficients the judge drew
    (``autograder.asserts.SmoothFunction``): a function for a student's numerical-gradient code,
    whose exact gradient the judge knows."""

    def f(x):
        return float(np.sum(a * np.sin(b * x + c)) + np.sum(d * x ** 3) + np.sum(u * x) ** 2)

    return f


def best_time(fn, args, repeats=5):
    """The shortest wall time, in seconds, of ``fn(*args)`` over ``repeats`` calls.

    Each call gets a fresh copy of the arguments (copied outside the timing),
    so a function that mutates its inputs times the same work every time. The
    minimum is the figure least disturbed by other load on the machine; a
    judge compares two such figures taken in like workers, never one figure
    with a constant.
    """
    best = float("inf")
    for _ in range(max(1, int(repeats))):
        fresh = _fresh(args)
        start = time.perf_counter()
        fn(*fresh)
        best = min(best, time.perf_counter() - start)
    return best


def call(fn, *args):
    """``fn(*args)``: a student function as one of ``several`` probes (``autograder.together``)."""
    return fn(*args)


def several(calls):
    """``[probe(*args) for probe, args in calls]``, ``probe`` named among this module's
    functions: several probes in one round trip (gradcheck's Jacobian and its batch)."""
    here = sys.modules[__name__]
    results = []
    for name, args in calls:
        if not (isinstance(name, str) and name.isidentifier() and not name.startswith("_")):
            raise ValueError(f"not a probe: {name!r}")
        results.append(getattr(here, name)(*args))
    return results


def evaluate_many(fn, arg_tuples, pick=None):
    """[fn(*args) for args in arg_tuples], or only element ``pick`` of each result.

    The judge builds every input (e.g. the perturbations of a numerical
    gradient); only the evaluation happens here, in one round trip.
    """
    results = [fn(*args) for args in arg_tuples]
    return [r[pick] for r in results] if pick is not None else results


def evaluate_sparse(fn, template, paths, parts, counts, indices, values, pick=None):
    """``evaluate_many`` where point k's arguments are ``template`` with a few elements changed.

    Point k changes the array or tensor at ``paths[parts[k]]`` (indices/keys
    into the argument tuple), in a copy: it sets the next ``counts[k]`` of its
    flat elements, ``indices`` giving their positions and ``values`` their new
    values, in the array's own dtype. A numerical gradient changes one element
    per point, so the message carries a few numbers per point instead of a
    whole array, and the gradients of several inputs share one message.
    Returns the results stacked into one array when they all have the same
    shape and dtype (one buffer to send back), else a list.
    """
    results = []
    start = 0
    for part_index, n in zip(parts, counts):
        n = int(n)
        path = paths[int(part_index)]
        args = _fresh(template)
        holder = args
        for key in path[:-1]:
            holder = holder[key]
        part = _own_tensor(holder[path[-1]])
        _set_flat(part, indices[start : start + n], values[start : start + n])
        start += n
        holder[path[-1]] = part
        result = fn(*args)
        results.append(result[pick] if pick is not None else result)
    return _stacked(results)


def _own_tensor(part):
    """The part, safe to change: _fresh already copied an array, but it shares tensors."""
    if isinstance(part, np.ndarray):
        return part
    return part.detach().clone()


def _set_flat(part, indices, values) -> None:
    if isinstance(part, np.ndarray):
        part.reshape(-1)[indices] = values
        return
    import torch

    flat = part.view(-1)
    flat[torch.as_tensor(indices, device=part.device)] = torch.as_tensor(values).to(part.device, part.dtype)


def _stacked(results):
    """One array (or tensor) of all results when they are alike, else the list itself."""
    if not results:
        return results
    first = results[0]
    if isinstance(first, (np.ndarray, np.generic, float)) and not isinstance(first, bool):
        arrays = [np.asarray(r) for r in results if isinstance(r, (np.ndarray, np.generic, float))
                  and not isinstance(r, bool)]
        if len(arrays) == len(results) and all(a.shape == arrays[0].shape and a.dtype == arrays[0].dtype
                                               for a in arrays):
            return np.stack(arrays)
        return results
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(first, torch.Tensor):
        if all(isinstance(r, torch.Tensor) and r.shape == first.shape and r.dtype == first.dtype
               and r.device == first.device for r in results):
            return torch.stack([r.detach() for r in results])
    return results


def evaluate_patched(fn, template, patches, pick=None):
    """``evaluate_many`` where point k's arguments are ``template`` with ``patches[k]`` applied.

    A patch list holds (path, value) pairs, a path being the indices/keys that
    lead to the replaced part. Each point starts from a fresh copy of the
    template, so a function that mutates its inputs cannot affect the next one.
    """
    points = []
    for patch in patches:
        args = _fresh(template)
        for path, value in patch:
            if not path:
                args = value
                continue
            holder = args
            for key in path[:-1]:
                holder = holder[key]
            holder[path[-1]] = value
        points.append(tuple(args))
    return evaluate_many(fn, points, pick)


def _fresh(value):
    """A copy that can be patched in place: containers as lists/dicts, arrays copied."""
    if isinstance(value, (tuple, list)):
        return [_fresh(v) for v in value]
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


def forward_backward(forward, backward, args, dout):
    """``out, cache = forward(*args)``, then ``backward(dout, cache)``: a layer's two halves in
    one round trip. Returns (True, out, backward's result); the cache, in the student's own
    format, stays here. (False, result, None) when forward did not return a pair."""
    result = forward(*args)
    if not (isinstance(result, tuple) and len(result) == 2):
        return False, result, None
    out, cache = result
    return True, out, backward(dout, cache)


def vjp(fn, inputs, grad_outputs):
    """Run fn(*inputs) and backpropagate grad_outputs: returns (output, input grads).

    Floating-point tensor inputs get requires_grad; the others get None as grad.
    """
    import torch

    leaves = []
    for x in inputs:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            leaves.append(x.detach().clone().requires_grad_(True))
        else:
            leaves.append(x)
    out = fn(*leaves)
    outs = out if isinstance(out, tuple) else (out,)
    grads = grad_outputs if isinstance(grad_outputs, tuple) else (grad_outputs,)
    pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, torch.Tensor) and o.requires_grad]
    if pairs:
        torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
    in_grads = tuple(x.grad if isinstance(x, torch.Tensor) and x.requires_grad else None for x in leaves)
    detached = tuple(o.detach() if isinstance(o, torch.Tensor) else o for o in outs)
    return (detached if isinstance(out, tuple) else detached[0]), in_grads


def jacobian(fn, inputs):
    """The analytic Jacobian of fn at inputs, one backward pass per output element.

    Returns a tuple with, per input, an array of shape (out.numel(), input.numel())
    (None for non-differentiable inputs), built from the student's backward.
    """
    import torch

    leaves = [x.detach().clone().requires_grad_(True) if isinstance(x, torch.Tensor) and x.is_floating_point()
              else x for x in inputs]
    out = fn(*leaves)
    flat = out.reshape(-1)
    rows: list[list] = [[] for _ in leaves]
    for j in range(flat.numel()):
        for x in leaves:
            if isinstance(x, torch.Tensor) and x.grad is not None:
                x.grad = None
        grad = torch.zeros_like(flat)
        grad[j] = 1
        flat.backward(grad, retain_graph=True)
        for i, x in enumerate(leaves):
            if isinstance(x, torch.Tensor) and x.requires_grad:
                g = x.grad if x.grad is not None else torch.zeros_like(x)
                rows[i].append(g.reshape(-1).detach().cpu().numpy().copy())
    return tuple(np.stack(r) if r else None for r in rows)
