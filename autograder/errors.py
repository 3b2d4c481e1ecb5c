"""Failures that belong to the submission, each with a message a student can act on.

They derive from AssertionError so that pytest counts them as a failed test,
and the judge prints their message alone, without an engine traceback.
"""
from __future__ import annotations


class SubmissionProblem(AssertionError):
    """Base: the submission, not the grader, caused this test to fail."""

    status = "failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotImplementedYet(SubmissionProblem):
    status = "not implemented"


class StudentException(SubmissionProblem):
    """The student's code raised an exception."""


class WorkerDied(SubmissionProblem):
    """The worker crashed, hung or went over a limit; it is replaced for the next test."""


class BudgetExhausted(SubmissionProblem):
    """The submission used up its time budget; the remaining tests fail fast."""


class BadReturn(SubmissionProblem):
    """The student's code returned something that cannot be compared (wrong type)."""


class GraderFault(Exception):
    """The grader or its machine failed (a fork server that does not answer, a broken sandbox).

    Not an AssertionError: the judge records it as a grader error, never as the student's."""
