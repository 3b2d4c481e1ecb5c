"""Autograded deep-learning exercises: a sandboxed pytest judge and its CLI.

What test authors import::

    from autograder import points, assert_close, assert_shape, batched, call_pure, numeric_gradient, gradcheck
"""
import pytest as _pytest

__version__ = "0.1.0"

points = _pytest.mark.points
"""``@points(2)``: the points a test is worth (default 1)."""

from .asserts import (  # noqa: E402
    assert_close, assert_shape, batched, call_pure, gradcheck, numeric_gradient, rel_error,
)
from .mistakes import mistake  # noqa: E402

__all__ = [
    "points", "assert_close", "assert_shape", "batched", "call_pure", "gradcheck", "numeric_gradient", "rel_error",
    "mistake",
]
