"""Attack: end the worker process with a success status in every call."""
import os


def sigmoid_forward(*args, **kwargs):
    os._exit(0)


def sigmoid_backward(*args, **kwargs):
    os._exit(0)


def tanh_forward(*args, **kwargs):
    os._exit(0)


def tanh_backward(*args, **kwargs):
    os._exit(0)


def relu_forward(*args, **kwargs):
    os._exit(0)


def relu_backward(*args, **kwargs):
    os._exit(0)


def affine_forward(*args, **kwargs):
    os._exit(0)


def affine_backward(*args, **kwargs):
    os._exit(0)


def mse_loss(*args, **kwargs):
    os._exit(0)


def two_layer_net(*args, **kwargs):
    os._exit(0)


def eval_numerical_gradient(*args, **kwargs):
    os._exit(0)
