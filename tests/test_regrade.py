"""Regrading into an existing results folder: --resume by suite fingerprint, --only, and what the
command says while it grades. On the tiny synthetic course of test_grading_machine."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.config import load_assignment
from autograder.grade import previous_results, suite_fingerprint
from autograder.ingest import discover
from test_grading_machine import course, grade  # noqa: F401 - the fixture is used by name


def cli(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINI_", "AUTOGRADER_COURSE"))}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return subprocess.run([sys.executable, "-m", "autograder", "grade", "mini", str(course / "subs"), "--out",
                           str(course / "out"), "--course", str(course), "-j", "1", "--no-canary", "--no-report", *args],
                          env=env, capture_output=True, text=True, timeout=300)


def results(course: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (course / "out").glob("*.json")}


def test_the_fingerprint_follows_the_suite_and_not_the_samples(course):
    folder = course / "solutions" / "mini"
    first = suite_fingerprint(load_assignment(folder))
    assert first.startswith("sha256:") and len(first) == 27
    (folder / "samples" / "correct-loop").mkdir(parents=True)
    (folder / "samples" / "correct-loop" / "mini.py").write_text("def total(x):\n    return sum(x)\n")
    (folder / "samples" / "wrong-one.patch").write_text("--- reference/mini.py\n+++ wrong-one/mini.py\n")
    (folder / "walkthrough.ipynb").write_text("{}")
    assert suite_fingerprint(load_assignment(folder)) == first
    seen = {first}
    for path, text in ((folder / "tests" / "test_hidden.py", "\n# points changed\n"),
                       (folder / "mini.py", "\n# reference edited\n"),
                       (folder / "assignment.toml", "\n[limits]\ncall_seconds = 3\n"),
                       (folder / "mistakes.py", "# a new catalogue\n"),
                       (folder / "tests" / "inputs.csv", "1,2,3\n")):
        with open(path, "a") as fh:
            fh.write(text)
        now = suite_fingerprint(load_assignment(folder))
        assert now not in seen, path
        seen.add(now)


def test_resume_keeps_results_of_the_same_suite_and_regrades_the_others(course):
    docs = grade(course, jobs=1)
    assignment = load_assignment(course / "solutions" / "mini")
    subs = discover(course / "subs", course / "staging", "mini")
    fingerprint = suite_fingerprint(assignment)
    assert {d["fingerprint"] for d in docs} == {fingerprint}
    assert previous_results(subs, course / "out", fingerprint) == ({d["student"]: d for d in docs}, {})

    stale = dict(docs[1], fingerprint="sha256:0000")
    (course / "out" / "ben.json").write_text(json.dumps(stale))
    (course / "out" / "unlucky.json").write_text("{not json")
    kept, again = previous_results(subs, course / "out", fingerprint)
    assert sorted(kept) == ["ana"]
    assert again == {"ben": "the suite or the engine changed since", "unlucky": "its results file cannot be read"}
    # A class is graded with one seed: --resume --seed 4 after a batch graded with seed 3 grades ana again.
    assert previous_results(subs, course / "out", fingerprint, seed=3)[0] == {"ana": docs[0]}
    assert previous_results(subs, course / "out", fingerprint, seed=4)[1]["ana"] == "graded with another seed than 4"


def test_a_changed_suite_is_regraded_by_resume_and_the_command_says_how_many(course):
    assert cli(course, "--seed", "5").returncode == 0
    before = results(course)
    hidden = course / "solutions" / "mini" / "tests" / "test_hidden.py"
    hidden.write_text(hidden.read_text().replace("@points(2)", "@points(4)"))

    r = cli(course, "--resume")
    assert r.returncode == 0, r.stderr
    assert "resume: 0 result(s) kept; graded again: 3 (the suite or the engine changed since); 0 not graded yet" \
        in r.stderr, r.stderr
    after = results(course)
    assert {s: (d["score"], d["max_score"], d["seed"]) for s, d in after.items()} == {
        "ana": (4, 4, 5), "ben": (0, 4, 5), "unlucky": (4, 4, 5)}
    assert all(after[s]["fingerprint"] != before[s]["fingerprint"] for s in after)
    # One suite in grades.csv: no old 2-point result beside the new 4-point ones.
    assert {row["max_score"] for row in csv.DictReader(open(course / "out" / "grades.csv"))} == {"4"}

    r = cli(course, "--resume")
    assert "resume: 3 result(s) kept; 0 not graded yet" in r.stderr, r.stderr


def test_only_regrades_the_named_students_into_the_class_results(course):
    assert cli(course, "--seed", "5").returncode == 0
    untouched = {s: (course / "out" / f"{s}.json").stat().st_mtime_ns for s in ("ana", "unlucky")}
    (course / "subs" / "ben" / "mini.py").write_text((course / "subs" / "ana" / "mini.py").read_text())

    r = cli(course, "--only", "ben")
    assert r.returncode == 0, r.stderr
    assert {s: (course / "out" / f"{s}.json").stat().st_mtime_ns for s in untouched} == untouched
    after = results(course)
    assert (after["ben"]["score"], after["ben"]["seed"]) == (2, 5)  # the class's seed, kept
    rows = list(csv.DictReader(open(course / "out" / "grades.csv")))
    assert [(row["student"], row["score"]) for row in rows] == [("ana", "2"), ("ben", "2"), ("unlucky", "2")]
    assert "grading mini" in r.stderr and "1/1" in r.stderr, r.stderr

    r = cli(course, "--only", "nobody")
    assert r.returncode == 1 and "--only: no submission of nobody in" in r.stderr, r.stderr
    r = cli(course, "--only", "ben", "--resume")
    assert r.returncode == 2 and "--only and --resume exclude each other" in r.stderr, r.stderr


def test_the_progress_bar_counts_zeros_and_errors_with_one_job(course):
    (course / "subs" / "broken.zip").write_bytes(b"not a zip")
    r = cli(course, "--seed", "5")
    assert r.returncode == 0, r.stderr
    # Drawn on the command's stderr while the judges run in its own process (-j 1), not into their logs.
    assert "4/4" in r.stderr and "ETA" in r.stderr, r.stderr
    assert "zeros 1, errors 1, grader errors 0" in r.stderr, r.stderr


@pytest.mark.parametrize("bad", ["--only"])
def test_only_needs_an_id(course, bad):
    r = cli(course, bad)
    assert r.returncode == 2 and "requires an argument" in r.stderr, r.stderr


def test_ctrl_c_stops_the_batch_and_leaves_only_whole_results(course):
    import shutil
    import signal
    import time

    for i in range(12):
        shutil.copytree(course / "subs" / "ana", course / "subs" / f"extra{i:02d}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINI_", "AUTOGRADER_COURSE"))}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "mini", str(course / "subs"), "--out",
                             str(course / "out"), "--course", str(course), "-j", "1", "--no-report", "--seed", "5"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            # A test process may run with SIGINT ignored (as pytest-xdist's workers can), and an
                            # ignored signal stays ignored in its children: give the command a terminal's default.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list((course / "out").glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole process group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Run the same command with --resume to grade the rest." in stderr, stderr
    done = results(course)
    assert 1 <= len(done) < 15 and all(d.get("fingerprint") for d in done.values()), sorted(done)
    assert not any(d.get("error") for d in done.values())  # the interrupted judge made up no grader error

    r = cli(course, "--resume")
    assert r.returncode == 0, r.stderr
    assert len(results(course)) == 15 and all(d["score"] == 2 for s, d in results(course).items() if s != "ben")


def test_results_of_students_no_longer_in_the_download_are_pointed_out(course):
    assert cli(course, "--seed", "5").returncode == 0
    (course / "out" / "Chlo\u251c\u2310.json").write_text((course / "out" / "ana.json").read_text())  # an old id
    r = cli(course, "--resume")
    assert r.returncode == 0, r.stderr
    assert "note: 1 result file(s) in" in r.stderr and "belong to no submission of this download" in r.stderr
    assert "remove them, or grade into a new folder" in r.stderr, r.stderr
