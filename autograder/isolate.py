"""The isolate step: start workers, talk to them, and end them.

A ``Session`` is one submission as the judge sees it. It owns at most one live
worker at a time, replaces it after a crash, enforces the per-call wall time,
the output cap and the per-submission budget, and turns every way a worker can
fail into a plain message (``errors.WorkerDied`` and friends).

Workers come from a launcher:

- ``ForkLauncher`` (Linux): asks the fork server (``server.py``) for a
  hardened child of a process that already imported numpy and torch.
- ``SpawnLauncher`` (macOS, Windows, or ``--isolation spawn``): starts a fresh
  ``python -m autograder.worker`` that connects back over loopback.
- ``InProcessSession``: no isolation at all; the benchmark's physical limit.
"""
from __future__ import annotations

import atexit
import importlib
import math
import os
import secrets
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import errors, sandbox, wire
from .config import Limits

MEMORY_POLL_SECONDS = 0.02  # how often the judge measures a watched worker's memory during a call
PROPORTIONAL_SECONDS = 0.2  # ...and at most how often its proportional size, where the resident one is over
READY_SECONDS = 60.0  # a fork server importing torch on a busy machine


@dataclass
class WorkerConn:
    pid: int
    sock: socket.socket
    out_fd: int
    isolation: dict
    limits: Limits
    launcher: Any
    imported: dict | None = None
    reader: wire.FrameReader = field(default_factory=wire.FrameReader)
    overflowed: int = 0  # the output cap that was exceeded, if any
    copying: int = 0  # 1 from just before a chunk leaves the pipe until the output thread has stored it
    drain: threading.Thread | None = None
    memory_cap: int | None = None  # bytes the worker may add, where the judge watches its memory
    memory_base: tuple[int, int | None] = (0, None)  # (resident, proportional) bytes when it was ready
    memory_checked: float = 0.0  # when its proportional size was last read

    def __post_init__(self) -> None:
        # Non-blocking: a call is one send and one receive, and the judge polls only when the
        # worker is not reading or has not answered yet. A timeout on the socket would cost an
        # ioctl and a poll around every send and receive.
        self.sock.setblocking(False)

    def watch_output(self, session: "Session") -> None:
        """Read the worker's output in a thread: blocked in read(), it costs nothing while the
        worker is quiet, and the reply path stays one blocking recv (no selector loop)."""
        self.drain = threading.Thread(target=self._drain_output, args=(session,), daemon=True)
        self.drain.start()

    def _drain_output(self, session: "Session") -> None:
        try:
            self._copy_output(session)
        finally:
            # This thread owns the pipe: closing it elsewhere while read() blocks here could
            # let the descriptor number be reused under it.
            os.close(self.out_fd)

    def _copy_output(self, session: "Session") -> None:
        total = 0
        waiter = select.poll()
        waiter.register(self.out_fd, select.POLLIN)
        while True:
            try:
                waiter.poll()
                # Raised before the bytes leave the pipe, so that settle_output, which sees
                # the pipe empty, also sees this chunk in flight until it is stored.
                self.copying = 1
                chunk = os.read(self.out_fd, 65536)
            except OSError:
                self.copying = 0
                return
            if not chunk:
                self.copying = 0
                return
            total += len(chunk)
            cap = session.active.output_bytes
            with session.printed_lock:
                room = cap - len(session.printed)
                if room > 0:
                    session.printed += chunk[:room]
            self.copying = 0
            if total > cap and not self.overflowed:
                self.overflowed = cap
                try:
                    self.launcher.kill(self)  # the reply socket then reads EOF
                except Exception:  # noqa: BLE001 - the worker may be gone already
                    pass

    def send(self, frame: bytes, timeout: float) -> None:
        """Send a whole frame; wait only while the worker is not reading, ``timeout`` seconds at most."""
        view = memoryview(frame)
        deadline = None
        while view:
            try:
                view = view[self.sock.send(view):]
            except BlockingIOError:
                if deadline is None:
                    deadline = time.monotonic() + max(timeout, 0.01)
                if not wait_for(self.sock, select.POLLOUT, deadline - time.monotonic()):
                    raise socket.timeout("timed out sending to the worker") from None

    def wait_readable(self, seconds: float) -> bool:
        return wait_for(self.sock, select.POLLIN, seconds)

    def settle_output(self, seconds: float = 0.2) -> None:
        """Wait until the output thread has taken everything already in the pipe.

        The worker flushes its output before each reply, so what the calls so far
        printed is in the pipe by now; the worker need not end for it to be read.
        """
        import fcntl
        import struct
        import termios

        end = time.monotonic() + seconds
        while self.drain is not None and self.drain.is_alive() and time.monotonic() < end:
            try:
                pending = struct.unpack("i", fcntl.ioctl(self.out_fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            except OSError:
                return  # the thread saw the end of the pipe and closed it
            if not pending and self.copying == 0:
                return
            time.sleep(0.001)

    def close(self, wait_for_output: bool = True) -> None:
        """Close the reply socket; the output thread closes the pipe when the worker is gone.

        ``wait_for_output`` waits (briefly) for the last output, for a worker that already ended.
        """
        if self.drain is not None and wait_for_output:
            self.drain.join(timeout=0.2)
        try:
            self.sock.close()
        except OSError:
            pass


def wait_for(sock: socket.socket, events: int, seconds: float) -> bool:
    """Whether ``sock`` becomes ready for ``events`` (or hangs up) within ``seconds``."""
    if seconds <= 0:
        return False
    poller = select.poll()
    poller.register(sock, events)
    return bool(poller.poll(math.ceil(seconds * 1000)))


# ------------------------------------------------------------------ files

# Ingest's bounds: a submission it let through is never refused here.
from .ingest import MAX_FILES, MAX_UNZIPPED_BYTES as MAX_BYTES  # noqa: E402
_SKIPPED_FOLDERS = {"__pycache__", ".git", ".ipynb_checkpoints", "__MACOSX"}


def read_submission(folder: Path, modules: list[str] | None = None) -> dict[str, bytes]:
    """The files a worker gets, by path relative to ``folder``, read here in the judge.

    With ``modules``, only ``<module>.py`` of each: the reference's worker never
    receives its tests, samples or mistake catalogue. Links and special files
    are skipped (a link could point at the solutions), folder links are not
    followed, and the scan is bounded in entries and bytes.
    """
    folder = Path(folder)
    if modules is not None:
        files = {}
        for name in (f"{m}.py" for m in modules):
            data = _read_regular(folder / name)
            if data is not None:
                files[name] = data
        return files
    files, total, seen = {}, 0, 0
    for here, dirs, names in os.walk(folder):  # followlinks=False: a linked folder is not entered
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS)
        seen += len(dirs) + len(names)
        if seen > MAX_FILES:
            raise errors.SubmissionProblem(
                f"the submission holds more than {MAX_FILES} files and folders; submit only your .py files "
                "(and small data files)")
        for name in sorted(names):
            path = Path(here, name)
            data = _read_regular(path)
            if data is None:
                continue
            total += len(data)
            if total > MAX_BYTES:
                raise errors.SubmissionProblem(
                    f"the submission is larger than {MAX_BYTES // 2**20} MiB; remove data files and outputs")
            files[path.relative_to(folder).as_posix()] = data
    return files


def _read_regular(path: Path) -> bytes | None:
    """A regular file's bytes (at most one more than MAX_BYTES), or None for a link, a folder,
    a FIFO, a device or a file gone meanwhile."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None  # a link (ELOOP), or gone
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        return fh.read(MAX_BYTES + 1)


# ------------------------------------------------------------------ launchers


def _cpus() -> list[int] | None:
    """The CPUs this judge may run on; its worker gets the same (see grade.pin_judge)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on macOS or Windows
        return None


def worker_env() -> dict[str, str]:
    """The environment a worker starts from: none of the grader's variables (tokens, paths) leak."""
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT",  # SYSTEMROOT: Windows needs it
            "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "AUTOGRADER_MEMORY")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env



class ForkLauncher:
    """A judge's fork server, started once and shared by all its sessions."""

    _lock = threading.Lock()
    _instance: "ForkLauncher | None" = None

    @classmethod
    def shared(cls) -> "ForkLauncher":
        with cls._lock:
            if cls._instance is None or cls._instance.broken or cls._instance.proc.poll() is not None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # The workers' folders go in here, which is removed even if the server is killed.
        self.scratch = tempfile.mkdtemp(prefix="autograder-server-")
        os.chmod(self.scratch, 0o711)  # a worker under its own uid must reach its own folder
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.server", str(theirs.fileno()), self.scratch],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            env=worker_env(),
            cwd="/",
            # Its own session: a signal sent to the judge's process group (a terminal's Ctrl-C
            # aside, by a worker that found it) does not reach the server, and the reverse.
            start_new_session=True,
        )
        theirs.close()
        self.sock = mine
        self.lock = threading.Lock()
        self.ready_info: dict | None = None
        self.last_id = 0
        self.broken = False
        atexit.register(self.shutdown)

    def _request(self, msg: dict, timeout: float = 30.0) -> tuple[dict, list[int]]:
        """Send one request and return its reply. Each carries an id: a reply that arrives after
        its request gave up can never be taken for the next one's (another student's worker).
        A server that does not answer in time is broken: it is stopped, and replaced for the
        next request."""
        with self.lock:
            if self.broken:
                raise errors.GraderFault("the fork server was stopped after it failed to answer")
            try:
                if self.ready_info is None:
                    self.ready_info, _ = self._reply(None, time.monotonic() + READY_SECONDS)
                self.last_id += 1
                self.sock.settimeout(timeout)
                self.sock.send(wire.pack({**msg, "id": self.last_id}))
                return self._reply(self.last_id, time.monotonic() + timeout)
            except (OSError, EOFError, wire.WireError) as exc:
                self._stop()
                if isinstance(exc, socket.timeout):
                    raise errors.GraderFault(f"the fork server did not answer {msg.get('op')!r} within "
                                             f"{timeout:g} s; it was replaced") from None
                raise errors.GraderFault(f"the fork server failed ({type(exc).__name__}: {exc})") from None

    def _reply(self, want: int | None, deadline: float) -> tuple[dict, list[int]]:
        """The reply with id ``want`` (None: the ready message); late replies to earlier requests
        are dropped, with the descriptors they carried."""
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 20, 4)
            if not data:
                raise EOFError("the fork server exited; run `python -m autograder.server` to see why")
            reply, _ = wire.unpack(data)
            if reply.get("id") == want:
                return reply, fds
            for fd in fds:
                os.close(fd)

    def _stop(self) -> None:
        self.broken = True
        try:
            self.proc.kill()
        except OSError:
            pass
        self._remove_scratch()

    def _remove_scratch(self) -> None:
        try:
            self.proc.wait(timeout=5)  # its workers die with it (their parent-death signal)
        except subprocess.TimeoutExpired:
            return
        shutil.rmtree(self.scratch, ignore_errors=True)

    def warm(self) -> None:
        """Wait until the server has imported its libraries (so timings exclude that)."""
        self._request({"op": "noop"})

    def spawn(self, limits: Limits, hide: list[str], helpers: tuple[tuple[str, str], ...] = ()) -> WorkerConn:
        """A worker; ``helpers``: the exercise's worker helpers, ``(module name, file)`` pairs that the
        server imports before it forks (autograder.helpers): named in the request, read by the server."""
        reply, fds = self._request({"op": "spawn", "limits": limits.as_dict(), "hide": hide, "cpus": _cpus(),
                                    "helpers": [list(h) for h in helpers]})
        if not reply.get("ok"):
            for fd in fds:
                os.close(fd)
            raise errors.GraderFault(f"the fork server could not start a worker: {reply.get('error')}")
        sock = socket.socket(fileno=fds[0])
        return WorkerConn(pid=reply["pid"], sock=sock, out_fd=fds[1], isolation={}, limits=limits, launcher=self)

    # A stopped server's workers died with it (their parent-death signal): nothing left to ask.

    def kill(self, conn: WorkerConn) -> dict:
        if self.broken:
            return {}
        reply, _ = self._request({"op": "kill", "pid": conn.pid})
        return reply.get("status", {})

    def end(self, conn: WorkerConn) -> None:
        if not self.broken:
            self._request({"op": "end", "pid": conn.pid})

    def wait(self, conn: WorkerConn, timeout: float = 1.0) -> dict:
        if self.broken:
            return {}
        reply, _ = self._request({"op": "wait", "pid": conn.pid, "timeout": timeout}, timeout=timeout + 30)
        return reply.get("status", {})

    def shutdown(self) -> None:
        try:
            self.sock.close()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        self._remove_scratch()


class SpawnLauncher:
    """A fresh interpreter per worker: slower to start, but works on every platform."""

    def __init__(self) -> None:
        self.procs: dict[int, subprocess.Popen] = {}
        self.workdirs: dict[int, str] = {}

    def warm(self) -> None:
        pass

    def spawn(self, limits: Limits, hide: list[str], helpers: tuple[tuple[str, str], ...] = ()) -> WorkerConn:
        import json

        # Made and removed here: a worker that is killed cannot clean up after itself.
        workdir = tempfile.mkdtemp(prefix="autograder-worker-")
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(READY_SECONDS)
        token = secrets.token_hex(16)
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.worker", "--connect", f"127.0.0.1:{listener.getsockname()[1]}",
             "--token", token, "--limits", json.dumps(limits.as_dict()), "--workdir", workdir,
             "--helpers", json.dumps([list(h) for h in helpers]), "--hide", json.dumps(hide)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env=worker_env(),
            cwd="/",  # `python -m` puts the working folder on sys.path: not the TA's (the course)
        )
        try:
            while True:
                sock, _ = listener.accept()
                sock.settimeout(10)
                if sock.recv(33) == token.encode() + b"\n":
                    break
                sock.close()
        finally:
            listener.close()
        self.procs[proc.pid] = proc
        self.workdirs[proc.pid] = workdir
        return WorkerConn(pid=proc.pid, sock=sock, out_fd=os.dup(proc.stdout.fileno()), isolation={},
                          limits=limits, launcher=self)

    def kill(self, conn: WorkerConn) -> dict:
        proc = self.procs.pop(conn.pid, None)
        if proc is None:
            return {}
        proc.kill()
        status = _popen_status(proc, killed=True)
        self._remove_workdir(conn.pid)
        return status

    def _remove_workdir(self, pid: int) -> None:
        workdir = self.workdirs.pop(pid, None)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)

    def end(self, conn: WorkerConn) -> None:
        self.kill(conn)

    def wait(self, conn: WorkerConn, timeout: float = 1.0) -> dict:
        proc = self.procs.get(conn.pid)
        if proc is None:
            return {}
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.kill(conn)
        self.procs.pop(conn.pid, None)
        self._remove_workdir(conn.pid)
        return _popen_status(proc)


def _popen_status(proc: subprocess.Popen, killed: bool = False) -> dict:
    code = proc.wait()
    return {"exit_code": code if code >= 0 else None, "signal": -code if code < 0 else None, "killed": killed}


def default_isolation() -> str:
    forced = os.environ.get("AUTOGRADER_ISOLATION")
    if forced:
        return forced
    return "fork" if sys.platform.startswith("linux") else "spawn"


def launcher_for(mode: str):
    if mode == "fork":
        return ForkLauncher.shared()
    if mode == "spawn":
        return SpawnLauncher()
    raise ValueError(f"unknown isolation {mode!r} (fork, spawn or none)")


# ------------------------------------------------------------------ sessions


@dataclass
class Reply:
    raw: dict  # the reply's envelope: "ok", "value", "error", ...
    buffers: list[bytes]


class Session:
    """One submission's connection to its (replaceable) worker."""

    def __init__(self, submission: Path, modules: list[str], limits: Limits, hide: list[str], mode: str,
                 modules_only: bool = False, helpers: tuple[str, str] | None = None) -> None:
        self.submission = Path(submission).resolve()
        self.modules = list(modules)
        self.modules_only = modules_only  # the reference's worker: its modules, never its tests
        self.helpers = helpers  # (module name, file) of the exercise's worker helpers (autograder.helpers)
        self.limits = limits
        self.hide = hide
        self.mode = mode
        self.conn: WorkerConn | None = None
        self.generation = 0
        self.spent = 0.0
        self.isolation: dict = {}
        self.import_failure: errors.SubmissionProblem | None = None
        self.printed = bytearray()  # what the student's code printed, for the report
        self.printed_lock = threading.Lock()
        self.starting: threading.Thread | None = None
        self.active = limits  # the limits of the test now running
        self.release_pending = False
        self._files: tuple[list, bytes] | None = None  # (index, blob), read once
        self._launcher = None

    @property
    def launcher(self):
        # Looked up at each start: a fork server that failed is replaced for the next worker.
        return self._launcher or launcher_for(self.mode)

    @launcher.setter
    def launcher(self, launcher) -> None:
        self._launcher = launcher  # a test's own server

    # ---------------------------------------------------------- lifecycle

    def _worker(self, limits: Limits) -> WorkerConn:
        conn = self.conn
        if conn is not None and conn.limits is limits and conn.imported is not None and self.starting is None:
            return conn  # every call of a test without its own limits: nothing to check
        if self.starting is not None:
            self.starting.join()
            self.starting = None
        if self.conn is not None and self.conn.limits.worker_key() != limits.worker_key():
            self._end_worker()
        if self.conn is None:
            self._start(limits)
        if self.conn.imported is None:
            self._handshake(self.conn)
        return self.conn

    def prestart(self) -> None:
        """Start the worker in the background, so that the server's fork, the sandbox and the
        student's imports overlap the judge's own start-up (collecting tests, the reference)."""

        def start() -> None:
            try:
                self._start(self.limits)
            except (errors.SubmissionProblem, errors.GraderFault):
                pass  # remembered, or met again: reported by the first test that needs the worker

        self.starting = threading.Thread(target=start, daemon=True)
        self.starting.start()

    def _start(self, limits: Limits) -> None:
        """Start a worker, hand it the submission's files and ask it to import them; the replies
        are read later.

        The files go from here (the judge) to the worker over its own socket. The fork server
        never reads them: every worker it forks inherits its memory, freed pages included, so a
        submission could read there what the server read for an earlier one."""
        if self.import_failure is not None:
            raise self.import_failure
        self._check_budget()
        if self._files is None:
            only = self.modules if self.modules_only else None
            try:
                self._files = wire.pack_files(read_submission(self.submission, only))
            except errors.SubmissionProblem as exc:
                self.import_failure = exc
                raise
        index, blob = self._files
        # A spawned worker imports numpy and torch before it reads: not the student's time.
        patience = READY_SECONDS if self.mode == "spawn" else limits.call_seconds
        start = time.monotonic()
        try:
            conn = self.launcher.spawn(limits, self.hide, (self.helpers,) if self.helpers else ())
            conn.watch_output(self)
            conn.send(wire.pack({"op": "activate", "modules": self.modules, "files": index}, [blob]), patience)
            conn.send(wire.pack({"op": "import"}), patience)
        except OSError as exc:
            raise errors.GraderFault(f"a worker could not be started: {exc}") from None
        finally:
            self.spent += time.monotonic() - start
        self.conn = conn
        self.generation += 1
        self.handshake_since = time.monotonic()

    def _handshake(self, conn: WorkerConn) -> None:
        """Read the worker's ready message and its import report; a failure here is remembered."""
        start = time.monotonic()
        # Import time counts from the request, even if the judge was busy meanwhile.
        waited = start - self.handshake_since
        try:
            # A spawned worker imports numpy and torch before it is ready: not the student's time.
            startup = READY_SECONDS if self.mode == "spawn" else conn.limits.call_seconds
            try:
                ready = self._recv(conn, startup, what="starting the sandbox")
            except errors.WorkerDied as exc:
                # No student code has run yet: whatever stopped the worker is the grader's.
                raise errors.GraderFault(f"the worker stopped before it ran any student code: {exc.message}") from None
            if not ready.raw.get("ok", True):
                self._end_worker()
                raise errors.GraderFault(f"the sandbox could not start: {str(ready.raw.get('error'))[:500]}")
            conn.isolation = ready.raw.get("isolation", {})
            self.isolation = conn.isolation
            if sandbox.memory_is_watched(conn.isolation):
                # What the worker holds now (libraries, the keeper) is its starting point.
                base = sandbox.resident_bytes(conn.pid)
                if base is None:
                    raise errors.GraderFault("the worker's memory cannot be measured (no /proc)")
                conn.memory_base = (base, sandbox.resident_bytes(conn.pid, proportional=True))
                conn.memory_cap = conn.limits.memory_mb * 2**20
            reply = self._recv(conn, max(conn.limits.call_seconds - waited, 0.5), what="importing your modules")
        except errors.WorkerDied as exc:
            # A crash or hang at import happens again on every retry: remember it.
            self.import_failure = errors.WorkerDied(f"while importing your modules: {exc.message}")
            raise self.import_failure from None
        finally:
            self.spent += time.monotonic() - start
        conn.imported = reply.raw.get("modules", {})

    def _end_worker(self) -> dict:
        conn, self.conn = self.conn, None
        if conn is None:
            return {}
        status = conn.launcher.kill(conn)
        conn.close()
        return status

    def close(self) -> None:
        """The submission is done: end its worker without waiting for the teardown."""
        if self.starting is not None:
            self.starting.join()
            self.starting = None
        conn, self.conn = self.conn, None
        if conn is not None:
            if sys.platform.startswith("linux"):
                conn.settle_output()
            conn.launcher.end(conn)
            conn.close(wait_for_output=False)  # the teardown finishes off the judge's clock

    def release(self) -> None:
        """Forget the objects kept for the test that just ended (with the next request: no round trip)."""
        self.release_pending = True

    # ---------------------------------------------------------- requests

    def request(self, msg: dict, buffers: list[bytes], limits: Limits, what: object = "") -> Reply:
        self.active = limits
        conn = self._worker(limits)
        if self.release_pending:
            msg = {**msg, "release_first": True}
            self.release_pending = False
        self._check_budget()
        timeout = min(limits.call_seconds, self.limits.submission_seconds - self.spent)
        start = time.monotonic()
        try:
            try:
                conn.send(wire.pack(msg, buffers), timeout)
            except OSError:
                pass  # the worker is gone; _recv reports how it ended
            return self._recv(conn, timeout, what=what)
        finally:
            self.spent += time.monotonic() - start

    def _recv(self, conn: WorkerConn, timeout: float, what: object) -> Reply:
        """The worker's next reply; ends the worker at the deadline. ``what`` (a str, or an object
        whose str() is one) says what the worker was doing, for messages."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                frame = conn.reader.next_frame()
                if frame is not None:
                    return Reply(*frame)
                if conn.reader.fill_ready(conn.sock):
                    continue  # on one CPU the worker usually answers before the judge runs again
                left = deadline - time.monotonic()
                if conn.memory_cap is None:
                    if not conn.wait_readable(left):
                        raise socket.timeout
                elif not conn.wait_readable(min(left, MEMORY_POLL_SECONDS)):
                    self._watch_memory(conn, what)
                    if left <= MEMORY_POLL_SECONDS:
                        raise socket.timeout
            except socket.timeout:
                self._end_worker()
                raise errors.WorkerDied(
                    f"took longer than {timeout:.3g} s {_while(what)}; look for an infinite loop "
                    f"or work that grows too fast (the time limit per call is {conn.limits.call_seconds:g} s)"
                ) from None
            except (EOFError, ConnectionError, OSError, wire.WireError) as exc:
                raise self._died(conn, exc, what) from None

    def _watch_memory(self, conn: WorkerConn, what: object) -> None:
        """Stop a worker whose resident memory went over its limit (where no memory cgroup can be
        made and a GPU rules out an address-space limit)."""
        held = sandbox.resident_bytes(conn.pid)
        if held is None or held - conn.memory_base[0] <= conn.memory_cap:
            return
        # Resident sizes count a page shared by a fork once per process: a worker that forked may
        # hold far less than they add up to. Its proportional size decides (a costly read: at
        # most every PROPORTIONAL_SECONDS).
        if conn.memory_base[1] is not None:
            now = time.monotonic()
            if now - conn.memory_checked < PROPORTIONAL_SECONDS:
                return
            conn.memory_checked = now
            held = sandbox.resident_bytes(conn.pid, proportional=True)
            if held is None or held - conn.memory_base[1] <= conn.memory_cap:
                return
        self._end_worker()
        raise errors.WorkerDied(f"used more than the memory limit of {conn.limits.memory_mb} MiB "
                                f"and was stopped {_while(what)}")

    def _died(self, conn: WorkerConn, exc: BaseException, what: object) -> errors.WorkerDied:
        if isinstance(exc, wire.WireError):
            self._end_worker()
            return errors.WorkerDied(f"sent a reply the grader cannot read ({exc}) {_while(what)}")
        status = conn.launcher.wait(conn, timeout=1.0)
        self.conn = None
        conn.close()
        if conn.overflowed:
            return errors.WorkerDied(f"printed more than {conn.overflowed} bytes {_while(what)}; "
                                     "remove print statements from loops")
        return errors.WorkerDied(_describe_exit(status, conn.limits) + " " + _while(what))

    def _check_budget(self) -> None:
        if self.spent >= self.limits.submission_seconds:
            self._end_worker()
            raise errors.BudgetExhausted(
                f"not run: this submission used up its time budget of {self.limits.submission_seconds:g} s "
                "in earlier tests (look for code that hangs or is very slow)"
            )


def _while(what: object) -> str:
    return f"while {what}" if what else ""


def _describe_exit(status: dict, limits: Limits) -> str:
    sig = status.get("signal")
    code = status.get("exit_code")
    if status.get("oom_killed"):
        return f"used more than the memory limit of {limits.memory_mb} MiB and was stopped"
    if sig == getattr(signal, "SIGXCPU", -1):
        return f"used more than {limits.cpu_seconds:g} s of CPU time and was stopped"
    if sig == getattr(signal, "SIGXFSZ", -1):
        return f"wrote a file larger than {limits.file_size_mb} MiB and was stopped"
    if sig == signal.SIGKILL:
        return f"was killed (probably over the memory limit of {limits.memory_mb} MiB)"
    if sig == signal.SIGSEGV:
        return "crashed with a segmentation fault"
    if sig is not None:
        return f"was ended by signal {signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig}"
    if code is not None:
        return f"ended the process with exit code {code} (os._exit, or a crash in a library)"
    return "stopped unexpectedly"


class InProcessSession:
    """No isolation: the submission is imported into the judge. For benchmarks and trusted code only."""

    mode = "none"

    def __init__(self, submission: Path, modules: list[str], limits: Limits,
                 helpers: tuple[str, str] | None = None) -> None:
        self.submission = Path(submission)
        self.modules_names = list(modules)
        self.helpers = helpers
        if helpers is not None:
            from . import helpers as exercise_helpers

            exercise_helpers.load(*helpers)
        self.limits = limits
        self.modules: dict[str, Any] = {}
        self.import_errors: dict[str, BaseException] = {}
        self.isolation = {"process": "in-process (no isolation)"}
        self.generation = 1
        self.printed = bytearray()
        sys.path.insert(0, str(self.submission))
        try:
            for name in modules:
                sys.modules.pop(name, None)
                try:
                    self.modules[name] = importlib.import_module(name)
                except BaseException as exc:  # noqa: BLE001
                    self.import_errors[name] = exc
        finally:
            sys.path.remove(str(self.submission))
            for name in modules:
                sys.modules.pop(name, None)

    def prestart(self) -> None:
        pass  # the modules were imported in __init__

    def close(self) -> None:
        pass

    def release(self) -> None:
        pass
