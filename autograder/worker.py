"""The worker: the only process that ever runs student code.

It serves requests from one judge over one socket. Every reply is data in
the wire format; objects that cannot travel stay here in ``kept`` and travel
as handles. Nothing here is trusted by the judge: a student can patch this
very module, and the worst that buys is a wrong answer.

Requests::

    {"op": "import"}                          -> {"ok", "modules": {name: status}}
    {"op": "call", "target": ref, "args", "kwargs", "inspect": bool}
                                              -> {"ok", "value", "result": k, "args_after"?, "aliases"?,
                                                  "warnings"?: [{"category", "message", "where"?}]}
    {"op": "fetch", "target": ref}            -> {"ok", "value"}
    {"op": "release"}                         -> {"ok"}   (drops every kept object)
"""
from __future__ import annotations

import importlib
import io
import os
import sys
import traceback
import warnings
from typing import Any

from . import wire

try:
    import resource
except ImportError:  # Windows
    resource = None


class Worker:
    def __init__(self, sock, modules: list[str], workdir: str, cpu_call_seconds: float,
                 reader: wire.FrameReader | None = None) -> None:
        self.sock = sock
        self.reader = reader or wire.FrameReader()  # may already hold the start of the next frame
        self.module_names = list(modules)
        self.workdir = workdir
        self.cpu_call_seconds = cpu_call_seconds
        self.modules: dict[str, Any] = {}
        self.import_errors: dict[str, dict] = {}
        self.kept: dict[int, Any] = {}
        self.results: dict[int, Any] = {}
        self.counter = 0
        self.cpu_hard: int | None = None
        self.cpu_soft: int | None = None  # the soft CPU limit last set

    # -------------------------------------------------------------- serving

    def serve(self) -> None:
        reader = self.reader
        while True:
            try:
                msg, buffers = wire.recv(self.sock, reader)
            except EOFError:
                return
            op = msg.get("op")
            if msg.get("release_first"):
                self.kept.clear()
                self.results.clear()
            try:
                handler = getattr(self, f"op_{op}")
                reply, out_buffers = handler(msg, buffers)
            except _Failure as failure:
                reply, out_buffers = {"ok": False, "error": failure.info}, []
            except BaseException as exc:  # noqa: BLE001 - student code may raise anything
                reply, out_buffers = {"ok": False, "error": describe(exc, self.workdir)}, []
            _flush()
            try:
                wire.send(self.sock, reply, out_buffers)
            except wire.WireError as exc:
                wire.send(self.sock, {"ok": False, "error": {"type": "WireError", "message": str(exc)}})

    def op_import(self, msg, buffers):
        sys.path.insert(0, self.workdir)
        statuses = {}
        for name in self.module_names:
            statuses[name] = self._import(name)
        return {"ok": True, "modules": statuses}, []

    def _import(self, name: str) -> dict:
        if not os.path.exists(os.path.join(self.workdir, name + ".py")):
            self.import_errors[name] = {"type": "ModuleNotFoundError", "missing_module": True,
                                        "message": f"{name}.py is not in the submission"}
            return {"status": "missing"}
        try:
            self.modules[name] = importlib.import_module(name)
            return {"status": "ok"}
        except BaseException as exc:  # noqa: BLE001
            info = describe(exc, self.workdir)
            info["during_import"] = True
            self.import_errors[name] = info
            return {"status": "error", "error": info}

    def op_call(self, msg, buffers):
        target = self._resolve(msg.get("target"), for_call=True)
        args, kwargs = wire.decode_all([msg.get("args"), msg.get("kwargs")], buffers, resolve=self._resolve)
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise _Failure({"type": "WireError", "message": "malformed call"})
        self._arm_cpu_limit()
        result, raised = call_noting_warnings(target, args, kwargs, self.workdir)
        self.counter += 1
        result_id = self.counter
        self.results[result_id] = result
        if not msg.get("inspect"):
            tree, out = wire.encode(result, keep=self._keep)
            reply = {"ok": True, "value": tree, "result": result_id}
        else:
            (tree, after), out = wire.encode_all([result, args], keep=self._keep)
            reply = {"ok": True, "value": tree, "result": result_id, "args_after": after,
                     "aliases": _aliases(result, args)}
        if raised:
            reply["warnings"] = raised
        return reply, out

    def op_fetch(self, msg, buffers):
        value = self._resolve(msg.get("target"))
        tree, out = wire.encode(value, keep=self._keep)
        return {"ok": True, "value": tree}, out

    def op_release(self, msg, buffers):
        self.kept.clear()
        self.results.clear()
        return {"ok": True}, []

    # -------------------------------------------------------------- helpers

    def _keep(self, obj: Any) -> dict:
        self.counter += 1
        self.kept[self.counter] = obj
        t = type(obj)
        return {"t": "handle", "id": self.counter, "type": f"{t.__module__}.{t.__qualname__}"}

    def _resolve(self, node: Any, for_call: bool = False) -> Any:
        if isinstance(node, dict) and node.get("t") == "handle":
            node = {"t": "ref", "root": f"handle:{node.get('id')}", "path": []}
        if not isinstance(node, dict) or node.get("t") != "ref":
            raise _Failure({"type": "WireError", "message": "bad reference"})
        root = str(node.get("root"))
        kind, _, key = root.partition(":")
        if kind == "module":
            if key in self.import_errors:
                raise _Failure(self.import_errors[key])
            if key not in self.modules:
                raise _Failure({"type": "WireError", "message": f"module {key} not imported"})
            obj = self.modules[key]
        elif kind in ("handle", "result"):
            table = self.kept if kind == "handle" else self.results
            try:
                obj = table[int(key)]
            except (KeyError, ValueError):
                raise _Failure({"type": "StaleHandle", "message": "object no longer exists in the worker"}) from None
        elif kind == "import" and _importable(key):
            obj = importlib.import_module(key)
        else:
            raise _Failure({"type": "WireError", "message": f"bad reference root {root!r}"})
        for step in node.get("path", []):
            op, arg = step
            if op == ".":
                try:
                    obj = getattr(obj, arg)
                except AttributeError:
                    if kind == "module":
                        raise _Failure({"type": "AttributeError", "missing": True, "name": arg,
                                        "message": f"{key}.py has no {arg!r}"}) from None
                    raise
            else:
                obj = obj[arg]
        return obj

    def _arm_cpu_limit(self) -> None:
        # The hard limit (set at start) caps the whole worker; the soft limit
        # gives each call its own allowance on top of what was used so far.
        if resource is None:
            return
        try:
            used = resource.getrusage(resource.RUSAGE_SELF)
            spent = used.ru_utime + used.ru_stime
            if self.cpu_hard is None:
                self.cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            hard = self.cpu_hard
            if self.cpu_soft is not None and self.cpu_soft >= spent + self.cpu_call_seconds:
                return  # the allowance set before still covers this call (by at most a second more)
            want = int(spent + self.cpu_call_seconds) + 1
            if hard != resource.RLIM_INFINITY:
                want = min(want, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
            self.cpu_soft = want
        except (ValueError, OSError):
            pass

WARNINGS_KEPT = 5  # distinct warnings reported per call; the judge caps them again


def call_noting_warnings(fn, args: tuple, kwargs: dict, workdir: str) -> tuple[Any, list[dict]]:
    """``fn(*args, **kwargs)``, and the warnings it raised as data (numpy's floating-point
    warnings are the warnings module's RuntimeWarnings). The filters in force decide, as for
    anyone who runs the code: a warning the code silences itself (np.errstate, a filter) is not
    raised. Reports are observations, not verdicts: a test decides what a warning costs."""
    with warnings.catch_warnings(record=True) as caught:
        value = fn(*args, **kwargs)
    reports: list[dict] = []
    for w in caught:
        report = {"category": _safe_str(getattr(w.category, "__name__", "Warning"))[:200],
                  "message": _safe_str(w.message)[:1000]}  # the judge cuts them shorter, marking the cut
        filename = str(w.filename)
        if filename.startswith(workdir + os.sep):  # a line of the student's: worth pointing at
            report["where"] = f"{filename[len(workdir) + 1:]}, line {w.lineno}"[:400]
        if report not in reports:
            reports.append(report)
        if len(reports) == WARNINGS_KEPT:
            break
    return value, reports


def describe(exc: BaseException, workdir: str) -> dict:
    """An exception of the student's code, as data: its type, message and the traceback lines in
    the student's files (under ``workdir``). In-process grading describes it the same way."""
    info = {
        "type": type(exc).__name__,
        "message": _safe_str(exc),
        "traceback": _student_traceback(exc, workdir),
    }
    if isinstance(exc, NotImplementedError):
        info["not_implemented"] = True
    if isinstance(exc, SystemExit):
        info["message"] = f"sys.exit({_safe_str(exc)}) was called"
    if isinstance(exc, MemoryError):
        info["message"] = "ran out of memory (MemoryError)"
    return info


def _student_traceback(exc: BaseException, workdir: str) -> str:
    try:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(workdir)]
        lines = traceback.format_list(frames)
        return "".join(lines).replace(workdir + os.sep, "")[-4000:]
    except Exception:  # noqa: BLE001 - a hostile exception may break formatting
        return ""


# Libraries a judge may name as callables (e.g. a function to differentiate numerically).
_IMPORTABLE = {"numpy", "math", "torch", "torch.nn.functional", "autograder.probes"}
# The worker helpers of the exercise this worker serves (autograder.helpers), which the server
# loaded before it forked: set by the server in the child, by ``main`` in a spawned worker.
HELPERS: set[str] = set()


def _importable(name: str) -> bool:
    """One of _IMPORTABLE, a submodule of autograder.probes (the server preloaded them all), or
    this worker's exercise helpers (preloaded too): never a module that must be read from disk."""
    if name in _IMPORTABLE:
        return True
    if name in HELPERS:
        return name in sys.modules
    head, _, leaf = name.rpartition(".")
    return head == "autograder.probes" and leaf.isidentifier() and name in sys.modules


class _Failure(Exception):
    def __init__(self, info: dict) -> None:
        super().__init__(info.get("message"))
        self.info = info


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)[:2000]
    except Exception:  # noqa: BLE001
        return "<unprintable exception>"


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, (tuple, list)):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}[{k!r}]")]
    return [(path, value)]


def _aliases(result: Any, args: tuple) -> list[str]:
    """Paths of result arrays that share memory with an argument (observations, not verdicts)."""
    import numpy as np

    torch = sys.modules.get("torch")
    found = []
    arg_leaves = [v for _, v in _leaves(args)]
    for path, leaf in _leaves(result):
        for arg in arg_leaves:
            try:
                if isinstance(leaf, np.ndarray) and isinstance(arg, np.ndarray) and np.shares_memory(leaf, arg):
                    found.append(path)
                    break
                if torch is not None and isinstance(leaf, torch.Tensor) and isinstance(arg, torch.Tensor):
                    if leaf.untyped_storage().data_ptr() == arg.untyped_storage().data_ptr():
                        found.append(path)
                        break
            except Exception:  # noqa: BLE001
                continue
    return found


# ------------------------------------------------------------------ spawned mode


def main(argv: list[str] | None = None) -> None:
    """Entry of a spawned worker (platforms without fork, or ``--isolation spawn``)."""
    import argparse
    import json
    import socket

    from . import sandbox
    from .config import Limits

    parser = argparse.ArgumentParser()
    parser.add_argument("--connect", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--limits", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--helpers", default="[]")  # [[module name, file], ...]: the exercise's (autograder.helpers)
    parser.add_argument("--hide", default="[]")  # folders the worker must not see
    args = parser.parse_args(argv)
    if sys.path and os.path.realpath(sys.path[0]) == os.path.realpath(os.getcwd()):
        sys.path.pop(0)  # put there by `python -m`: the folder it was started in is no worker's business
    host, port = args.connect.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)))
    sock.sendall(args.token.encode() + b"\n")
    limits = Limits(**json.loads(args.limits))
    from .server import import_helpers, preload

    preload()  # before the memory cap, which is measured on top of the loaded libraries
    HELPERS.update(import_helpers(json.loads(args.helpers)))
    reader = wire.FrameReader()
    msg, buffers = wire.recv(sock, reader)  # the judge sends the files, as to a forked worker
    if msg.get("op") != "activate" or len(buffers) != 1:
        raise SystemExit("expected the submission's files first")
    entered = sandbox.enter_spawned(args.workdir, wire.unpack_files(msg.get("files"), buffers[0]), json.loads(args.hide))
    workdir = args.workdir
    modules = [str(m) for m in msg.get("modules", [])]
    why = "" if sys.platform.startswith("linux") else f" (no fork server on {sys.platform})"
    record = {"process": f"spawned worker{why}", "network": "not isolated", **entered}
    record.update(sandbox.spawned_rlimits(limits, uid_is_own=entered["user"].startswith("unprivileged uid")))
    sys.stdin = io.StringIO()
    wire.send(sock, {"op": "ready", "isolation": record, "pid": os.getpid()})
    Worker(sock, modules, workdir, limits.cpu_seconds, reader).serve()


if __name__ == "__main__":
    main()
