"""Hardening a freshly forked worker before it imports any student code.

The worker is forked from a server that already imported numpy and torch, so
the sandbox cannot be an external launcher such as bubblewrap (that would
``exec`` and lose the preloaded libraries). It applies the same kernel
primitives to itself instead, each one optional and detected at run time:

========== =========================================== ===========================
limit      preferred mechanism                          fallback
========== =========================================== ===========================
network    network namespace (empty: no interfaces)     seccomp denies IP sockets
files      private mount namespace: a fresh tmpfs /tmp  none (recorded as such)
           holding a copy of the submission; solutions,
           hidden tests, other submissions and results
           covered by empty read-only tmpfs mounts
user       a uid of its own (1000000 + pid) when root;  same user
           a user namespace otherwise
memory     cgroup memory limit                          RLIMIT_AS (virtual size)
processes  cgroup pids limit                            RLIMIT_NPROC (own uid only)
cpu        RLIMIT_CPU (all threads)
file size  RLIMIT_FSIZE
syscalls   seccomp: no ptrace, mount, unshare, bpf, ... unavailable
========== =========================================== ===========================

``enter`` returns the isolation record that every result carries.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import os
import re
import signal
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .config import Limits

try:
    import resource
except ImportError:  # Windows: no rlimits; the spawned worker records that
    resource = None

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACE_FLAGS = (CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET)
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
UID_BASE = 1_000_000
WORKDIR = "/tmp/submission"

_libc = None


def _lib():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


@dataclass
class Plan:
    """What the judge asks of one worker. Travels to the server as JSON."""

    limits: Limits
    hide: list[str] = field(default_factory=list)  # folders the worker must not see
    cgroups: dict[str, str] = field(default_factory=dict)  # controller -> cgroup dir, made by the server
    cpus: list[int] | None = None  # the judge's CPUs, which the worker shares
    scratch: str | None = None  # where a worker without a private /tmp makes its workdir (the server removes it)


# ----------------------------------------------------------------- cgroups


class Cgroups:
    """Per-worker cgroups for memory, processes and CPU, managed by the (root) server.

    Supports the unified hierarchy (v2) and the separate v1 controllers. Anything
    missing or not writable simply yields no cgroup, and the rlimit fallbacks apply.
    CPU is limited per worker, not per process: a quota of one CPU (``cpu``) and
    the judge's CPUs only (``cpuset``), so however many processes a submission
    starts, together they use one CPU of its own judge's and slow no neighbour.
    """

    ROOT = Path("/sys/fs/cgroup")
    CONTROLLERS = ("memory", "pids", "cpu", "cpuset")
    PERIOD_US = 100_000

    def __init__(self) -> None:
        self.available: dict[str, Path] = {}
        self.version = 0
        if os.name != "posix" or os.geteuid() != 0:
            return
        v2 = self.ROOT / "cgroup.controllers"
        if v2.exists():
            base, enabled = self._v2_base()
            if base is not None:
                self.available = {c: base for c in enabled}
                self.version = 2
            return
        for controller in self.CONTROLLERS:
            base = self.ROOT / controller / "autograder"
            try:
                base.mkdir(exist_ok=True)
                if controller == "cpuset":  # a v1 cpuset takes no task until its CPUs and nodes are set
                    for name in ("cpuset.cpus", "cpuset.mems"):
                        if not (base / name).read_text().strip():
                            (base / name).write_text((base.parent / name).read_text())
                self.available[controller] = base
            except OSError:
                continue
        if self.available:
            self.version = 1

    def _v2_base(self) -> tuple[Path | None, list[str]]:
        try:
            own = Path("/proc/self/cgroup").read_text().strip().splitlines()[-1].split("::", 1)[1]
            base = self.ROOT / own.lstrip("/") / "autograder"
            # A v2 leaf with processes cannot enable controllers for children; use a sibling.
            base.mkdir(exist_ok=True)
        except (OSError, IndexError):
            return None, []
        enabled = []
        for controller in self.CONTROLLERS:
            try:
                (base / "cgroup.subtree_control").write_text(f"+{controller}")
                enabled.append(controller)
            except OSError:
                continue  # not delegated here: its fallback applies
        return (base if enabled else None), enabled

    def create(self, name: str, limits: Limits, cpus: list[int] | None = None) -> dict[str, str]:
        made: dict[str, str] = {}
        for controller, base in self.available.items():
            path = base / name
            try:
                path.mkdir(exist_ok=True)
                for file, value in self._settings(controller, limits, cpus, base):
                    if file == "memory.swap.max" and not (path / file).exists():
                        continue  # no swap accounting on this machine
                    (path / file).write_text(value)
                made[controller] = str(path)
            except OSError:
                continue
        return made

    def _settings(self, controller: str, limits: Limits, cpus: list[int] | None, base: Path) -> list[tuple[str, str]]:
        v2 = self.version == 2
        if controller == "memory":
            limit = str(limits.memory_mb * 2**20)
            return [("memory.max", limit), ("memory.swap.max", "0")] if v2 else [("memory.limit_in_bytes", limit)]
        if controller == "pids":
            return [("pids.max", str(limits.processes))]
        if controller == "cpu":
            if v2:
                return [("cpu.max", f"{self.PERIOD_US} {self.PERIOD_US}")]
            return [("cpu.cfs_period_us", str(self.PERIOD_US)), ("cpu.cfs_quota_us", str(self.PERIOD_US))]
        # The judge's CPUs: a worker runs only while its judge waits, so they share them.
        allowed = ",".join(str(c) for c in cpus) if cpus else _read(base / ("cpuset.cpus.effective" if v2 else "cpuset.cpus"))
        return [("cpuset.cpus", allowed)] + ([] if v2 else [("cpuset.mems", _read(base / "cpuset.mems"))])

    @staticmethod
    def share_cpus(paths: dict[str, str], cpus: list[int] | None) -> None:
        """Move a worker's cpuset to its judge's CPUs (a spare warmed up on every CPU)."""
        if cpus and "cpuset" in paths:
            try:
                Path(paths["cpuset"], "cpuset.cpus").write_text(",".join(str(c) for c in cpus))
            except OSError:
                pass  # outside the allowed set: the worker's own affinity still applies

    @staticmethod
    def describe(paths: dict[str, str]) -> str | None:
        """The CPU limits in force, for the isolation record."""
        parts = []
        if "cpu" in paths:
            parts.append("cgroup quota of 1 CPU for all its processes together")
        if "cpuset" in paths:
            parts.append("cgroup cpuset of its judge's CPUs")
        return "; ".join(parts) or None

    @staticmethod
    def join(paths: dict[str, str]) -> None:
        for path in set(paths.values()):
            Path(path, "cgroup.procs").write_text(str(os.getpid()))

    @staticmethod
    def oom_killed(paths: dict[str, str]) -> bool:
        path = paths.get("memory")
        if not path:
            return False
        for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
            try:
                for line in Path(path, name).read_text().splitlines():
                    k, _, v = line.partition(" ")
                    if k == key and int(v) > 0:
                        return True
            except (OSError, ValueError):
                continue
        return False

    @staticmethod
    def pids(paths: dict[str, str]) -> list[int]:
        found: set[int] = set()
        for path in set(paths.values()):
            try:
                found.update(int(p) for p in Path(path, "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                continue
        return sorted(found)

    @staticmethod
    def remove(paths: dict[str, str]) -> None:
        for path in set(paths.values()):
            try:
                os.rmdir(path)
            except OSError:
                pass


def _read(path: Path) -> str:
    return path.read_text().strip()


# ----------------------------------------------------------------- entering


def enter(plan: Plan) -> tuple[str, dict]:
    """Harden the current (freshly forked) process; returns (workdir, isolation record).

    With namespaces, this forks once: the process that called it stays outside
    the new PID namespace as the worker's keeper (the process the server knows,
    waits for and kills) and never returns; its child, the first process of the
    namespace, returns as the worker.

    The submission's files come afterwards (``place_files``), into the private
    /tmp, once everything else is hidden: a spare worker enters its sandbox
    before it knows which submission it will serve.
    """
    limits = plan.limits
    record: dict[str, str] = {"process": "forked worker"}
    os.setsid()
    is_root = os.geteuid() == 0
    uid = UID_BASE + os.getpid() if is_root else os.getuid()
    # Counted now: the worker's own /proc will show only its own processes.
    already_running = 0 if is_root else _user_process_count()

    if plan.cgroups:
        Cgroups.join(plan.cgroups)

    namespaces = _unshare(is_root)
    if "pid" in namespaces:
        _become_first_process()
    record["network"] = "network namespace with no interfaces" if namespaces else "not isolated"
    record["ipc"] = ("an IPC namespace of its own (System V IPC, POSIX message queues)" if "ipc" in namespaces
                     else "shared with the machine (no IPC namespace)")
    record["pid_namespace"] = ("a PID namespace of its own: no process outside it can be seen or signalled"
                               if "pid" in namespaces else "none: processes of the grader's user can be signalled")
    workdir = WORKDIR
    if namespaces:
        owner = uid if is_root else os.getuid()
        try:
            visible, record["processes_visible"], record["devices"] = _private_root(owner, limits)
            record["filesystem"] = ("private root: only " + ", ".join(visible)
                                    + " and a private /tmp are visible, read-only")
        except OSError as root_exc:
            # Without pivot_root, hide what the judge named instead (a deny-list, less complete).
            try:
                covered, record["devices"] = _private_mounts(plan, owner, limits)
                record["filesystem"] = (f"private mount namespace (no private root: {root_exc}): private /tmp; "
                                        + (", ".join(covered) + " hidden" if covered else "nothing else hidden"))
            except OSError as exc:
                record["filesystem"] = f"not isolated ({exc})"
                workdir = _fallback_workdir(plan, uid if is_root else None)
    else:
        record["filesystem"] = "not isolated (no mount namespace)"
        record["devices"] = "the machine's /dev and /dev/shm (no mount namespace)"
        workdir = _fallback_workdir(plan, uid if is_root else None)

    record.update(_rlimits(limits, plan.cgroups, uid_is_own=is_root, already_running=already_running))
    record["gpu"] = cap_gpu_memory(limits) or "none on this machine"

    if is_root:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        record["user"] = f"unprivileged uid {uid}"
    else:
        record["user"] = "user namespace, same uid outside" if namespaces else "same user as the grader"
    _die_with_parent()  # after setuid, which clears it

    os.makedirs(workdir, exist_ok=True)
    os.environ.clear()
    os.environ.update(_clean_env(workdir))
    os.chdir(workdir)
    if not record["filesystem"].startswith("private root"):
        record["filesystem"] = _hide_with_landlock(workdir, plan.hide, record["filesystem"])
    return workdir, record


def _hide_with_landlock(workdir: str, hide: list[str], without: str) -> str:
    """Where the machine's files are in sight, an allow-list of what may be opened hides the rest.
    Returns the isolation record's words for the file system; `without`: what they are without it."""
    os.environ["TMPDIR"] = workdir  # the machine's /tmp is not on the list
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # cached by the server, before the change
    try:
        return f"{_landlock(workdir, hide)} [{without}]"
    except OSError as exc:
        return f"{without}; no Landlock ({exc.strerror or exc})"


# Landlock (Linux 5.13 and later) restricts which files a process may open, with no namespace
# and no privilege: what the worker has where the kernel or a container refuses namespaces.
# From <linux/landlock.h>; the system call numbers are the same on every architecture.
LANDLOCK_CREATE_RULESET, LANDLOCK_ADD_RULE, LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_READ = 0b1101  # EXECUTE, READ_FILE, READ_DIR
LANDLOCK_READ_DIR = 0b1000
LANDLOCK_DEVICE = 0b0110 | (1 << 14)  # READ_FILE, WRITE_FILE, TRUNCATE (open(os.devnull, "w")): no new node
LANDLOCK_MAKE_DEVICE = (1 << 6) | (1 << 11)  # MAKE_CHAR, MAKE_BLOCK: never, not even in its own folder
LANDLOCK_HANDLED = {1: (1 << 13) - 1, 2: (1 << 14) - 1}  # by ABI: 13 rights, then REFER; 3+: TRUNCATE too
LANDLOCK_TCP = 0b11  # ABI 4: bind and connect, denied (a spawned worker has no seccomp filter)
LANDLOCK_SCOPED = 0b11  # ABI 6: no signal to and no abstract socket of a process outside the domain
PR_SET_NO_NEW_PRIVS = 38


def _landlock(workdir: str, hide: list[str]) -> str:
    """Let this process (and what it starts) read only the system folders, the Python installation
    and /proc, write only `workdir`, and open only the usual devices; nothing at, above or inside a
    folder in `hide`. Returns the isolation record's words; raises OSError where Landlock is unavailable."""
    if not sys.platform.startswith("linux"):
        raise OSError(errno.ENOSYS, "Landlock is Linux's")
    libc = _lib()
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    if abi < 1:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    handled = LANDLOCK_HANDLED.get(abi, (1 << 15) - 1)
    fields = (handled, LANDLOCK_TCP if abi >= 4 else 0, LANDLOCK_SCOPED if abi >= 6 else 0)
    attr = struct.pack("=QQQ", *fields) if abi >= 6 else struct.pack("=QQ", *fields[:2]) if abi >= 4 \
        else struct.pack("=Q", handled)
    ruleset = libc.syscall(LANDLOCK_CREATE_RULESET, ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    _check(0 if ruleset >= 0 else -1, "landlock_create_ruleset")
    hidden = [os.path.realpath(h).rstrip(os.sep) for h in hide]

    def clear(path: str) -> bool:  # holds no hidden folder and lies in none
        p = path.rstrip(os.sep)
        return not any(h == p or h.startswith(p + os.sep) or p.startswith(h + os.sep) for h in hidden)

    rules = [(p, LANDLOCK_READ) for p in (*SYSTEM_DIRS, "/proc", *_python_paths()) if clear(p)]
    # The devices a private /dev would hold (no /dev/shm: the grader's own semaphores live there).
    devices = [f"/dev/{n}" for n in DEVICES] + sorted(glob.glob("/dev/*"))
    rules += [(d, (LANDLOCK_DEVICE | (LANDLOCK_READ_DIR if os.path.isdir(d) else 0)) & handled)
              for d in devices if d[5:] in DEVICES or d[5:].startswith(GPU_DEVICES)]
    rules.append((workdir, handled & ~LANDLOCK_MAKE_DEVICE))
    try:
        for path, access in rules:
            if not os.path.exists(path):
                continue
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = struct.pack("=Qi", access, fd)
                _check(libc.syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.c_char_p(rule),
                                    ctypes.c_uint32(0)), f"landlock rule for {path}")
            finally:
                os.close(fd)
        _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(libc.syscall(LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return (f"Landlock (ABI {abi}): only system folders, the Python installation and /proc can be read, "
            "only its own folder written, only the usual devices opened"
            + ("; no TCP" if abi >= 4 else "") + ("; no signal to a process outside" if abi >= 6 else ""))


def lock_down(record: dict, cpus: list[int] | None) -> None:
    """The last step before the worker waits for its files: the judge's CPUs, then the
    seccomp filter, which denies any later change of them.

    Apart from ``enter`` so that a spare worker, which runs no student code until its files
    come, warms up on every CPU and not on its future judge's."""
    _share_cpus(cpus)
    grader_files_in_reach = not (record["user"].startswith("unprivileged uid")
                                 or record["filesystem"].startswith("private root"))
    record["syscalls"] = _seccomp(_METADATA_SYSCALLS if grader_files_in_reach else ())
    if record.get("network") == "not isolated" and record["syscalls"].startswith("seccomp"):
        record["network"] = "IP sockets denied by seccomp"


def place_files(workdir: str, files: dict[str, bytes]) -> None:
    """Write the submission (read into memory by the server) into the worker's folder."""
    for rel, data in files.items():
        target = os.path.join(workdir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)


def _unshare(is_root: bool) -> set[str]:
    """New namespaces for this process (and, for PID, its children): the names of those made.

    Mount, network, IPC and PID together, as root or inside a new user namespace
    (unprivileged); where the kernel refuses PID and IPC, mount and network alone."""
    if not sys.platform.startswith("linux"):
        return set()
    libc = _lib()
    base = CLONE_NEWNS | CLONE_NEWNET | (0 if is_root else CLONE_NEWUSER)
    for extra, names in ((CLONE_NEWIPC | CLONE_NEWPID, {"mount", "network", "ipc", "pid"}), (0, {"mount", "network"})):
        if libc.unshare(base | extra) == 0:
            break
    else:
        return set()
    if not is_root:
        uid, gid = os.getuid(), os.getgid()
        try:
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
            Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
        except OSError:
            return set()
    return names


def _become_first_process() -> None:
    """Fork into the PID namespace made by ``_unshare``; only the child returns.

    The child is the namespace's first process (its PID 1): it cannot see or
    signal any process outside (the judge, the server, other workers), and
    when it ends the kernel kills everything it started. This process stays
    outside as its keeper and ends the way it ends, so that the server's wait
    reports the worker's own exit code or signal.
    """
    child = os.fork()
    if child == 0:
        _die_with_parent()
        # The first process of a namespace ignores signals it has no handler for, the CPU
        # limit's SIGXCPU included: end as that signal would, through the keeper.
        signal.signal(signal.SIGXCPU, _ended_by_cpu_limit)
        return
    # The keeper holds no descriptor of the worker's: its socket and output pipe must close
    # when the worker ends, so that the judge sees it go.
    os.closerange(0, 1 << 16)
    _die_with_parent()
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 else (code - 128 if code - 128 == signal.SIGXCPU else 0)
    if sig:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(code if code >= 0 else 1)


def _ended_by_cpu_limit(signum, frame) -> None:
    os._exit(128 + signal.SIGXCPU)


def _die_with_parent() -> None:
    """SIGKILL this process when its parent ends (a killed fork server leaves no worker behind)."""
    PR_SET_PDEATHSIG = 1
    parent = os.getppid()
    _lib().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def _share_cpus(cpus: list[int] | None) -> None:
    """Run on the judge's CPUs: calls are synchronous, so judge and worker never run at the
    same time, and a hand-off on one CPU spares a cross-CPU wake-up and keeps caches warm.
    Set before the seccomp filter, which denies the worker any later change."""
    if cpus:
        try:
            os.sched_setaffinity(0, cpus)
        except (OSError, ValueError, AttributeError):
            pass


# What a worker may see of the machine besides the Python installation: the system's
# programs, libraries and configuration, and /sys. /dev and /proc are its own.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
MOUNT_SETATTR = {"x86_64": 442, "aarch64": 442}
MS_REMOUNT = 0x20
MNT_DETACH = 2
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2
# The devices a worker gets in its own /dev: the harmless ones every program expects, and the
# GPU's (CUDA needs its nvidia* nodes; ROCm kfd and dri). No disks, terminals, kmsg, kvm, vsock.
DEVICES = ("null", "zero", "full", "random", "urandom")
GPU_DEVICES = ("nvidia", "kfd", "dri")


@contextlib.contextmanager
def _held(paths: list[str]):
    """{path: descriptor} for folders opened now, before a tmpfs may cover them; closed after."""
    fds: dict[str, int] = {}
    try:
        for path in paths:
            fds[path] = os.open(path, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
        yield fds
    finally:
        for fd in fds.values():
            os.close(fd)


def _bind_held(libc, fd: int, target: str, what: str, read_only: bool) -> None:
    """Bind the folder behind ``fd`` at ``target``: reachable even where its own path is covered."""
    _check(libc.mount(f"/proc/self/fd/{fd}".encode(), target.encode(), None, MS_BIND | MS_REC, None), what)
    if read_only:
        _read_only_tree(libc, target)


def _read_only_tree(libc, target: str) -> None:
    """Make ``target`` and every mount below it read-only and nosuid.

    A bind with MS_REC brings the mounts below along (/sys brings the cgroup
    filesystems), and remounting the top read-only leaves those writable:
    mount_setattr(AT_RECURSIVE) covers them all at once (Linux 5.12); before it,
    each mount below is remounted in turn.
    """
    import platform

    number = MOUNT_SETATTR.get(platform.machine())
    attr = (ctypes.c_uint64 * 4)(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    if number is not None and libc.syscall(number, -100, target.encode(), AT_RECURSIVE,
                                           ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
        return
    for mount in [target] + _mounts_below(target):
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | _locked_flags(mount)
        _check(libc.mount(None, mount.encode(), None, flags, None), f"read-only {mount}")


def _mounts_below(target: str) -> list[str]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(target.rstrip("/") + "/"):
            found.append(point)
    return sorted(found)


def _locked_flags(mount: str) -> int:
    """The nodev/noexec a mount already has: a remount in a user namespace must keep them."""
    flags = 0
    st = os.statvfs(mount)
    if st.f_flag & os.ST_NODEV:
        flags |= MS_NODEV
    if st.f_flag & os.ST_NOEXEC:
        flags |= MS_NOEXEC
    return flags


def _private_root(uid: int, limits: Limits) -> tuple[list[str], str, str]:
    """Switch to a new root that holds only allowed folders (an allow-list, as bubblewrap builds).

    Everything else on the machine (course folders, other students' files, any
    other copy of the solutions) simply does not exist for the worker. Returns
    the folders made visible, what the worker's /proc shows and what its /dev holds.
    """
    import platform

    libc = _lib()
    number = PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise OSError(errno.ENOSYS, f"pivot_root number unknown on {platform.machine()}")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    # Found and held open before the scratch tmpfs covers /tmp: the project and its virtual
    # environment may live under /tmp, and are then bound from these descriptors.
    wanted = [p for p in SYSTEM_DIRS if os.path.lexists(p)] + _python_paths()
    links = {p: os.readlink(p) for p in wanted if os.path.islink(p)}
    with _held([p for p in wanted if p not in links]) as held:
        # Build the new root in a small tmpfs that nobody else can see.
        _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=0700"), "scratch /tmp")
        new = "/tmp/root"
        os.mkdir(new)
        _check(libc.mount(b"tmpfs", new.encode(), b"tmpfs", MS_NOSUID, b"size=1m,mode=0755"), "new root")
        # The worker's own /tmp first: folders kept from under the machine's /tmp go inside it.
        os.mkdir(new + "/tmp")
        _check(libc.mount(b"tmpfs", (new + "/tmp").encode(), b"tmpfs", MS_NOSUID | MS_NODEV, _tmp_options(uid, limits)),
               "private /tmp")
        visible = []
        for path in wanted:
            target = new + path
            if os.path.lexists(target):
                continue  # already inside a folder bound before
            if path in links:
                os.symlink(links[path], target)  # merged /usr: /bin -> usr/bin
                continue
            os.makedirs(target, mode=0o755)
            _bind_held(libc, held[path], target, f"bind {path}", read_only=True)
            visible.append(path)
    devices = _private_dev(libc, new + "/dev", uid)
    os.makedirs(new + "/proc", mode=0o755)
    own_proc = _mount_own_proc(libc, new + "/proc")
    if not own_proc:
        _check(libc.mount(b"/proc", (new + "/proc").encode(), None, MS_BIND | MS_REC, None), "bind /proc")
    os.mkdir(new + "/.old")
    if libc.syscall(number, new.encode(), (new + "/.old").encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pivot_root: {os.strerror(err)}")
    os.chdir("/")
    _check(libc.umount2(b"/.old", MNT_DETACH), "detach the old root")
    os.rmdir("/.old")
    proc = ("own processes only (a procfs of its own, hidepid=invisible)" if own_proc
            else "every process of the machine (the host's /proc)")
    return ["system folders"] + [p for p in visible if p not in SYSTEM_DIRS], proc, devices


def _tmp_options(uid: int, limits: Limits) -> bytes:
    # Room for the largest submission the judge sends (64 MiB) and what the worker writes.
    return f"size={max(128, 4 * limits.file_size_mb)}m,mode=0755,uid={uid},gid={uid}".encode()


def _private_dev(libc, target: str, uid: int) -> str:
    """A /dev of the worker's own: a few device nodes bound from the machine's, a private
    /dev/shm, and the usual links. Returns what it holds, for the isolation record."""
    os.makedirs(target, mode=0o755)
    _check(libc.mount(b"tmpfs", target.encode(), b"tmpfs", MS_NOSUID | MS_NOEXEC, b"size=64k,mode=0755"), "own /dev")
    names = [n for n in DEVICES if os.path.exists("/dev/" + n)]
    names += sorted(n for n in os.listdir("/dev") if n.startswith(GPU_DEVICES))
    for name in names:
        source, node = "/dev/" + name, f"{target}/{name}"
        if os.path.isdir(source):
            os.mkdir(node)
        else:
            open(node, "w").close()
        _check(libc.mount(source.encode(), node.encode(), None, MS_BIND | MS_REC | MS_NOSUID, None), f"bind {source}")
    os.mkdir(target + "/shm")
    _check(libc.mount(b"tmpfs", (target + "/shm").encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                      f"size=64m,mode=1777,uid={uid},gid={uid}".encode()), "private /dev/shm")
    for link, points_to in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                            ("stderr", "/proc/self/fd/2")):
        os.symlink(points_to, f"{target}/{link}")
    _check(libc.mount(None, target.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, None),
           "read-only /dev")
    return f"own /dev ({', '.join(names)}) and a private /dev/shm"


def _mount_own_proc(libc, target: str) -> bool:
    """A procfs of its own that lists only the worker's own processes.

    In its own PID namespace the worker sees only the processes it started; the
    uid is its own too, so ``hidepid=invisible`` hides every other process even
    without one. Each procfs mount has its own options only since Linux 5.8;
    before, they would change the host's /proc too, so older kernels keep the host's.
    """
    import platform
    import re

    release = tuple(int(x) for x in re.findall(r"\d+", platform.release())[:2])
    if release < (5, 8):
        return False
    return libc.mount(b"proc", target.encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"hidepid=invisible") == 0


def _private_mounts(plan: Plan, uid: int, limits: Limits) -> tuple[list[str], str]:
    """A private /tmp and /dev/shm, the hidden folders covered, and the Python installation kept
    reachable. Returns the folders covered and what the worker's /dev is."""
    libc = _lib()
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    keep = _python_paths()  # before /tmp is covered: the project may live under /tmp
    covers = {os.path.realpath(p) for p in plan.hide if os.path.isdir(p)}
    if uid != os.getuid():
        # A worker with a uid of its own cannot cross e.g. /root (mode 0700) to reach
        # a Python installed under it: cover such folders and bind the installation back.
        covers |= {a for p in keep for a in _ancestors(p) if not os.stat(a).st_mode & 0o001}
    # A hidden folder inside a kept one is still hidden; a kept folder inside a hidden one is bound back.
    covers = {c for c in covers if c not in ("/", "/tmp") and not c.startswith("/tmp/") and c not in keep}
    outermost = sorted(c for c in covers if not any(c.startswith(o + os.sep) for o in covers))
    # Everything the grader staged in /tmp (pytest's tmp folders, other submissions) vanishes, and
    # so do the hidden folders, but for the Python installation and this package under them.
    covered = [k for k in keep if k.startswith("/tmp/") or any(k.startswith(c + os.sep) for c in outermost)]
    with _held(covered) as held:
        _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, _tmp_options(uid, limits)),
               "mount private /tmp")
        for cover in outermost:
            _check(libc.mount(b"tmpfs", cover.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=0755"),
                   f"hide {cover}")
        for path, fd in sorted(held.items()):
            os.makedirs(path, mode=0o755, exist_ok=True)
            _bind_held(libc, fd, path, f"keep {path} visible", read_only=path.startswith("/tmp/"))
    devices = "the machine's /dev"
    if os.path.isdir("/dev/shm"):
        _check(libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV,
                          f"size=64m,mode=1777,uid={uid},gid={uid}".encode()), "private /dev/shm")
        devices += " with a private /dev/shm"
    return outermost, devices


def _python_paths() -> list[str]:
    """Folders the worker must keep reading: the interpreter, stdlib, site-packages, this package."""
    import site

    paths = [sys.prefix, sys.base_prefix, os.path.dirname(os.__file__), os.path.dirname(__file__)]
    paths += site.getsitepackages() + [p for p in sys.path if p]
    real = {os.path.realpath(p) for p in paths if p and os.path.isdir(p)}
    real.discard("/")
    # Keep only the outermost of nested folders.
    return sorted(p for p in real if not any(p.startswith(q + os.sep) for q in real))


def _ancestors(path: str) -> list[str]:
    parts = path.strip(os.sep).split(os.sep)
    return [os.sep + os.sep.join(parts[:i]) for i in range(1, len(parts))]


def _fallback_workdir(plan: Plan, owner: int | None) -> str:
    """The server's scratch folder for this worker, which it removes when the worker ends."""
    import tempfile

    if plan.scratch:
        os.mkdir(plan.scratch, 0o700)  # in the judge's folder, which only the judge's user can write
        workdir = plan.scratch
    else:
        workdir = tempfile.mkdtemp(prefix="autograder-worker-")
    if owner is not None:
        os.chown(workdir, owner, owner)  # the worker writes its files there after dropping root
    return workdir


def enter_spawned(workdir: str, files: dict[str, bytes], hide: list[str]) -> dict[str, str]:
    """The spawned-worker fallback: a private working copy (made and removed by the judge), on
    Linux Landlock's allow-list, and when root a uid of its own. Returns the record's words for them."""
    place_files(workdir, files)
    os.chdir(workdir)
    filesystem = _hide_with_landlock(workdir, hide, "not isolated")  # as root: it opens the rules' folders
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return {"filesystem": filesystem, "user": "same user as the grader"}
    closed = [a for a in _ancestors(workdir) if not os.stat(a).st_mode & 0o001]
    if closed:  # another uid could not reach its own files
        return {"filesystem": filesystem, "user": f"root, as the grader ({closed[-1]} is closed to other users)"}
    uid = UID_BASE + os.getpid()
    for folder, _, names in os.walk(workdir):
        for path in (folder, *(os.path.join(folder, n) for n in names)):
            os.chown(path, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    return {"filesystem": filesystem, "user": f"unprivileged uid {uid}"}


def spawned_rlimits(limits: Limits, uid_is_own: bool) -> dict[str, str]:
    if resource is None:
        return {k: "not enforced on this platform" for k in ("cpu", "file_size", "memory", "processes")} | {
            "output": f"{limits.output_bytes} bytes, counted by the judge",
            "wall_time": f"{limits.call_seconds:g} s per call, enforced by the judge",
        }
    return _rlimits(limits, {}, uid_is_own=uid_is_own) | {"gpu": cap_gpu_memory(limits) or "none on this machine"}


MEMORY_WATCHED = "resident memory watched by the judge"


def memory_watched() -> str | None:
    """Why the worker's memory is watched by the judge instead of capped by RLIMIT_AS (used where
    no memory cgroup can be made), or None. CUDA reserves far more address space than it uses, so
    an address-space limit stops it from starting: where a GPU is present, the judge measures
    the worker's resident memory instead. ``AUTOGRADER_MEMORY=watch`` asks for the watch anywhere."""
    if os.environ.get("AUTOGRADER_MEMORY") == "watch":
        return "asked for by AUTOGRADER_MEMORY=watch"
    if gpu_nodes():
        return "a GPU is present, and CUDA cannot start under an address-space limit"
    return None


def memory_is_watched(record: dict) -> bool:
    """Whether a worker's isolation record says the judge must watch its memory."""
    return record.get("memory", "").startswith(MEMORY_WATCHED)


@functools.lru_cache(maxsize=1)
def gpu_nodes() -> tuple[str, ...]:
    """The GPU compute device nodes of this machine (CUDA's nvidia*, ROCm's kfd)."""
    try:
        return tuple(sorted(n for n in os.listdir("/dev") if n.startswith(("nvidia", "kfd"))))
    except OSError:
        return ()


def resident_bytes(pid: int, proportional: bool = False) -> int | None:
    """The memory a process and all its descendants hold: anonymous and shared-memory pages
    (the libraries' file pages aside). None if ``pid`` cannot be read.

    By default the resident size, cheap to read (``/proc/<pid>/status``) but counting a page
    shared by several of the processes (a fork's copy-on-write pages) once for each. With
    ``proportional``, each shared page is split among the processes that share it
    (``smaps_rollup``'s Pss), so a fork costs nothing until its pages are written: exact, but
    about a millisecond per process."""
    fields = (b"Pss_Anon:", b"Pss_Shmem:") if proportional else (b"RssAnon:", b"RssShmem:")
    total, seen, todo = 0, set(), [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/smaps_rollup" if proportional else f"/proc/{p}/status", "rb") as f:
                for line in f:
                    if line.startswith(fields):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            if p == pid:
                return None
    return total


@functools.lru_cache(maxsize=1)
def gpu_description() -> str | None:
    """The GPUs, driver and CUDA of this machine, read without starting CUDA (from the driver's
    /proc files and torch's build); None without a GPU."""
    if not gpu_nodes():
        return None
    models = []
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            with open(info) as f:
                models += [line.split(":", 1)[1].strip() for line in f if line.startswith("Model:")]
        except OSError:
            pass
    driver = None
    try:
        with open("/proc/driver/nvidia/version") as f:
            match = re.search(r"Kernel Module(?: for \S+)?\s+(\d+[.\d]*)", f.read())
            driver = match.group(1) if match else None
    except OSError:
        pass
    torch = sys.modules.get("torch")
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    parts = [", ".join(models) or "a GPU (" + ", ".join(gpu_nodes()) + ")"]
    parts.append(f"driver {driver}" if driver else "driver version unknown")
    parts.append(f"CUDA {cuda} (torch's build)" if cuda else "torch built without CUDA")
    return "; ".join(parts)


def cap_gpu_memory(limits: Limits) -> str | None:
    """Cap what torch's CUDA allocator may hold in this worker, applied when (if ever) the
    worker starts CUDA: starting it here would cost every worker a CUDA context."""
    torch = sys.modules.get("torch")
    description = gpu_description()
    if description is None or torch is None or not getattr(torch.version, "cuda", None):
        return None
    cap = limits.gpu_memory_mb * 2**20

    def apply() -> None:
        for device in range(torch.cuda.device_count()):
            total = torch.cuda.get_device_properties(device).total_memory
            torch.cuda.set_per_process_memory_fraction(min(1.0, cap / total), device)

    torch.cuda._lazy_call(apply)
    return f"{description}; torch's CUDA allocator capped at {limits.gpu_memory_mb} MiB per device"


def _rlimits(limits: Limits, cgroups: dict[str, str], uid_is_own: bool,
             already_running: int | None = None) -> dict[str, str]:
    record = {}
    cpu = int(limits.cpu_seconds) + 1
    _setrlimit(resource.RLIMIT_CPU, cpu, cpu + 1)
    shared = Cgroups.describe(cgroups)
    record["cpu"] = f"RLIMIT_CPU {cpu} s per process" + (f"; {shared}" if shared else
                                                          " (no cgroup: its processes are not limited together)")
    fsize = limits.file_size_mb * 2**20
    _setrlimit(resource.RLIMIT_FSIZE, fsize, fsize)
    record["file_size"] = f"RLIMIT_FSIZE {limits.file_size_mb} MiB"
    _setrlimit(resource.RLIMIT_CORE, 0, 0)
    if "memory" in cgroups:
        record["memory"] = f"cgroup memory limit {limits.memory_mb} MiB"
    elif why := memory_watched():
        record["memory"] = f"{MEMORY_WATCHED}: {limits.memory_mb} MiB above the preloaded libraries ({why})"
    else:
        base = _vm_size()
        cap = base + limits.memory_mb * 2**20
        _setrlimit(resource.RLIMIT_AS, cap, cap)
        record["memory"] = f"RLIMIT_AS {cap // 2**20} MiB ({limits.memory_mb} MiB above the preloaded libraries)"
    if uid_is_own:
        # Belt and braces with the cgroup: the uid is the worker's alone, so this counts only it.
        _setrlimit(resource.RLIMIT_NPROC, limits.processes, limits.processes)
        record["processes"] = f"RLIMIT_NPROC {limits.processes} (own uid)"
    else:
        # The uid is shared with the grader's other processes: allow what already runs plus the limit.
        cap = (_user_process_count() if already_running is None else already_running) + limits.processes
        _setrlimit(resource.RLIMIT_NPROC, cap, cap)
        record["processes"] = f"RLIMIT_NPROC {cap} (user's current processes + {limits.processes})"
    if "pids" in cgroups:
        record["processes"] = f"cgroup pids limit {limits.processes}; " + record["processes"]
    record["output"] = f"{limits.output_bytes} bytes, counted by the judge"
    record["wall_time"] = f"{limits.call_seconds:g} s per call, enforced by the judge"
    return record


def _user_process_count() -> int:
    """Processes and threads of this uid (RLIMIT_NPROC counts threads too on Linux)."""
    uid = os.getuid()
    if os.path.isdir("/proc/self/task"):
        count = 0
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}").st_uid == uid:
                        count += len(os.listdir(f"/proc/{entry}/task"))
                except OSError:
                    continue
        return count
    import subprocess

    try:
        out = subprocess.run(["ps", "-U", str(uid), "-o", "pid="], capture_output=True, text=True, timeout=5).stdout
        return len(out.split())
    except (OSError, subprocess.SubprocessError):
        return 256


def _setrlimit(which: int, soft: int, hard: int) -> None:
    try:
        _, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, cur_hard), min(hard, cur_hard)
        resource.setrlimit(which, (soft, hard))
    except (ValueError, OSError):
        pass


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# Where the worker runs as the grader's own user (no uid of its own, no private root), Landlock
# cannot stop it changing the metadata of the grader's files: modes (chmod 0 on a classmate's staged
# copy zeroes that grade), owners, times and extended attributes.
_METADATA_SYSCALLS = (
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown", "utime", "utimes",
    "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
)
_DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "kexec_load", "init_module", "finit_module",
    "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
    "userfaultfd", "reboot", "swapon", "swapoff", "syslog", "open_by_handle_at", "name_to_handle_at",
    # The new mount API reaches what mount() does by other calls.
    "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
    # io_uring runs system calls that this filter never sees.
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # The worker stays on its judge's CPUs (set before this filter).
    "sched_setaffinity",
)
AF_UNIX = 1
TIOCSTI = 0x5412  # pushes characters into a terminal's input


def _seccomp(also_denied: tuple[str, ...] = ()) -> str:
    try:
        import pyseccomp as seccomp
    except Exception:  # missing module, or libseccomp missing underneath it
        return "no seccomp filter (pyseccomp unavailable)"
    try:
        filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        deny = seccomp.ERRNO(errno.EPERM)
        for name in _DENIED_SYSCALLS + also_denied:
            try:
                filt.add_rule(deny, name)
            except Exception:
                continue  # syscall unknown on this architecture
        # New namespaces: clone's flags are its first argument. clone3 passes them in memory,
        # out of the filter's sight: it answers "not implemented", and the C library falls back
        # to clone for threads and processes.
        for flag in NAMESPACE_FLAGS:
            filt.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        filt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        # Local sockets are all an exercise needs: no IP, raw, packet, vsock, netlink, ... sockets.
        filt.add_rule(seccomp.ERRNO(errno.EACCES), "socket", seccomp.Arg(0, seccomp.NE, AF_UNIX))
        filt.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.EQ, TIOCSTI))
        filt.load()
    except Exception as exc:
        return f"no seccomp filter ({exc})"
    return ("seccomp: ptrace, mount (old and new API), unshare, setns, new namespaces through clone, clone3, "
            "io_uring, bpf, CPU re-pinning, terminal input injection and every socket but AF_UNIX denied"
            + ("; and changes of files' modes, owners, times and attributes" if also_denied else ""))


def _clean_env(workdir: str) -> dict[str, str]:
    # The GPUs the course staff chose for grading (read by CUDA when the worker starts it).
    chosen = {k: os.environ[k] for k in ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES") if k in os.environ}
    return chosen | {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
