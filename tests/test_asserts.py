"""The judge-side assertions: what they accept and what their failures tell a student."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autograder import assert_close
from autograder.errors import BadReturn


def test_bfloat16_tensors_compare_by_value():
    t = torch.tensor([1.0, -2.5, 3.140625], dtype=torch.bfloat16)
    assert_close(t, t.clone())
    with pytest.raises(AssertionError, match="tensor bfloat16"):
        assert_close(t, torch.tensor([1.0, -2.5, 3.15625], dtype=torch.bfloat16))


def test_failure_message_gives_shapes_dtypes_errors_and_first_mismatch():
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, what="dx")
    text = str(info.value)
    assert "dx" in text and "(2, 3)" in text and "float64" in text
    assert "[1, 2]" in text or "(1, 2)" in text
    assert "0.5" in text


def test_none_reads_as_a_missing_return():
    with pytest.raises(BadReturn, match="return"):
        assert_close(None, np.zeros(2))


def test_smooth_function_knows_its_gradient_and_its_centered_differences():
    from autograder.asserts import SmoothFunction
    from autograder.probes import smooth_function

    rng = np.random.default_rng(0)
    F = SmoothFunction(rng, (3, 2))
    f = smooth_function(F.a, F.b, F.c, F.d, F.u)  # the function the worker builds from the same coefficients
    x = rng.normal(size=(3, 2))
    for h in (1e-3, 1e-2):
        quotients = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[i] = h
            quotients[i] = (f(x + step) - f(x - step)) / (2 * h)
        assert_close(quotients, F.centered(x, h), rtol=1e-9, atol=1e-9)
    assert_close(F.centered(x, 1e-7), F.gradient(x), rtol=1e-12, atol=1e-12)
    # The step shows: the x**3 term adds d * h**2 to the quotient.
    assert np.all(np.abs(F.centered(x, 1e-3) - F.gradient(x)) > 2e-7)


def test_text_from_the_worker_is_cleaned_and_capped():
    from autograder.proxy import CUT, clean_text

    assert clean_text("ok\x1b[1;31m red\x1b[0m\x1b]0;title\x07 end") == "ok red end"
    assert clean_text("a\rb\x00c\x07d\u202ee\nf\tg") == "a\\rb\\x00c\\x07d\\u202ee\nf\tg"
    long = clean_text("x" * 10_000_000, 100)
    assert len(long) == 100 and long.endswith(CUT)
    assert clean_text("\x1b[2J" * 1000 + "tail", 100).endswith(CUT)  # what was dropped is marked
