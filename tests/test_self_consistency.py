"""No point rests on the student's code agreeing with itself (DESIGN.md), in any assignment.

The submission graded here is the reference with every floating-point result
doubled: forward outputs and backward gradients alike, so that each backward
is the exact gradient of its own (wrong) forward, a layer's mask agrees with
its own output, two backward variants agree with each other. A test that
compares the student's code with itself passes it; a test anchored to the
reference or to an oracle fails it, unless what the test checks is left
alone by doubling (a dropout mask's statistics, running averages, a dtype, a
result that is exactly zero). Those tests are listed below, by assignment.
"""
from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from autograder.config import list_assignments, solution_assignment
from autograder.grade import grade_batch
from autograder.ingest import Submission

COURSE = Path(__file__).resolve().parents[1]
# The mistake catalogue is replayed on the failing tests, in this process: some wrong variants overflow.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

# Tests a doubled reference may pass: what they check is not scaled by doubling.
UNSCALED = {
    "backprop": set(),
    "softmax": {  # a single class: the Jacobian and gradients are exactly zero
        "test_softmax_jacobian_single_class", "test_softmax_backward_single_class", "test_softmax_loss_single_class"},
    "dropout": {  # which units are dropped, dtypes, p = 1 (all zeros), and the input left alone
        "test_torch_leaves_its_input_alone", "test_train_fraction_dropped", "test_fraction_dropped_is_p", "test_vanilla_train_fraction_dropped",
        "test_torch_train_fraction_dropped", "test_train_each_example_gets_its_own_mask",
        "test_same_seed_same_mask_other_seed_other_mask", "test_without_seed_every_call_draws_a_new_mask",
        "test_train_float32_keeps_dtype", "test_test_mode_keeps_float32", "test_p_one_drops_everything_without_nan"},
    "batchnorm": {  # the running averages (bn_param, buffers) are not outputs
        "test_batchnorm_running_mean_one_step", "test_batchnorm_running_var_one_step",
        "test_batchnorm_running_stats_defaults", "test_batchnorm_running_stats_many_steps",
        "test_batchnorm_test_mode_leaves_running_stats", "test_batchnorm_running_averages_hand_computed",
        "test_module_initial_state", "test_module_running_mean", "test_module_running_var",
        "test_module_running_stats_many_steps", "test_module_eval_leaves_buffers"},
    "convolution": {  # output sizes, and a new module's parameters (not a function's result)
        "test_conv_output_size", "test_conv_output_size_examples", "test_conv2d_module_parameters",
        "test_conv2d_module_initial_weights_are_uniform_with_the_fan_in_bound"},
    "optimizers": set(),
}

WRAPPER = '''
"""The reference's {module}, every floating-point result doubled (a forward's cache left alone)."""
import types

import numpy as np
import torch

import _reference_{module} as _reference


def _doubled(value):
    if isinstance(value, (np.ndarray, torch.Tensor)) and value.dtype in (np.float16, np.float32, np.float64,
                                                                          torch.float16, torch.bfloat16,
                                                                          torch.float32, torch.float64):
        return value * 2
    if isinstance(value, float):
        return value * 2
    if isinstance(value, (tuple, list)):
        return type(value)(_doubled(v) for v in value)
    if isinstance(value, dict):
        return {{k: _doubled(v) for k, v in value.items()}}
    return value


def _wrap(name, fn):
    def doubled(*args, **kwargs):
        out = fn(*args, **kwargs)
        if name.endswith("_forward") and isinstance(out, tuple) and len(out) == 2:
            return _doubled(out[0]), out[1]
        return _doubled(out)
    return doubled


def _function(base):
    class Doubled(base):
        @staticmethod
        def forward(ctx, *args):
            return base.forward(ctx, *args) * 2

        @staticmethod
        def backward(ctx, *grads):
            return _doubled(base.backward(ctx, *grads))
    return Doubled


def _module(base):
    class Doubled(base):
        def forward(self, *args, **kwargs):
            return super().forward(*args, **kwargs) * 2
    return Doubled


for _name, _obj in list(vars(_reference).items()):
    if _name.startswith("_") or getattr(_obj, "__module__", None) != _reference.__name__:
        continue
    if isinstance(_obj, types.FunctionType):
        globals()[_name] = _wrap(_name, _obj)
    elif isinstance(_obj, type) and issubclass(_obj, torch.autograd.Function):
        globals()[_name] = _function(_obj)
    elif isinstance(_obj, type) and issubclass(_obj, torch.nn.Module):
        globals()[_name] = _module(_obj)
'''


def doubled_reference(name: str, into: Path) -> Path:
    """A submission folder: each module wraps a private copy of the reference's."""
    a = solution_assignment(COURSE, name)
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for module in a.modules:
        source = (a.folder / f"{module}.py").read_text()
        for other in a.modules:  # the reference modules may import one another
            source = re.sub(rf"^(\s*)import {other}\b", rf"\1import _reference_{other} as {other}", source, flags=re.M)
            source = re.sub(rf"^(\s*)from {other} import", rf"\1from _reference_{other} import", source, flags=re.M)
        (into / f"_reference_{module}.py").write_text(source)
        (into / f"{module}.py").write_text(textwrap.dedent(WRAPPER.format(module=module)))
    return into


@pytest.mark.parametrize("name", list_assignments(COURSE))
def test_a_submission_consistent_with_itself_earns_only_what_doubling_leaves_alone(name, tmp_path):
    a = solution_assignment(COURSE, name)
    folder = doubled_reference(name, tmp_path / "doubled")
    (doc,) = grade_batch(a, [Submission("doubled", folder)], tmp_path / "out", reference_dir=a.folder, seed=11)
    passed = {t["name"].split(":")[0].split("[")[0] for t in doc["tests"] if t["outcome"] == "passed"}
    assert doc["tests"] and not any(t["outcome"] == "error" for t in doc["tests"]), doc["output"]
    unscaled = UNSCALED.get(name, set())  # a new assignment: every test must fail a doubled reference
    assert passed <= unscaled, sorted(passed - unscaled)
