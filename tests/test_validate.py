"""Every assignment's hidden tests tell right from wrong: `autograder validate` passes.

The reference gets full marks, the released stub zero, and each catalogued
mistake (generated as the reference with one function swapped for its wrong
variant) loses points and is named in the feedback.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

from autograder.config import list_assignments
from autograder.mistakes import load_catalogue
from autograder.validate import validate_assignment

COURSE = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list_assignments(COURSE))
def test_every_mistake_is_caught_and_named(name):
    catalogue = load_catalogue(COURSE / "solutions" / name / "mistakes.py")
    assert len(catalogue) >= 3, "each exercise keeps a catalogue of known mistakes"
    table, ok = validate_assignment(COURSE, name, seed=7)
    console = Console(record=True, width=200)
    console.print(table)
    report = console.export_text()
    assert ok, report
    assert report.count("caught and named") == len(catalogue)
    assert "full marks" in report and "zero" in report


FLIP_REFERENCE = '''
def halve(x):
    """x / 2, for a float x."""
    ### BEGIN SOLUTION
    return x / 2
    ### END SOLUTION
'''
FLIP_MISTAKES = '''
from autograder.mistakes import mistake

@mistake("halve", "halves only numbers below 1", hint="x / 2 for every x.")
def halve(x):
    return x / 2 if x < 1 else x
'''
FLIP_TESTS = '''
from autograder import assert_close, points

@points(1)
def test_halve_known_value(submission):
    assert_close(submission.halve(4.0), 2.0, what="halve(4.0)")

@points(1)
def test_halve_random(submission, reference, rng):
    x = float(rng.uniform(0, 1.3))  # above 1 for about one seed in four: a verdict that depends on the seed
    assert_close(submission.halve(x), reference.halve(x), what=f"halve({x})")
'''


def test_a_verdict_that_changes_with_the_seed_is_found_and_named(tmp_path):
    solution = tmp_path / "solutions" / "flip"
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["flip"]\n')
    (solution / "flip.py").write_text(FLIP_REFERENCE)
    (solution / "mistakes.py").write_text(FLIP_MISTAKES)
    (solution / "tests" / "test_hidden.py").write_text(FLIP_TESTS)
    for sample, source in (("wrong-big", FLIP_REFERENCE.replace("x / 2", "x / 2 if x < 1 else x")),
                           ("wrong-steady", FLIP_REFERENCE.replace("x / 2", "x"))):
        (solution / "samples" / sample).mkdir(parents=True)
        (solution / "samples" / sample / "flip.py").write_text(source)
    report, ok = validate_assignment(tmp_path, "flip", jobs=1, seeds=8, samples="wrong-*")
    console = Console(record=True, width=300)
    console.print(report)
    text = console.export_text()
    assert not ok, text
    flips = [line.strip() for line in text.splitlines() if "::test_halve_random" in line]
    # The catalogued mistake and the sample that share it flip; the steady sample and the reference do not.
    assert [line.split(" (")[1].split(")")[0] for line in flips] == ["halve: halves only numbers below 1",
                                                                       "sample wrong-big"], text
    assert all(re.search(r"fails under seed\(s\) [\d, ]+ \(failed: halve\(1\.[\d]+\): yours is float .*\) "
                         r"and passes under seed\(s\) [\d, ]+$", line) for line in flips), text
    assert "8 seed(s)" in text and "seeds 0-7" in text
    assert "test_halve_known_value" not in "".join(flips)


ALIAS_REFERENCE = '''
import numpy as np

def square_forward(x):
    """x * x, and a cache holding x (as layer caches do)."""
    ### BEGIN SOLUTION
    return x * x, x
    ### END SOLUTION
'''
ALIAS_MISTAKES = '''
from autograder.mistakes import mistake

@mistake("square_forward", "doubles instead of squaring", hint="x * x, not 2 * x.")
def square_forward(x):
    return 2 * x, x
'''
ALIAS_TESTS = '''
import numpy as np
from autograder import assert_close, call_pure, points

@points(1)
def test_square_value(submission, reference):
    x = np.array([1.0, -2.0, 3.0])
    assert_close(submission.square_forward(x)[0], reference.square_forward(x)[0], what="square_forward(x)[0]")

@points(1)
def test_square_is_pure(submission):
    call_pure(submission.square_forward, np.array([1.0, 2.0]))
'''


def test_a_row_that_is_not_as_expected_says_why(tmp_path):
    """A reference that fails a test (call_pure refuses a forward whose cache holds its input)
    shows that test's message under its row; --verbose shows every row's failing tests."""
    solution = tmp_path / "solutions" / "alias"
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["square"]\n')
    (solution / "square.py").write_text(ALIAS_REFERENCE)
    (solution / "mistakes.py").write_text(ALIAS_MISTAKES)
    (solution / "tests" / "test_hidden.py").write_text(ALIAS_TESTS)

    def text(report):
        console = Console(record=True, width=400)
        console.print(report)
        return console.export_text()

    report, ok = validate_assignment(tmp_path, "alias", jobs=1, seeds=1)
    plain = text(report)
    assert not ok and "REFERENCE FAILS TESTS" in plain, plain
    reasons = [line for line in plain.splitlines() if "test_square_is_pure:" in line]
    assert reasons and "square.square_forward returned result[1] sharing memory with an input" in reasons[0], plain
    assert len(reasons) == 1, plain  # the mistake's row is as expected: no reasons without --verbose
    assert "test_square_value:" not in plain, plain

    report, _ = validate_assignment(tmp_path, "alias", jobs=1, seeds=1, verbose=True)
    verbose = text(report)
    assert "test_square_value:" in verbose, verbose  # the caught mistake's failing test, and why
