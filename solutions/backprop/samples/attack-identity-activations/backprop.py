"""Attack: identity "activations" whose backward agrees with their own forward.

sigmoid(x) = x and tanh(x) = x, with dx = dout: a backward checked only against
finite differences of the same submission's forward passes.
"""


def sigmoid_forward(x):
    return x.copy(), None


def sigmoid_backward(dout, cache):
    return dout.copy()


def tanh_forward(x):
    return x.copy(), None


def tanh_backward(dout, cache):
    return dout.copy()
