"""Attack: return objects that claim to equal anything."""


class Liar:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array__(self, *args, **kwargs):
        import numpy as np
        return np.zeros(1)

    def __len__(self):
        return 2

    def __getitem__(self, i):
        if i >= 2:
            raise IndexError
        return self

    def __iter__(self):
        return iter((self, self))

    def __float__(self):
        return 0.0


def sigmoid_forward(*args, **kwargs):
    return Liar()


def sigmoid_backward(*args, **kwargs):
    return Liar()


def tanh_forward(*args, **kwargs):
    return Liar()


def tanh_backward(*args, **kwargs):
    return Liar()


def relu_forward(*args, **kwargs):
    return Liar()


def relu_backward(*args, **kwargs):
    return Liar()


def affine_forward(*args, **kwargs):
    return Liar()


def affine_backward(*args, **kwargs):
    return Liar()


def mse_loss(*args, **kwargs):
    return Liar()


def two_layer_net(*args, **kwargs):
    return Liar()


def eval_numerical_gradient(*args, **kwargs):
    return Liar()
