"""Hidden tests for the optimizers assignment.

The numpy rules and schedules are compared with the reference solution on
seeded inputs; the torch optimizers with torch.optim itself, step by step.
Long runs (trajectories, checkpoints) are driven inside the worker by
autograder.probes.optimizers, which returns the trajectory as data; the
judge runs the same driver on the reference (or on torch.optim) for the
expected one. Each test checks one thing, and every rule has tests of its
own, so partial work earns partial credit.
"""
import numpy as np
import pytest
import torch

from autograder import assert_close, points
from autograder.probes import optimizers as drive  # the drivers, run here on the reference / torch.optim

F64 = dict(rtol=1e-7, atol=1e-10)
TRAJ = dict(rtol=1e-6, atol=1e-9)     # long float64 runs: rounding may differ with the order of operations
F32 = dict(rtol=1e-4, atol=1e-6)      # float32 runs

RULES = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw"]
STATE = {"sgd": [], "sgd_momentum": ["velocity"], "nesterov_momentum": ["velocity"], "adagrad": ["cache"],
         "rmsprop": ["cache"], "adam": ["m", "v", "t"], "adamw": ["m", "v", "t"]}


def _probes(submission):
    return submission.library("autograder.probes.optimizers")


def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))


def _hyper(rng, name):
    """Random hyperparameters of a rule (every key given, none left to the defaults)."""
    lr = float(10 ** rng.uniform(-3, -1))
    cfg = {"learning_rate": lr}
    if name in ("sgd_momentum", "nesterov_momentum"):
        cfg["momentum"] = float(rng.uniform(0.5, 0.95))
    if name in ("adagrad", "rmsprop", "adam", "adamw"):
        cfg["epsilon"] = float(10 ** rng.uniform(-8, -6))
    if name == "rmsprop":
        cfg["decay_rate"] = float(rng.uniform(0.8, 0.99))
    if name in ("adam", "adamw"):
        cfg["beta1"] = float(rng.uniform(0.7, 0.95))
        cfg["beta2"] = float(rng.uniform(0.9, 0.999))
    if name == "adamw":
        cfg["weight_decay"] = float(rng.uniform(0.05, 0.5))
    return cfg


def _state(rng, name, shape, dtype=np.float64):
    """A mid-run state for the rule (as an earlier call would have left it)."""
    state = {}
    if name in ("sgd_momentum", "nesterov_momentum"):
        state["velocity"] = rng.normal(size=shape).astype(dtype) * 0.1
    if name in ("adagrad", "rmsprop"):
        state["cache"] = rng.uniform(0.1, 2.0, size=shape).astype(dtype)
    if name in ("adam", "adamw"):
        state["m"] = rng.normal(size=shape).astype(dtype) * 0.3
        state["v"] = rng.uniform(0.05, 1.0, size=shape).astype(dtype)
        state["t"] = int(rng.integers(3, 12))
    return state


def _step_inputs(rng, name, dtype=np.float64):
    shape = _shape(rng)
    w, dw = rng.normal(size=shape).astype(dtype), rng.normal(size=shape).astype(dtype)
    return w, dw, {**_hyper(rng, name), **_state(rng, name, shape, dtype)}


# ============================================================== numpy rules


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_one_step_mid_run(submission, reference, rng, name):
    """One update from a state left by earlier calls."""
    w, dw, config = _step_inputs(rng, name)
    next_w, _ = getattr(submission, name)(w, dw, config)
    assert_close(next_w, getattr(reference, name)(w, dw, config)[0], **F64, what=f"{name}: next_w")


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_returns_updated_state(submission, reference, rng, name):
    """The returned config holds the hyperparameters and the new state."""
    w, dw, config = _step_inputs(rng, name)
    _, got = getattr(submission, name)(w, dw, config)
    _, want = getattr(reference, name)(w, dw, config)
    assert isinstance(got, dict), f"{name} must return (next_w, config) with config a dict, got {type(got).__name__}"
    assert_close(got, want, **F64, what=f"{name}: returned config")


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_config_defaults(submission, reference, rng, name):
    """config=None: every hyperparameter takes its documented default and the state starts at zero."""
    shape = _shape(rng)
    w, dw = rng.normal(size=shape), rng.normal(size=shape)
    next_w, config = getattr(submission, name)(w, dw)
    want_w, want_config = getattr(reference, name)(w, dw)
    assert_close(next_w, want_w, **F64, what=f"{name}(w, dw) with no config: next_w")
    assert_close(config, want_config, **F64, what=f"{name}(w, dw) with no config: the returned config")


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_carries_state_between_calls(submission, reference, rng, name):
    """Five calls, each given the config the previous one returned."""
    shape = _shape(rng)
    w, config = rng.normal(size=shape), _hyper(rng, name)
    ref_w, ref_config = w, config
    for _ in range(5):
        dw = rng.normal(size=shape)
        w, config = getattr(submission, name)(w, dw, config)
        ref_w, ref_config = getattr(reference, name)(ref_w, dw, ref_config)
    assert_close(w, ref_w, **F64, what=f"{name}: w after 5 calls")
    assert_close(config, ref_config, **F64, what=f"{name}: config after 5 calls")


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_does_not_modify_its_inputs(submission, reference, rng, name):
    """w, dw, config and the state arrays in config come back unchanged; next_w is a new array."""
    w, dw, config = _step_inputs(rng, name)
    seen = getattr(submission, name).inspect(w, dw, config)
    w_after, dw_after, config_after = seen.args_after
    assert_close(w_after, w, rtol=0, atol=0, what=f"w after {name} (must be unchanged)")
    assert_close(dw_after, dw, rtol=0, atol=0, what=f"dw after {name} (must be unchanged)")
    assert isinstance(config_after, dict) and set(config_after) == set(config), \
        f"{name} changed the keys of the caller's config: start from a copy, config = dict(config)"
    assert_close(config_after, config, rtol=0, atol=0,
                 what=f"the caller's config after {name} (must be unchanged: build new arrays, not v *= ...)")
    assert not seen.aliases, f"{name} returned {seen.aliases} sharing memory with an input: return new arrays"
    assert_close(seen.value[0], getattr(reference, name)(w, dw, config)[0], **F64, what=f"{name}: next_w")


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_float32(submission, reference, rng, name):
    """float32 weights, gradients and state stay float32."""
    w, dw, config = _step_inputs(rng, name, dtype=np.float32)
    next_w, got = getattr(submission, name)(w, dw, config)
    assert next_w.dtype == np.float32, f"{name}: next_w must be float32 for float32 inputs, got {next_w.dtype}"
    for key in STATE[name]:
        if key != "t":
            assert got[key].dtype == np.float32, f"{name}: config[{key!r}] must stay float32, got {got[key].dtype}"
    want_w, want = getattr(reference, name)(w, dw, config)
    assert_close(next_w, want_w, **F32, what=f"{name}: next_w in float32")


# ---------------------------------------------------------------- trajectories

# Hyperparameters under which every rule makes visible progress in 40 steps
# without blowing up, per problem.
PROBLEM_CONFIG = {
    "bowl": {"sgd": 0.05, "sgd_momentum": 0.02, "nesterov_momentum": 0.02, "adagrad": 0.5,
             "rmsprop": 0.02, "adam": 0.05, "adamw": 0.05},
    "rosenbrock": {"sgd": 5e-4, "sgd_momentum": 2e-4, "nesterov_momentum": 2e-4, "adagrad": 0.1,
                   "rmsprop": 0.01, "adam": 0.03, "adamw": 0.03},
    "saddle": {"sgd": 0.05, "sgd_momentum": 0.02, "nesterov_momentum": 0.02, "adagrad": 0.2,
               "rmsprop": 0.02, "adam": 0.05, "adamw": 0.05},
}
STEPS = 40


def _start(rng, problem):
    if problem == "bowl":
        return rng.normal(size=_shape(rng)) * 2
    if problem == "rosenbrock":
        return np.array([-1.2, 1.0]) + rng.uniform(-0.1, 0.1, size=2)
    # the saddle: start off the ridge by very little, where plain gradient descent crawls
    return np.array([rng.uniform(0.5, 1.5), rng.choice([-1, 1]) * rng.uniform(1e-3, 1e-2)])


def _problem_config(name, problem):
    cfg = {"learning_rate": PROBLEM_CONFIG[problem][name]}
    if name == "adamw":
        cfg["weight_decay"] = 0.1
    return cfg


@points(1)
@pytest.mark.parametrize("problem", ["bowl", "rosenbrock", "saddle"])
@pytest.mark.parametrize("name", RULES)
def test_rule_trajectory(submission, reference, rng, name, problem):
    """40 steps on a quadratic bowl / the Rosenbrock valley / a saddle point."""
    w0, config = _start(rng, problem), _problem_config(name, problem)
    got, _ = _probes(submission).rule_trajectory(getattr(submission, name), w0, config, problem, STEPS)
    want, _ = drive.rule_trajectory(getattr(reference, name), w0, config, problem, STEPS)
    assert_close(got, want, **TRAJ, what=f"{name} on the {problem}: trajectory (step, coordinates)")


# -------------------------------------------------------- conventions, one each


@points(1)
def test_momentum_velocity_points_downhill(submission, reference, rng):
    """v = momentum * v - learning_rate * dw: positive gradients make the velocity negative."""
    w, dw = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    _, config = submission.sgd_momentum(w, dw, {"learning_rate": 0.1, "momentum": 0.9})
    assert_close(config["velocity"], reference.sgd_momentum(w, dw, {"learning_rate": 0.1, "momentum": 0.9})[1]["velocity"],
                 **F64, what="velocity after one step from zero (must be -learning_rate * dw)")


@points(1)
def test_nesterov_differs_from_plain_momentum(submission, reference, rng):
    """The Nesterov step looks ahead: w + momentum * v - learning_rate * dw."""
    w, dw, config = _step_inputs(rng, "nesterov_momentum")
    next_w, _ = submission.nesterov_momentum(w, dw, config)
    assert_close(next_w, reference.nesterov_momentum(w, dw, config)[0], **F64, what="nesterov next_w")


@points(1)
def test_adagrad_cache_keeps_every_gradient(submission, reference, rng):
    """Three calls: the cache is the sum of all three squared gradients."""
    w, config = rng.normal(size=5), {"learning_rate": 0.1}
    ref_config = dict(config)
    for _ in range(3):
        dw = rng.normal(size=5)
        w, config = submission.adagrad(w, dw, config)
        _, ref_config = reference.adagrad(w, dw, ref_config)
    assert_close(config["cache"], ref_config["cache"], **F64, what="adagrad cache after 3 calls")


@points(1)
def test_rmsprop_decay_keeps_the_old_cache(submission, reference, rng):
    """decay_rate multiplies the old cache, 1 - decay_rate the new squared gradient."""
    w, dw = rng.normal(size=6), rng.normal(size=6) * 3
    config = {"learning_rate": 0.01, "decay_rate": 0.9, "cache": rng.uniform(0.5, 1.0, size=6)}
    got_w, got = submission.rmsprop(w, dw, config)
    want_w, want = reference.rmsprop(w, dw, config)
    assert_close(got["cache"], want["cache"], **F64, what="rmsprop cache")
    assert_close(got_w, want_w, **F64, what="rmsprop next_w")


@points(1)
@pytest.mark.parametrize("name", ["adam", "rmsprop", "adagrad"])
def test_epsilon_outside_the_square_root(submission, reference, rng, name):
    """Tiny gradients (their squares comparable to epsilon): sqrt(.) + eps, not sqrt(. + eps)."""
    w, dw = rng.normal(size=6), rng.normal(size=6) * 1e-4
    config = {"learning_rate": 1e-2, "epsilon": 1e-8}
    next_w, _ = getattr(submission, name)(w, dw, config)
    assert_close(next_w, getattr(reference, name)(w, dw, config)[0], **F64, what=f"{name} next_w with |dw| ~ 1e-4")


@points(1)
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_bias_correction_first_steps(submission, reference, rng, name):
    """The first three steps from zero state, where bias correction matters most."""
    w, config = rng.normal(size=(2, 3)), {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999}
    ref_w, ref_config = w, config
    for k in range(3):
        dw = rng.normal(size=(2, 3))
        w, config = getattr(submission, name)(w, dw, config)
        ref_w, ref_config = getattr(reference, name)(ref_w, dw, ref_config)
        assert_close(w, ref_w, **F64, what=f"{name}: w after step {k + 1} from zero state")


@points(1)
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_step_count(submission, reference, rng, name):
    """t is incremented BEFORE the bias correction: a state with t = k makes the next step use t = k + 1."""
    w, dw, config = _step_inputs(rng, name)
    next_w, got = getattr(submission, name)(w, dw, config)
    want_w, want = getattr(reference, name)(w, dw, config)
    assert got["t"] == want["t"], f"{name}: t must go from {config['t']} to {want['t']}, got {got['t']}"
    assert_close(next_w, want_w, **F64, what=f"{name}: next_w from a state with t = {config['t']}")


@points(1)
def test_adamw_decay_is_decoupled(submission, reference, rng):
    """Large weights, weight_decay 0.5: the decay is lr * wd * w, not a term added to dw."""
    w, dw = rng.normal(size=8) * 5, rng.normal(size=8)
    config = {"learning_rate": 0.01, "weight_decay": 0.5}
    next_w, _ = submission.adamw(w, dw, config)
    assert_close(next_w, reference.adamw(w, dw, config)[0], **F64, what="adamw next_w")


@points(1)
def test_adamw_without_decay_is_adam(submission, reference, rng):
    w, dw, config = _step_inputs(rng, "adam")
    next_w, _ = submission.adamw(w, dw, {**config, "weight_decay": 0.0})
    assert_close(next_w, reference.adam(w, dw, config)[0], **F64, what="adamw with weight_decay=0")


# ================================================================ schedules


SCHEDULE_STEPS = 120


def _values(submission, name, extra):
    """The student's schedule at steps 0 .. SCHEDULE_STEPS - 1, evaluated in one round trip."""
    probes = submission.library("autograder.probes")
    got = probes.evaluate_many(getattr(submission, name), [(k, *extra) for k in range(SCHEDULE_STEPS)])
    return np.array([float(np.asarray(v)) for v in got])


def _ref_values(reference, name, extra):
    return np.array([getattr(reference, name)(k, *extra) for k in range(SCHEDULE_STEPS)], dtype=float)


def _schedule_args(rng, name):
    base = float(10 ** rng.uniform(-3, -0.5))
    if name == "step_decay":
        return (base, int(rng.integers(7, 30)), float(rng.uniform(0.1, 0.7)))
    if name == "exponential_decay":
        return (base, float(rng.uniform(0.95, 0.99)))
    if name == "cosine_decay":
        return (base, int(rng.integers(60, 100)), base * float(rng.uniform(0.01, 0.2)))
    if name == "linear_warmup":
        return (base, int(rng.integers(5, 30)))
    return (base, int(rng.integers(5, 30)), int(rng.integers(60, 100)), base * float(rng.uniform(0.01, 0.2)))


@points(1)
@pytest.mark.parametrize("name", ["step_decay", "exponential_decay", "cosine_decay", "linear_warmup", "warmup_cosine"])
def test_schedule_values(submission, reference, rng, name):
    """Steps 0 .. 119 (past the end of the decay, where there is one)."""
    args = _schedule_args(rng, name)
    assert_close(_values(submission, name, args), _ref_values(reference, name, args), rtol=1e-9, atol=1e-14,
                 what=f"{name}(step, {', '.join(f'{a:g}' for a in args)}) for steps 0..{SCHEDULE_STEPS - 1}")


@points(1)
def test_linear_warmup_first_and_last_warmup_steps(submission, reference, rng):
    """Step 0 (the first step) gets base_lr / warmup_steps; step warmup_steps - 1 the full base_lr."""
    base, W = float(rng.uniform(0.1, 1.0)), int(rng.integers(3, 12))
    for k in (0, 1, W - 2, W - 1, W):
        assert_close(submission.linear_warmup(k, base, W), reference.linear_warmup(k, base, W), rtol=1e-12,
                     what=f"linear_warmup({k}, {base:.3f}, {W})")


@points(1)
def test_warmup_cosine_phases(submission, reference, rng):
    """The cosine starts when the warm-up ends and reaches min_lr at total_steps."""
    base, W, T = float(rng.uniform(0.1, 1.0)), int(rng.integers(5, 15)), int(rng.integers(40, 60))
    for k in (0, W - 1, W, W + 1, (W + T) // 2, T - 1, T, T + 5):
        assert_close(submission.warmup_cosine(k, base, W, T, 0.01), reference.warmup_cosine(k, base, W, T, 0.01),
                     rtol=1e-12, what=f"warmup_cosine({k}, {base:.3f}, {W}, {T}, 0.01)")


@points(1)
def test_step_decay_is_piecewise_constant(submission, reference, rng):
    """The decay happens at multiples of step_size, not gradually in between."""
    size = int(rng.integers(5, 10))
    for k in (size - 1, size, size + 1, 2 * size - 1, 2 * size):
        assert_close(submission.step_decay(k, 1.0, size, 0.5), reference.step_decay(k, 1.0, size, 0.5),
                     rtol=1e-12, what=f"step_decay({k}, 1.0, {size}, 0.5)")


@points(1)
def test_schedule_drives_a_rule(submission, reference, rng):
    """sgd_momentum with its learning rate set by warmup_cosine at each step, on the bowl."""
    w0 = rng.normal(size=(3,)) * 2
    got_lrs = _values(submission, "warmup_cosine", (0.05, 10, 40))[:40]
    got, _ = _probes(submission).rule_trajectory(submission.sgd_momentum, w0, {"momentum": 0.8}, "bowl", 40,
                                                 schedule=[float(v) for v in got_lrs])
    want_lrs = [reference.warmup_cosine(k, 0.05, 10, 40) for k in range(40)]
    want, _ = drive.rule_trajectory(reference.sgd_momentum, w0, {"momentum": 0.8}, "bowl", 40, schedule=want_lrs)
    assert_close(got, want, **TRAJ, what="sgd_momentum under warmup_cosine: trajectory")


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
    "adam": ("Adam", dict(lr=0.02, betas=(0.85, 0.995))),
    "adam-eps-weight-decay": ("Adam", dict(lr=0.02, eps=1e-3, weight_decay=0.05)),
}


@points(1)
@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_torch_optimizer_step_by_step(submission, rng, case):
    """30 steps with given gradients, every step compared with torch.optim's."""
    name, kwargs = TORCH_CASES[case]
    params, grads = _tensors(rng, 30)
    got = _student_trajectory(submission, name, params, grads, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name}({kwargs}): (parameter)[step]")


@points(1)
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_torch_optimizer_defaults(submission, rng, name):
    """Constructed with the parameters only: torch.optim's defaults."""
    params, grads = _tensors(rng, 10)
    got = _student_trajectory(submission, name, params, grads)
    assert_close(got, _torch_expected(name, params, grads), **TRAJ, what=f"{name}(params) with default arguments")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_parameter_groups(submission, rng, name, kwargs):
    """Two groups with different learning rates: each group uses its own."""
    params, grads = _tensors(rng, 20)
    groups = [{"params": [0, 2]}, {"params": [1], "lr": kwargs["lr"] * 10}]
    got = _student_trajectory(submission, name, params, grads, groups=groups, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, groups=groups, kwargs=kwargs), **TRAJ,
                 what=f"{name} with groups [default lr, lr x 10]: (parameter)[step]")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_skips_parameters_without_gradient(submission, rng, name, kwargs):
    """A parameter whose .grad is None is left alone (no update, no state); the others move."""
    params, grads = _tensors(rng, 10)
    grads[1] = None
    got = _student_trajectory(submission, name, params, grads, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name} with a parameter that has no gradient")


TORCH_PROBLEM_KWARGS = {
    "SGD": {"bowl": dict(lr=0.02, momentum=0.9, nesterov=True),
            "rosenbrock": dict(lr=2e-4, momentum=0.9, nesterov=True),
            "saddle": dict(lr=0.02, momentum=0.9, nesterov=True)},
    "Adam": {"bowl": dict(lr=0.05), "rosenbrock": dict(lr=0.03), "saddle": dict(lr=0.05)},
}


@points(1)
@pytest.mark.parametrize("problem", ["bowl", "rosenbrock", "saddle"])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_torch_optimizer_on_problem(submission, rng, name, problem):
    """40 steps of zero_grad / backward / step on a test function computed in torch."""
    kwargs = TORCH_PROBLEM_KWARGS[name][problem]
    x0 = torch.tensor(_start(rng, problem))
    cls = getattr(submission.optimizers_torch, name)
    got = _probes(submission).problem_trajectory(cls, x0, problem, STEPS, kwargs=kwargs)
    want = drive.problem_trajectory(getattr(torch.optim, name), x0, problem, STEPS, kwargs=kwargs)
    assert_close(got, want, **TRAJ, what=f"{name}({kwargs}) on the {problem}: (trajectory, losses)")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.02))], ids=["SGD", "Adam"])
def test_torch_optimizer_resumes_from_state_dict(submission, rng, name, kwargs):
    """state_dict() saved after 12 steps and loaded into a fresh optimizer: the same 30-step trajectory."""
    params, grads = _tensors(rng, 30)
    cls = getattr(submission.optimizers_torch, name)
    got = _probes(submission).checkpoint_trajectory(cls, params, grads, 12, kwargs=kwargs)
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name} stopped after step 12 and resumed from its state_dict")


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.02))],
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
    got = probes.problem_trajectory(getattr(submission.optimizers_torch, name), x0, "bowl", 10, kwargs={"lr": 0.05})
    want = drive.problem_trajectory(getattr(torch.optim, name), x0, "bowl", 10, kwargs={"lr": 0.05})
    assert_close(got, want, **TRAJ, what=f"{name}: zero_grad / backward / step on the bowl")
    cleared = probes.zero_grad_leaves_no_gradient(getattr(submission.optimizers_torch, name),
                                                  [torch.tensor(rng.normal(size=3))])
    assert cleared is True, "after zero_grad() every gradient must be None (or zeros)"


@points(1)
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.02))], ids=["SGD", "Adam"])
def test_torch_optimizer_float32(submission, rng, name, kwargs):
    """float32 parameters stay float32 and follow torch.optim's float32 trajectory."""
    params, grads = _tensors(rng, 20, dtype=torch.float32)
    got = _student_trajectory(submission, name, params, grads, kwargs=kwargs)
    assert all(t.dtype == torch.float32 for t in got), f"parameters must stay float32, got {[t.dtype for t in got]}"
    assert_close(got, _torch_expected(name, params, grads, kwargs=kwargs), **F32, what=f"{name} in float32")


# ------------------------------------------------------------------- CUDA


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", [pytest.param(torch.float64, TRAJ, id="float64"),
                                       pytest.param(torch.float32, F32, id="float32")])
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.02))], ids=["SGD", "Adam"])
def test_torch_optimizer_cuda(submission, rng, name, kwargs, dtype, tol):
    """Parameters on the GPU: state on the GPU too, same trajectory as torch.optim on the CPU."""
    params, grads = _tensors(rng, 20, dtype=dtype)
    got = _student_trajectory(submission, name, [p.cuda() for p in params], [g.cuda() for g in grads], kwargs=kwargs)
    assert all(t.device.type == "cuda" and t.dtype == dtype for t in got), \
        f"parameters must stay {dtype} on CUDA, got {[(t.dtype, str(t.device)) for t in got]}"
    want = _torch_expected(name, params, grads, kwargs=kwargs)
    assert_close(tuple(t.cpu() for t in got), want, **tol, what=f"{name} on CUDA ({dtype})")


@points(1)
@pytest.mark.gpu
@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.02))],
                         ids=["SGD", "Adam"])
def test_torch_optimizer_cuda_resumes_from_state_dict(submission, rng, name, kwargs):
    params, grads = _tensors(rng, 20)
    cls = getattr(submission.optimizers_torch, name)
    got = _probes(submission).checkpoint_trajectory(cls, [p.cuda() for p in params], [g.cuda() for g in grads], 8,
                                                    kwargs=kwargs)
    assert_close(tuple(t.cpu() for t in got), _torch_expected(name, params, grads, kwargs=kwargs), **TRAJ,
                 what=f"{name} on CUDA, stopped after step 8 and resumed from its state_dict")
