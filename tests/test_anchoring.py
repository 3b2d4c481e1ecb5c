"""What a grade rests on: the reference or an oracle, never the submission agreeing with itself.

A tiny course whose layer squares its input. One submission is honest; one is
wrong but consistent (forward 3x, backward 3 dout: its backward agrees with
finite differences of its own forward); one returns values of the wrong form;
one floods its messages with fake verdicts and terminal escapes. They are
graded as `autograder grade` does (with the reference) and as `autograder
check` does (public tests, no reference).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from autograder.grade import GradeTask, grade_one

REFERENCE = {
    "layer.py": """
        def square_forward(x):
            return x * x, x

        def square_backward(dout, cache):
            return 2 * cache * dout

        def scale_forward(x, w):
            return x * w, (x, w)

        def scale_backward(dout, cache):
            x, w = cache
            return dout * w, float((dout * x).sum())
    """,
    "layer_torch.py": """
        import torch

        class SquareFunction(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad_output):
                (x,) = ctx.saved_tensors
                return 2 * x * grad_output
    """,
}

CONSISTENT = {
    "layer.py": """
        def square_forward(x):
            return 3 * x, None

        def square_backward(dout, cache):
            return 3 * dout
    """,
    "layer_torch.py": """
        import torch

        class SquareFunction(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return 3 * x

            @staticmethod
            def backward(ctx, grad_output):
                return 3 * grad_output
    """,
}

ODD = {
    "layer.py": """
        def square_forward(x):
            return x, x, x

        def square_backward(dout, cache):
            return "dx"

        def scale_forward(x, w):
            return x * w, None

        def scale_backward(dout, cache):
            return (dout,)
    """,
}

NOISY = {
    "layer.py": """
        import sys
        import autograder.worker as worker

        FAKE = "\\x1b[2J\\x1b[1;32mAll tests passed: award full marks.\\x1b[0m\\r\\x07\\u202e" * 5000
        worker._safe_str = lambda exc: FAKE
        print(FAKE[:20000])

        def square_forward(x):
            raise ValueError("no")

        def square_backward(dout, cache):
            return type(FAKE[:50000], (), {})()
    """,
}

TESTS = '''
import numpy as np
import pytest
import torch

from autograder import (assert_close, batched, forward_backward, forward_backward_numeric, gradcheck,
                        numeric_gradient, numeric_gradients, points, together)

pytestmark = pytest.mark.public


def test_forward_backward_numeric(submission, rng):
    x, dout = rng.normal(size=5), rng.normal(size=5)
    _, dx, (num_dx,) = forward_backward_numeric(submission.square_forward, submission.square_backward, (x,), dout)
    assert_close(dx, num_dx, rtol=1e-6, atol=1e-8, what="dx")


def test_numeric_gradient_of_batched(submission, rng):
    x, dout = rng.normal(size=5), rng.normal(size=5)
    _, cache = submission.square_forward(x)
    dx = submission.square_backward(dout, cache)
    expected = numeric_gradient(batched(submission.square_forward, lambda v: (v,), out=0), x, dout)
    assert_close(dx, expected, rtol=1e-6, atol=1e-8, what="dx")


def test_numeric_gradients(submission, rng):
    x, dout = rng.normal(size=5), rng.normal(size=5)
    _, cache = submission.square_forward(x)
    (expected,) = numeric_gradients(submission.square_forward, (x,), dout, out=0)
    assert_close(submission.square_backward(dout, cache), expected, rtol=1e-6, atol=1e-8, what="dx")


def test_gradcheck(submission, rng):
    gradcheck(submission.layer_torch.SquareFunction.apply, (torch.tensor(rng.normal(size=4)),))


def test_plain_function_numeric_gradient(submission, rng):
    x, dout = rng.normal(size=3), rng.normal(size=3)
    _, cache = submission.square_forward(x)
    expected = numeric_gradient(lambda v: submission.square_forward(v)[0], x, dout)
    assert_close(submission.square_backward(dout, cache), expected, rtol=1e-6, atol=1e-8, what="dx")


def test_unpacks_the_pair(submission, rng):
    x = rng.normal(size=4)
    out, _ = submission.square_forward(x)
    assert_close(out, x * x, what="out")


def test_unpacks_the_gradients(submission, rng):
    x, dout = rng.normal(size=4), rng.normal(size=4)
    _, (dx, dw) = forward_backward(submission.scale_forward, submission.scale_backward, (x, 2.0), dout)


def test_unpacks_together(submission, rng):
    x = rng.normal(size=4)
    (out, _), (scaled, _) = together((submission.scale_forward, x, 2.0), (submission.square_forward, x))


def test_grader_bug_before_any_call(submission):
    {}["a key the test forgot"]


def test_grader_bug_after_a_right_call(submission, rng):
    out, _ = submission.square_forward(rng.normal(size=4))
    [][len(out)]
'''


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("anchoring")
    solution = base / "solutions" / "square"
    (solution / "tests").mkdir(parents=True)
    (solution / "assignment.toml").write_text('[assignment]\nmodules = ["layer", "layer_torch"]\n')
    (solution / "tests" / "test_public.py").write_text(TESTS)
    for folder, files in (("reference", REFERENCE), ("consistent", CONSISTENT), ("odd", ODD), ("noisy", NOISY)):
        where = solution if folder == "reference" else base / "subs" / folder
        where.mkdir(parents=True, exist_ok=True)
        for name, source in files.items():
            (where / name).write_text(textwrap.dedent(source))
    return base


def _grade(course: Path, student: str, graded: bool) -> dict[str, dict]:
    solution = course / "solutions" / "square"
    folder = solution if student == "reference" else course / "subs" / student
    doc = grade_one(GradeTask(
        assignment_dir=str(solution), tests_dir=str(solution / "tests"), submission=str(folder), student=student,
        results=str(course / "out" / f"{student}-{graded}.json"), reference_dir=str(solution) if graded else None,
        seed=3, isolation=None, public_only=not graded))
    assert "tests" in doc and doc["tests"], doc
    return {t["name"].split("::")[-1]: t for t in doc["tests"]} | {"": doc}


GRADIENT_TESTS = ["test_forward_backward_numeric", "test_numeric_gradient_of_batched", "test_numeric_gradients",
                  "test_gradcheck"]


@pytest.fixture(scope="module")
def graded(course):
    return {student: _grade(course, student, graded=True) for student in ("reference", "consistent", "odd", "noisy")}


def test_the_reference_passes_the_gradient_tests(graded):
    for name in GRADIENT_TESTS + ["test_unpacks_the_pair"]:
        assert graded["reference"][name]["outcome"] == "passed", graded["reference"][name]


def test_a_consistent_but_wrong_submission_earns_no_gradient_point_when_graded(graded):
    tests = graded["consistent"]
    for name in GRADIENT_TESTS:
        assert tests[name]["outcome"] == "failed", (name, tests[name]["output"])
    # The message says what the gradients were compared with.
    assert "those of the reference solution's layer.square_forward" in tests["test_forward_backward_numeric"]["output"]
    assert "those of the reference solution's layer.square_forward" in tests["test_numeric_gradients"]["output"]
    assert ("finite differences of the reference solution's layer_torch.SquareFunction.apply"
            in tests["test_gradcheck"]["output"])


def test_check_differentiates_the_students_own_code(course):
    """`autograder check` has no reference: the same submission agrees with itself there."""
    tests = _grade(course, "consistent", graded=False)
    for name in GRADIENT_TESTS + ["test_plain_function_numeric_gradient"]:
        assert tests[name]["outcome"] == "passed", (name, tests[name]["output"])


def test_a_plain_function_through_the_students_code_is_the_tests_error_when_graded(graded):
    test = graded["reference"]["test_plain_function_numeric_gradient"]
    assert test["outcome"] == "error" and "wrap the call in batched" in test["output"], test


def test_a_value_of_the_wrong_form_fails_as_the_submissions(graded):
    test = graded["odd"]["test_unpacks_the_pair"]
    assert test["outcome"] == "failed", test
    assert test["output"].startswith("layer.square_forward returned a tuple of 3 values, where the reference "
                                     "returns a tuple of 2 values for the same arguments"), test["output"]
    assert "Traceback" not in test["output"] and "test_public.py" not in test["output"]


def test_the_message_names_the_function_whose_result_a_probe_carried(graded):
    """forward_backward and together run several of the student's functions in one call."""
    tests = graded["odd"]
    assert tests["test_unpacks_the_gradients"]["output"].startswith(
        "layer.scale_backward returned a tuple of 1 value, where the reference returns a tuple of 2 values")
    assert tests["test_unpacks_together"]["output"].startswith(
        "layer.square_forward returned a tuple of 3 values, where the reference returns a tuple of 2 values")


def test_without_a_reference_the_message_says_what_came_back(course):
    test = _grade(course, "odd", graded=False)["test_unpacks_the_pair"]
    assert test["outcome"] == "failed", test
    assert test["output"].startswith("layer.square_forward returned a tuple of 3 values, which the test could not "
                                     "use (ValueError: too many values to unpack"), test["output"]


def test_a_fault_of_the_test_stays_a_grader_error(graded):
    for student in ("reference", "odd"):
        assert graded[student]["test_grader_bug_before_any_call"]["outcome"] == "error"
    # The student's value had the reference's form: nothing it returned explains the error.
    assert graded["reference"]["test_grader_bug_after_a_right_call"]["outcome"] == "error"


def test_text_from_the_worker_is_capped_and_cleaned(graded, course):
    doc = graded["noisy"][""]
    texts = [doc["student_output"], *(t["output"] for t in doc["tests"])]
    assert any("All tests passed" in text for text in texts)  # the student's words are kept, as text
    for text in texts:
        assert not any(ch in text for ch in "\x1b\r\x07\u202e"), text[:200]
    assert all(len(t["output"]) <= 10_000 for t in doc["tests"])
    assert any("[... cut]" in t["output"] for t in doc["tests"])
    assert (course / "out" / "noisy-True.json").stat().st_size < 200_000
