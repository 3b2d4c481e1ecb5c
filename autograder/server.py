"""The fork server: imports numpy and torch once, then forks one worker per request.

It runs as a child of a judge, talks to it over one SOCK_SEQPACKET socket
(one message per packet, file descriptors attached with SCM_RIGHTS), and
never runs student code itself, never computes with torch and never touches
CUDA: a forked child inherits a parent's thread pools and CUDA context in a
broken state, so the server stays clean and every worker starts from it.

It never reads a submission either: every worker it forks inherits its memory,
freed pages included, so the judge hands each worker its files over the
worker's own socket ("activate").

Requests (wire frames), each with an "id" that its reply carries back::

    {"op": "spawn", "limits": {...}, "hide": [...], "cpus": [...], "helpers": [[name, file], ...]}
        -> {"ok": true, "pid": n} with fds [worker socket, worker output pipe]

"helpers" names the exercise's worker-side helpers (``autograder.helpers``): the
server imports each file once, before it forks, and the worker may import those
modules, and no other exercise's, by name.
    {"op": "kill", "pid": n}   -> {"ok": true, "status": {...}}   (also reaps)
    {"op": "wait", "pid": n, "timeout": s} -> {"ok": true, "status": {...}}
    {"op": "end", "pid": n}    -> {"ok": true}   (killed now, reaped later)
"""
from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import shutil
import signal
import socket
import sys
import time

from . import helpers as exercise_helpers
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

    # Workers cannot read the package's files once sandboxed: load every probe module now (an
    # exercise's own helpers are loaded on its first spawn request, import_helpers).
    for found in pkgutil.iter_modules(probes.__path__, probes.__name__ + "."):
        importlib.import_module(found.name)
    _warm_up(info, autograd=False)
    sandbox.gpu_description()  # read once here, before the workers' sandboxes hide /proc/driver

    # Everything loaded so far lives as long as the server: keep the collector away
    # from it, so that a worker's collections never touch (and copy) inherited pages.
    gc.collect()
    gc.freeze()
    return info


def _warm_up(info: dict, autograd: bool) -> None:
    """Run the paths every worker takes (numpy and torch ops, the probes, the wire, and with
    ``autograd`` backward passes) once.

    In the server, before any fork, their first use builds caches (ufunc loops,
    torch's dispatcher) that every worker then inherits. In a spare worker,
    waiting for its submission, the same run takes the copy-on-write faults of
    the pages those paths touch, off the judge's clock. Single-threaded, so the
    first fork trap does not apply: with one thread no pool exists.

    Never autograd in the server (``autograd=False``): on a CUDA build the first
    backward starts the engine's per-device threads and touches CUDA, and every
    child forked after it fails its own backward ("Unable to handle autograd's
    threading in combination with fork-based multiprocessing").
    """
    import numpy as np

    from . import probes, wire

    a = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    values = [a, a.astype(np.float32), np.maximum(a, 0), np.exp(-np.abs(a)), a @ a.T, a.sum(axis=0),
              np.tanh(a), np.where(a > 0, a, 0.0), np.log1p(np.abs(a)), a.max(axis=1, keepdims=True),
              probes.evaluate_sparse(np.tanh, (a,), [[0]], np.array([0, 0]), np.array([1, 2]), np.array([0, 5, 7]),
                                     np.array([0.5, -0.5, 0.25]))]
    if info.get("torch"):
        import torch

        t = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).reshape(3, 4)
        values += [t, (torch.sigmoid(t) @ t.T).tanh() + torch.relu(t).sum(), torch.softmax(t.float(), dim=1)]
        if autograd:
            values += [check_autograd(),
                       probes.vjp(torch.sigmoid, (t,), torch.ones(3, 4, dtype=torch.float64)),
                       probes.jacobian(torch.tanh, (t[0],))]
    tree, buffers = wire.encode(values)
    reader = wire.FrameReader()
    reader.feed(wire.pack({"op": "call", "value": tree}, buffers))
    msg, got = reader.next_frame()
    wire.decode(msg["value"], got)


def check_autograd():
    """A backward pass and an autograd.grad on the CPU; raises if autograd cannot run here
    (a server that started autograd before forking leaves every worker so)."""
    import torch

    t = torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).reshape(3, 4).requires_grad_(True)
    out = (torch.sigmoid(t) @ t.T).tanh() + torch.relu(t).sum()
    out.backward(torch.ones_like(out))
    torch.autograd.grad((t * t).sum(), t)
    return t.grad


_TORCH_LAZY = (
    "torch._dynamo",  # imported by every torch.optim.Optimizer constructor: seconds, once per worker
    "torch.fx.experimental.symbolic_shapes",
    "torch.autograd.gradcheck",
    "torch.nn.functional",
    "torch.testing",
)


class Server:
    def __init__(self, sock: socket.socket, scratch: str | None = None) -> None:
        self.scratch = scratch  # the judge's folder for the workers' folders, removed by the judge
        self.sock = sock
        self.cgroups = sandbox.Cgroups()
        self.workers: dict[int, dict] = {}  # pid -> {"cgroups": ..., "status": ...}
        # A worker forked and sandboxed ahead of the next request, waiting for its submission:
        # {"key", "pid", "judge_end", "out_r"}. The next judge's wait shrinks to writing the
        # files and importing them, and the fork's copy-on-write costs fall between requests.
        self.spare: dict | None = None
        self.spare_wanted: tuple | None = None  # (limits, hide, cpus, helpers) of a spare to prepare after a reply

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
            msg: dict = {}
            try:
                msg, _ = wire.unpack(data)
                reply, fds = self.handle(msg)
            except Exception as exc:  # noqa: BLE001 - report, never die
                reply, fds = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, []
            reply["id"] = msg.get("id")
            try:
                socket.send_fds(self.sock, [wire.pack(reply)], fds)
            except (BrokenPipeError, ConnectionResetError):
                break  # the judge is gone (it does not wait for every reply): end as if it had closed
            finally:
                for fd in fds:
                    os.close(fd)
            if self.spare_wanted is not None:
                self._prepare_spare(*self.spare_wanted)
        self._drop_spare()
        for pid in list(self.workers):
            self.kill(pid)
        if self.scratch:
            # The judge may be gone without a word (a pool process ends by os._exit, skipping atexit).
            shutil.rmtree(self.scratch, ignore_errors=True)

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
        hide = list(msg.get("hide", []))
        cpus = msg.get("cpus")
        helpers = import_helpers(msg.get("helpers") or [])
        spare = self.spare
        if (spare is not None and spare["key"] == _spare_key(limits, hide, cpus, helpers)
                and self._reap(spare["pid"]) is None):
            self.spare = None
            pid, judge_end, out_r = spare["pid"], spare["judge_end"], spare["out_r"]
            self.cgroups.share_cpus(self.workers[pid]["cgroups"], cpus)  # it warmed up on every CPU
        else:
            self._drop_spare()  # other limits, or it died
            pid, judge_end, out_r = self._fork(limits, hide, cpus, helpers, spare=False)
        self.spare_wanted = (limits, hide, cpus, helpers)
        return {"ok": True, "pid": pid}, [judge_end.detach(), out_r]

    def _fork(self, limits: Limits, hide: list[str], cpus: list[int] | None, helpers: tuple[str, ...], spare: bool):
        """A new worker, sandboxed, that waits for its submission's files from the judge.
        A spare first runs the warm-up, while nobody waits for it, on every CPU: its cgroup's
        cpuset moves to the judge's CPUs when it is handed over."""
        name = f"w{os.getpid()}-{time.monotonic_ns()}"
        cgroups = self.cgroups.create(name, limits, None if spare else cpus)
        # Named here, made only by a worker without a private /tmp (it writes its files there) and
        # removed here: a killed worker cannot clean up after itself.
        scratch = os.path.join(self.scratch, name) if self.scratch else None
        plan = sandbox.Plan(limits=limits, hide=hide, cgroups=cgroups, cpus=cpus, scratch=scratch)
        try:
            judge_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out_r, out_w = os.pipe()
            pid = os.fork()
        except OSError:
            sandbox.Cgroups.remove(cgroups)
            raise
        if pid == 0:  # the worker
            try:
                self.sock.close()
                judge_end.close()
                os.close(out_r)  # no spare exists while forking: its ends need no closing here
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out_w, 1)
                os.dup2(out_w, 2)
                _child(worker_end, plan, spare, helpers)
            finally:
                os._exit(70)
        worker_end.close()
        os.close(out_w)
        self.workers[pid] = {"cgroups": plan.cgroups, "scratch": scratch}
        return pid, judge_end, out_r

    def _prepare_spare(self, limits: Limits, hide: list[str], cpus: list[int] | None,
                       helpers: tuple[str, ...]) -> None:
        self.spare_wanted = None
        if self.spare is not None:
            return
        try:
            pid, judge_end, out_r = self._fork(limits, hide, cpus, helpers, spare=True)
        except OSError:
            return  # no spare this time: the next request forks as before
        self.spare = {"key": _spare_key(limits, hide, cpus, helpers), "pid": pid, "judge_end": judge_end,
                      "out_r": out_r}

    def _drop_spare(self) -> None:
        spare, self.spare = self.spare, None
        if spare is not None:
            spare["judge_end"].close()
            os.close(spare["out_r"])
            self.end(spare["pid"])

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
            if info["scratch"]:
                shutil.rmtree(info["scratch"], ignore_errors=True)  # absent unless the worker needed it
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


def _spare_key(limits: Limits, hide: list[str], cpus: list[int] | None, helpers: tuple[str, ...]) -> tuple:
    """What a spare must match to serve a request: what it was sandboxed with, and the exercise
    helpers it may import. The CPUs are its judge's, the same for every request of one server."""
    return tuple(sorted(limits.as_dict().items())), tuple(hide), tuple(cpus or ()), helpers


def import_helpers(requested: list) -> tuple[str, ...]:
    """Import the exercise helpers a spawn request names (``[[module name, file], ...]``), those not
    loaded yet, before any worker that needs them is forked; returns their module names.

    The server is trusted and unsandboxed: it reads the file from the assignment's folder, which
    no worker can. An import that fails is reported to the judge, which makes it a grader error."""
    names = []
    fresh = False
    for name, path in requested:
        name = str(name)
        if not exercise_helpers.is_helpers_module(name):
            exercise_helpers.load(name, str(path))
            fresh = True
        names.append(name)
    if fresh:
        gc.collect()
        gc.freeze()  # as after preload: keep the collector away from pages every worker inherits
    return tuple(names)


def _child(sock: socket.socket, plan: sandbox.Plan, spare: bool, helpers: tuple[str, ...] = ()) -> None:
    """The worker's life: sandbox, wait for the submission's files, import them, serve."""
    from . import worker
    from .worker import Worker

    worker.HELPERS.update(helpers)  # the one exercise's helpers this worker may import by name

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    reader = wire.FrameReader()
    try:
        workdir, record = sandbox.enter(plan)
        torch_loaded = "torch" in sys.modules
        if spare:
            _warm_up({"torch": torch_loaded}, autograd=True)  # this process's own copies of hot pages
        elif torch_loaded:
            check_autograd()  # before any student code: a failure here is the grader's
        sandbox.lock_down(record, plan.cpus)
        msg, buffers = wire.recv(sock, reader)
        if msg.get("op") != "activate" or len(buffers) != 1:
            os._exit(72)
        modules = [str(m) for m in msg.get("modules", [])]
        sandbox.place_files(workdir, wire.unpack_files(msg.get("files"), buffers[0]))
        del msg, buffers
    except Exception as exc:  # noqa: BLE001
        wire.send(sock, {"op": "ready", "ok": False, "error": f"sandbox failed: {exc}"})
        os._exit(71)
    wire.send(sock, {"op": "ready", "ok": True, "isolation": record})
    Worker(sock, modules, workdir, plan.limits.cpu_seconds, reader).serve()
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
    scratch = sys.argv[2] if len(sys.argv) > 2 else None
    sock = socket.socket(fileno=fd)
    info = preload()
    socket.send_fds(sock, [wire.pack({"op": "ready", **info})], [])
    Server(sock, scratch).run()


if __name__ == "__main__":
    main()
