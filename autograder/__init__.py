"""Autograded deep-learning exercises: a sandboxed pytest judge and its CLI.

What test authors import::

    from autograder import points, assert_close, assert_no_warnings, assert_shape, batched, call_pure, forward_backward,
        forward_backward_numeric, numeric_gradient, numeric_gradients, gradcheck, together, load_helpers

The names load on first use (PEP 562), so the fork server and its workers,
which import ``autograder.worker``, never load pytest or the judge's helpers.
"""
__version__ = "0.1.0"

_EXPORTS = {
    "assert_close": "asserts", "assert_no_warnings": "asserts", "assert_shape": "asserts", "batched": "asserts", "call_pure": "asserts",
    "forward_backward": "asserts", "forward_backward_numeric": "asserts", "together": "asserts",
    "gradcheck": "asserts", "numeric_gradient": "asserts", "numeric_gradients": "asserts",
    "rel_error": "asserts", "mistake": "mistakes", "load_helpers": "helpers",
}

__all__ = ["points", *_EXPORTS]


def __getattr__(name: str):
    if name == "points":
        import pytest

        return pytest.mark.points  # ``@points(2)``: the points a test is worth (default 1)
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
