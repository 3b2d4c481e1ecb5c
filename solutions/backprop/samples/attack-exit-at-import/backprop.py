"""Attack: end the process while being imported, hoping for an exit status of success."""
import sys

sys.exit(0)


def sigmoid_forward(*args, **kwargs):
    return None


def sigmoid_backward(*args, **kwargs):
    return None


def tanh_forward(*args, **kwargs):
    return None


def tanh_backward(*args, **kwargs):
    return None


def relu_forward(*args, **kwargs):
    return None


def relu_backward(*args, **kwargs):
    return None


def affine_forward(*args, **kwargs):
    return None


def affine_backward(*args, **kwargs):
    return None


def mse_loss(*args, **kwargs):
    return None


def two_layer_net(*args, **kwargs):
    return None


def eval_numerical_gradient(*args, **kwargs):
    return None
