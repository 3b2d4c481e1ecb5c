"""`autograder new` writes an assignment that passes, as it stands, everything an assignment must pass.

In a temporary course (empty solutions/ and assignments/, nothing of the real
repository's): `autograder new zzdemo`, then `autograder validate zzdemo`,
`autograder release --check`, and each rule the engine's tests enforce on
every assignment, applied to zzdemo (the rules are imported from the test
modules that state them where they can be, so the two never drift apart):

  test_config            a student's copy in another folder keeps the name
  test_environment       [environment] pins python, numpy and torch; the grader satisfies them; released
  test_exercise_asserts  every assert in the tests has a message
  test_validate          at least 3 catalogued mistakes, each caught and named (validate's exit status)
  test_samples           reference full marks, stub "not implemented" everywhere, >= 3 wrong-* samples
                         each losing points with its mistake named, expected.toml met, no grader error,
                         each wrong sample a patch of a few lines
  test_self_consistency  a doubled reference earns nothing
  test_notebooks         a walkthrough notebook that runs against the reference and draws 2+ plots,
                         a valid nbgrader source
  test_release           assignments/ in sync (release --check)
  oracle test            tests/test_zzdemo_reference.py passes
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import test_exercise_asserts as assert_rules
import test_notebooks as notebook_rules
import test_self_consistency as consistency_rules
from autograder.config import load_assignment, solution_assignment
from autograder.environment import mismatches, versions
from autograder.grade import grade_batch
from autograder.ingest import discover
from autograder.mistakes import load_catalogue
from autograder.samples import check_expectations, load_expectations, unpack_samples

NAME = "zzdemo"
CLI = [sys.executable, "-m", "autograder.cli"]
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def cli(*args, cwd, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE"}
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([*CLI, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, f"exit {p.returncode}\n{p.stdout[-6000:]}\n{p.stderr[-3000:]}"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    (root / "solutions").mkdir()
    (root / "assignments").mkdir()
    rc, shown = cli("new", NAME, "--course", root, "--title", "Activations", cwd=root)
    assert rc == 0, shown
    return root


def test_new_writes_the_assignment_and_its_release(course):
    solution = course / "solutions" / NAME
    for rel in ("assignment.toml", f"{NAME}.py", f"{NAME}.ipynb", "mistakes.py", "tests/test_public.py",
                "tests/test_hidden.py", "samples/expected.toml", "samples/wrong-relu-backward.patch"):
        assert (solution / rel).is_file(), rel
    assert (course / "tests" / f"test_{NAME}_reference.py").is_file()
    released = sorted(p.relative_to(course / "assignments" / NAME).as_posix()
                      for p in (course / "assignments" / NAME).rglob("*") if p.is_file())
    assert released == ["assignment.toml", "tests/test_public.py", f"{NAME}.ipynb", f"{NAME}.py"]
    a = load_assignment(solution)
    assert (a.name, a.title, a.modules) == (NAME, "Activations", (NAME,))
    assert "### BEGIN SOLUTION" in (solution / f"{NAME}.py").read_text()
    assert "x: array of shape (d_1, ..., d_k)" in (solution / f"{NAME}.py").read_text()


def test_new_refuses_an_existing_folder_and_bad_names(course):
    rc, shown = cli("new", NAME, "--course", course, cwd=course)
    assert rc != 0 and "already exists" in shown, shown
    for bad, why in [("numpy", "installed Python module"), ("Bad-Name", "not a valid assignment name"),
                     ("mistakes", "reserved"), ("class", "not a valid assignment name")]:
        rc, shown = cli("new", bad, "--course", course, cwd=course)
        assert rc != 0 and why in shown, (bad, shown)
        assert not (course / "solutions" / bad).exists()


def test_validate_and_release_check_pass(course):
    rc, shown = cli("validate", NAME, "--seeds", 2, "-j", 1, "--course", course, cwd=course)
    assert rc == 0, shown
    assert shown.count("caught and named") == len(load_catalogue(course / "solutions" / NAME / "mistakes.py"))
    rc, shown = cli("release", "--check", "--course", course, cwd=course)
    assert rc == 0, shown


def test_the_per_assignment_configuration_rules(course, tmp_path):
    # test_config: a student's copy keeps its name whatever the folder is called.
    copy = tmp_path / f"{NAME} (1)"
    shutil.copytree(course / "assignments" / NAME, copy)
    assert load_assignment(copy).name == NAME
    # test_environment: the three pins, satisfied by the grader, released as they are.
    pins = load_assignment(course / "solutions" / NAME).environment
    assert set(pins) == {"python", "numpy", "torch"} and mismatches(versions(), pins) == []
    assert load_assignment(course / "assignments" / NAME).environment == pins
    # test_exercise_asserts: no bare assert.
    bare = [(p.name, found) for p in (course / "solutions" / NAME / "tests").rglob("*.py")
            for found in assert_rules.bare_asserts(p)]
    assert bare == []
    # test_validate: a catalogue of at least three mistakes.
    assert len(load_catalogue(course / "solutions" / NAME / "mistakes.py")) >= 3


def test_the_samples_rules(course):
    a = solution_assignment(course, NAME)
    out = course / "graded"
    unpacked = unpack_samples(a, course / "unpacked")
    docs = {d["student"]: d for d in grade_batch(a, discover(unpacked, out / ".staging", a.modules[0]), out,
                                                 reference_dir=a.folder, seed=20261121, jobs=1)}
    expected = load_expectations(a.samples_dir)
    assert {"reference", "stub"} <= set(expected)
    assert check_expectations(list(docs.values()), expected) == []
    ref, stub = docs["reference"], docs["stub"]
    assert ref["max_score"] > 0 and ref["score"] == ref["max_score"]
    assert stub["score"] == 0 and all(t["outcome"] == "not_implemented" for t in stub["tests"])
    wrong = [s for s in docs if s.startswith("wrong-")]
    assert len(wrong) >= 3
    for student in wrong:
        assert 0 < docs[student]["score"] < docs[student]["max_score"], student
        for name in expected[student]["mistakes"]:
            assert any(name in (m["name"] for m in t["mistakes"]) for t in docs[student]["tests"]), (student, name)
    assert not [(s, t["name"]) for s, d in docs.items() for t in d["tests"] if t["outcome"] == "error"]
    # Each wrong sample is the reference with one solution block changed: a short patch.
    for student in wrong:
        changed = [line for line in (a.samples_dir / f"{student}.patch").read_text().splitlines()
                   if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
        assert 0 < len(changed) <= 8, (student, changed)


def test_a_doubled_reference_earns_nothing(course, tmp_path, monkeypatch):
    monkeypatch.setattr(consistency_rules, "COURSE", course)
    consistency_rules.test_a_submission_consistent_with_itself_earns_only_what_doubling_leaves_alone(
        NAME, tmp_path)


def test_the_notebook_rules(course, tmp_path, monkeypatch):
    path = course / "solutions" / NAME / f"{NAME}.ipynb"
    notebook_rules.test_notebook_is_a_valid_nbgrader_source(path)
    notebook_rules.test_notebook_runs_against_the_reference(path, tmp_path, monkeypatch)


def test_the_oracle_test_passes(course):
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"tests/test_{NAME}_reference.py"], cwd=course, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-2000:]


def test_the_course_helper_it_writes_is_this_repositorys_own():
    """A course without tests/reference_modules.py gets this repository's, word for word: one loader."""
    from autograder import scaffold

    assert scaffold.REFERENCE_MODULES == (Path(__file__).parent / "reference_modules.py").read_text()
