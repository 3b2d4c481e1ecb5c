"""The fork server: imports numpy and torch once, then forks one worker per request.

It runs as a child of a judge, talks to it over one SOCK_SEQPACKET socket
(one message per packet, file descriptors attached with SCM_RIGHTS), and
never runs student code itself, never computes with torch and never touches
CUDA: a forked child inherits a parent's thread pools and CUDA context in a
broken state, so the server stays clean and every worker starts from it.

Requests (wire frames)::

    {"op": "spawn", "submission": path, "modules": [...], "limits": {...}, "hide": [...]}
        -> {"ok": true, "pid": n} with fds [worker socket, worker output pipe]
    {"op": "kill", "pid": n}   -> {"ok": true, "status": {...}}   (also reaps)
    {"op": "wait", "pid": n, "timeout": s} -> {"ok": true, "status": {...}}
"""
from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import signal
import socket
import sys
import time

from . import sandbox, wire
from .config import Limits

PACKET_BYTES = 1 << 20


def preload() -> dict:
    import numpy  # noqa: F401

    info = {"numpy": numpy.__version__}
    try:
        import torch

        # The first fork trap: a torch op run on several threads here would leave
        # its pool's locks held in every forked child. One thread, and no ops.
        torch.set_num_threads(1)
        info["torch"] = torch.__version__
        # Imported lazily by torch on common paths (autograd.backward with explicit
        # gradients pulls in sympy): once here instead of once per worker.
        for name in _TORCH_LAZY:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - absent in some torch versions
                pass
    except ImportError:
        info["torch"] = None
    try:
        import pyseccomp  # noqa: F401 - import now so workers need not read site-packages for it
    except Exception:  # noqa: BLE001
        pass
    from . import probes, worker  # noqa: F401

    # Workers cannot read the package's files once sandboxed: load every probe module now.
    for found in pkgutil.iter_modules(probes.__path__, probes.__name__ + "."):
        importlib.import_module(found.name)

    # Everything loaded so far lives as long as the server: keep the collector away
    # from it, so that a worker's collections never touch (and copy) inherited pages.
    gc.collect()
    gc.freeze()
    return info


_TORCH_LAZY = (
    "torch.fx.experimental.symbolic_shapes",
    "torch.autograd.gradcheck",
    "torch.nn.functional",
    "torch.testing",
)


class Server:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.cgroups = sandbox.Cgroups()
        self.workers: dict[int, dict] = {}  # pid -> {"cgroups": ..., "status": ...}

    def run(self) -> None:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        while True:
            try:
                data = self.sock.recv(PACKET_BYTES)
            except InterruptedError:
                continue
            if not data:
                break
            self._reap_ending()
            try:
                msg, _ = wire.unpack(data)
                reply, fds = self.handle(msg)
            except Exception as exc:  # noqa: BLE001 - report, never die
                reply, fds = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, []
            socket.send_fds(self.sock, [wire.pack(reply)], fds)
            for fd in fds:
                os.close(fd)
        for pid in list(self.workers):
            self.kill(pid)

    def handle(self, msg: dict) -> tuple[dict, list[int]]:
        op = msg.get("op")
        if op == "spawn":
            return self.spawn(msg)
        if op == "noop":
            return {"ok": True}, []
        if op == "kill":
            return {"ok": True, "status": self.kill(int(msg["pid"]))}, []
        if op == "end":
            self.end(int(msg["pid"]))
            return {"ok": True}, []
        if op == "wait":
            return {"ok": True, "status": self.wait(int(msg["pid"]), float(msg.get("timeout", 1.0)))}, []
        return {"ok": False, "error": f"unknown op {op!r}"}, []

    def spawn(self, msg: dict) -> tuple[dict, list[int]]:
        limits = Limits(**msg["limits"])
        files = sandbox.read_submission(msg["submission"])
        name = f"w{os.getpid()}-{time.monotonic_ns()}"
        plan = sandbox.Plan(limits=limits, hide=list(msg.get("hide", [])),
                            cgroups=self.cgroups.create(name, limits))
        judge_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                self.sock.close()
                judge_end.close()
                os.close(out_r)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out_w, 1)
                os.dup2(out_w, 2)
                _child(worker_end, plan, files, list(msg["modules"]))
            finally:
                os._exit(70)
        worker_end.close()
        os.close(out_w)
        self.workers[pid] = {"cgroups": plan.cgroups}
        return {"ok": True, "pid": pid}, [judge_end.detach(), out_r]

    def wait(self, pid: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self._reap(pid)
            if status is not None or time.monotonic() >= deadline:
                break
            time.sleep(0.005)
        if status is None:
            return self.kill(pid)
        self._cleanup(pid)
        return status

    def end(self, pid: int) -> None:
        """Kill a worker whose status nobody needs; it is reaped later, off the judge's clock."""
        info = self.workers.get(pid)
        if info is None:
            return
        _kill_everything_of(pid, info["cgroups"])
        info["ending"] = True

    def _reap_ending(self) -> None:
        for pid in [p for p, info in self.workers.items() if info.get("ending")]:
            if self._reap(pid) is not None and not sandbox.Cgroups.pids(self.workers[pid]["cgroups"]):
                self._cleanup(pid)

    def kill(self, pid: int) -> dict:
        info = self.workers.get(pid, {})
        cgroups = info.get("cgroups", {})
        for _ in range(50):
            if not _kill_everything_of(pid, cgroups):
                break
            time.sleep(0.002)  # processes were still forking: sweep again
        status = None
        for _ in range(200):
            status = self._reap(pid)
            if status is not None:
                break
            time.sleep(0.005)
        status = status or {"exit_code": None, "signal": None}
        status["killed"] = True
        self._cleanup(pid)
        return status

    def _reap(self, pid: int) -> dict | None:
        if pid in self.workers and "status" in self.workers[pid]:
            return self.workers[pid]["status"]
        try:
            got, code = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return {"exit_code": None, "signal": None}
        if got == 0:
            return None
        return self._record(pid, code)

    def _record(self, pid: int, code: int) -> dict:
        status = {
            "exit_code": os.waitstatus_to_exitcode(code) if os.WIFEXITED(code) else None,
            "signal": os.WTERMSIG(code) if os.WIFSIGNALED(code) else None,
            "oom_killed": sandbox.Cgroups.oom_killed(self.workers.get(pid, {}).get("cgroups", {})),
        }
        if pid in self.workers:
            self.workers[pid]["status"] = status
        return status

    def _cleanup(self, pid: int) -> None:
        info = self.workers.pop(pid, None)
        if info:
            for target in sandbox.Cgroups.pids(info["cgroups"]):
                _signal(target, signal.SIGKILL)
            sandbox.Cgroups.remove(info["cgroups"])
        # Reap any other finished children so none linger as zombies, keeping the
        # status of workers the judge may still ask about.
        while True:
            try:
                got, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if got == 0:
                break
            self._record(got, code)


def _child(sock: socket.socket, plan: sandbox.Plan, files: dict, modules: list[str]) -> None:
    from .worker import Worker

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        workdir, record = sandbox.enter(plan, files)
    except Exception as exc:  # noqa: BLE001
        wire.send(sock, {"op": "ready", "ok": False, "error": f"sandbox failed: {exc}"})
        os._exit(71)
    wire.send(sock, {"op": "ready", "ok": True, "isolation": record, "pid": os.getpid()})
    Worker(sock, modules, workdir, plan.limits.cpu_seconds).serve()
    os._exit(0)


def _kill_everything_of(pid: int, cgroups: dict[str, str]) -> set[int]:
    """SIGKILL a worker, its session, everything in its cgroups and, without a pids
    cgroup, every process of its own uid (a fork bomb may have left the session).
    Returns the cgroup members found, so a caller can sweep until none are left."""
    victims = set(sandbox.Cgroups.pids(cgroups))
    for target in victims:
        _signal(target, signal.SIGKILL)
    _signal(-pid, signal.SIGKILL, group=True)
    _signal(pid, signal.SIGKILL)
    if "pids" not in cgroups:
        _kill_uid(sandbox.UID_BASE + pid)
    return victims


def _signal(pid: int, sig: int, group: bool = False) -> None:
    try:
        if group:
            os.killpg(-pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_uid(uid: int) -> None:
    """Kill every process of a worker's own uid: a fork bomb may have left its session."""
    if os.geteuid() != 0 or not os.path.isdir("/proc"):
        return
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                os.kill(int(entry), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue


def main() -> None:
    # `python -m` put the working folder first on sys.path; a worker has no business there.
    if sys.path and os.path.realpath(sys.path[0]) == os.path.realpath(os.getcwd()):
        sys.path.pop(0)
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)
    info = preload()
    socket.send_fds(sock, [wire.pack({"op": "ready", **info})], [])
    Server(sock).run()


if __name__ == "__main__":
    main()
