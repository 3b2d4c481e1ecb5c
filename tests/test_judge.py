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


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("timing")
    solution = base / "solutions" / "mini"
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["mini"]\n')
    (solution / "mini.py").write_text(FAST)
    (solution / "tests" / "test_hidden.py").write_text(textwrap.dedent(HIDDEN))
    for name, source in (("fast", FAST), ("slow", SLOW)):
        (base / "subs" / name).mkdir(parents=True)
        (base / "subs" / name / "mini.py").write_text(source)
    return base


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
