"""Grading many submissions: one judge (pytest run) per submission, judges in a pool.

Each judge process is trusted: it imports the reference and the hidden tests,
and reaches student code only through its own fork server's workers. A pool
process runs ``pytest.main`` once per submission, so pytest, torch and the
reference are imported once per process, not once per student.

The pool is a ``concurrent.futures`` executor: a local process pool by
default, or a Dask distributed cluster (``--dask ADDRESS``, which also runs on
SLURM and Kubernetes) whose workers see the same paths.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import io
import json
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .config import Assignment
from .ingest import Submission, file_name


@dataclass(frozen=True)
class GradeTask:
    assignment_dir: str
    tests_dir: str
    submission: str
    student: str
    results: str
    reference_dir: str | None
    seed: int | None
    isolation: str | None
    public_only: bool = False
    hide: tuple[str, ...] = ()
    canary: bool = False  # grade the reference first, once per process and suite (``canary``)
    expect_gpu: bool = False  # judged where a GPU was promised (a Dask GPU resource): the canary needs CUDA
    fingerprint: str | None = None  # the suite's (``suite_fingerprint``), when the caller has it already


def judge_args(task: GradeTask) -> list[str]:
    # Every value travels inside its option (--student=ID): in an argument of its own, a
    # value starting with "-" is read by pytest as an option ("-pthis" imports a module)
    # and one starting with "@" as a file of arguments.
    args = [
        task.tests_dir,
        f"--submission={task.submission}",
        f"--assignment-dir={task.assignment_dir}",
        f"--student={task.student}",
        f"--results={task.results}",
        f"--rootdir={task.tests_dir}",
        "-p", "no:cacheprovider",
        # A judge needs none of these, and they cost more than the tests: log capture
        # around every phase, and a full garbage collection after every run.
        "-p", "no:logging",
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        # Nor these, whose hooks run for every test or whose set-up runs for every
        # submission: together about 10 % of a submission's grading (docs/benchmarks.md).
        "-p", "no:warnings", "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin",
        "-p", "no:legacypath", "-p", "no:stepwise", "-p", "no:faulthandler", "-p", "no:setuponly",
        "-p", "no:setupplan", "-p", "no:subtests", "-p", "no:debugging",
        # No output capture: student code prints in its worker, whose output has its own pipe,
        # and _grade_one redirects this process's streams (stdin included) for the whole run.
        "--capture=no",
        # Results take their text from the exception itself; pytest's own report of a failure
        # (source of every frame, parsed) is never shown and cost ~0.1 s per failing test.
        "--tb=native",
        # A failing bare `assert` must not show pytest's rewritten explanation (`assert np.False_`,
        # `+ where ... = <function all at 0x...>`) to a student: the judge words it (judge._record_failure).
        "--assert=plain",
        "-o", "addopts=",
        "-o", "testpaths=",
        "--import-mode=importlib",
        "-q", "--no-header", "-rN",
    ]
    if task.reference_dir:
        args.append(f"--reference-dir={task.reference_dir}")
    if task.seed is not None:
        args.append(f"--seed={task.seed}")
    if task.isolation:
        args.append(f"--isolation={task.isolation}")
    if task.public_only:
        args.append("--public-only")
    args += [f"--hide={path}" for path in task.hide]
    return args


_JUDGE_LOCK = threading.Lock()


def grade_one(task: GradeTask) -> dict:
    """Run the judge on one submission; always returns a results document, unless this
    process fails its canary (``CanaryFailed``): then it grades no one."""
    with _JUDGE_LOCK:  # pytest.main and stdout redirection are process-wide
        if task.canary:
            canary(task)
        return _grade_one(task)


class CanaryFailed(Exception):
    """The reference lost points on this grading machine: its environment, not the class, is broken."""


_CANARIES_PASSED: set[tuple] = set()


def canary(task: GradeTask) -> None:
    """Grade the reference as a submission, with the batch's suite, seed and isolation, in this
    process, before the first student it grades (once per suite: a Dask worker or a pool process
    lives on across students). Anything short of full marks raises ``CanaryFailed`` naming the
    failing tests and this machine's environment: a broken CUDA, sandbox or library must stop the
    batch before it marks a whole class down."""
    if not task.reference_dir:
        return
    from .config import load_assignment

    reference = Path(task.reference_dir)
    assignment = load_assignment(Path(task.assignment_dir))
    key = (task.tests_dir, task.reference_dir, task.isolation, task.seed,
           task.fingerprint or suite_fingerprint(assignment))
    if key in _CANARIES_PASSED:
        return
    from .environment import describe, mismatches, versions
    from .report import isolation_line

    with tempfile.TemporaryDirectory(prefix="autograder-canary-") as tmp:
        submission = Path(tmp) / "reference"
        submission.mkdir()
        for module in assignment.modules:
            shutil.copy2(reference / f"{module}.py", submission / f"{module}.py")
        doc = _grade_one(GradeTask(
            assignment_dir=task.assignment_dir, tests_dir=task.tests_dir, submission=str(submission),
            student="canary (the reference solution)", results=str(Path(tmp) / "canary.json"),
            reference_dir=task.reference_dir, seed=task.seed, isolation=task.isolation, hide=task.hide,
        ))
    lost = [t for t in doc["tests"] if t.get("outcome") not in ("passed", "skipped")
            or (task.expect_gpu and t.get("gpu") and t.get("outcome") == "skipped")]
    if doc.get("error") or lost or not doc["score"] >= doc["max_score"]:
        shown = [f"  {t['name']}: {t['outcome']}: {(t.get('output') or '').strip()[:300]}" for t in lost[:10]]
        if len(lost) > 10:
            shown.append(f"  ... and {len(lost) - 10} more")
        here = versions()
        shown += [f"outside the course's pins (assignment.toml [environment]): {line}"
                  for line in mismatches(here, assignment.environment)]
        raise CanaryFailed(
            f"The reference solution scored {doc['score']:g} / {doc['max_score'] or 0:g} on this grading machine "
            f"({socket.gethostname()}, process {os.getpid()}), so no student was graded here. "
            "The machine or the suite is at fault, not the students.\n"
            + ("\n".join(shown) if shown else doc["output"].splitlines()[0]) + "\n"
            f"environment: {describe(here)}\n"
            f"isolation: {isolation_line(doc)}"
        )
    _CANARIES_PASSED.add(key)


def _forget_other_test_modules(tests_dir: str) -> None:
    """Drop test modules of another assignment that have the same names as this one's.

    pytest's importlib mode names a test module by its path under the rootdir
    (``test_hidden``) and reuses a module of that name already imported, which
    saves re-importing the tests for each student of one assignment, but would
    run assignment A's tests on assignment B's students in the same process.
    """
    root = Path(tests_dir).resolve()
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        module = sys.modules.get(name)
        if module is not None and Path(getattr(module, "__file__", "") or "").resolve() != path:
            del sys.modules[name]


def _grade_one(task: GradeTask) -> dict:
    import pytest

    _forget_other_test_modules(task.tests_dir)
    results = Path(task.results)
    results.unlink(missing_ok=True)
    log = io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO()  # code run in-process (isolation "none") reads EOF
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            code = pytest.main(judge_args(task))
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the batch goes on
        code, log = -1, io.StringIO(f"{type(exc).__name__}: {exc}")
    finally:
        sys.stdin = stdin
    if int(code) == pytest.ExitCode.INTERRUPTED and "KeyboardInterrupt" in log.getvalue():
        raise KeyboardInterrupt  # pytest caught the TA's Ctrl-C: the batch stops, no grader error is made up
    if results.is_file() and int(code) in (0, 1):
        return json.loads(results.read_text())
    from .proxy import clean_text

    # The judge's own log, but it may quote what a worker sent: cleaned like any worker text.
    detail = clean_text(log.getvalue().strip()[-20_000:], 20_000).splitlines()[-15:]
    return error_document(
        task.student, Path(task.assignment_dir).name,
        "The grader could not run the tests on this submission (exit code "
        f"{int(code)}). This is a problem with the grader, not the submission; "
        "please report it to the course staff.\n" + "\n".join(detail),
        outcome="grader_error",
    )


def class_seed(seed: int | None, per_student: bool, out_dir: Path, resume: bool) -> int | None:
    """The seed of a batch's random test inputs: one for the whole class (the same code earns the
    same score), as given, else the one a resumed batch's results already share, else drawn now.
    None with ``per_student``: each judge draws its own (recorded in each result all the same)."""
    if per_student:
        return None
    if seed is not None:
        return seed
    if resume:
        recorded = {_recorded_seed(path) for path in Path(out_dir).glob("*.json")} - {None}
        if len(recorded) == 1:
            return recorded.pop()
    return secrets.randbelow(2**31)


def _recorded_seed(path: Path) -> int | None:
    try:
        seed = json.loads(path.read_text()).get("seed")
    except (OSError, ValueError, AttributeError):
        return None
    return seed if type(seed) is int else None


def error_document(student: str, assignment: str, message: str, outcome: str = "invalid") -> dict:
    """A results document for a submission that could not be graded at all."""
    return {
        "assignment": assignment, "student": student, "score": 0.0, "max_score": None,
        "output": message, "visibility": "visible", "tests": [], "error": outcome,
        "mistakes": [], "isolation": {}, "execution_time": 0.0,
    }


def warm(isolation: str | None, cpu_slot: int | None = None) -> set[int] | None:
    """Import what every judge needs and start the fork server now; then, given a slot,
    keep this judge on one CPU (``pin_judge``). Returns the CPUs it had before, if pinned."""
    import torch  # noqa: F401 - the reference and torch tests need it in the judge

    from . import judge  # noqa: F401
    from .isolate import ForkLauncher, default_isolation

    before = None
    if (isolation or default_isolation()) == "fork":
        ForkLauncher.shared().warm()  # before pinning: the server and spares keep every CPU
        if cpu_slot is not None:
            before = pin_judge(cpu_slot)
    # pytest collects garbage at the end of every run: leave the libraries' objects out of it.
    gc.collect()
    gc.freeze()
    return before


def pin_judge(slot: int) -> set[int] | None:
    """Keep this judge process, and so its workers, on one of the CPUs it may use.

    A call into student code is synchronous: the judge waits while the worker
    runs and the worker waits while the judge checks. On one CPU the hand-off
    is a plain switch, with no cross-CPU wake-up and with the message still in
    the cache; the fork server and its spare worker keep every CPU. Judges of a
    pool take slots 0, 1, ... so that they spread over the CPUs.
    """
    try:
        allowed = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {sorted(allowed)[slot % len(allowed)]})
        return allowed
    except (AttributeError, OSError):  # no affinity on macOS and Windows
        return None


def has_gpu_tests(tests_dir: str | Path) -> bool:
    """Whether a suite marks any test ``gpu`` (read from its source: collecting it would import torch)."""
    return any(re.search(r"\bmark\.gpu\b", path.read_text(errors="replace"))
               for path in Path(tests_dir).rglob("*.py"))


class _DaskExecutor(Executor):
    """Dask's executor, with the client it needs closed when the executor shuts down.

    A suite with ``gpu`` tests is judged only on workers that declare a GPU resource
    (``dask worker ADDRESS --resources GPU=1``), one judge per GPU unit at a time. Where no
    worker declares one, judges go anywhere and the gpu tests of those on machines without
    CUDA are skipped and reported as not graded."""

    def __init__(self, address: str, gpu: bool = False) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise SystemExit("--dask needs the distributed package: pip install 'dl-autograder[dask]'") from None
        self.client = Client(address)
        resources = {}
        self.gpu_routed = False
        if gpu:
            workers = self.client.scheduler_info().get("workers", {}).values()
            if any(w.get("resources", {}).get("GPU") for w in workers):
                resources = {"resources": {"GPU": 1}}
                self.gpu_routed = True
            else:
                print("note: this suite has gpu tests, but no Dask worker declares a GPU resource "
                      "(dask worker ADDRESS --resources GPU=1): its gpu tests run only where a worker "
                      "happens to have CUDA, and are reported as not graded elsewhere", file=sys.stderr)
        self.executor = self.client.get_executor(**resources)

    def submit(self, fn, /, *args, **kwargs):
        return self.executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.executor.shutdown(wait=wait)
        self.client.close()


def _pool_process_start(isolation: str | None, slots=None) -> None:
    """Pool initializer: warm up, and end this process if the grading process is gone.

    A pool process killed with its parent (Ctrl-C twice, a killed terminal, an
    out-of-memory kill) would otherwise sit idle forever, holding its fork
    server and a few hundred MiB.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)  # the fork server sees its socket close and exits too

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    slot = None
    if slots is not None:
        with slots.get_lock():
            slot, slots.value = slots.value, slots.value + 1
    warm(isolation, slot)


def make_executor(jobs: int, isolation: str | None, dask: str | None, gpu: bool = False) -> Executor:
    if dask:
        return _DaskExecutor(dask, gpu)
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_pool_process_start,
        initargs=(isolation, context.Value("i", 0)),
    )


def grade_batch(
    assignment: Assignment,
    submissions: list[Submission],
    out_dir: Path,
    *,
    reference_dir: Path,
    jobs: int = 0,
    seed: int | None = None,
    isolation: str | None = None,
    dask: str | None = None,
    resume: bool = False,
    canary: bool = False,
    on_result: Callable[[dict], None] = lambda doc: None,
) -> list[dict]:
    """Grade every submission; writes ``out_dir/<file name>.json`` as each one finishes.

    The file name is the student id when that makes a safe one (``ingest.file_name``). With
    ``canary``, each process that grades first grades the reference, and raises ``CanaryFailed``
    (the batch stops; results written so far stay) if that loses a point.
    """
    from .judge import write_json

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = suite_fingerprint(assignment)
    kept = previous_results(submissions, out_dir, fingerprint, seed)[0] if resume else {}
    docs: dict[str, dict] = {}
    tasks: list[GradeTask] = []
    about = {sub.student: _about(sub, fingerprint) for sub in submissions}

    def finished(doc: dict) -> None:
        # The judge knows the submission's folder only: who it is, what was taken from the upload
        # and which suite graded it are added here. The judge wrote into JUDGED; only the whole
        # document lands in out_dir, so a batch stopped at any moment leaves no result without them.
        doc.update(about.get(doc["student"], {}))
        write_json(out_dir / f"{file_name(doc['student'])}.json", doc)
        (out_dir / JUDGED / f"{file_name(doc['student'])}.json").unlink(missing_ok=True)
        on_result(doc)

    # Workers must not see the other students' uploads either: where they came from.
    hide = (str(out_dir), *sorted({str(sub.source.parent) for sub in submissions if sub.source}))
    for sub in submissions:
        path = out_dir / JUDGED / f"{sub.file_name}.json"
        if sub.student in kept:
            docs[sub.student] = kept[sub.student]
            on_result(kept[sub.student])
            continue
        if sub.problem or sub.folder is None:
            doc = error_document(sub.student, assignment.name, sub.problem or "no files found",
                                 outcome=getattr(sub, "error", "invalid"))
            docs[sub.student] = doc
            finished(doc)
            continue
        tasks.append(GradeTask(
            assignment_dir=str(assignment.folder), tests_dir=str(assignment.tests_dir),
            submission=str(sub.folder), student=sub.student, results=str(path),
            reference_dir=str(reference_dir), seed=seed, isolation=isolation,
            hide=hide, canary=canary, fingerprint=fingerprint,
        ))
    done = run_tasks(tasks, jobs=jobs, isolation=isolation, dask=dask, on_result=finished)
    docs.update({task.student: done[task.results] for task in tasks})
    with contextlib.suppress(OSError):  # empty unless a judge left a file there
        (out_dir / JUDGED).rmdir()
    ordered = [docs[s.student] for s in submissions]
    _fill_max_score(ordered, out_dir)
    return ordered


JUDGED = ".judged"  # in a batch's out_dir: what the judges wrote, before grade_batch completes it


def _about(sub: Submission, fingerprint: str) -> dict:
    """What a results document records of where it came from, beside what the judge wrote."""
    about = {"fingerprint": fingerprint}
    if getattr(sub, "name", None):
        about["name"] = sub.name
    if getattr(sub, "intake", None):
        about["intake"] = sub.intake
    return about


def suite_fingerprint(assignment: Assignment) -> str:
    """What a result depends on besides the submission and the seed: the assignment's tests (every
    file under tests/), reference, mistake catalogue, helpers and limits (its .py and .toml files,
    samples aside), and the engine's code and version. A result with another fingerprint was graded
    by another suite."""
    from . import __version__

    digest = hashlib.sha256(__version__.encode())
    for root, label in ((Path(assignment.folder), "assignment"), (Path(__file__).parent, "engine")):
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if d not in ("samples", "__pycache__") and not d.startswith("."))
            in_tests = label == "assignment" and Path(folder).relative_to(root).parts[:1] == ("tests",)
            # Every file of the tests (data fixtures too); elsewhere the code and the configuration.
            for name in sorted(f for f in files if in_tests or f.endswith((".py", ".toml"))):
                path = Path(folder) / name
                digest.update(f"{label}/{path.relative_to(root).as_posix()}\0".encode())
                digest.update(path.read_bytes())
    return "sha256:" + digest.hexdigest()[:20]


def previous_results(submissions: list[Submission], out_dir: Path, fingerprint: str, seed: int | None = None
                     ) -> tuple[dict[str, dict], dict[str, str]]:
    """For a resumed batch: the results it keeps ({student: document}), and why each other
    student with a results file is graded again ({student: reason}). With a class ``seed``, a
    result graded under another seed is graded again: a class is graded with one seed."""
    kept: dict[str, dict] = {}
    again: dict[str, str] = {}
    for sub in submissions:
        path = Path(out_dir) / f"{sub.file_name}.json"
        if not path.is_file():
            continue
        try:
            previous = json.loads(path.read_text())
        except (OSError, ValueError):
            again[sub.student] = "its results file cannot be read"
            continue
        if previous.get("error") == "grader_error":
            again[sub.student] = "a grader error"
        elif previous.get("error"):
            again[sub.student] = "it could not be graded"
        elif previous.get("fingerprint") != fingerprint:
            again[sub.student] = "the suite or the engine changed since"
        elif seed is not None and previous.get("seed") != seed:
            again[sub.student] = f"graded with another seed than {seed}"
        else:
            kept[sub.student] = previous
    return kept, again


SUBMISSIONS_PER_JUDGE = 12


def default_jobs(submissions: int) -> int:
    """Judges for a batch when -j is not given: one per SUBMISSIONS_PER_JUDGE submissions, at most
    one per CPU. A pool process costs about 2 s before its first student (spawn, torch, its fork
    server, its canary), some 8 submissions' grading, and on 2 CPUs two judges grade 1.4 times
    as fast as one: 10 submissions took 10.5 s with -j 1 and 12.3 s with -j 2, 40 took 20.1 s
    and 18.5 s (docs/benchmarks.md). So small batches stay in this process."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, submissions // SUBMISSIONS_PER_JUDGE))


def run_tasks(tasks: list[GradeTask], *, jobs: int = 0, isolation: str | None = None, dask: str | None = None,
              on_result: Callable[[dict], None] = lambda doc: None) -> dict[str, dict]:
    """Run the judge on every task: here with one job, else in a pool (a pool process grades one
    task after another, with pytest, torch, the tests and its fork server loaded once).
    Returns {task.results: results document}."""
    docs: dict[str, dict] = {}
    jobs = jobs or default_jobs(len(tasks))
    if tasks and jobs == 1 and not dask:
        before = warm(isolation, cpu_slot=0)
        try:
            for task in tasks:
                docs[task.results] = grade_one(task)
                on_result(docs[task.results])
        finally:
            if before:
                os.sched_setaffinity(0, before)  # the caller's process is its own again
    elif tasks:
        _run_pool(tasks, jobs, isolation, dask, docs, on_result)
    return docs


def _run_pool(tasks, jobs, isolation, dask, docs, on_result) -> None:
    from .judge import write_json

    pending = list(tasks)
    gpu = bool(dask) and any(has_gpu_tests(d) for d in {t.tests_dir for t in tasks})
    while pending:
        executor = make_executor(jobs, isolation, dask, gpu)
        broken = False
        with executor:
            # On a worker that declares a GPU, a gpu test skipped for want of CUDA is a broken machine.
            routed = getattr(executor, "gpu_routed", False)
            futures = {executor.submit(grade_one, dataclasses.replace(t, expect_gpu=True) if routed else t): t
                       for t in pending}
            try:
                for future in as_completed(futures):
                    task = futures[future]
                    try:
                        doc = future.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except CanaryFailed:
                        raise
                    except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - one submission never stops
                        # the batch: an interrupt that ends one judge (a worker can signal it where no PID
                        # namespace separates them) is that submission's grader error. The TA's Ctrl-C is
                        # this process's own KeyboardInterrupt, raised while it waits, below.
                        doc = error_document(task.student, Path(task.assignment_dir).name,
                                             f"grading failed: {type(exc).__name__}: {exc}", outcome="grader_error")
                        write_json(Path(task.results), doc)
                    docs[task.results] = doc
                    on_result(doc)
            except (CanaryFailed, KeyboardInterrupt):
                # What no process has started yet is never graded; the results so far are kept.
                executor.shutdown(wait=False, cancel_futures=True)
                raise
        pending = [t for t in pending if t.results not in docs]
        if broken and pending:
            # A judge process died (never student code: that runs in workers). Retry the
            # unfinished ones one at a time so a repeat offender only affects itself.
            for task in pending:
                try:
                    with make_executor(1, isolation, dask, gpu) as single:
                        doc = single.submit(grade_one, task).result()
                except (CanaryFailed, KeyboardInterrupt):
                    raise
                except Exception as exc:  # noqa: BLE001
                    doc = error_document(task.student, Path(task.assignment_dir).name,
                                         f"the grader crashed on this submission ({type(exc).__name__})",
                                         outcome="grader_error")
                    write_json(Path(task.results), doc)
                docs[task.results] = doc
                on_result(doc)
            pending = []


def _fill_max_score(docs: list[dict], out_dir: Path) -> None:
    """Ungradable submissions get the assignment's full max score, taken from the graded ones."""
    from .judge import write_json

    known = [d["max_score"] for d in docs if d.get("max_score")]
    if not known:
        return
    for doc in docs:
        if doc.get("max_score") is None:
            doc["max_score"] = max(known)
            write_json(out_dir / f"{file_name(doc['student'])}.json", doc)
