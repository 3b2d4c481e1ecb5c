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


# ------------------------------------------------------------------ dtypes


@pytest.mark.parametrize("wider", [False, True], ids=["narrower", "wider"])
def test_a_float_array_must_have_the_references_dtype(wider):
    # "float32 in, float32 out": a float64 db for float32 inputs is as wrong as a float16 one.
    expected = np.linspace(-1, 1, 5).astype(np.float32)
    actual = expected.astype(np.float64 if wider else np.float16)
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, rtol=1e-2, atol=1e-2, what="db")
    text = str(info.value)
    assert "must have the reference's dtype" in text, text
    assert f"yours is {actual.dtype}" in text and "float32" in text, text


def test_a_float_tensor_must_have_the_references_dtype():
    expected = torch.linspace(-1, 1, 5, dtype=torch.bfloat16)
    with pytest.raises(AssertionError, match="must have the reference's dtype, bfloat16, and yours is float32"):
        assert_close(expected.float(), expected, rtol=1e-2, atol=1e-2)
    assert_close(torch.linspace(-1, 1, 5, dtype=torch.float64), np.linspace(-1, 1, 5))  # a tensor for an array


def test_a_float32_number_is_a_right_scalar_where_the_tolerance_is_float32s():
    # The reference returns float(loss); a float32 loss for float32 logits is right, and is judged
    # by the test's own (float32) tolerance.
    loss = 2.302585092994046
    assert_close(np.float32(loss), loss, rtol=1e-5, atol=1e-6, what="loss")
    assert_close((np.float32(loss), np.zeros(2, np.float32)), (loss, np.zeros(2, np.float32)), rtol=1e-5, atol=1e-6)
    assert_close(np.float64(loss), loss)  # wider is always fine
    with pytest.raises(AssertionError, match="2 of 2 values differ|1 of 1 values differ"):
        assert_close(np.float32(loss * 1.001), loss, rtol=1e-5, atol=1e-6, what="loss")


@pytest.mark.parametrize("actual, rtol", [(np.float32(2.302585092994046), 1e-7), (np.float16(2.3025), 1e-5)])
def test_a_number_too_narrow_for_the_tolerance_fails_and_says_why(actual, rtol):
    with pytest.raises(AssertionError) as info:
        assert_close(actual, 2.302585092994046, rtol=rtol, atol=1e-9, what="loss")
    text = str(info.value)
    assert f"a {actual.dtype} number" in text.lower() and f"rtol={rtol:g}" in text, text
    assert "keep the input's dtype" not in text and "float64)" not in text, text  # no self-contradiction


def test_relative_error_is_not_reported_where_the_expected_value_is_zero():
    with pytest.raises(AssertionError) as info:
        assert_close(np.array([1e300, 0.0]), np.zeros(2), what="dx")
    text = str(info.value)
    assert "relative error" not in text.replace("only the absolute error", ""), text
    assert "absolute error 1e+300" in text and "expected values there are 0" in text, text
    with pytest.raises(AssertionError) as info:
        assert_close(np.array([1e300, 3.0]), np.array([0.0, 2.0]), what="dx")
    text = str(info.value)
    assert "largest relative error 0.5 where the expected value is not 0" in text, text


def test_a_float64_number_passes_an_exact_check_of_a_python_float():
    assert_close(np.float64(0.01), 0.01, rtol=0, atol=0, what="config['learning_rate']")
    with pytest.raises(AssertionError, match="A float32 number holds about 7 significant digits"):
        assert_close(np.float32(0.5), 0.5, rtol=0, atol=0, what="config['learning_rate']")
