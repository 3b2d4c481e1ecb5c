"""Not an attack so much as a confused submission: functions return strings and tuples of the wrong length.

The tests that unpack ``out, cache`` or ``dx, dw, db`` cannot go on; each
such failure is the submission's, and its message must say what was wrong
with what came back (never "grader error").
"""


def sigmoid_forward(x):
    return x, x, x  # three values where (out, cache) is expected


def sigmoid_backward(dout, cache):
    return "dx"


def tanh_forward(x):
    return "tanh(x) goes here"


def tanh_backward(dout, cache):
    return dout, cache


def relu_forward(x):
    return (x,)


def relu_backward(dout, cache):
    return None


def affine_forward(x, w, b):
    return "out", "cache", "extra"


def affine_backward(dout, cache):
    return dout, dout


def mse_loss(pred, target):
    return "a loss"


def two_layer_net(X, params, y=None, reg=0.0):
    return "scores" if y is None else ("loss", "grads", "extra")


def eval_numerical_gradient(f, x, h=1e-5):
    return "a gradient"
