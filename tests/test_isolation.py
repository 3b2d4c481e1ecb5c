"""The worker sandbox and its failure modes, on a small synthetic submission.

Each test drives real workers through a Session and the proxy, as the judge
does, and asserts what the student would read.
"""
from __future__ import annotations

import os
import platform
import shutil
import socket
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import errors
from autograder.config import Limits
from autograder.isolate import ForkLauncher, Session
from autograder.proxy import SubmissionProxy

linux_root = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0,
    reason="the full sandbox (own uid, namespaces, cgroups) needs Linux and root",
)

STUDENT = '''
import os, sys, time, socket
import numpy as np

def double(x):
    return 2 * x

def read(path):
    try:
        with open(path) as fh:
            return "READ:" + fh.read()
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def write(path):
    try:
        with open(path, "w") as fh:
            fh.write("forged")
        return "WROTE"
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return "CONNECTED"
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def environ():
    try:
        with open("/proc/self/environ", "rb") as fh:
            initial = fh.read().decode(errors="replace")
    except OSError as exc:
        initial = f"DENIED:{type(exc).__name__}"
    return initial, dict(os.environ)

def ids():
    return os.getuid(), os.getgid()

def getpid():
    return os.getpid()

def signal_outside(pid):
    try:
        os.kill(pid, 0)
        return "REACHED"
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def sysv_segment(key):
    """'FOUND' if a System V segment with this key exists, else make one: 'MADE'."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.shmget(key, 0, 0o666) >= 0:
        return "FOUND"
    return "MADE" if libc.shmget(key, 4096, 0o1000 | 0o666) >= 0 else f"DENIED:{ctypes.get_errno()}"

def shm_file(name):
    path = "/dev/shm/" + name
    if os.path.exists(path):
        return "FOUND"
    try:
        with open(path, "w") as fh:
            fh.write("x" * 4096)
        return "MADE"
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def raw_syscall(number, *args):
    """The errno name a system call fails with, or 'OK'."""
    import ctypes, errno
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(256)  # room for io_uring_params, clone_args, ...
    ret = libc.syscall(number, *[params if a == "buffer" else a.encode() if isinstance(a, str) else a for a in args])
    if ret == 0 and number in (56, 220):  # a clone that worked: this is the child
        os._exit(0)
    if ret > 0 and number in (56, 220):
        os.waitpid(ret, 0)
    return "OK" if ret >= 0 else errno.errorcode[ctypes.get_errno()]

def socket_of(family, kind):
    try:
        socket.socket(family, kind).close()
        return "OK"
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def repin():
    try:
        os.sched_setaffinity(0, range(os.cpu_count()))
        return "OK"
    except OSError as exc:
        return f"DENIED:{type(exc).__name__}"

def mounts():
    with open("/proc/self/mountinfo") as fh:
        return [(line.split()[4], line.split()[5]) for line in fh]

def memory_holds(prefix, suffix):
    """Whether prefix+suffix lies anywhere in this process's writable memory (searched for in
    two halves, so that the whole never exists here unless it came from elsewhere)."""
    import ctypes
    head, tail = prefix.encode(), suffix.encode()
    with open("/proc/self/maps") as fh:
        regions = [line.split() for line in fh]
    for region in regions:
        span, perms = region[0], region[1]
        path = region[5] if len(region) > 5 else ""
        if not perms.startswith("rw") or path not in ("", "[heap]"):
            continue
        start, end = (int(v, 16) for v in span.split("-"))
        data = ctypes.string_at(start, end - start)
        at = data.find(head)
        while at >= 0:
            if data[at + len(head): at + len(head) + len(tail)] == tail:
                return True
            at = data.find(head, at + 1)
    return False

def spin_repinned(children, seconds):
    """CPU seconds used by children that each spin for `seconds`, re-pinned to every CPU."""
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            os.setsid()
            try:
                os.sched_setaffinity(0, range(os.cpu_count()))
            except OSError:
                pass
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                pass
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    times = os.times()
    return times.children_user + times.children_system

def many(n):
    return [0] * n

def text(n):
    return "x" * n

def files_here():
    return sorted(os.path.relpath(os.path.join(d, f), ".") for d, _, fs in os.walk(".") for f in fs)

def hang():
    while True:
        pass

def exit_with(code):
    os._exit(code)

def segfault():
    import ctypes
    ctypes.string_at(0)

def hog_memory(mb):
    return len(bytearray(mb * 2**20))

def forks_holding(n, seconds):
    children = []
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            time.sleep(seconds)
            os._exit(0)
        children.append(pid)
    time.sleep(seconds)
    return sum(os.waitpid(pid, 0)[1] == 0 for pid in children)

def address_space_limit():
    import resource
    return resource.getrlimit(resource.RLIMIT_AS)[0]

def shout(n):
    for _ in range(n):
        print("x" * 1000)
    return n

def forks(n):
    made = 0
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError:
            continue
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        made += 1
    return made

def scribble_on_sockets():
    for fd in range(3, 64):
        try:
            os.write(fd, b"\\xff" * 64)
        except OSError:
            pass
    return "done"

def returns_object():
    return object()

def cubed_in_place(x, w):
    x **= 3  # mutates its input: each batched point must start from a fresh copy
    return x * w

def torch_cubed(t, w):
    return t ** 3 * w

def ragged(x):
    return x[: int(abs(x[0]) * 10) % 3 + 1]

def cpus():
    return sorted(os.sched_getaffinity(0))

def scale_forward(x, w, params):
    out = x * w * params["k"]
    return out, (x, w, params["k"])

def scale_backward(dout, cache):
    x, w, k = cache
    return dout * w * k, dout * x * k

def no_cache_forward(x):
    return x
'''


@pytest.fixture
def submission_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "students" / "alice"
    folder.mkdir(parents=True)
    (folder / "mod.py").write_text(STUDENT)
    (tmp_path / "students" / "bob").mkdir()
    (tmp_path / "students" / "bob" / "mod.py").write_text("SECRET_OF_BOB = 1\n")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "hidden_test.py").write_text("ANSWER = 42\n")
    return folder


LIMITS = Limits(call_seconds=3, cpu_seconds=20, memory_mb=256, processes=16, output_bytes=4096,
                submission_seconds=60)


def make(folder: Path, limits: Limits = LIMITS, modules=("mod",)) -> SubmissionProxy:
    hide = [str(folder.parent), str(folder.parent.parent / "secret")]
    session = Session(folder, list(modules), limits, hide, "fork")
    proxy = SubmissionProxy(session, list(modules), limits)
    proxy.new_test(limits)
    return proxy


@pytest.fixture
def student(tmp_path):
    """Build a proxy to a one-module submission from source; every worker is ended afterwards."""
    made = []

    def build(source: str, limits: Limits = LIMITS, modules=("mod",)) -> SubmissionProxy:
        folder = tmp_path / "subs" / f"student{len(made)}"
        folder.mkdir(parents=True)
        (folder / "mod.py").write_text(textwrap.dedent(source))
        made.append(make(folder, limits, modules))
        return made[-1]

    yield build
    for p in made:
        p._session.close()


@pytest.fixture
def proxy(submission_dir):
    p = make(submission_dir)
    yield p
    p._session.close()


def test_calls_return_plain_data(proxy):
    out = proxy.double(np.arange(3.0))
    assert type(out) is np.ndarray and out.tolist() == [0.0, 2.0, 4.0]


@linux_root
def test_isolation_record_names_every_mechanism(proxy):
    proxy.double(1.0)
    iso = proxy._session.isolation
    assert iso["user"].startswith("unprivileged uid")
    assert iso["network"] == "network namespace with no interfaces"
    assert iso["filesystem"].startswith("private root: only system folders")
    assert "memory" in iso and "256 MiB" in iso["memory"]
    assert "16" in iso["processes"]
    assert iso["file_size"] == "RLIMIT_FSIZE 16 MiB"
    assert iso["processes_visible"].startswith("own processes only")


@linux_root
def test_other_processes_are_invisible(proxy):
    listed = [int(e) for e in proxy.listdir("/proc") if e.isdigit()]
    # In a PID namespace of its own, the worker is its first process and sees nothing else.
    assert listed == [1], f"the worker sees other processes: {listed}"
    assert proxy.getpid() == 1
    assert proxy.read(f"/proc/{os.getpid()}/cmdline").startswith("DENIED")  # the judge's command line
    assert proxy.read("/proc/1/cmdline").startswith("READ:")  # its own stays readable


@linux_root
def test_worker_runs_as_its_own_unprivileged_uid(proxy):
    uid, gid = proxy.ids()
    assert uid >= 1_000_000 and gid == uid


@linux_root
def test_hidden_folders_and_other_submissions_cannot_be_read(proxy, submission_dir):
    secret = submission_dir.parent.parent / "secret" / "hidden_test.py"
    bob = submission_dir.parent / "bob" / "mod.py"
    assert secret.read_text() == "ANSWER = 42\n"  # the judge can read it
    assert proxy.read(str(secret)).startswith("DENIED")
    assert proxy.read(str(bob)).startswith("DENIED")
    assert "bob" not in str(proxy.listdir(str(submission_dir.parent)))
    # The student's own files are there, in a private /tmp that holds nothing else but, for a
    # project cloned under /tmp, the way to its installation (bound read-only).
    from autograder import sandbox

    installation = {Path(p).parts[2] for p in sandbox._python_paths() if p.startswith("/tmp/")}
    assert sorted(proxy.listdir("/tmp")) == sorted({"submission"} | installation)
    assert proxy.read("/tmp/submission/mod.py").startswith("READ:")


@linux_root
def test_the_solutions_of_this_course_are_hidden(proxy):
    course = Path(__file__).resolve().parents[1]
    reference = course / "solutions" / "backprop" / "backprop.py"
    if not reference.exists():
        pytest.skip("no backprop reference in this checkout")
    # Hidden by the judge's list in real grading; here the session hides only the synthetic
    # folders, so this checks the uid alone cannot be used to read /root-only paths instead.
    assert proxy.read("/root/.bashrc").startswith("DENIED") or not Path("/root/.bashrc").exists()


@linux_root
def test_folders_nobody_named_are_invisible_too(proxy):
    """The worker sees an allow-list (system folders, the Python installation), not a deny-list:
    a copy of the solutions in a folder the judge never heard of is out of reach as well."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="autograder-test-", dir="/var/tmp"))
    try:
        (folder / "backprop.py").write_text("SOLUTION = 1\n")
        assert proxy.read(str(folder / "backprop.py")).startswith("DENIED")
        assert proxy.listdir("/var/tmp").startswith("DENIED")
        course = Path(__file__).resolve().parents[1]
        assert proxy.listdir(str(course / "solutions")).startswith("DENIED")
        assert proxy.listdir(str(course / "tests")).startswith("DENIED")
        assert "private root" in proxy._session.isolation["filesystem"]
    finally:
        import shutil

        shutil.rmtree(folder)


@linux_root
def test_worker_cannot_write_outside_its_folder(proxy, tmp_path):
    target = tmp_path / "results.json"
    assert proxy.write(str(target)).startswith("DENIED")
    assert not target.exists()
    assert proxy.write("/tmp/submission/scratch.txt") == "WROTE"


def test_no_network_even_to_loopback(proxy):
    server = socket.create_server(("127.0.0.1", 0))
    try:
        port = server.getsockname()[1]
        assert proxy.connect(port).startswith("DENIED")
    finally:
        server.close()


def test_worker_environment_is_scrubbed(submission_dir, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TEST_SECRET", "hunter2")
    launcher = ForkLauncher()  # a fresh server that sees the secret in its parent's environment
    try:
        session = Session(submission_dir, ["mod"], LIMITS, [], "fork")
        session.launcher = launcher
        proxy = SubmissionProxy(session, ["mod"], LIMITS)
        proxy.new_test(LIMITS)
        initial, current = proxy.environ()
        assert "hunter2" not in initial  # the block the server was started with
        assert "hunter2" not in str(current)
        assert current["OMP_NUM_THREADS"] == "1"
        assert set(current) <= {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                "OPENBLAS_NUM_THREADS", "MPLBACKEND", "PYTHONDONTWRITEBYTECODE"}
        session.close()
    finally:
        launcher.shutdown()


def test_hang_is_stopped_at_the_call_limit_and_the_worker_replaced(proxy):
    start = time.monotonic()
    with pytest.raises(errors.WorkerDied, match=r"took longer than 3 s while running mod\.hang"):
        proxy.hang()
    assert 2.9 < time.monotonic() - start < 6
    assert proxy.double(2.0) == 4.0  # a fresh worker


def test_exit_code_is_reported(proxy):
    with pytest.raises(errors.WorkerDied, match="exit code 7"):
        proxy.exit_with(7)
    assert proxy.double(1.5) == 3.0


def test_segfault_is_reported(proxy):
    with pytest.raises(errors.WorkerDied, match="segmentation fault"):
        proxy.segfault()


@linux_root
def test_memory_limit_stops_a_hog(proxy):
    assert proxy.hog_memory(16) == 16 * 2**20
    with pytest.raises(errors.WorkerDied, match="memory limit of 256 MiB"):
        proxy.hog_memory(1024)
    assert proxy.double(1.0) == 2.0


def test_output_flood_is_cut(proxy):
    assert proxy.shout(2) == 2
    with pytest.raises(errors.WorkerDied, match="printed more than 4096 bytes"):
        proxy.shout(10_000)
    assert bytes(proxy._session.printed).startswith(b"x" * 1000)
    assert len(proxy._session.printed) <= 4096


@linux_root
def test_process_limit_bounds_a_fork_loop(proxy):
    made = proxy.forks(100)
    assert 0 < made < 16


def test_garbage_on_the_socket_is_refused(proxy):
    with pytest.raises(errors.WorkerDied, match="cannot read|ended|stopped|exit code"):
        proxy.scribble_on_sockets()
    assert proxy.double(4.0) == 8.0


def test_output_of_the_last_call_is_kept_when_the_submission_ends(student):
    p = student("def last():\n    print('the very last words')\n    return 1\n")
    for _ in range(20):  # the worker ends right after the call: the output must be read first
        p._session.printed.clear()
        assert p.last() == 1
        p._session.close()
        assert bytes(p._session.printed) == b"the very last words\n"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs CPU affinity and two CPUs")
def test_a_pinned_judge_gets_its_worker_on_its_cpu(submission_dir):
    from autograder.grade import pin_judge

    ForkLauncher.shared().warm()  # the server (and its spares) keep every CPU
    before = pin_judge(1)
    try:
        mine = sorted(os.sched_getaffinity(0))
        p = make(submission_dir)
        try:
            assert p.cpus() == mine and len(mine) == 1
        finally:
            p._session.close()
    finally:
        os.sched_setaffinity(0, before)
    assert os.sched_getaffinity(0) == before


def _probe_calls(proxy) -> list[str]:
    return [c.path.rsplit(".", 1)[-1] for c in proxy.calls if "probes" in c.path]


def test_numeric_gradient_of_student_code_sends_only_the_changed_elements(proxy):
    from autograder import batched, numeric_gradient

    x, w, dout = np.linspace(-1, 1, 12).reshape(3, 4), np.arange(12.0).reshape(3, 4), np.ones((3, 4))
    grad = numeric_gradient(batched(proxy.cubed_in_place, lambda v: (v, w)), x, dout)
    np.testing.assert_allclose(grad, 3 * x**2 * w, rtol=1e-6, atol=1e-8)
    assert _probe_calls(proxy) == ["evaluate_sparse"]
    np.testing.assert_array_equal(x, np.linspace(-1, 1, 12).reshape(3, 4))  # the judge's x is untouched


def test_gradcheck_of_a_torch_function_goes_through_the_sparse_path(proxy):
    import torch

    from autograder import gradcheck

    t = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    gradcheck(proxy.torch_cubed, (t, torch.full((2, 3), 2.0, dtype=torch.float64)))
    # One round trip: the analytic Jacobian, and both inputs' perturbations in one sparse batch.
    assert _probe_calls(proxy) == ["several"]
    assert [name for name, _ in proxy.calls[0].args[0]] == ["jacobian", "evaluate_sparse"]


def test_gradcheck_compares_the_forward_first_in_the_same_round_trip(proxy):
    import torch

    from autograder import gradcheck

    t, w = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3), torch.full((2, 3), 2.0, dtype=torch.float64)
    gradcheck(proxy.torch_cubed, (t, w), expected=t ** 3 * w)
    assert _probe_calls(proxy) == ["several"]
    with pytest.raises(AssertionError, match=r"(?s)mod\.torch_cubed forward: .*6 of 6 values differ"):
        gradcheck(proxy.torch_cubed, (t, w), expected=t ** 3)


def test_numeric_gradients_of_several_arguments_share_one_round_trip(proxy):
    from autograder import numeric_gradients

    x, w = np.linspace(-1, 1, 6).reshape(2, 3), np.arange(1.0, 7.0).reshape(2, 3)
    params, dout = {"k": np.array([2.0, -1.0, 0.5])}, np.linspace(0.5, 1.5, 6).reshape(2, 3)
    dx, dw, dk = numeric_gradients(proxy.scale_forward, (x, w, params), dout, out=0, wrt=[0, 1, (2, "k")])
    np.testing.assert_allclose(dx, dout * w * params["k"], rtol=1e-7)
    np.testing.assert_allclose(dw, dout * x * params["k"], rtol=1e-7)
    np.testing.assert_allclose(dk, (dout * x * w).sum(axis=0), rtol=1e-7)
    assert _probe_calls(proxy) == ["evaluate_sparse"]  # 2 x (6 + 6 + 3) points, one message
    default = numeric_gradients(proxy.scale_forward, (x, w, params), dout, out=0)  # the two array arguments
    assert len(default) == 2
    np.testing.assert_allclose(default[1], dw, rtol=1e-12)


def test_forward_backward_runs_both_halves_in_one_call(proxy):
    from autograder import forward_backward
    from autograder.errors import BadReturn

    x, w, dout = np.array([1.0, -2.0]), np.array([3.0, 0.5]), np.array([1.0, 2.0])
    out, (dx, dw) = forward_backward(proxy.scale_forward, proxy.scale_backward, (x, w, {"k": 2.0}), dout)
    np.testing.assert_array_equal(out, x * w * 2.0)
    np.testing.assert_array_equal(dx, dout * w * 2.0)
    np.testing.assert_array_equal(dw, dout * x * 2.0)
    assert _probe_calls(proxy) == ["forward_backward"]
    with pytest.raises(BadReturn, match=r"mod.no_cache_forward must return a pair \(out, cache\), got ndarray"):
        forward_backward(proxy.no_cache_forward, proxy.scale_backward, (x,), dout)


def test_forward_backward_numeric_gives_both_gradients_in_one_call(proxy):
    from autograder import forward_backward_numeric

    x, w, dout = np.array([1.0, -2.0]), np.array([3.0, 0.5]), np.array([1.0, 2.0])
    out, (dx, dw), (num_dx, num_dw) = forward_backward_numeric(
        proxy.scale_forward, proxy.scale_backward, (x, w, {"k": 2.0}), dout)
    assert _probe_calls(proxy) == ["several"]
    np.testing.assert_array_equal(out, x * w * 2.0)
    np.testing.assert_array_equal(dx, dout * w * 2.0)
    np.testing.assert_allclose(num_dx, dx, rtol=1e-8)
    np.testing.assert_allclose(num_dw, dw, rtol=1e-8)
    (num_k,) = forward_backward_numeric(proxy.scale_forward, proxy.scale_backward, (x, w, {"k": 2.0}), dout,
                                        wrt=[(2, "k")])[2]
    assert num_k.shape == () and num_k == pytest.approx(np.sum(dout * x * w), rel=1e-8)


def test_together_runs_several_calls_in_one_round_trip_and_their_caches_go_back_by_reference(proxy):
    from autograder import together

    x, w = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    doubled, (out, cache) = together((proxy.double, x), (proxy.scale_forward, x, w, {"k": 2.0}))
    assert _probe_calls(proxy) == ["several"]
    np.testing.assert_array_equal(doubled, 2 * x)
    np.testing.assert_array_equal(out, x * w * 2.0)
    proxy.scale_backward(np.ones(2), cache)
    assert proxy.calls[-1].args[1] is cache
    assert proxy._prefer(cache)["path"] == [["[]", 1], ["[]", 1]]  # sent as the worker's own tuple
    with pytest.raises(errors.NotImplementedYet, match="not implemented yet: mod.py has no 'absent'"):
        together((proxy.double, x), (proxy.absent, x))


def test_points_that_differ_in_many_elements_or_give_ragged_results_still_work(proxy):
    from autograder import batched

    f = batched(proxy.cubed_in_place, lambda v: (v, np.ones(3)))
    points = [np.full(3, 0.5), np.full(3, 2.0), np.full(3, -1.0)]  # every element differs
    np.testing.assert_allclose(np.stack(f.many(points)), np.stack(points) ** 3)
    assert _probe_calls(proxy) == ["evaluate_patched"]
    g = batched(proxy.ragged, lambda v: (v,))
    out = g.many([np.array([0.0, 1.0, 2.0]), np.array([0.1, 1.0, 2.0]), np.array([0.2, 1.0, 2.0])])
    assert [len(o) for o in out] == [1, 2, 3]  # unlike results come back as a list


def test_objects_that_cannot_travel_come_back_as_handles(proxy):
    from autograder.proxy import Handle

    h = proxy.returns_object()
    assert isinstance(h, Handle) and h.type_name == "builtins.object"


def test_budget_ends_a_submission_that_hangs_everywhere(submission_dir):
    limits = LIMITS.merged(call_seconds=1, submission_seconds=2.5)
    p = make(submission_dir, limits)
    try:
        failures = []
        start = time.monotonic()
        for _ in range(10):
            with pytest.raises(errors.SubmissionProblem) as info:
                p.hang()
            failures.append(type(info.value))
        elapsed = time.monotonic() - start
    finally:
        p._session.close()
    assert failures[:2] == [errors.WorkerDied, errors.WorkerDied]
    assert failures[-1] is errors.BudgetExhausted
    assert elapsed < 5, "ten hanging calls must not take ten time limits"


def test_hang_at_import_is_paid_once(student):
    p = student("while True:\n    pass\n", LIMITS.merged(call_seconds=1.5))
    with pytest.raises(errors.WorkerDied, match="importing"):
        p.anything()
    start = time.monotonic()
    with pytest.raises(errors.WorkerDied, match="importing"):
        p.anything_else()
    assert time.monotonic() - start < 0.2


def test_sys_exit_at_import_reads_plainly(student):
    p = student("import sys\nsys.exit(0)\n")
    with pytest.raises(errors.StudentException, match=r"importing your code failed with SystemExit: sys\.exit\(0\)"):
        p.double(1)


def test_missing_module_and_function_read_as_not_implemented(student):
    p = student("def stub():\n    raise NotImplementedError('stub: not implemented yet')\n", modules=("mod", "other"))
    with pytest.raises(errors.NotImplementedYet, match="not implemented yet"):
        p.stub()
    with pytest.raises(errors.NotImplementedYet, match="has no 'absent'"):
        p.absent()
    with pytest.raises(errors.NotImplementedYet, match="other.py is not in the submission"):
        p.other.anything()


def test_a_failure_inside_a_probe_names_the_students_functions_not_the_grader(student):
    from autograder import forward_backward

    p = student("""
        def stub_forward(x):
            raise NotImplementedError('stub_forward: not implemented yet')
        def bad_forward(x):
            return x, {}
        def bad_backward(dout, cache):
            return cache['x']
        def slow_forward(x):
            while True:
                pass
    """, limits=LIMITS.merged(call_seconds=1))
    x = np.ones(2)
    with pytest.raises(errors.NotImplementedYet) as stub:
        forward_backward(p.stub_forward, p.bad_backward, (x,), x)
    assert str(stub.value) == "stub_forward: not implemented yet"
    with pytest.raises(errors.StudentException) as bad:
        forward_backward(p.bad_forward, p.bad_backward, (x,), x)
    assert str(bad.value).startswith("mod.bad_forward and mod.bad_backward raised KeyError: 'x'")
    assert "return cache['x']" in str(bad.value) and "autograder" not in str(bad.value)
    with pytest.raises(errors.WorkerDied, match=r"while running mod\.slow_forward and mod\.bad_backward;"):
        forward_backward(p.slow_forward, p.bad_backward, (x,), x)


def test_inputs_travel_as_copies_and_mutation_is_observed(student):
    p = student("""
        def clobber(x):
            x[...] = 0
            return x
    """)
    x = np.ones(3)
    seen = p.clobber.inspect(x)
    assert x.tolist() == [1.0, 1.0, 1.0]  # the judge's array is untouched
    assert seen.args_after[0].tolist() == [0.0, 0.0, 0.0]
    assert seen.aliases == [""]  # the result is the argument itself


def test_spawn_mode_serves_calls_and_contains_failures(submission_dir, monkeypatch):
    """The fallback for platforms without fork: slower to start, same contract. Started from the
    folder that holds the secret, as a TA starts it from the course: that folder stays out of reach."""
    monkeypatch.chdir(submission_dir.parent.parent)
    session = Session(submission_dir, ["mod"], LIMITS, [], "spawn")
    p = SubmissionProxy(session, ["mod"], LIMITS)
    p.new_test(LIMITS)
    try:
        assert p.double(np.arange(2.0)).tolist() == [0.0, 2.0]
        assert session.isolation["process"].startswith("spawned worker")
        filesystem = session.isolation["filesystem"]
        assert filesystem.startswith("Landlock (ABI" if LANDLOCK else "not isolated"), filesystem
        secret = submission_dir.parent.parent / "secret" / "hidden_test.py"
        assert p.read(str(secret)).startswith("DENIED" if LANDLOCK else "READ")
        if os.geteuid() == 0:  # a root grader's spawned worker drops to a uid of its own
            assert session.isolation["user"].startswith("unprivileged uid"), session.isolation
            assert p.ids()[0] >= 1_000_000
        with pytest.raises(errors.WorkerDied, match="exit code 5"):
            p.exit_with(5)
        with pytest.raises(errors.WorkerDied, match="took longer than 3 s"):
            p.hang()
        assert p.double(3.0) == 6.0
    finally:
        session.close()


def _landlock_abi() -> int:
    if not sys.platform.startswith("linux"):
        return 0
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return max(libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1)), 0)  # LANDLOCK_CREATE_RULESET_VERSION


LANDLOCK = _landlock_abi()


@pytest.mark.skipif(not LANDLOCK, reason="Landlock needs Linux 5.13 or later, enabled in the kernel")
def test_without_namespaces_landlock_still_hides_the_machine(submission_dir, tmp_path, monkeypatch):
    """Where the kernel or a container refuses every namespace (Docker's default seccomp profile,
    as in a Gradescope container), the course, the hidden tests and other students' work stay out
    of reach: only the Python installation, system folders and the worker's own folder open."""
    site = tmp_path / "no-namespaces"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import autograder.sandbox as sandbox\nsandbox._unshare = lambda is_root: set()  # as if refused\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    secret = submission_dir.parent.parent / "secret" / "hidden_test.py"
    bob = submission_dir.parent / "bob" / "mod.py"
    launcher = ForkLauncher()  # a fresh server, started with the refusal above
    try:
        session = Session(submission_dir, ["mod"], LIMITS, [str(submission_dir.parent), str(secret.parent)], "fork")
        session.launcher = launcher
        proxy = SubmissionProxy(session, ["mod"], LIMITS)
        proxy.new_test(LIMITS)
        assert proxy.double(np.arange(3.0)).tolist() == [0.0, 2.0, 4.0]  # numpy, from the installation
        filesystem = session.isolation["filesystem"]
        assert filesystem.startswith(f"Landlock (ABI {LANDLOCK}): only system folders") and "[not isolated (no mount" \
            in filesystem, filesystem
        assert secret.read_text() == "ANSWER = 42\n"  # the judge can read it
        for path in (secret, bob, f"/proc/{os.getpid()}/root{secret}", Path(sys.prefix).parent / "pyproject.toml"):
            assert proxy.read(str(path)) in ("DENIED:PermissionError", "DENIED:FileNotFoundError"), path
        assert proxy.write(str(tmp_path / "forged.json")).startswith("DENIED")
        assert proxy.write("/dev/shm/autograder-forged").startswith("DENIED")  # the grader's semaphores live there
        assert proxy.write("/dev/null") == "WROTE"
        assert proxy.write("own.txt") == "WROTE" and proxy.read("own.txt") == "READ:forged"
        if LANDLOCK >= 6:
            assert proxy.signal_outside(os.getpid()).startswith("DENIED")
        session.close()
    finally:
        launcher.shutdown()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_where_the_worker_shares_the_graders_uid_file_metadata_stays_as_it_is(tmp_path):
    """A worker with the grader's own uid and no private root could chmod 0 a classmate's staged
    copy (which zeroes that grade) or the course: the seccomp filter then denies such changes."""
    pytest.importorskip("pyseccomp")
    from autograder import sandbox

    staged = tmp_path / "bob.py"
    staged.write_text("x = 1\n")
    pid = os.fork()
    if pid == 0:  # the filter is for good: only in a child
        code = 9
        try:
            assert "changes of files' modes" in sandbox._seccomp(sandbox._METADATA_SYSCALLS)
            code = 0
            for change in (lambda: os.chmod(staged, 0), lambda: os.utime(staged, (0, 0)),
                           lambda: os.chown(staged, os.getuid(), os.getgid())):
                try:
                    change()
                    code += 1
                except PermissionError:
                    pass
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert staged.stat().st_mode & 0o777 and staged.stat().st_mtime > 0


def test_spawned_workers_leave_no_folder_behind(submission_dir, tmp_path, monkeypatch):
    """A killed worker cannot remove its working copy of a submission: the judge does."""
    import tempfile

    scratch = tmp_path / "machine-tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    session = Session(submission_dir, ["mod"], LIMITS, [], "spawn")
    p = SubmissionProxy(session, ["mod"], LIMITS)
    p.new_test(LIMITS)
    try:
        assert p.double(1.0) == 2.0
        assert len(list(scratch.iterdir())) == 1  # the live worker's copy
        with pytest.raises(errors.WorkerDied, match="took longer than 3 s"):
            p.hang()  # killed
        assert p.double(3.0) == 6.0
    finally:
        session.close()
    assert list(scratch.iterdir()) == []


def test_a_worker_without_a_private_tmp_makes_its_folder_where_the_server_named_it(tmp_path):
    from autograder import sandbox

    plan = sandbox.Plan(limits=LIMITS, scratch=str(tmp_path / "w1"))
    assert sandbox._fallback_workdir(plan, None) == str(tmp_path / "w1")
    assert (tmp_path / "w1").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("ending", ["shutdown", "killed", "judge gone"])
def test_fork_servers_leave_no_folder_behind(submission_dir, tmp_path, monkeypatch, ending):
    """The workers' folders live in one folder of the judge's, removed even when the server
    is killed (a worker without a private /tmp writes the submission there)."""
    import tempfile

    scratch = tmp_path / "machine-tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    launcher = ForkLauncher()
    session = Session(submission_dir, ["mod"], LIMITS, [], "fork")
    session.launcher = launcher
    p = SubmissionProxy(session, ["mod"], LIMITS)
    p.new_test(LIMITS)
    try:
        assert p.double(1.0) == 2.0
        [server_folder] = scratch.iterdir()  # a worker without a private /tmp makes its folder in here
        assert server_folder.stat().st_mode & 0o777 == 0o711
        session.close()
    finally:
        if ending == "judge gone":  # a pool process ends by os._exit: no atexit, only its socket closes
            launcher.sock.close()
            launcher.proc.wait(timeout=10)
        else:
            launcher._stop() if ending == "killed" else launcher.shutdown()
    assert list(scratch.iterdir()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mount namespaces are Linux only")
@pytest.mark.parametrize("build", ["_private_root", "_private_mounts"])
def test_an_installation_under_tmp_stays_visible_and_its_neighbours_do_not(tmp_path, build):
    """A project cloned under /tmp: its virtual environment and package must reach the worker
    (the sandbox covers /tmp with its own), and nothing else of the machine's /tmp may."""
    import json

    from autograder import sandbox

    if not str(tmp_path.resolve()).startswith("/tmp/"):
        pytest.skip("the test's temporary folder is not under /tmp")
    kept = tmp_path / "project" / ".venv"
    kept.mkdir(parents=True)
    (kept / "lib.py").write_text("X = 1\n")
    (tmp_path / "project" / "solutions").mkdir()
    (tmp_path / "project" / "solutions" / "answer.py").write_text("ANSWER = 42\n")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child builds the worker's file system and reports what it sees
        try:
            os.close(r)
            real = sandbox._python_paths()
            sandbox._python_paths = lambda: real + [str(kept.resolve())]
            if not sandbox._unshare(os.geteuid() == 0):
                os.write(w, b'{"skip": "no namespaces"}')
                os._exit(0)
            limits = LIMITS
            if build == "_private_root":
                sandbox._private_root(os.getuid(), limits)
            else:
                sandbox._private_mounts(sandbox.Plan(limits=limits, hide=[], cgroups={}), os.getuid(), limits)
            seen = {"kept": (kept / "lib.py").read_text() if (kept / "lib.py").exists() else None,
                    "solutions": (tmp_path / "project" / "solutions").exists()}
            os.write(w, json.dumps(seen).encode())
        except BaseException as exc:  # noqa: BLE001
            os.write(w, json.dumps({"error": repr(exc)}).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as pipe:
        seen = json.loads(pipe.read() or "{}")
    os.waitpid(pid, 0)
    if "skip" in seen:
        pytest.skip(seen["skip"])
    assert seen == {"kept": "X = 1\n", "solutions": False}


# ------------------------------------------------------------------ the attack surface
# One test per class of attack a white-box review found; each failed before its defence.

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="namespaces, seccomp and /proc are Linux's")
SYSCALLS = {"x86_64": {"clone": 56, "clone3": 435, "fsopen": 430, "open_tree": 428, "io_uring_setup": 425},
            "aarch64": {"clone": 220, "clone3": 435, "fsopen": 430, "open_tree": 428, "io_uring_setup": 425}}


@linux
def test_no_process_outside_the_worker_can_be_signalled(proxy):
    # A worker that could signal the judge, its server or its process group would end the batch.
    assert proxy.getpid() == 1  # the first process of a PID namespace of its own
    for pid in (os.getpid(), ForkLauncher.shared().proc.pid, os.getpgid(0)):
        assert proxy.signal_outside(pid) == "DENIED:ProcessLookupError"


def test_the_fork_server_has_a_session_of_its_own():
    launcher = ForkLauncher.shared()
    launcher.warm()
    assert os.getsid(launcher.proc.pid) == launcher.proc.pid != os.getsid(0)


@linux
def test_ipc_and_dev_shm_are_private_to_each_worker(student):
    key, name = 0x5E000000 + int.from_bytes(os.urandom(3), "big"), f"autograder-test-{os.urandom(6).hex()}"
    first, second = student(STUDENT), student(STUDENT)
    assert first.sysv_segment(key) == "MADE" and first.shm_file(name) == "MADE"
    assert second.sysv_segment(key) == "MADE" and second.shm_file(name) == "MADE"  # the first's are not there
    first._session.close()
    second._session.close()
    # Nothing is left on the machine once the workers are gone.
    assert not os.path.exists(f"/dev/shm/{name}")
    import subprocess
    listed = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout if shutil.which("ipcs") else ""
    assert f"{key:#010x}" not in listed


@linux
def test_dev_holds_only_harmless_devices(proxy):
    listed = set(proxy.listdir("/dev"))
    gpu = {n for n in listed if n.startswith(("nvidia", "kfd", "dri"))}
    assert listed - gpu == {"null", "zero", "full", "random", "urandom", "shm", "fd", "stdin", "stdout", "stderr"}
    assert proxy.write("/dev/null") == "WROTE"
    assert proxy.write("/dev/planted").startswith("DENIED")  # its /dev is read-only


@linux
def test_every_mount_below_a_read_only_folder_is_read_only(proxy):
    below_sys = [(point, opts) for point, opts in proxy.mounts() if point == "/sys" or point.startswith("/sys/")]
    assert below_sys, "no /sys"
    writable = [point for point, opts in below_sys if "ro" not in opts.split(",")]
    assert writable == [], f"writable mounts under /sys: {writable}"


@linux
@pytest.mark.skipif(platform.machine() not in SYSCALLS, reason="system call numbers known for x86_64 and aarch64")
def test_seccomp_closes_namespaces_the_new_mount_api_io_uring_and_other_sockets(proxy):
    numbers = SYSCALLS[platform.machine()]
    clone_newuser, sigchld = 0x10000000, 17
    assert proxy.raw_syscall(numbers["clone"], clone_newuser | sigchld, 0, 0, 0, 0) == "EPERM"
    assert proxy.raw_syscall(numbers["clone"], sigchld, 0, 0, 0, 0) == "OK"  # a plain fork still works
    assert proxy.raw_syscall(numbers["clone3"], "buffer", 88) == "ENOSYS"
    assert proxy.raw_syscall(numbers["fsopen"], "tmpfs", 0) == "EPERM"
    assert proxy.raw_syscall(numbers["open_tree"], -100, "/", 1) == "EPERM"
    assert proxy.raw_syscall(numbers["io_uring_setup"], 8, "buffer") == "EPERM"
    assert proxy.socket_of(40, int(socket.SOCK_STREAM)) == "DENIED:PermissionError"  # AF_VSOCK
    assert proxy.socket_of(16, int(socket.SOCK_RAW)) == "DENIED:PermissionError"  # AF_NETLINK
    assert proxy.socket_of(int(socket.AF_UNIX), int(socket.SOCK_STREAM)) == "OK"
    assert proxy.repin() == "DENIED:PermissionError"


@linux_root
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_workers_processes_share_one_cpu_however_many_and_however_pinned(proxy):
    v2 = Path("/sys/fs/cgroup/cgroup.controllers")
    if not (Path("/sys/fs/cgroup/cpu").is_dir() or (v2.is_file() and "cpu" in v2.read_text().split())):
        pytest.skip("no cpu cgroup controller on this machine")
    used = proxy.spin_repinned(6, 2.0)
    # Six spinners re-pinned to every CPU would use up to 2 s per CPU without the quota.
    assert used < 2.0 * 1.2, f"{used:.2f} CPU seconds in 2 s"
    assert "cgroup quota of 1 CPU" in proxy._session.isolation["cpu"]


@linux
def test_no_worker_finds_another_submissions_files_in_its_memory(tmp_path):
    # The fork server once read every submission into its own heap, and every later worker
    # inherited those pages: a scan of its own memory found earlier students' code.
    prefix, suffix = "ALICE_SECRET_", os.urandom(8).hex()
    alice = tmp_path / "alice"
    alice.mkdir()
    (alice / "mod.py").write_text(STUDENT + f"\nSECRET = {(prefix + suffix) * 3000!r}\n")
    first = make(alice)
    assert first.double(1.0) == 2.0
    first._session.close()
    bob = tmp_path / "bob"
    bob.mkdir()
    (bob / "mod.py").write_text(STUDENT)
    for _ in range(2):  # a freshly forked worker, then the spare prepared meanwhile
        second = make(bob)
        assert second.memory_holds(prefix, suffix) is False
        second._session.close()


def test_the_reference_worker_gets_its_modules_and_nothing_else(tmp_path):
    folder = tmp_path / "solutions" / "hw"
    (folder / "tests").mkdir(parents=True)
    (folder / "mod.py").write_text(STUDENT)
    (folder / "tests" / "test_hidden.py").write_text("ANSWER = 42\n")
    (folder / "mistakes.py").write_text("WRONG = 1\n")
    session = Session(folder, ["mod"], LIMITS, [], "fork", modules_only=True)
    proxy = SubmissionProxy(session, ["mod"], LIMITS)
    proxy.new_test(LIMITS)
    try:
        assert proxy.files_here() == ["mod.py"]
    finally:
        session.close()


def test_links_and_special_files_in_a_submission_never_reach_the_worker(tmp_path):
    folder = tmp_path / "alice"
    folder.mkdir()
    (folder / "mod.py").write_text(STUDENT)
    (tmp_path / "secret.txt").write_text("the answers\n")
    (folder / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (folder / "peek").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(folder / "pipe")  # reading it would block the judge
    proxy = make(folder)
    try:
        assert proxy.files_here() == ["mod.py"]
    finally:
        proxy._session.close()


def test_thousands_of_data_files_travel_in_one_message(tmp_path):
    folder = tmp_path / "alice"
    (folder / "data").mkdir(parents=True)
    (folder / "mod.py").write_text(STUDENT)
    for i in range(5000):
        (folder / "data" / f"{i}.txt").write_text(str(i))
    for _ in range(2):  # a fresh worker, then the spare, which once refused more than 4096 buffers
        proxy = make(folder)
        try:
            assert len(proxy.files_here()) == 5001
        finally:
            proxy._session.close()


def test_a_reply_whose_json_part_is_huge_is_refused_before_it_is_parsed(proxy):
    with pytest.raises(errors.WorkerDied, match=r"cannot read \(message too large \(more than 1000000 JSON"):
        proxy.many(2_000_000)
    with pytest.raises(errors.WorkerDied, match=r"cannot read \(message too large \(its JSON part is over 8 MiB"):
        proxy.text(9 * 2**20)
    assert proxy.double(3.0) == 6.0


def test_a_fork_server_that_does_not_answer_is_replaced_and_no_late_reply_is_taken(submission_dir):
    old = ForkLauncher.shared()
    idle = old.spawn(LIMITS, [])  # waits for files that never come: it will not end by itself
    with pytest.raises(errors.GraderFault, match="did not answer 'wait' within 0.5 s"):
        old._request({"op": "wait", "pid": idle.pid, "timeout": 3}, timeout=0.5)
    idle.close()
    assert ForkLauncher.shared() is not old and old.broken
    proxy = make(submission_dir)  # served by the new server: its own reply, not the old one's
    try:
        assert proxy.double(5.0) == 10.0
    finally:
        proxy._session.close()
    old.proc.wait(timeout=5)


def test_a_memory_error_names_the_memory_limit():
    # Without a memory cgroup (a TA without root) the limit is RLIMIT_AS, and going over it
    # raises MemoryError in the student's code instead of ending the worker.
    from autograder.proxy import Remote, _problem

    target = Remote(None, "module:mod", ((".", "hoard"),))
    problem = _problem({"type": "MemoryError", "message": "ran out of memory (MemoryError)"}, target, (), LIMITS)
    assert problem.message == ("mod.hoard ran out of memory: it asked for more than the memory limit of 256 MiB "
                               "allows (MemoryError)")


def test_a_watched_worker_over_its_memory_limit_is_stopped(submission_dir, monkeypatch):
    """Where a GPU rules out an address-space limit and no memory cgroup can be made, the judge
    measures the worker's resident memory during each call (forced here: no GPU, no cgroup)."""
    monkeypatch.setenv("AUTOGRADER_MEMORY", "watch")
    session = Session(submission_dir, ["mod"], LIMITS, [], "spawn")
    p = SubmissionProxy(session, ["mod"], LIMITS)
    p.new_test(LIMITS)
    try:
        assert p.address_space_limit() == -1  # CUDA could start
        assert p.hog_memory(64) == 64 * 2**20
        assert session.isolation["memory"].startswith("resident memory watched by the judge: 256 MiB")
        with pytest.raises(errors.WorkerDied, match="used more than the memory limit of 256 MiB and was stopped"):
            p.hog_memory(2048)
        assert p.hog_memory(16) == 16 * 2**20  # a fresh worker
        # Forks share their pages: their resident sizes add up to more than the limit, what
        # they hold does not.
        assert p.forks_holding(4, 0.5) == 4
    finally:
        session.close()


def test_without_a_gpu_the_record_says_so_and_no_gpu_memory_is_capped(proxy):
    from autograder import sandbox

    if sandbox.gpu_nodes():
        pytest.skip("this machine has a GPU")
    assert proxy.double(1.0) == 2.0
    assert proxy._session.isolation["gpu"] == "none on this machine"


def test_running_out_of_gpu_memory_names_the_gpu_memory_limit():
    from autograder.proxy import Remote, _problem

    target = Remote(None, "module:mod", ((".", "conv"),))
    problem = _problem({"type": "OutOfMemoryError", "message": "CUDA out of memory. Tried to allocate 2.00 GiB"},
                       target, (), LIMITS)
    assert problem.message == ("mod.conv ran out of GPU memory: it asked for more than the GPU memory limit of "
                               "1024 MiB allows (torch.OutOfMemoryError)")


def test_a_gpu_test_on_a_worker_where_cuda_fails_is_the_graders_error(proxy):
    """Before a GPU test's first call the judge checks CUDA in the worker; where it cannot be
    used (here: no CUDA at all), the test is a grader error, never the student's failure."""
    import types

    import torch

    from autograder.judge import _check_cuda

    if torch.cuda.is_available():
        pytest.skip("CUDA works on this machine")
    state = types.SimpleNamespace(proxy=proxy, cuda_checked=None, reference_dir=None)  # `check`: no reference
    proxy.double(1.0)
    with pytest.raises(errors.GraderFault, match="CUDA cannot be used in the worker on this machine"):
        _check_cuda(state, LIMITS)
    assert proxy.calls == []  # the check is not one of the test's calls

    # When grading, the check runs in the reference's worker: the student's code, which could break
    # the check on purpose to pass its own failures off as grader errors, takes no part in it.
    class Untouchable:
        def library(self, name):
            raise AssertionError("the CUDA check ran in the student's worker")

    grading = types.SimpleNamespace(proxy=Untouchable(), cuda_checked=None, reference_dir="solutions/x",
                                    reference_worker=proxy)
    with pytest.raises(errors.GraderFault, match="CUDA cannot be used in the worker on this machine"):
        _check_cuda(grading, LIMITS)


def test_the_fork_server_never_runs_autograd_or_cuda_and_its_workers_can(tmp_path):
    """On a CUDA build the first backward starts autograd's device threads and touches CUDA, and
    every process forked after it fails its own backward: the server's preload must do neither,
    and stay one thread."""
    import subprocess

    script = textwrap.dedent("""
        import os, sys, torch
        calls = []
        for owner, name in [(torch.autograd, "backward"), (torch.autograd, "grad"), (torch.Tensor, "backward")]:
            original = getattr(owner, name)
            def spy(*a, _original=original, _name=name, **k):
                calls.append(_name)
                return _original(*a, **k)
            setattr(owner, name, spy)
        from autograder import server
        server.preload()
        print("autograd calls", calls)
        print("cuda initialised", torch.cuda.is_initialized())
        print("threads", len(os.listdir("/proc/self/task")))
        child = os.fork()
        if child == 0:
            server.check_autograd()
            os._exit(0 if not torch.cuda.is_initialized() else 3)
        print("child", os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
    """)
    from autograder.isolate import worker_env

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env=worker_env())  # the server's environment: one BLAS thread
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["autograd calls []", "cuda initialised False", "threads 1", "child 0"]


def test_the_cpu_limit_ends_a_spinning_call_and_says_so(student):
    # The worker is its PID namespace's first process, which ignores SIGXCPU unless it handles
    # it: it ends with 128 + SIGXCPU, and its keeper turns that back into the signal.
    limits = LIMITS.merged(cpu_seconds=1, call_seconds=10)
    proxy = student("def spin():\n    while True:\n        pass\n", limits)
    with pytest.raises(errors.WorkerDied, match=r"used more than 1 s of CPU time and was stopped while running mod\.spin"):
        proxy.spin()
