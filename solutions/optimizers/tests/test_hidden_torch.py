"""Hidden tests of the torch optimizers (optimizers_torch.py).

The student's SGD and Adam are driven in the worker by
the drivers of worker_helpers.py (gradients set, step() called, the trajectory
returned as data) and compared step by step with torch.optim's, run in the
judge by the same driver: given gradients, parameter groups, parameters
without gradients, test functions with zero_grad/backward/step, checkpoints
through state_dict()/load_state_dict(), float32, and CUDA under the gpu mark.
"""
import numpy as np
import pytest
import torch

from autograder import assert_close, load_helpers, points

drive = load_helpers(__file__)  # the same drivers (worker_helpers.py), run here on the reference / torch.optim

TRAJ = dict(rtol=1e-6, atol=1e-9)     # long float64 runs: rounding may differ with the order of operations
F32 = dict(rtol=1e-4, atol=1e-6)      # float32 runs
STEPS = 20  # steps on the test functions


def _probes(submission):
    return submission.helpers


def _start(rng, problem):
    """A starting point: random on the bowl, the classic (-1.2, 1) on Rosenbrock, just off the saddle's ridge."""
    if problem == "bowl":
        return rng.normal(size=(int(rng.integers(2, 6)),)) * 2
    if problem == "rosenbrock":
        return np.array([-1.2, 1.0]) + rng.uniform(-0.1, 0.1, size=2)
    # the saddle: start off the ridge by very little, where plain gradient descent crawls
    return np.array([rng.uniform(0.5, 1.5), rng.choice([-1, 1]) * rng.uniform(1e-3, 1e-2)])


# ========================================================= torch optimizers


def _tensors(rng, steps, dtype=torch.float64, shapes=((3, 2), (4,), (2, 2, 2))):
    params = [torch.tensor(rng.normal(size=s), dtype=dtype) for s in shapes]
    grads = [torch.tensor(rng.normal(size=(steps,) + s) * np.exp(rng.uniform(-2, 1, size=s)), dtype=dtype)
             for s in shapes]
    return params, grads


def _torch_expected(name, params, grads, groups=None, kwargs=None):
    return drive.optimizer_trajectory(getattr(torch.optim, name), params, grads, groups=groups, kwargs=kwargs)


def _student_trajectory(submission, name, params, grads, groups=None, kwargs=None):
    cls = getattr(submission.optimizers_torch, name)
    return _probes(submission).optimizer_trajectory(cls, params, grads, groups=groups, kwargs=kwargs)


TORCH_CASES = {
    "sgd-plain": ("SGD", dict(lr=0.05)),
    "sgd-momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd-nesterov": ("SGD", dict(lr=0.05, momentum=0.85, nesterov=True)),
    "sgd-weight-decay": ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    # eps = 0 in every Adam test not about it: with 1e-8, inside and outside the root differ by
    # about 1e-8 / v, near the tolerance, and a verdict on eps inside the root flipped with the seed.
    "adam": ("Adam", dict(lr=0.02, betas=(0.85, 0.995), eps=0.0)),
    "adam-eps-weight-decay": ("Adam", dict(lr=0.02, eps=1e-3, weight_decay=0.05)),
}


@points(1)
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_torch_optimizer_step_by_step(submission, rng, case):
    """20 steps with given gradients, every step compared with torch.optim's."""
    name, kwargs = TORCH_CASES[case]
    params, grads = _tensors(rng, 20)
    got = _student_trajectory(submission, name, params, grads, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name}({kwargs}): (parameter)[step]")


@points(1)
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_torch_optimizer_defaults(submission, rng, name):
    """Constructed with the parameters only: torch.optim's defaults."""
    params, grads = _tensors(rng, 10)
    if name == "Adam":
        # Gradients of ~1e-4: Adam's step does not depend on their scale, but its default eps of
        # 1e-8 then shows whether it is outside the root (sqrt(v) ~ 1e-4) or inside (sqrt(v + 1e-8)).
        grads = [g * 1e-4 for g in grads]
    got = _student_trajectory(submission, name, params, grads)
    assert_close(got, _torch_expected(name, params, grads), **TRAJ, what=f"{name}(params) with default arguments")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01, eps=0.0))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_parameter_groups(submission, rng, name, kwargs):
    """Two groups with different learning rates: each group uses its own."""
    params, grads = _tensors(rng, 20)
    groups = [{"params": [0, 2]}, {"params": [1], "lr": kwargs["lr"] * 10}]
    got = _student_trajectory(submission, name, params, grads, groups=groups, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, groups=groups, kwargs=kwargs), **TRAJ,
                 what=f"{name} with groups [default lr, lr x 10]: (parameter)[step]")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1, eps=0.0))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_skips_parameters_without_gradient(submission, rng, name, kwargs):
    """A parameter whose .grad is None is left alone (no update, no state); the others move."""
    params, grads = _tensors(rng, 10)
    grads[1] = None
    got = _student_trajectory(submission, name, params, grads, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name} with a parameter that has no gradient")


GRADIENT_CASES = {
    "sgd-weight-decay": ("SGD", dict(lr=0.05, weight_decay=0.1)),
    "sgd-nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "adam-weight-decay": ("Adam", dict(lr=0.02, weight_decay=0.05, eps=0.0)),
}


@points(1)
@pytest.mark.parametrize("case", list(GRADIENT_CASES))
def test_torch_optimizer_leaves_gradients_alone(submission, rng, case):
    """One gradient tensor per parameter, overwritten in place before each step (as backward()
    accumulating into p.grad does): step() must leave p.grad as it found it, and no state may
    share its memory."""
    name, kwargs = GRADIENT_CASES[case]
    params, grads = _tensors(rng, 10)
    cls = getattr(submission.optimizers_torch, name)
    got, after = _probes(submission).trajectory_with_gradients_in_place(cls, params, grads, kwargs=kwargs)
    assert_close(after, tuple(grads), rtol=0, atol=0,
                 what=f"{name}({kwargs}): p.grad after each step() (the gradient the caller set)")
    want, _ = drive.trajectory_with_gradients_in_place(getattr(torch.optim, name), params, grads, kwargs=kwargs)
    assert_close(got, want, **TRAJ, what=f"{name}({kwargs}) with p.grad overwritten in place: (parameter)[step]")


TORCH_PROBLEM_KWARGS = {
    "SGD": {"bowl": dict(lr=0.02, momentum=0.9, nesterov=True),
            "rosenbrock": dict(lr=2e-4, momentum=0.9, nesterov=True),
            "saddle": dict(lr=0.02, momentum=0.9, nesterov=True)},
    "Adam": {"bowl": dict(lr=0.05, eps=0.0), "rosenbrock": dict(lr=0.03, eps=0.0), "saddle": dict(lr=0.05, eps=0.0)},
}


@points(1)
@pytest.mark.parametrize("problem", ["bowl", "rosenbrock", "saddle"])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_torch_optimizer_on_problem(submission, rng, name, problem):
    """20 steps of zero_grad / backward / step on a test function computed in torch."""
    kwargs = TORCH_PROBLEM_KWARGS[name][problem]
    x0 = torch.tensor(_start(rng, problem))
    cls = getattr(submission.optimizers_torch, name)
    got = _probes(submission).problem_trajectory(cls, x0, problem, STEPS, kwargs=kwargs)
    want = drive.problem_trajectory(getattr(torch.optim, name), x0, problem, STEPS, kwargs=kwargs)
    assert_close(got, want, **TRAJ, what=f"{name}({kwargs}) on the {problem}: (trajectory, losses)")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.02, eps=0.0))], ids=["SGD", "Adam"])
def test_torch_optimizer_resumes_from_state_dict(submission, rng, name, kwargs):
    """state_dict() saved after 8 steps and loaded into a fresh optimizer: the same 20-step trajectory."""
    params, grads = _tensors(rng, 20)
    cls = getattr(submission.optimizers_torch, name)
    got = _probes(submission).checkpoint_trajectory(cls, params, grads, 8, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name} stopped after step 8 and resumed from its state_dict")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.02, eps=0.0))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_state_dict_as_data(submission, rng, name, kwargs):
    """A checkpoint that leaves the process: state_dict() fetched as data, loaded into a new instance."""
    params, grads = _tensors(rng, 20, shapes=((3,), (2, 2)))
    probes, cls = _probes(submission), getattr(submission.optimizers_torch, name)
    first = cls([torch.nn.Parameter(p.clone()) for p in params], **kwargs)
    middle = probes.steps_with(first, [g[:8] for g in grads])
    saved = probes.state_dict(first)
    assert isinstance(saved, dict) and "state" in saved, "state_dict() must be the base class's"
    second = cls([torch.nn.Parameter(p.clone()) for p in middle], **kwargs)
    probes.load_state_dict(second, saved)
    final = probes.steps_with(second, [g[8:] for g in grads])
    want = _torch_expected(name, params, grads, kwargs=kwargs)
    assert_close(tuple(final), tuple(t[-1] for t in want), **TRAJ,
                 what=f"{name}: parameters after 8 steps, a save, a load into a new optimizer and 12 more steps")


@points(1)
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_torch_optimizer_zero_grad(submission, rng, name):
    """zero_grad() (the base class's) clears the gradients, so they do not pile up across steps."""
    probes = _probes(submission)
    x0 = torch.tensor(rng.normal(size=4))
    kwargs = {"lr": 0.05} | ({"eps": 0.0} if name == "Adam" else {})
    got = probes.problem_trajectory(getattr(submission.optimizers_torch, name), x0, "bowl", 10, kwargs=kwargs)
    want = drive.problem_trajectory(getattr(torch.optim, name), x0, "bowl", 10, kwargs=kwargs)
    assert_close(got, want, **TRAJ, what=f"{name}: zero_grad / backward / step on the bowl")
    cleared = probes.zero_grad_leaves_no_gradient(getattr(submission.optimizers_torch, name),
                                                  [torch.tensor(rng.normal(size=3))])
    assert cleared is True, "after zero_grad() every gradient must be None (or zeros)"


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.02, eps=0.0))], ids=["SGD", "Adam"])
def test_torch_optimizer_float32(submission, rng, name, kwargs):
    """float32 parameters stay float32 and follow torch.optim's float32 trajectory."""
    params, grads = _tensors(rng, 20, dtype=torch.float32)
    got = _student_trajectory(submission, name, params, grads, kwargs=kwargs)
    assert all(t.dtype == torch.float32 for t in got), f"parameters must stay float32, got {', '.join(str(t.dtype) for t in got)}"
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **F32, what=f"{name} in float32")


# ------------------------------------------------------------------- CUDA


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", [pytest.param(torch.float64, TRAJ, id="float64"),
                                       pytest.param(torch.float32, F32, id="float32")])
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.02, eps=0.0))], ids=["SGD", "Adam"])
def test_torch_optimizer_cuda(submission, rng, name, kwargs, dtype, tol):
    """Parameters on the GPU: state on the GPU too, same trajectory as torch.optim on the CPU."""
    params, grads = _tensors(rng, 20, dtype=dtype)
    got = _student_trajectory(submission, name, [p.cuda() for p in params], [g.cuda() for g in grads], kwargs=kwargs)
    assert all(t.device.type == "cuda" and t.dtype == dtype for t in got), \
        f"parameters must stay {dtype} on CUDA, got {', '.join(f'{t.dtype} on {t.device}' for t in got)}"
    want = _torch_expected(name, params, grads, kwargs=kwargs)
    assert_close(tuple(t.cpu() for t in got), want, **tol, what=f"{name} on CUDA ({dtype})")


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.02, eps=0.0))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_cuda_resumes_from_state_dict(submission, rng, name, kwargs):
    params, grads = _tensors(rng, 20)
    cls = getattr(submission.optimizers_torch, name)
    got = _probes(submission).checkpoint_trajectory(cls, [p.cuda() for p in params], [g.cuda() for g in grads], 8,
                                                    kwargs=kwargs)
    assert_close(tuple(t.cpu() for t in got), _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name} on CUDA, stopped after step 8 and resumed from its state_dict")
