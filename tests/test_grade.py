"""Tests of autograder.grade that need no judge run: the judge's command line, results file names."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from autograder.config import solution_assignment
from autograder.grade import GradeTask, grade_batch, judge_args
from autograder.ingest import Submission, file_name

COURSE = Path(__file__).resolve().parents[1]


def task(**changes) -> GradeTask:
    values = dict(assignment_dir="/c/solutions/backprop", tests_dir="/c/solutions/backprop/tests",
                  submission="/out/.staging/x", student="x", results="/out/x.json",
                  reference_dir="/c/solutions/backprop", seed=7, isolation="fork", hide=("/out",))
    values.update(changes)
    return GradeTask(**values)


def test_every_value_travels_inside_its_option():
    # A value in an argument of its own is read by pytest as an option when it starts with "-"
    # ("-pthis" loads a module) or as a file of arguments when it starts with "@".
    args = judge_args(task(student="-pthis", submission="@ids", results="-x.json", hide=("@h",)))
    for option, value in [("--student", "-pthis"), ("--submission", "@ids"), ("--results", "-x.json"),
                          ("--assignment-dir", "/c/solutions/backprop"), ("--reference-dir", "/c/solutions/backprop"),
                          ("--seed", "7"), ("--isolation", "fork"), ("--hide", "@h")]:
        assert f"{option}={value}" in args
        assert option not in args and value not in args


def test_pytest_reads_odd_ids_back_as_values(tmp_path):
    from _pytest.config import _prepareconfig

    config = _prepareconfig(judge_args(task(student="-pthis", submission="@ids", tests_dir=str(tmp_path))))
    try:
        assert config.getoption("student") == "-pthis" and config.getoption("submission") == "@ids"
        assert config.args == [str(tmp_path)]
        assert "this" not in sys.modules  # "-pthis" would have imported the module `this`
    finally:
        config._ensure_unconfigure()


def test_results_files_are_named_by_file_name(tmp_path):
    """Ungradable submissions go through grade_batch without a judge: their files show the naming."""
    a = solution_assignment(COURSE, "backprop")
    ids = ["=HYPERLINK(\"x\")", "a\x1bb\n", "y" * 251]
    subs = [Submission(s, None, "no files found") for s in ids]
    docs = grade_batch(a, subs, tmp_path, reference_dir=a.folder)
    assert [d["student"] for d in docs] == ids
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{file_name(s)}.json" for s in ids)
    for s in ids:
        assert json.loads((tmp_path / f"{file_name(s)}.json").read_text())["student"] == s


def test_a_class_gets_one_seed_and_a_resumed_batch_keeps_it(tmp_path):
    from autograder.grade import class_seed

    assert class_seed(5, False, tmp_path, False) == 5
    assert class_seed(None, True, tmp_path, False) is None  # --seed-per-student: each judge draws its own
    drawn = class_seed(None, False, tmp_path, False)
    assert type(drawn) is int and 0 <= drawn < 2**31
    for student in ("a", "b"):
        (tmp_path / f"{student}.json").write_text(json.dumps({"student": student, "seed": 77}))
    (tmp_path / "c.json").write_text("{not json")
    assert class_seed(None, False, tmp_path, True) == 77


@pytest.mark.parametrize("cpus, submissions, judges", [
    (2, 0, 1), (2, 10, 1), (2, 23, 1), (2, 24, 2), (2, 40, 2), (16, 98, 8), (16, 1000, 16), (1, 500, 1)])
def test_a_batch_gets_one_judge_per_12_submissions_at_most_one_per_cpu(monkeypatch, cpus, submissions, judges):
    from autograder.grade import default_jobs

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    assert default_jobs(submissions) == judges
