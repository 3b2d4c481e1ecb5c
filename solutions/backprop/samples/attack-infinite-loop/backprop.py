"""Attack: never return from any call."""


def sigmoid_forward(*args, **kwargs):
    while True:
        pass


def sigmoid_backward(*args, **kwargs):
    while True:
        pass


def tanh_forward(*args, **kwargs):
    while True:
        pass


def tanh_backward(*args, **kwargs):
    while True:
        pass


def relu_forward(*args, **kwargs):
    while True:
        pass


def relu_backward(*args, **kwargs):
    while True:
        pass


def affine_forward(*args, **kwargs):
    while True:
        pass


def affine_backward(*args, **kwargs):
    while True:
        pass


def mse_loss(*args, **kwargs):
    while True:
        pass


def two_layer_net(*args, **kwargs):
    while True:
        pass


def eval_numerical_gradient(*args, **kwargs):
    while True:
        pass
