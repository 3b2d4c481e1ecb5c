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


# ------------------------------------------------------------- only what a test proves

LAYER = """
import numpy as np

def forward(x):
    return np.maximum(x, 0), x          # (out, cache): the cache is x

def backward(dout, cache):
    return dout * (cache > 0)

def scale(x, k):
    return x * k
"""


def _diagnose(calls, *variants):
    """Name the variants (name, target, source of the replacement) that explain ``calls``."""
    import types

    from autograder.mistakes import Mistake, ReferenceNamespace, diagnose

    layer = types.ModuleType("layer")
    exec(LAYER, vars(layer))
    catalogue = []
    for name, target, source in variants:
        scope = {"np": np}
        exec(source, scope)
        catalogue.append(Mistake(target=target, name=name, hint="", variant=scope[target]))
    return [m.name for m in diagnose(calls, ReferenceNamespace({"layer": layer}, "layer"), catalogue)]


X = np.array([-2.0, -1.0, 1.0, 2.0])
DOUT = np.array([1.0, -3.0, 5.0, -7.0])
HALVED = ("backward halved", "backward", "def backward(dout, cache):\n    return 0.5 * dout * (cache > 0)")
HALF_SCALE = ("scale halved", "scale", "def scale(x, k):\n    return 0.5 * x * k")


def test_a_variant_is_named_when_it_explains_the_failing_call():
    from autograder.proxy import CallRecord

    calls = [CallRecord("backward", (DOUT, X), {}, value=0.5 * DOUT * (X > 0))]
    assert _diagnose(calls, HALVED) == ["backward halved"]


def test_a_variant_that_another_call_contradicts_is_not_named():
    from autograder.proxy import CallRecord

    # scale(x, 2) came out right, scale(x, 0.5) wrong: "scale halved" would have got both wrong.
    calls = [CallRecord("scale", (X, 2.0), {}, value=2.0 * X), CallRecord("scale", (X, 0.5), {}, value=0.25 * X)]
    assert _diagnose(calls, HALF_SCALE) == []
    assert _diagnose(calls[1:], HALF_SCALE) == ["scale halved"]


def test_a_variant_that_leaves_a_wrong_call_unexplained_is_not_named():
    from autograder.proxy import CallRecord

    # The forward is off (another mistake), which "backward halved" does not change.
    calls = [CallRecord("forward", (X,), {}, value=(X.copy(), X.copy())),
             CallRecord("backward", (DOUT, X), {}, value=0.5 * DOUT * (X > 0))]
    assert _diagnose(calls, HALVED) == []


def test_two_variants_the_test_cannot_tell_apart_are_both_left_unnamed():
    from autograder.proxy import CallRecord

    halved_twice = ("backward with half the gradient", "backward",
                    "def backward(dout, cache):\n    return dout * (cache > 0) / 2")
    calls = [CallRecord("backward", (DOUT, X), {}, value=0.5 * DOUT * (X > 0))]
    assert _diagnose(calls, HALVED, halved_twice) == []


def test_a_cache_passed_back_is_the_students_own_layout():
    from autograder.proxy import CallRecord

    # The student's forward caches its output, not x: same shape, other values. The
    # variant's forward (x overwritten) caches the same values, but that proves nothing.
    overwrites = ("forward overwrites x", "forward",
                  "def forward(x):\n    x[x < 0] = 0\n    return x, x")
    out = np.maximum(X, 0)
    forward = CallRecord("forward", (X.copy(),), {}, value=(out, out))
    wrong_dout = DOUT * (X > 0)  # backward zeroed dout in place and returned it
    backward = CallRecord("backward", (DOUT.copy(), forward.value[1]), {}, value=wrong_dout,
                          args_after=(wrong_dout, out.copy()))  # as the worker sends them: new arrays
    zeroes = ("backward zeroes dout in place", "backward",
              "def backward(dout, cache):\n    dout[cache <= 0] = 0\n    return dout")
    assert _diagnose([forward, backward], overwrites, zeroes) == ["backward zeroes dout in place"]
