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


def test_a_class_variant_sees_the_reference_modules_names():
    import types

    import torch

    from autograder.mistakes import Mistake, ReferenceNamespace, variant_namespace

    reference = types.ModuleType("layers")
    exec("import torch\n\ndef _double(t):\n    return 2 * t\n\n"
         "class Scale(torch.nn.Module):\n    def forward(self, x):\n        return _double(x)\n", vars(reference))

    class Scale(torch.nn.Module):  # the variant: uses the reference's helper, unknown in this file
        def __init__(self):
            super().__init__()
            self.extra = 3

        def forward(self, x):
            return _double(x) * self.extra  # noqa: F821 - a name of the reference module

    ns = variant_namespace(ReferenceNamespace({"layers": reference}, "layers"),
                           Mistake(target="Scale", name="scaled three times", hint="", variant=Scale))
    module = ns.Scale()
    assert module.extra == 3 and isinstance(module, torch.nn.Module)
    assert torch.equal(module(torch.ones(2)), torch.full((2,), 6.0))


def test_the_outermost_difference_in_form_of_the_latest_call_is_the_one_reported():
    import types

    from autograder.mistakes import ReferenceNamespace, describe, first_form_difference
    from autograder.proxy import CallRecord

    layer = types.ModuleType("layer")
    exec("def forward(x):\n    return x * 2, (x, x)\n\ndef backward(dout, cache):\n    return dout, dout\n", vars(layer))
    reference = ReferenceNamespace({"layer": layer}, "layer")
    x = np.ones(3)
    calls = [CallRecord("forward", (x,), {}, value=(2 * x, {"x": x})),   # a cache of its own: a difference too
             CallRecord("backward", (x, "cache"), {}, value=(x, x, x))]  # three values where two come back
    call, path, mine, theirs = first_form_difference(calls, reference)
    assert (call.path, path, mine, theirs) == ("backward", (), "a tuple of 3 values", "a tuple of 2 values")
    assert first_form_difference(calls[:1], reference)[1:] == ((1,), "a dict with keys {'x'}", "a tuple of 2 values")
    assert first_form_difference([CallRecord("forward", (x,), {}, value=(2 * x, (x, x)))], reference) is None
    assert [describe(v) for v in (None, 1.5, np.float32(2), "ab", np.zeros((2, 3)), [1])] == [
        "None", "a number", "a number", "a str of 2 characters", "an array of shape (2, 3)", "a list of 1 value"]
