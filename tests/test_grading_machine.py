"""What a batch does when the grading machine, not the class, is at fault.

A tiny synthetic course whose suite can be broken from outside, the way a
machine breaks (a library that fails, CUDA that cannot start): the canary
stops the batch before a student is graded, a grader error in one judge is
counted apart and regraded by ``--resume``, and points that no one could be
graded on here (``gpu`` tests without CUDA) are said, never dropped.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autograder import report
from autograder.config import load_assignment
from autograder.grade import CanaryFailed, _DaskExecutor, grade_batch, has_gpu_tests
from autograder.ingest import discover
from autograder.judge import _gpu_unavailable

RIGHT = "import numpy as np\n\ndef total(x):\n    return float(np.sum(x))\n"
WRONG = "def total(x):\n    return 0.0\n"

# MINI_BROKEN breaks every judge's machine; MINI_FAULT_STUDENT breaks the judge of one student;
# MINI_WORKER_KIND is set on Dask workers, and GPU suites must run where it is "gpu".
SUITE = '''
import os
import numpy as np
import pytest
from autograder import assert_close, points

def _machine(request):
    if os.environ.get("MINI_BROKEN") or os.environ.get("MINI_FAULT_STUDENT") == request.config.getoption("student"):
        raise OSError("libmachine.so: cannot open shared object file")
    if os.environ.get("MINI_EXPECT_KIND", os.environ.get("MINI_WORKER_KIND")) != os.environ.get("MINI_WORKER_KIND"):
        raise OSError("judged on a worker without a GPU resource")

@points(2)
def test_total(submission, reference, rng, request):
    _machine(request)
    x = rng.normal(size=100)
    assert_close(submission.total(x), reference.total(x))

@points(3)
@pytest.mark.gpu
def test_total_on_cuda(submission, reference):
    assert_close(submission.total(np.ones(4)), 4.0)
'''


@pytest.fixture
def course(tmp_path) -> Path:
    solution = tmp_path / "solutions" / "mini"
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nname = "mini"\nmodules = ["mini"]\n')
    (solution / "mini.py").write_text(RIGHT)
    (solution / "tests" / "test_hidden.py").write_text(textwrap.dedent(SUITE))
    for student, source in {"ana": RIGHT, "ben": WRONG, "unlucky": RIGHT}.items():
        (tmp_path / "subs" / student).mkdir(parents=True)
        (tmp_path / "subs" / student / "mini.py").write_text(source)
    return tmp_path


def grade(course: Path, **options) -> list[dict]:
    assignment = load_assignment(course / "solutions" / "mini")
    subs = discover(course / "subs", course / "staging", "mini")
    return grade_batch(assignment, subs, course / "out", reference_dir=assignment.folder, seed=3, **options)


def results_written(course: Path) -> list[str]:
    return sorted(p.name for p in (course / "out").glob("*.json"))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_machine_that_fails_the_canary_grades_no_one(course, monkeypatch, jobs):
    monkeypatch.setenv("MINI_BROKEN", "1")
    with pytest.raises(CanaryFailed) as stopped:
        grade(course, jobs=jobs, canary=True)
    message = str(stopped.value)
    assert "The reference solution scored 0 / 2 on this grading machine" in message, message
    assert "so no student was graded here" in message and "not the students" in message, message
    assert "test_total: error: grader error in call (OSError: libmachine.so" in message, message
    assert "environment: Python " in message and "numpy " in message, message
    assert results_written(course) == []


def test_without_the_canary_a_broken_machine_marks_every_student_as_a_grader_error(course, monkeypatch):
    monkeypatch.setenv("MINI_BROKEN", "1")
    docs = grade(course, jobs=1)
    assert [(d["student"], d["score"], d["error"]) for d in docs] == [
        ("ana", 0, "grader_error"), ("ben", 0, "grader_error"), ("unlucky", 0, "grader_error")]
    assert "could not be graded because of a grader error, not because of this submission" in docs[0]["output"]


def test_a_grader_error_is_counted_apart_and_resume_grades_it_again(course, monkeypatch):
    monkeypatch.setenv("MINI_FAULT_STUDENT", "unlucky")
    docs = {d["student"]: d for d in grade(course, jobs=1, canary=True)}
    assert {s: (d["score"], d.get("error")) for s, d in docs.items()} == {
        "ana": (2, None), "ben": (0, None), "unlucky": (0, "grader_error")}
    fault = next(t for t in docs["unlucky"]["tests"] if t["name"] == "test_total")
    assert fault["outcome"] == "error" and "please report this to the course staff" in fault["output"], fault

    summary = report.batch_summary(list(docs.values()))
    assert summary[0] == ("2 graded; 1 with a GRADER ERROR (not the students' fault: grade them again with "
                          "--resume)"), summary
    report.write_grades_csv(list(docs.values()), course / "grades.csv")
    rows = {r["student"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    assert (rows["unlucky"]["error"], rows["ana"]["error"]) == ("grader_error", "")

    kept = (course / "out" / "ana.json").stat().st_mtime_ns
    monkeypatch.delenv("MINI_FAULT_STUDENT")
    again = {d["student"]: d for d in grade(course, jobs=1, resume=True, canary=True)}
    assert {s: (d["score"], d.get("error")) for s, d in again.items()} == {
        "ana": (2, None), "ben": (0, None), "unlucky": (2, None)}
    assert (course / "out" / "ana.json").stat().st_mtime_ns == kept  # not regraded


def test_points_of_gpu_tests_skipped_here_are_reported_as_not_graded(course):
    docs = grade(course, jobs=1)
    ana = docs[0]
    if _gpu_unavailable() is None:  # a CUDA machine grades them
        assert "not_graded" not in ana and ana["max_score"] == 5
        return
    assert (ana["score"], ana["max_score"]) == (2, 2)
    assert ana["not_graded"] == {"points": 3, "tests": 1, "reason": "GPU test skipped: no CUDA device on this machine"}
    assert report.batch_summary(docs)[1] == (
        "NOT GRADED: 3 point(s) of skipped tests in every submission (GPU test skipped: no CUDA device on this "
        "machine); the scores above leave them out")
    report.write_grades_csv(docs, course / "grades.csv")
    rows = list(csv.reader(open(course / "grades.csv")))
    assert rows[0][-1] == "points_not_graded" and [r[-1] for r in rows[1:]] == ["3", "3", "3"]


def test_gpu_suites_are_found_from_their_source(course):
    assert has_gpu_tests(course / "solutions" / "mini" / "tests")
    assert has_gpu_tests(Path(__file__).parents[1] / "solutions" / "backprop" / "tests")
    (course / "plain").mkdir()
    (course / "plain" / "test_x.py").write_text("def test_gpu_free():\n    assert 'mark.gpux'\n")
    assert not has_gpu_tests(course / "plain")


def test_on_dask_a_gpu_suite_is_judged_only_on_workers_that_declare_a_gpu(course, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("MINI_EXPECT_KIND", "gpu")
    spec = {kind: {"cls": distributed.Nanny, "options": {
        "nthreads": 1, "env": {"MINI_WORKER_KIND": kind}, **({"resources": {"GPU": 1}} if kind == "gpu" else {})}}
        for kind in ("gpu", "cpu")}
    scheduler = {"cls": distributed.Scheduler, "options": {"dashboard_address": None}}
    with distributed.SpecCluster(workers=spec, scheduler=scheduler, silence_logs=50) as cluster:
        docs = grade(course, dask=cluster.scheduler_address)
        if _gpu_unavailable():
            # A worker that declares a GPU but has no CUDA is a broken machine: its canary says so.
            with pytest.raises(CanaryFailed, match="test_total_on_cuda: skipped: GPU test skipped: no CUDA device"):
                grade(course, dask=cluster.scheduler_address, canary=True)
    # Judged on the cpu worker, test_total would be a grader error ("without a GPU resource").
    assert [(d["student"], d["score"], d.get("error")) for d in docs] == [
        ("ana", 2, None), ("ben", 0, None), ("unlucky", 2, None)], [d["output"] for d in docs]


def test_on_dask_without_a_gpu_worker_the_batch_says_where_gpu_tests_run(capsys):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, dashboard_address=None, silence_logs=50) as cluster:
        with _DaskExecutor(cluster.scheduler_address, gpu=True) as executor:
            assert executor.executor._kwargs == {}
    assert "no Dask worker declares a GPU resource (dask worker ADDRESS --resources GPU=1)" in capsys.readouterr().err


def test_a_sample_hit_by_a_grader_error_is_never_as_expected(course, monkeypatch):
    from autograder.samples import check_expectations

    monkeypatch.setenv("MINI_FAULT_STUDENT", "unlucky")
    docs = grade(course, jobs=1)
    expected = {"ana": {"score": "max"}, "ben": {"score": 0}, "unlucky": {"at_most": "ben", "score": 0}}
    (problem,) = check_expectations(docs, expected)
    assert problem.startswith("unlucky: grader error: 0 / ") and (
        "1 test(s) could not be graded because of a grader error, not because of this submission") in problem, problem


def run_grade(course: Path, monkeypatch_env: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINI_", "AUTOGRADER_COURSE"))}
    env.update(COLUMNS="250", NO_COLOR="1", TERM="dumb", **monkeypatch_env)
    return subprocess.run([sys.executable, "-m", "autograder", "grade", "mini", str(course / "subs"), "--out",
                           str(course / "out"), "--course", str(course), "-j", "1", "--seed", "3", "--no-report"],
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_grade_command_stops_on_a_failed_canary_and_says_what_to_do(course):
    r = run_grade(course, {"MINI_BROKEN": "1"})
    assert r.returncode == 3, r.stderr
    assert "The batch was stopped: the reference failed its canary." in r.stderr, r.stderr
    assert "0 of 3 submission(s) were graded" in r.stderr and "with --resume" in r.stderr, r.stderr
    assert results_written(course) == []


def test_the_grade_command_counts_grader_errors_and_ungraded_points_under_its_table(course):
    r = run_grade(course, {"MINI_FAULT_STUDENT": "unlucky"})
    assert r.returncode == 0, r.stderr
    assert "2 graded; 1 with a GRADER ERROR (not the students' fault: grade them again with --resume)" in r.stdout
    assert "GRADER ERROR in 1 test(s), not the student's: --resume grades them again" in r.stdout, r.stdout
    if _gpu_unavailable():
        assert "NOT GRADED: 3 point(s) of skipped tests in every submission" in r.stdout, r.stdout
