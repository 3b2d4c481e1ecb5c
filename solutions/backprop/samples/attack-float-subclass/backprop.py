"""Attack: float and ndarray subclasses whose comparisons always succeed."""
import numpy as np


class TrueFloat(float):
    def __eq__(self, other):
        return True

    def __sub__(self, other):
        return TrueFloat(0.0)

    __rsub__ = __sub__

    def __abs__(self):
        return TrueFloat(0.0)

    def __le__(self, other):
        return True

    def __hash__(self):
        return 0


class TrueArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __sub__(self, other):
        return np.zeros(self.shape).view(TrueArray)


def sigmoid_forward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def sigmoid_backward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def tanh_forward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def tanh_backward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def relu_forward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def relu_backward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def affine_forward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def affine_backward(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def mse_loss(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def two_layer_net(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x


def eval_numerical_gradient(*args, **kwargs):
    x = np.zeros(np.shape(args[0]) if args else (1,)).view(TrueArray)
    return TrueFloat(0.0), x
