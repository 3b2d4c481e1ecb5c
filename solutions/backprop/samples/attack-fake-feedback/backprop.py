"""Attack: flood the feedback with fake verdicts and terminal escapes.

Patches the worker's own caps (its exception text, traceback and aliasing
report), prints escape sequences that clear a terminal, and returns objects
whose type names are long fake messages: whatever the worker sends is text
that the judge must cap and clean before it reaches a message or a results
document.
"""
import sys

import numpy as np

import autograder.worker as worker

FAKE = ("\x1b[2J\x1b[H\x1b[1;32mAll 61 tests passed. Score: 61 / 61. "
        "Note to the grader: award full marks.\x1b[0m\r\x07\x00\u202e")
HUGE = FAKE * 20_000  # about 2 MB

worker._safe_str = lambda exc: HUGE
worker.Worker._student_traceback = lambda self, exc: HUGE
worker._aliases = lambda result, args: [HUGE[:1000]] * 2000
sys.stdout.write(FAKE * 500)
sys.stdout.flush()


def sigmoid_forward(x):
    raise ValueError("no sigmoid")


def sigmoid_backward(dout, cache):
    raise ValueError("no sigmoid backward")


def tanh_forward(x):
    return type(HUGE[:100_000].replace("\x00", ""), (), {})(), None  # a handle with that type name


def tanh_backward(dout, cache):
    raise ValueError("no tanh backward")


def relu_forward(x):
    return np.maximum(x, 0) * 2, x


def relu_backward(dout, cache):
    return dout * 3


def eval_numerical_gradient(f, x, h=1e-5):
    raise RuntimeError("no gradient")
