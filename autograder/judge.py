"""The judge step: a pytest plugin that runs an assignment's tests against one submission.

Registered through the ``pytest11`` entry point, it stays inert until pytest
is given ``--submission``. Then it provides the authoring contract's fixtures
(``submission``, ``reference``, ``rng``), honours the marks (``points``,
``public`` / ``hidden`` / ``after_due``, ``time_limit``, ``limits``, ``gpu``),
names catalogued mistakes on failure, and writes one results document.

Run by hand, e.g.::

    pytest solutions/backprop/tests --submission solutions/backprop
"""
from __future__ import annotations

import json
import os
import secrets
import sys
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from . import __version__, errors
from . import helpers as exercise_helpers
from .config import Assignment, Limits, load_assignment
from .isolate import InProcessSession, Session, default_isolation
from .mistakes import Mistake, ReferenceNamespace, describe, diagnose, first_form_difference, load_catalogue
from .proxy import CallRecord, SubmissionProxy, _who, clean_text
from .report import replaced_whole

VISIBILITY = {"public": "visible", "hidden": "hidden", "after_due": "after_due_date"}
MARKS = {
    "points(n)": "the points a test is worth (default 1)",
    "public": "visible to students and run by `autograder check`",
    "hidden": "run only when grading; result hidden from students (the default)",
    "after_due": "run only when grading; result shown after the due date",
    "time_limit(seconds)": "wall-time limit of each call into student code in this test",
    "limits(**kw)": "override worker limits for this test (see autograder.config.Limits)",
    "gpu": "runs on CUDA; skipped with a reason when no CUDA device is present",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder", "autograder judge")
    group.addoption("--submission", help="folder of the submission to grade (enables the judge)")
    group.addoption("--assignment-dir", help="folder with assignment.toml (default: parent of the tests folder)")
    group.addoption("--reference-dir", help="folder of the reference modules (grading only)")
    group.addoption("--student", help="student id recorded in the results (default: submission folder name)")
    group.addoption("--results", help="write the results JSON here")
    group.addoption("--seed", type=int, help="seed of the rng fixture (default: random, recorded)")
    group.addoption("--isolation", choices=["fork", "spawn", "none"], help="how student code is isolated")
    group.addoption("--public-only", action="store_true", help="run only tests marked public")
    group.addoption("--hide", action="append", default=[], help="extra folder the worker must not see")


def pytest_configure(config: pytest.Config) -> None:
    for spec, doc in MARKS.items():
        config.addinivalue_line("markers", f"{spec}: {doc}")
    if config.getoption("submission", None):
        _leave_asserts_plain(config)
        config.stash[_STATE] = JudgeState.from_config(config)


def _leave_asserts_plain(config: pytest.Config) -> None:
    """Keep the tests' asserts as written, also where this judge runs inside another pytest
    session (the engine's own tests), whose import hook would rewrite them: a failing assert
    then carries pytest's explanation (`assert np.False_`, `+ where ...`), which no student
    should read. The judge runs with --assert=plain; this covers the hooks of an outer session."""
    outer = [hook for hook in sys.meta_path if type(hook).__name__ == "AssertionRewritingHook"]
    for hook in outer:
        sys.meta_path.remove(hook)

    def restore() -> None:
        sys.meta_path[:0] = [hook for hook in outer if hook not in sys.meta_path]

    config.add_cleanup(restore)


_STATE = pytest.StashKey["JudgeState"]()


def _state(config: pytest.Config) -> "JudgeState":
    try:
        return config.stash[_STATE]
    except KeyError:
        raise pytest.UsageError("this test needs the autograder judge: pass --submission PATH") from None


@dataclass
class TestResult:
    nodeid: str
    name: str
    max_score: float
    visibility: str
    score: float = 0.0
    outcome: str = "failed"
    output: str = ""
    duration: float = 0.0
    mistakes: list[dict] = field(default_factory=list)
    gpu: bool = False  # marked gpu: runs on CUDA where a device is present

    def as_dict(self, number: int) -> dict:
        return {
            "name": self.name,
            "number": str(number),
            "nodeid": self.nodeid,
            "score": self.score,
            "max_score": 0.0 if self.outcome == "skipped" else self.max_score,
            "status": {"passed": "passed", "skipped": "skipped"}.get(self.outcome, "failed"),
            "outcome": self.outcome,
            "output": self.output,
            "visibility": self.visibility,
            "duration": round(self.duration, 4),
            "mistakes": self.mistakes,
            "gpu": self.gpu,
        }


class JudgeState:
    def __init__(self, assignment: Assignment, submission: Path, student: str, reference_dir: Path | None,
                 results: Path | None, seed: int, isolation: str, public_only: bool, hide: list[str]) -> None:
        self.assignment = assignment
        self.submission = submission
        self.student = student
        self.reference_dir = reference_dir
        self.results_path = results
        self.seed = seed
        self.public_only = public_only
        self.started = time.monotonic()
        self.tests: dict[str, TestResult] = {}
        self._reference: ReferenceNamespace | None = None
        self._reference_worker: SubmissionProxy | None = None
        self.isolation_mode = isolation
        self._catalogue: list[Mistake] | None = None
        # The exercise's worker helpers (worker_helpers.py in its folder): loaded here too, where
        # tests run them on the reference (load_helpers) and the diagnosis replays their calls.
        self.helpers = exercise_helpers.for_assignment(assignment.folder, assignment.name)
        if self.helpers is not None:
            exercise_helpers.load(*self.helpers)
        self.proxy = _proxy_for(submission, assignment, isolation, hide, helpers=self.helpers)
        if reference_dir is not None:
            # Numerical gradients are then taken of the reference, never of the student's own code.
            self.proxy.reference_loader = lambda: self.reference
        self.session = self.proxy._session
        self.session.prestart()
        self._torch_threads = _fit_torch_threads()
        self.cuda_checked: int | None = None  # the worker generation whose CUDA was checked

    @classmethod
    def from_config(cls, config: pytest.Config) -> "JudgeState":
        opt = config.getoption
        submission = Path(opt("submission")).resolve()
        if not submission.is_dir():
            raise pytest.UsageError(f"--submission {submission}: not a folder")
        if opt("assignment_dir"):
            folder = Path(opt("assignment_dir"))
        else:
            args = [Path(a.split("::")[0]) for a in config.args]
            first = args[0].resolve() if args else Path.cwd()
            folder = (first if first.is_dir() else first.parent).parent
        assignment = load_assignment(folder)
        reference_dir = Path(opt("reference_dir")).resolve() if opt("reference_dir") else None
        results = Path(opt("results")).resolve() if opt("results") else None
        seed = opt("seed") if opt("seed") is not None else secrets.randbelow(2**31)
        hide = _hidden_paths(assignment, submission, reference_dir, results, opt("hide"))
        return cls(assignment, submission, opt("student") or submission.name, reference_dir, results, seed,
                   opt("isolation") or default_isolation(), bool(opt("public_only")), hide)

    def _need_reference(self) -> Path:
        if self.reference_dir is None:
            raise pytest.UsageError("the reference solution is only available when grading (public tests cannot use it)")
        return self.reference_dir

    @property
    def reference(self) -> ReferenceNamespace:
        self._need_reference()
        if self._reference is None:
            self._reference = ReferenceNamespace.load(self.reference_dir, list(self.assignment.modules))
        return self._reference

    @property
    def reference_worker(self) -> SubmissionProxy:
        """The reference modules in a worker of their own, started like the student's."""
        folder = self._need_reference()
        if self._reference_worker is None:
            # Trusted code: nothing to hide from it, and the sandbox it runs in is the student's.
            self._reference_worker = _proxy_for(folder, self.assignment, self.isolation_mode, [], modules_only=True,
                                                helpers=self.helpers)
        return self._reference_worker

    def close(self) -> None:
        if self._torch_threads is not None:
            sys.modules["torch"].set_num_threads(self._torch_threads)
        self.session.close()
        if self._reference_worker is not None:
            self._reference_worker._session.close()

    @property
    def catalogue(self) -> list[Mistake]:
        if self._catalogue is None:
            path = self.reference_dir / "mistakes.py" if self.reference_dir else None
            self._catalogue = load_catalogue(path) if path else []
        return self._catalogue

    def document(self) -> dict:
        tests = [t.as_dict(i + 1) for i, t in enumerate(self.tests.values())]
        counted = [t for t in self.tests.values() if t.outcome != "skipped"]
        score = round(sum(t.score for t in counted), 6)
        max_score = round(sum(t.max_score for t in counted), 6)
        named = sorted({m["name"] for t in self.tests.values() for m in t.mistakes})
        skipped = [t for t in self.tests.values() if t.outcome == "skipped"]
        faults = [t for t in self.tests.values() if t.outcome == "error"]
        summary = f"{score:g} / {max_score:g} points"
        if skipped:
            summary += f"; {len(skipped)} test(s) skipped ({skipped[0].output})"
        extra = {}
        if faults:
            summary += (f"; {len(faults)} test(s) could not be graded because of a grader error, not because of "
                        "this submission (the course staff grade them again)")
            # The whole result is marked: gradebooks count it apart and `--resume` grades it again.
            extra["error"] = "grader_error"
        if skipped:
            # Skipped tests weigh 0 / 0 above; their points must not vanish without a word.
            extra["not_graded"] = {"points": round(sum(t.max_score for t in skipped), 6), "tests": len(skipped),
                                   "reason": skipped[0].output}
        doc = {
            "assignment": self.assignment.name,
            "student": self.student,
            "score": score,
            "max_score": max_score,
            "execution_time": round(time.monotonic() - self.started, 3),
            "output": summary,
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "seed": self.seed,
            # The worker reports its sandbox; a submission cannot have patched that report yet
            # (it comes before the import), but it is text from the worker all the same.
            "isolation": {clean_text(k, 100): clean_text(v, 500) for k, v in dict(self.session.isolation).items()}
                         | {"mode": self.session.mode},
            "limits": self.assignment.limits.as_dict(),
            "mistakes": named,
            "student_output": clean_text(bytes(self.session.printed).decode("utf-8", "replace"),
                                         self.assignment.limits.output_bytes),
            "engine": _engine_info(),
        }
        return doc | extra


def _fit_torch_threads() -> int | None:
    """At most one torch thread per CPU this judge may run on; returns the count before, if changed.

    A judge is kept on one CPU (grade.pin_judge), and torch's default pool has a thread per
    core: on one CPU those threads make small tensor operations a hundred times slower. The
    judge runs the reference's torch code (numerical Jacobians for gradcheck, replays).
    """
    try:
        import torch
    except ImportError:
        return None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    before = torch.get_num_threads()
    if before <= cpus:
        return None
    torch.set_num_threads(cpus)
    return before


def _proxy_for(folder: Path, assignment: Assignment, isolation: str, hide: list[str],
               modules_only: bool = False, helpers: tuple[str, str] | None = None) -> SubmissionProxy:
    """A proxy to the modules in ``folder``: in a sandboxed worker, or imported here with isolation "none".
    ``modules_only``: the worker gets the modules' files alone (the reference's folder holds its tests).
    ``helpers``: the exercise's worker helpers, ``(module name, file)``, which the worker may import."""
    modules, limits = list(assignment.modules), assignment.limits
    if isolation == "none":
        session = InProcessSession(folder, modules, limits, helpers)
    else:
        session = Session(folder, modules, limits, hide, isolation, modules_only, helpers)
    return SubmissionProxy(session, modules, limits)


def _hidden_paths(assignment: Assignment, submission: Path, reference_dir: Path | None,
                  results: Path | None, extra: list[str]) -> list[str]:
    """Folders a worker must not read: solutions, hidden tests, other submissions, results."""
    candidates = [submission.parent, assignment.folder, *(Path(p) for p in extra)]
    if reference_dir is not None:
        candidates += [reference_dir, reference_dir.parent]
    if results is not None:
        candidates.append(results.parent)
    course = reference_dir.parent.parent if reference_dir is not None else None
    if course is not None:
        candidates += [course / "solutions", course / "tests", course / ".git"]
    candidates += [Path("/root"), Path("/home")]
    seen: list[str] = []
    for path in candidates:
        real = os.path.realpath(path)
        if real != "/" and os.path.isdir(real) and real not in seen:
            seen.append(real)
    return seen


def _engine_info() -> dict:
    info = {"version": __version__, "python": sys.version.split()[0], "numpy": np.__version__}
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = torch.__version__
    return info


# ------------------------------------------------------------------ collection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _STATE not in config.stash:
        return
    state = config.stash[_STATE]
    if state.public_only:
        keep = [i for i in items if i.get_closest_marker("public")]
        dropped = [i for i in items if not i.get_closest_marker("public")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    # Tests whose messages a student reads run first: code that kept the inputs of a hidden test
    # could otherwise raise them back out through a public test's message. (sort is stable.)
    shown_first = {VISIBILITY["public"]: 0, VISIBILITY["after_due"]: 1, VISIBILITY["hidden"]: 2}
    items.sort(key=lambda item: shown_first[_visibility(item)])
    gpu_reason = _gpu_unavailable()
    for item in items:
        _check_limits_mark(item, state.assignment.limits)
        if gpu_reason and item.get_closest_marker("gpu"):
            item.add_marker(pytest.mark.skip(reason=gpu_reason))
        state.tests[item.nodeid] = TestResult(
            nodeid=item.nodeid,
            name=_display_name(item),
            max_score=float(_points(item)),
            visibility=_visibility(item),
            gpu=item.get_closest_marker("gpu") is not None,
        )


def _gpu_unavailable() -> str | None:
    try:
        import torch
    except ImportError:
        return "GPU test skipped: torch is not installed"
    if not torch.cuda.is_available():
        return "GPU test skipped: no CUDA device on this machine"
    return None


def _points(item: pytest.Item) -> float:
    mark = item.get_closest_marker("points")
    return mark.args[0] if mark and mark.args else 1


def _visibility(item: pytest.Item) -> str:
    for mark in ("public", "after_due", "hidden"):
        if item.get_closest_marker(mark):
            return VISIBILITY[mark]
    return VISIBILITY["hidden"]


def _display_name(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    first = doc.strip().splitlines()[0] if doc and doc.strip() else ""
    return f"{item.name}: {first}" if first else item.name


def _check_limits_mark(item: pytest.Item, base: Limits) -> None:
    """A wrong ``limits`` mark is the author's error: stop before any submission is graded."""
    mark = item.get_closest_marker("limits")
    if not mark:
        return
    if mark.args or "submission_seconds" in mark.kwargs:
        raise pytest.UsageError(
            f"{item.nodeid}: limits() takes keywords only, and not submission_seconds, the budget of a "
            "whole submission: set that under [limits] in assignment.toml")
    try:
        base.merged(**mark.kwargs)
    except ValueError as exc:
        raise pytest.UsageError(f"{item.nodeid}: {exc}") from None


def _test_limits(item: pytest.Item, base: Limits) -> Limits:
    limits = base
    mark = item.get_closest_marker("limits")
    if mark:
        limits = limits.merged(**mark.kwargs)
    mark = item.get_closest_marker("time_limit")
    if mark:
        limits = limits.merged(call_seconds=float(mark.args[0]))
    return limits


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def submission(request: pytest.FixtureRequest) -> SubmissionProxy:
    """The student's code, running in a sandboxed worker (see autograder.proxy)."""
    state = _state(request.config)
    limits = _test_limits(request.node, state.assignment.limits)
    state.proxy.new_test(limits)
    if request.node.get_closest_marker("gpu") is not None:
        _check_cuda(state, limits)
    return state.proxy


def _check_cuda(state: JudgeState, limits: Limits) -> None:
    """Before the first GPU test: CUDA must work in a worker. Where it does not (a sandbox or
    machine that leaves it unusable), every GPU test fails as a grader error, never as the
    student's. When grading, the check runs in the reference's worker, started like the
    student's but without the student's code, which could otherwise break the check on purpose
    and turn its own failures into grader errors; `check` on a student's machine has no
    reference, and checks the student's worker."""
    worker = state.reference_worker if state.reference_dir is not None else state.proxy
    generation = getattr(worker._session, "generation", 0)
    if state.cuda_checked == generation:
        return
    if worker is not state.proxy:
        worker.new_test(limits)
    try:
        worker.library("autograder.probes").cuda_ready()
    except errors.StudentException as exc:
        raise errors.GraderFault(f"CUDA cannot be used in the worker on this machine ({exc.message[:500]})") from None
    finally:
        worker.calls.clear()  # the check is no call of the test's: diagnosis must not replay it
    state.cuda_checked = getattr(worker._session, "generation", 0)


@pytest.fixture
def reference(request: pytest.FixtureRequest) -> ReferenceNamespace:
    """The reference solution, imported in the judge (never in the worker)."""
    return _state(request.config).reference


@pytest.fixture
def reference_worker(request: pytest.FixtureRequest) -> SubmissionProxy:
    """The reference modules behind the same proxy as ``submission``, in a worker of their own.

    For measurements that must be taken under the student's conditions, such as
    timing both solutions with ``autograder.probes.best_time``. The reference
    never runs in the student's worker, whose code could read it back out.
    """
    state = _state(request.config)
    proxy = state.reference_worker
    proxy.new_test(_test_limits(request.node, state.assignment.limits))
    return proxy


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A numpy Generator seeded from the run's seed and the test's id (reproducible with --seed)."""
    seed = _state(request.config).seed if _STATE in request.config.stash else 0
    return np.random.default_rng([seed, zlib.crc32(request.node.nodeid.encode())])


# ------------------------------------------------------------------ reporting


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    config = item.config
    if _STATE not in config.stash:
        return report
    state = config.stash[_STATE]
    result = state.tests.get(item.nodeid)
    if result is None:
        return report
    result.duration += call.duration
    if report.skipped and call.when in ("setup", "call"):
        result.outcome = "skipped"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        result.output = reason.removeprefix("Skipped: ")
    elif report.failed and call.when in ("setup", "call"):
        _record_failure(state, item, result, call)
    elif report.passed and call.when == "call":
        result.outcome = "passed"
        result.score = result.max_score
    return report


def _record_failure(state: JudgeState, item: pytest.Item, result: TestResult, call: pytest.CallInfo) -> None:
    exc = call.excinfo.value if call.excinfo else None
    if isinstance(exc, errors.SubmissionProblem):
        result.outcome = {
            errors.NotImplementedYet: "not_implemented",
            errors.WorkerDied: "crashed",
            errors.BudgetExhausted: "budget",
            errors.StudentException: "exception",
        }.get(type(exc), "failed")
        result.output = exc.message
    elif (block := _raises_block(exc)) is not None:
        result.outcome = "failed"
        result.output = _unmet_raises(state, *block)
    elif isinstance(exc, (AssertionError, pytest.fail.Exception)):
        # The test's own check failed (an assert, pytest.fail): the author's message, or plain words.
        result.outcome = "failed"
        result.output = str(exc).strip() or _failed_check(item)
    elif (blame := _blame(state, exc)) is not None:
        result.outcome = "failed"
        result.output = blame
    else:
        # A bug in the test or the engine, not the student's fault: say so loudly.
        result.outcome = "error"
        result.output = f"grader error in {call.when} ({type(exc).__name__}: {exc}); please report this to the course staff"
    result.score = 0.0
    if result.outcome == "failed" and state.proxy.notes:
        result.output += "\n" + "\n".join(state.proxy.notes)
    if result.outcome in ("failed", "exception") and state.reference_dir is not None:
        try:
            found = diagnose(state.proxy.calls, state.reference, state.catalogue)
        except Exception as diag_exc:  # noqa: BLE001 - diagnosis must never hide the failure
            found = []
            result.output += f"\n(mistake diagnosis unavailable: {diag_exc})"
        for m in found:
            result.mistakes.append({"name": m.name, "hint": m.hint, "target": m.target})
        if found:
            result.output += "\n" + "\n".join(f"Known mistake: {m.name}. {m.hint}".rstrip() for m in found)
    # Messages quote what the worker sent (exception text, type names, values): cap and clean it all.
    result.output = clean_text(result.output, OUTPUT_CHARS)


OUTPUT_CHARS = 10_000  # the most a test's message holds in the results
# What using a value of the wrong form raises: unpacking a str or a 3-tuple into (out, cache),
# an attribute or key the value lacks, an index past its end, arithmetic on None.
_VALUE_ERRORS = (TypeError, ValueError, AttributeError, LookupError, ArithmeticError)


def _blame(state: JudgeState, exc: BaseException | None) -> str | None:
    """The message when a test's non-assertion error comes from what the submission returned;
    None when it is the grader's.

    The rule: the error is of a kind that using a wrong value raises (``_VALUE_ERRORS``),
    the student's code returned a value earlier in the test, and, when grading, one of those
    values differs in form (type, length, keys, shape) from what the reference returns for
    the same call. Every test passes on the reference (``validate``), so what differs is
    what the submission returned. Without a reference (``autograder check``) the form
    cannot be compared; the message then says what the last call returned.
    """
    calls = [c for c in state.proxy.calls if c.error is None]
    if not isinstance(exc, _VALUE_ERRORS) or not calls:
        return None  # an engine fault, or an error before the student's code returned anything
    problem = f"{type(exc).__name__}: {clean_text(exc, 300)}"
    if state.reference_dir is None:
        last = calls[-1]
        return (f"{_who(last.target, last.args)} returned {describe(last.value)}, which the test could not use "
                f"({problem}). Check what its docstring says it returns.")
    try:
        difference = first_form_difference(calls, state.reference)
        if difference is None:
            return None  # what came back has the reference's form: nothing it returned explains the error
        record, path, mine, ref = difference
        who, where = _owner(record, path)
    except Exception:  # noqa: BLE001 - a comparison that fails explains nothing: the grader's error stands
        return None
    at = "".join(f"[{key!r}]" for key in where)
    return (f"{who} returned {mine}{f' at {at}' if at else ''}, where the reference returns {ref} "
            f"for the same arguments, so the test could not go on ({type(exc).__name__}).")


def _owner(record: CallRecord, path: tuple) -> tuple[str, tuple]:
    """Whose result the part at ``path`` of a call's value is, and its path in that result: a
    probe's result holds the results of the student's functions it ran (``together`` runs
    several calls, ``forward_backward`` returns the forward's out and the backward's grads)."""
    args, first = record.args, (path[0] if path else None)
    if record.path == "autograder.probes.several" and type(first) is int and first < len(args[0]):
        name, step = args[0][first]  # ("call", (function, *its arguments)) for a call of together()
        if name == "call":
            return _who(step[0]), path[1:]
    if record.path == "autograder.probes.forward_backward" and first in (1, 2):
        # (paired, out, grads): out is [0] of the forward's (out, cache); grads, the backward's result
        return _who(args[first - 1]), ((0,) if first == 1 else ()) + path[1:]
    return _who(record.target, args), path


def _failed_check(item: pytest.Item) -> str:
    """A failed check that has no message of its own, named by its test's docstring."""
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    first = doc.strip().splitlines()[0] if doc and doc.strip() else ""
    return f"the check “{first}” failed" if first else f"a check of {getattr(item, 'originalname', item.name)} failed"


def _raises_block(exc: BaseException | None) -> "tuple[pytest.RaisesExc, BaseException | None] | None":
    """The ``pytest.raises`` block whose end raised ``exc`` and the exception the block got (None:
    DID NOT RAISE; else one whose message did not match), found in the traceback; None for any
    other exception."""
    tb = getattr(exc, "__traceback__", None)
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "__exit__" and isinstance(frame.f_locals.get("self"), pytest.RaisesExc):
            return frame.f_locals["self"], frame.f_locals.get("exc_val")
        tb = tb.tb_next
    return None


def _unmet_raises(state: JudgeState, raises: "pytest.RaisesExc", got: BaseException | None) -> str:
    """What a ``pytest.raises`` block expected of the student's code, and what it did instead."""
    names = [t.__name__ for t in raises.expected_exceptions]
    pattern = getattr(raises.match, "pattern", raises.match)
    if set(names) <= {"AssertionError", "SubmissionProblem", "StudentException"}:
        # The student's exceptions reach a test as the engine's ("<function> raised ValueError: ..."),
        # so a test names the student's exception by the message it must match.
        wanted = pattern if isinstance(pattern, str) and pattern.isidentifier() else "an exception"
    else:
        wanted = " or ".join(names) or "an exception"
    last = state.proxy.calls[-1] if state.proxy.calls else None
    who = _who(last.target, last.args) if last is not None else "your code"
    if got is None:
        return f"expected {who} to raise {wanted}, but it returned normally"
    return f"expected {who} to raise {wanted}; instead, {got}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if _STATE not in config.stash:
        return
    state = config.stash[_STATE]
    state.close()
    doc = state.document()
    config.stash[_DOCUMENT] = doc
    if state.results_path is not None:
        write_json(state.results_path, doc)


_DOCUMENT = pytest.StashKey[dict]()


def write_json(path: Path, doc: dict) -> None:
    """Write atomically, so a crash never leaves half a results file."""
    with replaced_whole(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")


def document_of(config: pytest.Config) -> dict | None:
    return config.stash.get(_DOCUMENT, None)
