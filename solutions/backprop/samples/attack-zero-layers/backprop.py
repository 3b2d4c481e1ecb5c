"""Attack: every layer returns zeros of the right shapes, forward and backward.

The gradient of a constant forward is zero, so a zero backward agrees with
finite differences of the same submission's forward.
"""
import numpy as np


def sigmoid_forward(x):
    return np.zeros_like(x), x.shape


def sigmoid_backward(dout, cache):
    return np.zeros(cache)


tanh_forward, tanh_backward = sigmoid_forward, sigmoid_backward
relu_forward, relu_backward = sigmoid_forward, sigmoid_backward


def affine_forward(x, w, b):
    return np.zeros((x.shape[0], w.shape[1])), (x.shape, w.shape, b.shape)


def affine_backward(dout, cache):
    return tuple(np.zeros(shape) for shape in cache)


def mse_loss(pred, target):
    return 0.0, np.zeros_like(pred)


def two_layer_net(X, params, y=None, reg=0.0):
    scores = np.zeros((X.shape[0], params["W2"].shape[1]))
    if y is None:
        return scores
    return 0.0, {name: np.zeros_like(value) for name, value in params.items()}


def eval_numerical_gradient(f, x, h=1e-5):
    return np.zeros_like(x)
