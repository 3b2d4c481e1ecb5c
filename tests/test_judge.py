"""The judge plugin on a tiny synthetic course, graded the way `autograder grade` does.

The course's reference sums with numpy; its two submissions sum with numpy
(fast) or a Python loop (slow). One hidden test grades the ratio of two
``best_time`` figures, taken in the student's worker and in the reference's,
as a speed test of a real assignment does.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder.grade import GradeTask, grade_one

FAST = "import numpy as np\n\ndef total(x):\n    return float(np.sum(x))\n"
SLOW = "def total(x):\n    s = 0.0\n    for v in x.ravel():\n        s += float(v)\n    return s\n"

HIDDEN = '''
import numpy as np
from autograder import assert_close, points

@points(1)
def test_total(submission, reference, rng):
    x = rng.normal(size=1000)
    assert_close(submission.total(x), reference.total(x))

@points(2)
def test_total_is_within_3x_of_the_reference(submission, reference_worker, rng):
    x = rng.normal(size=200_000)
    student = submission.library("autograder.probes").best_time(submission.total, (x,), 5)
    ref = reference_worker.library("autograder.probes").best_time(reference_worker.total, (x,), 5)
    assert isinstance(student, float) and isinstance(ref, float) and 0 < ref < 1
    assert student <= 3 * ref, f"total took {student / ref:.0f}x the reference's time"
'''


def add_assignment(base: Path, name: str, reference: str, tests: str, subs: dict[str, str]) -> Path:
    """An assignment of module ``mini`` in the course at ``base``, and submissions of it."""
    solution = base / "solutions" / name
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["mini"]\n')
    (solution / "mini.py").write_text(reference)
    (solution / "tests" / "test_hidden.py").write_text(textwrap.dedent(tests))
    for student, source in subs.items():
        (base / "subs" / student).mkdir(parents=True)
        (base / "subs" / student / "mini.py").write_text(source)
    return base


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return add_assignment(tmp_path_factory.mktemp("timing"), "mini", FAST, HIDDEN, {"fast": FAST, "slow": SLOW})


def grade(course: Path, student: str, isolation: str | None = None, name: str = "mini") -> dict:
    solution = course / "solutions" / name
    return grade_one(GradeTask(
        assignment_dir=str(solution), tests_dir=str(solution / "tests"), submission=str(course / "subs" / student),
        student=student, results=str(course / "out" / f"{student}-{isolation}.json"),
        reference_dir=str(solution), seed=1, isolation=isolation))


def scores(doc: dict) -> dict:
    return {t["name"].split("::")[-1].split(" ")[0]: (t["score"], t["max_score"]) for t in doc["tests"]}


@pytest.mark.parametrize("isolation", [None, "none"], ids=["sandboxed", "in-process"])
def test_speed_is_graded_against_the_reference_in_a_worker_of_its_own(course, isolation):
    fast, slow = grade(course, "fast", isolation), grade(course, "slow", isolation)
    assert scores(fast) == {"test_total": (1, 1), "test_total_is_within_3x_of_the_reference": (2, 2)}, fast
    assert scores(slow) == {"test_total": (1, 1), "test_total_is_within_3x_of_the_reference": (0, 2)}, slow
    slow_test = next(t for t in slow["tests"] if "within_3x" in t["name"])
    assert "the reference's time" in slow_test["output"]


@pytest.mark.parametrize("name, mark, complaint", [
    ("budget", "limits(submission_seconds=5)", "not submission_seconds"),
    ("typo", "limits(call_second=5)", "unknown limit(s): call_second"),
])
def test_a_wrong_limits_mark_stops_grading_with_the_authors_error(course, name, mark, complaint):
    # Each course's tests are test_hidden.py too: grading one after another in this process
    # must not reuse the previous course's module (pytest's importlib mode caches by name).
    solution = course / "solutions" / name
    (solution / "tests").mkdir(parents=True, exist_ok=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["mini"]\n')
    (solution / "mini.py").write_text(FAST)
    (solution / "tests" / "test_hidden.py").write_text(
        f"import pytest\n\n@pytest.mark.{mark}\ndef test_total(submission):\n    assert submission.total([1.0]) == 1.0\n")
    doc = grade(course, "fast", name=name)
    assert doc["score"] == 0 and "could not run the tests" in doc["output"], doc["output"]
    assert complaint in doc["output"] and "test_hidden.py::test_total" in doc["output"], doc["output"]


def test_grading_on_a_dask_cluster_gives_the_same_results(course, tmp_path):
    distributed = pytest.importorskip("distributed")
    from autograder.config import load_assignment
    from autograder.grade import grade_batch
    from autograder.ingest import discover

    assignment = load_assignment(course / "solutions" / "mini")
    subs = discover(course / "subs", tmp_path / "staging", "mini")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        docs = grade_batch(assignment, subs, tmp_path / "out", reference_dir=assignment.folder, seed=1,
                           dask=cluster.scheduler_address)
    by_student = {d["student"]: d for d in docs}
    assert {s: scores(d) for s, d in by_student.items()} == {
        "fast": {"test_total": (1, 1), "test_total_is_within_3x_of_the_reference": (2, 2)},
        "slow": {"test_total": (1, 1), "test_total_is_within_3x_of_the_reference": (0, 2)},
    }
    assert by_student["fast"]["isolation"]["mode"] == "fork"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fast.json", "slow.json"]


# ------------------------------------------------------------------ a student's words

WORDS = '''
import numpy as np
import pytest
from autograder import points

def test_raises_value_error(submission):
    """negative sizes are refused"""
    with pytest.raises(AssertionError, match="ValueError"):
        submission.make(-1)

def test_raises_value_error_not_type_error(submission):
    with pytest.raises(AssertionError, match="ValueError"):
        submission.make("x")

def test_fails_in_the_authors_words(submission):
    if submission.make(2) != 3:
        pytest.fail("make(2) must be 3")

def test_bare_assert(submission):
    """make(2) is 3"""
    assert np.all(np.array([submission.make(2)]) == 3)

def test_bare_assert_without_a_docstring(submission):
    assert all(v == 3 for v in [submission.make(2)])

def test_assert_with_a_message(submission):
    value = submission.make(2)
    assert value * 1.0 <= 3 - 2, f"make(2) is {value}, expected at most 1"
'''

# Returns normally for -1, raises TypeError for a str, and make(2) is 2, not 3.
LAX = "def make(n):\n    if isinstance(n, str):\n        raise TypeError('n must be an int')\n    return n\n"


@pytest.fixture(scope="module")
def words_course(course) -> Path:
    return add_assignment(course, "words", LAX, WORDS, {"lax": LAX})


@pytest.mark.parametrize("isolation", [None, "none"], ids=["sandboxed", "in-process"])
def test_every_failure_reads_in_the_engines_words(words_course, isolation):
    doc = grade(words_course, "lax", isolation, name="words")
    out = {t["name"].split(":")[0]: (t["outcome"], t["output"]) for t in doc["tests"]}
    assert out["test_raises_value_error"] == (
        "failed", "expected mini.make to raise ValueError, but it returned normally"), out
    outcome, text = out["test_raises_value_error_not_type_error"]
    assert outcome == "failed" and text.startswith(
        "expected mini.make to raise ValueError; instead, mini.make raised TypeError: n must be an int"), text
    assert out["test_fails_in_the_authors_words"] == ("failed", "make(2) must be 3"), out
    assert out["test_bare_assert"] == ("failed", "the check “make(2) is 3” failed"), out
    assert out["test_bare_assert_without_a_docstring"] == (
        "failed", "a check of test_bare_assert_without_a_docstring failed"), out
    assert out["test_assert_with_a_message"] == ("failed", "make(2) is 2, expected at most 1"), out
    for outcome, text in out.values():  # nothing of pytest's: its rewritten asserts, reprs, DID NOT RAISE
        assert not any(word in text for word in ("assert ", "where", "np.False_", "<", "DID NOT", "Regex")), text


# ------------------------------------------------------------------ warnings

WARNS = '''
import numpy as np
from autograder import assert_close, assert_no_warnings, together

X = np.array([-1000.0, 0.0, 1000.0])

def test_sigmoid_without_warnings(submission):
    out = submission.sig(X)
    assert_close(out, np.array([0.0, 0.5, 1.0]), what="sig(x)")
    assert_no_warnings(submission)

def test_sigmoid_where_warnings_are_allowed(submission):
    assert_close(submission.sig(X), np.array([0.0, 0.5, 1.0]), what="sig(x)")

def test_sigmoid_through_a_probe_without_warnings(submission):
    (out,) = together((submission.sig, X))
    assert_close(out, np.array([0.0, 0.5, 1.0]), what="sig(x)")
    assert_no_warnings(submission)

def test_noisy_without_warnings(submission):
    submission.noisy()
    assert_no_warnings(submission)
'''

STABLE = ("import numpy as np\n\ndef sig(x):\n    z = np.exp(-np.abs(x))\n"
          "    return np.where(x >= 0, 1 / (1 + z), z / (1 + z))\n\ndef noisy():\n    return 1\n")
OVERFLOWS = ("import warnings\nimport numpy as np\n\ndef sig(x):\n    return 1 / (1 + np.exp(-x))\n\n"
             "def noisy():\n    for i in range(100):\n"
             "        warnings.warn('\\x1b[31mred ' + str(i) + ' ' + 'x' * 2000)\n    return 1\n")
SILENCED = ("import numpy as np\n\ndef sig(x):\n    with np.errstate(over='ignore'):\n"
            "        return 1 / (1 + np.exp(-x))\n\ndef noisy():\n    return 1\n")


@pytest.fixture(scope="module")
def warns_course(course) -> Path:
    return add_assignment(course, "warns", STABLE, WARNS, {"stable": STABLE, "overflows": OVERFLOWS, "silenced": SILENCED})


@pytest.mark.parametrize("isolation", [None, "none"], ids=["sandboxed", "in-process"])
def test_a_warning_costs_the_points_of_a_test_that_forbids_it_and_no_others(warns_course, isolation):
    def outcomes(student):
        doc = grade(warns_course, student, isolation, name="warns")
        return {t["name"].split(":")[0]: (t["outcome"], t["output"]) for t in doc["tests"]}

    assert {t: o for t, (o, _) in outcomes("stable").items()} == dict.fromkeys(
        ["test_sigmoid_without_warnings", "test_sigmoid_where_warnings_are_allowed",
         "test_sigmoid_through_a_probe_without_warnings", "test_noisy_without_warnings"], "passed")
    assert all(o == "passed" for o, _ in outcomes("silenced").values())  # silenced where it arises: no warning
    seen = outcomes("overflows")
    assert seen["test_sigmoid_where_warnings_are_allowed"][0] == "passed"
    for test in ("test_sigmoid_without_warnings", "test_sigmoid_through_a_probe_without_warnings"):
        outcome, text = seen[test]
        assert outcome == "failed" and text.startswith(
            "mini.sig raised RuntimeWarning: overflow encountered in exp (mini.py, line 5)"), text
    outcome, text = seen["test_noisy_without_warnings"]
    # Worker text: cleaned (no escape sequence) and capped, however many warnings and however long.
    assert outcome == "failed" and text.startswith("mini.noisy raised UserWarning: red 0 xxx"), text
    assert "\x1b" not in text and "[... cut]" in text and len(text) < 1500 and "red 1 " not in text, text
