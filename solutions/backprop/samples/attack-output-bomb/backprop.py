"""Attack: flood the output."""
import sys


def sigmoid_forward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def sigmoid_backward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def tanh_forward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def tanh_backward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def relu_forward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def relu_backward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def affine_forward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def affine_backward(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def mse_loss(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def two_layer_net(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")


def eval_numerical_gradient(*args, **kwargs):
    while True:
        sys.stdout.write("x" * 65536 + "\n")
