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
