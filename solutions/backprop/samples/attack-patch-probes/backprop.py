"""Attack: patch the grader's probes in the worker so that gradients seem to agree.

Every backward returns zeros. The probes that evaluate perturbed inputs for
numerical gradients return the unperturbed output for every point (a zero
numerical gradient), and the probe that builds a torch Function's Jacobian
returns zeros: a judge that trusts them sees gradients that agree.
"""
import numpy as np

import autograder.probes as probes


def _pick(result, pick):
    return result[pick] if pick is not None else result


def _same_for_every_point(fn, template, count, pick):
    value = _pick(fn(*template), pick)
    return [value for _ in range(count)]


def evaluate_sparse(fn, template, paths, parts, counts, indices, values, pick=None):
    return _same_for_every_point(fn, template, len(parts), pick)


def evaluate_patched(fn, template, patches, pick=None):
    return _same_for_every_point(fn, template, len(patches), pick)


def jacobian(fn, inputs):
    import torch

    out = fn(*inputs)
    return tuple(np.zeros((out.numel(), x.numel())) if isinstance(x, torch.Tensor) and x.is_floating_point()
                 else None for x in inputs)


probes.evaluate_sparse, probes.evaluate_patched, probes.jacobian = evaluate_sparse, evaluate_patched, jacobian


def sigmoid_forward(x):
    return 0.5 * x, x.shape


def sigmoid_backward(dout, cache):
    return np.zeros(cache)


tanh_forward, tanh_backward = sigmoid_forward, sigmoid_backward
relu_forward, relu_backward = sigmoid_forward, sigmoid_backward


def affine_forward(x, w, b):
    return 0.5 * x.reshape(x.shape[0], -1) @ w, (x.shape, w.shape, b.shape)


def affine_backward(dout, cache):
    return tuple(np.zeros(shape) for shape in cache)


def two_layer_net(X, params, y=None, reg=0.0):
    scores = 0.5 * X @ params["W1"] @ params["W2"]
    if y is None:
        return scores
    return 1.0, {name: np.zeros_like(value) for name, value in params.items()}
