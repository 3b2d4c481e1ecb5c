"""How a failed test's outputs are matched against the catalogued mistakes."""
from __future__ import annotations

import numpy as np

from autograder.mistakes import _FAILED, _distances

ONES = np.ones(3)


def test_a_cache_laid_out_differently_is_left_out():
    student = (ONES, (ONES, ONES, ONES, "extra"))       # (out, cache) with a cache of its own
    variant, reference = (ONES, (ONES, ONES)), (2 * ONES, (ONES, ONES))
    assert _distances(student, variant, reference) == (0.0, 0.5)


def test_a_part_that_compares_with_one_side_only_is_infinitely_far_from_the_other():
    db_not_summed = np.ones((2, 3))
    student = (ONES, db_not_summed)
    variant, reference = (ONES, np.ones((2, 3))), (ONES, ONES)
    to_variant, to_reference = _distances(student, variant, reference)
    assert to_variant == 0.0 and to_reference == float("inf")


def test_dicts_with_strings_compare_their_numbers_and_require_equal_strings():
    student = {"mode": "train", "running_mean": ONES}
    assert _distances(student, {"mode": "train", "running_mean": ONES},
                      {"mode": "train", "running_mean": 4 * ONES}) == (0.0, 0.75)
    assert _distances(student, {"mode": "test", "running_mean": ONES},
                      {"mode": "train", "running_mean": ONES}) == (float("inf"), 0.0)


def test_lists_of_results_compare_element_by_element():
    assert _distances([ONES, 2 * ONES], [ONES, 2 * ONES], [ONES, ONES]) == (0.0, 1.0)


def test_nothing_comparable_or_a_failed_replay_names_nothing():
    assert _distances((object(),), (object(),), (object(),)) == (float("inf"), float("inf"))
    assert _distances(ONES, _FAILED, ONES) == (float("inf"), 0.0)
