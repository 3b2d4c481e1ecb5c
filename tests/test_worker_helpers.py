"""An exercise's worker-side helpers live in its folder (``worker_helpers.py``, autograder.helpers).

The fork server loads them before it forks; a test reaches the worker's copy as
``submission.helpers`` and the judge's as ``load_helpers(__file__)``; the worker
may import its own exercise's helpers by name and nothing else from disk; the
mistake catalogue names a mistake seen through a helper; and the release carries
the file only when a public test uses it.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder.grade import GradeTask, grade_one
from autograder.release import release_assignment

REFERENCE = '''
def update(state, x):
    """Adds x to state["total"] in place (a dict the caller keeps), returns nothing."""
    ### BEGIN SOLUTION
    state["total"] = state.get("total", 0.0) + x
    ### END SOLUTION
'''
WRONG = REFERENCE.replace('state.get("total", 0.0) + x', 'x')
HELPERS = '''
"""Helpers of this tiny exercise: drive update() over several calls, in the worker."""


def run(fn, xs):
    state = {}
    for x in xs:
        fn(state, x)
    return state.get("total")
'''
MISTAKES = '''
from autograder.mistakes import mistake


@mistake("update", "total overwritten instead of accumulated", hint="add x to the running total.")
def update(state, x):
    state["total"] = x
'''
TESTS = '''
import pytest
from autograder import assert_close, load_helpers, points

drive = load_helpers(__file__)


@points(1)
def test_total_over_calls(submission, reference):
    xs = [1.0, 2.0, 4.0]
    got = submission.helpers.run(submission.update, xs)
    assert_close(got, drive.run(reference.update, xs), what="total after three calls")


@points(1)
def test_no_other_exercise_s_helpers(submission):
    with pytest.raises(AssertionError, match="WireError|bad reference"):
        submission.library("worker_helpers.other_0123456789ab").run(submission.update, [1.0])
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("helpers")
    solution = base / "solutions" / "tally"
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["tally"]\n')
    (solution / "tally.py").write_text(REFERENCE)
    (solution / "worker_helpers.py").write_text(HELPERS)
    (solution / "mistakes.py").write_text(MISTAKES)
    (solution / "tests" / "test_hidden.py").write_text(textwrap.dedent(TESTS))
    for student, source in (("right", REFERENCE), ("wrong", WRONG)):
        (base / "subs" / student).mkdir(parents=True)
        (base / "subs" / student / "tally.py").write_text(source)
    return base


def grade(course: Path, student: str, isolation: str | None) -> dict:
    solution = course / "solutions" / "tally"
    return grade_one(GradeTask(
        assignment_dir=str(solution), tests_dir=str(solution / "tests"), submission=str(course / "subs" / student),
        student=student, results=str(course / "out" / f"{student}-{isolation}.json"),
        reference_dir=str(solution), seed=1, isolation=isolation))


@pytest.mark.parametrize("isolation", [None, "spawn", "none"], ids=["fork", "spawn", "in-process"])
def test_helpers_reach_the_worker_and_name_a_mistake(course, isolation):
    right = grade(course, "right", isolation)
    outcomes = {t["name"].split(":")[0]: t["outcome"] for t in right["tests"]}
    assert outcomes["test_total_over_calls"] == "passed", right
    if isolation != "none":  # in-process, every module of the judge is at hand
        assert outcomes["test_no_other_exercise_s_helpers"] == "passed", right
    wrong = grade(course, "wrong", isolation)
    failed = next(t for t in wrong["tests"] if t["name"].startswith("test_total_over_calls"))
    assert failed["outcome"] == "failed", wrong
    assert "total overwritten instead of accumulated" in wrong["mistakes"], wrong
    assert "tally.update" in failed["output"] or "total after three calls" in failed["output"], failed


def test_a_worker_does_not_see_the_helpers_of_an_edited_file_under_the_old_name(course, tmp_path):
    """The module name carries the file's digest: an edited file is loaded anew, never served stale."""
    from autograder.helpers import module_name

    path = course / "solutions" / "tally" / "worker_helpers.py"
    copy = tmp_path / "worker_helpers.py"
    copy.write_text(path.read_text() + "\n# edited\n")
    assert module_name("tally", path) != module_name("tally", copy)
    assert module_name("tally", path).startswith("worker_helpers.tally_")


def test_the_release_carries_the_helpers_only_when_a_public_test_uses_them(course, tmp_path):
    solution = course / "solutions" / "tally"
    assert "worker_helpers.py" not in {p.name for p in release_assignment(solution, tmp_path / "a")}
    public = solution / "tests" / "test_public.py"
    public.write_text("import pytest\npytestmark = pytest.mark.public\n\n\ndef test_runs(submission):\n"
                      "    assert submission.helpers.run(submission.update, [1.0]) == 1.0, 'total of [1.0]'\n")
    try:
        assert "worker_helpers.py" in {p.name for p in release_assignment(solution, tmp_path / "b")}
    finally:
        public.unlink()


def test_helpers_of_an_assignment_whose_name_starts_with_a_digit_load(tmp_path):
    from autograder import helpers

    path = tmp_path / "worker_helpers.py"
    path.write_text("def answer():\n    return 42\n")
    for assignment in ("01-mlp", "2024_hw3", "_x"):
        name = helpers.module_name(assignment, path)
        assert name.split(".")[-1].startswith("a_") and helpers.load(name, path).answer() == 42
