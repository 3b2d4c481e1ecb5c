"""Attack: overwrite the inputs in place and return views of them.

A grader that computed the expected answer from the same arrays after the
call would compare the student's garbage with itself.
"""
import numpy as np


def _clobber(args):
    for a in args:
        if isinstance(a, np.ndarray):
            a[...] = 0
    first = next((a for a in args if isinstance(a, np.ndarray)), np.zeros(1))
    return first


def sigmoid_forward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def sigmoid_backward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def tanh_forward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def tanh_backward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def relu_forward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def relu_backward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def affine_forward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def affine_backward(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def mse_loss(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def two_layer_net(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)


def eval_numerical_gradient(*args, **kwargs):
    x = _clobber(args)
    return x, (x,)
