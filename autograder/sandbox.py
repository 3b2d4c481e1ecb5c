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
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .config import Limits

try:
    import resource
except ImportError:  # Windows: no rlimits; the spawned worker records that
    resource = None

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
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


# ----------------------------------------------------------------- cgroups


class Cgroups:
    """Per-worker cgroups for memory and process limits, managed by the (root) server.

    Supports the unified hierarchy (v2) and the separate v1 controllers. Anything
    missing or not writable simply yields no cgroup, and the rlimit fallbacks apply.
    """

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self) -> None:
        self.available: dict[str, Path] = {}
        self.version = 0
        if os.name != "posix" or os.geteuid() != 0:
            return
        v2 = self.ROOT / "cgroup.controllers"
        if v2.exists():
            base = self._v2_base()
            if base is not None:
                self.available = {"memory": base, "pids": base}
                self.version = 2
            return
        for controller in ("memory", "pids"):
            base = self.ROOT / controller / "autograder"
            try:
                base.mkdir(exist_ok=True)
                self.available[controller] = base
            except OSError:
                continue
        if self.available:
            self.version = 1

    def _v2_base(self) -> Path | None:
        try:
            own = Path("/proc/self/cgroup").read_text().strip().splitlines()[-1].split("::", 1)[1]
            base = self.ROOT / own.lstrip("/") / "autograder"
            # A v2 leaf with processes cannot enable controllers for children; use a sibling.
            base.mkdir(exist_ok=True)
            (base / "cgroup.subtree_control").write_text("+memory +pids")
            return base
        except (OSError, IndexError):
            return None

    def create(self, name: str, limits: Limits) -> dict[str, str]:
        made: dict[str, str] = {}
        for controller, base in self.available.items():
            path = base / name
            try:
                path.mkdir(exist_ok=True)
                if controller == "memory":
                    limit = str(limits.memory_mb * 2**20)
                    if self.version == 2:
                        (path / "memory.max").write_text(limit)
                        (path / "memory.swap.max").write_text("0") if (path / "memory.swap.max").exists() else None
                    else:
                        (path / "memory.limit_in_bytes").write_text(limit)
                else:
                    (path / "pids.max").write_text(str(limits.processes))
                made[controller] = str(path)
            except OSError:
                continue
        return made

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


# ----------------------------------------------------------------- entering


def enter(plan: Plan) -> tuple[str, dict]:
    """Harden the current (freshly forked) process; returns (workdir, isolation record).

    The submission's files come afterwards (``place_files``), into the private
    /tmp, once everything else is hidden: a spare worker enters its sandbox
    before it knows which submission it will serve.
    """
    limits = plan.limits
    record: dict[str, str] = {"process": "forked worker"}
    os.setsid()
    is_root = os.geteuid() == 0
    uid = UID_BASE + os.getpid() if is_root else os.getuid()

    if plan.cgroups:
        Cgroups.join(plan.cgroups)

    namespaces = _unshare(is_root)
    record["network"] = "network namespace with no interfaces" if namespaces else "not isolated"
    workdir = WORKDIR
    if namespaces:
        owner = uid if is_root else os.getuid()
        try:
            visible, record["processes_visible"] = _private_root(owner, limits)
            record["filesystem"] = ("private root: only " + ", ".join(visible)
                                    + " and a private /tmp are visible, read-only")
        except OSError as root_exc:
            # Without pivot_root, hide what the judge named instead (a deny-list, less complete).
            try:
                covered = _private_mounts(plan, owner, limits)
                record["filesystem"] = (f"private mount namespace (no private root: {root_exc}): private /tmp; "
                                        + (", ".join(covered) + " hidden" if covered else "nothing else hidden"))
            except OSError as exc:
                record["filesystem"] = f"not isolated ({exc})"
                workdir = _fallback_workdir()
    else:
        record["filesystem"] = "not isolated (no mount namespace)"
        workdir = _fallback_workdir()

    record.update(_rlimits(limits, plan.cgroups, uid_is_own=is_root))

    if is_root:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        record["user"] = f"unprivileged uid {uid}"
    else:
        record["user"] = "user namespace, same uid outside" if namespaces else "same user as the grader"

    record["syscalls"] = _seccomp()
    if not namespaces and record["syscalls"].startswith("seccomp"):
        record["network"] = "IP sockets denied by seccomp"

    os.makedirs(workdir, exist_ok=True)
    os.environ.clear()
    os.environ.update(_clean_env(workdir))
    os.chdir(workdir)
    return workdir, record


def place_files(workdir: str, files: dict[str, bytes]) -> None:
    """Write the submission (read into memory by the server) into the worker's folder."""
    for rel, data in files.items():
        target = os.path.join(workdir, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)


def _unshare(is_root: bool) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    libc = _lib()
    if is_root:
        return libc.unshare(CLONE_NEWNS | CLONE_NEWNET) == 0
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) != 0:
        return False
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError:
        return False
    return True


# What a worker may see of the machine besides the Python installation: the system's
# programs, libraries and configuration, devices (/dev, for CUDA too) and /proc, /sys.
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/dev", "/proc", "/sys")
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
MS_REMOUNT = 0x20
MNT_DETACH = 2


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
        libc.mount(None, target.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, None)


def _private_root(uid: int, limits: Limits) -> tuple[list[str], str]:
    """Switch to a new root that holds only allowed folders (an allow-list, as bubblewrap builds).

    Everything else on the machine (course folders, other students' files, any
    other copy of the solutions) simply does not exist for the worker. Returns
    the folders made visible and what the worker's /proc shows.
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
        opts = f"size={max(64, 4 * limits.file_size_mb)}m,mode=0755,uid={uid},gid={uid}".encode()
        _check(libc.mount(b"tmpfs", (new + "/tmp").encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts), "private /tmp")
        visible, own_proc = [], False
        for path in wanted:
            target = new + path
            if os.path.lexists(target):
                continue  # already inside a folder bound before
            if path in links:
                os.symlink(links[path], target)  # merged /usr: /bin -> usr/bin
                continue
            os.makedirs(target, mode=0o755)
            if path == "/proc" and _mount_own_proc(libc, target):
                own_proc = True
                visible.append(path)
                continue
            _bind_held(libc, held[path], target, f"bind {path}", read_only=path not in ("/dev", "/proc"))
            visible.append(path)
    os.mkdir(new + "/.old")
    if libc.syscall(number, new.encode(), (new + "/.old").encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"pivot_root: {os.strerror(err)}")
    os.chdir("/")
    _check(libc.umount2(b"/.old", MNT_DETACH), "detach the old root")
    os.rmdir("/.old")
    proc = ("own processes only (a procfs of its own, hidepid=invisible)" if own_proc
            else "every process of the machine (the host's /proc)")
    return ["system folders"] + [p for p in visible if p not in SYSTEM_DIRS], proc


def _mount_own_proc(libc, target: str) -> bool:
    """A procfs of its own that lists only the worker's own processes.

    The worker's uid is its own, so ``hidepid=invisible`` hides every other
    process (the judge's command line, other workers). Each procfs mount has
    its own options only since Linux 5.8; before, they would change the host's
    /proc too, so older kernels keep the host's.
    """
    import platform
    import re

    release = tuple(int(x) for x in re.findall(r"\d+", platform.release())[:2])
    if release < (5, 8):
        return False
    return libc.mount(b"proc", target.encode(), b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"hidepid=invisible") == 0


def _private_mounts(plan: Plan, uid: int, limits: Limits) -> list[str]:
    """A private /tmp, the hidden folders covered, and the Python installation kept reachable."""
    libc = _lib()
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    size = max(64, 4 * limits.file_size_mb)
    opts = f"size={size}m,mode=0755,uid={uid},gid={uid}".encode()
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
        _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, opts), "mount private /tmp")
        for cover in outermost:
            _check(libc.mount(b"tmpfs", cover.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"size=1m,mode=0755"),
                   f"hide {cover}")
        for path, fd in sorted(held.items()):
            os.makedirs(path, mode=0o755, exist_ok=True)
            _bind_held(libc, fd, path, f"keep {path} visible", read_only=path.startswith("/tmp/"))
    return outermost


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


def enter_spawned(limits: Limits, files: dict[str, bytes]) -> str:
    """The spawned-worker fallback: a private working copy, nothing more to hide with."""
    workdir = _fallback_workdir()
    place_files(workdir, files)
    os.chdir(workdir)
    return workdir


def spawned_rlimits(limits: Limits) -> dict[str, str]:
    if resource is None:
        return {k: "not enforced on this platform" for k in ("cpu", "file_size", "memory", "processes")} | {
            "output": f"{limits.output_bytes} bytes, counted by the judge",
            "wall_time": f"{limits.call_seconds:g} s per call, enforced by the judge",
        }
    return _rlimits(limits, {}, uid_is_own=False)


def _fallback_workdir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="autograder-worker-")


def _rlimits(limits: Limits, cgroups: dict[str, str], uid_is_own: bool) -> dict[str, str]:
    record = {}
    cpu = int(limits.cpu_seconds) + 1
    _setrlimit(resource.RLIMIT_CPU, cpu, cpu + 1)
    record["cpu"] = f"RLIMIT_CPU {cpu} s"
    fsize = limits.file_size_mb * 2**20
    _setrlimit(resource.RLIMIT_FSIZE, fsize, fsize)
    record["file_size"] = f"RLIMIT_FSIZE {limits.file_size_mb} MiB"
    _setrlimit(resource.RLIMIT_CORE, 0, 0)
    if "memory" in cgroups:
        record["memory"] = f"cgroup memory limit {limits.memory_mb} MiB"
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
        cap = _user_process_count() + limits.processes
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


_DENIED_SYSCALLS = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "kexec_load", "init_module", "finit_module",
    "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
    "userfaultfd", "reboot", "swapon", "swapoff", "syslog", "open_by_handle_at",
)


def _seccomp() -> str:
    try:
        import pyseccomp as seccomp
    except Exception:  # missing module, or libseccomp missing underneath it
        return "no seccomp filter (pyseccomp unavailable)"
    try:
        filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in _DENIED_SYSCALLS:
            try:
                filt.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except Exception:
                continue  # syscall unknown on this architecture
        # IP and raw sockets are never needed by an exercise; local sockets are.
        for family in (2, 10, 17):  # AF_INET, AF_INET6, AF_PACKET
            filt.add_rule(seccomp.ERRNO(errno.EACCES), "socket", seccomp.Arg(0, seccomp.EQ, family))
        filt.load()
    except Exception as exc:
        return f"no seccomp filter ({exc})"
    return "seccomp: ptrace, mount, unshare, bpf and IP sockets denied"


def _clean_env(workdir: str) -> dict[str, str]:
    return {
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


def read_submission(folder: Path, max_bytes: int = 64 * 2**20) -> dict[str, bytes]:
    """The submission's files (source and small data), by path relative to the folder."""
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder)
        if any(part in ("__pycache__", ".git", ".ipynb_checkpoints") for part in rel.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue  # a link could point at the solutions
        total += path.stat().st_size
        if total > max_bytes:
            raise ValueError(f"submission is larger than {max_bytes // 2**20} MiB; remove data files and outputs")
        files[str(rel)] = path.read_bytes()
    return files
