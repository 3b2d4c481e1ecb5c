"""Hidden tests of the numpy update rules (optimizers.py).

Each rule is compared with the reference solution on seeded inputs: one step
from a mid-run state, the returned config, the defaults, state carried over
five calls, inputs left unchanged, float32, and 40-step trajectories on a
quadratic bowl, the Rosenbrock valley and a saddle point (run in the worker
by the drivers of worker_helpers.py, which return the trajectory as data; the
judge runs the same driver on the reference). Every rule has tests of its
own, so partial work earns partial credit.
"""
import numpy as np
import pytest

from autograder import assert_close, load_helpers, points

drive = load_helpers(__file__)  # the same drivers (worker_helpers.py), run here on the reference / torch.optim

F64 = dict(rtol=1e-7, atol=1e-10)
TRAJ = dict(rtol=1e-6, atol=1e-9)     # long float64 runs: rounding may differ with the order of operations
F32 = dict(rtol=1e-4, atol=1e-6)      # float32 runs

RULES = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw"]
STATE = {"sgd": [], "sgd_momentum": ["velocity"], "nesterov_momentum": ["velocity"], "adagrad": ["cache"],
         "rmsprop": ["cache"], "adam": ["m", "v", "t"], "adamw": ["m", "v", "t"]}


def _probes(submission):
    return submission.helpers


def _shape(rng):
    return tuple(int(s) for s in rng.integers(1, 5, size=int(rng.integers(1, 4))))


# Where epsilon goes (inside or outside the square root) moves a step by about epsilon / (2 v):
# with random gradients and an epsilon of 1e-8, that shows or hides by the luck of the draw (a
# gradient near 0). So the tests below give epsilon = 0, where sqrt(v) + 0 and sqrt(v + 0) agree
# to the last bit whatever the seed, and the tests of epsilon itself (the defaults, and
# test_epsilon_outside_the_square_root) use gradients small enough for it to show in every draw.
NO_EPSILON = 0.0


def _hyper(rng, name):
    """Random hyperparameters of a rule (every key given, none left to the defaults; epsilon 0)."""
    lr = float(10 ** rng.uniform(-3, -1))
    cfg = {"learning_rate": lr}
    if name in ("sgd_momentum", "nesterov_momentum"):
        cfg["momentum"] = float(rng.uniform(0.5, 0.95))
    if name in ("adagrad", "rmsprop", "adam", "adamw"):
        cfg["epsilon"] = NO_EPSILON
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
    """config=None: every hyperparameter takes its documented default and the state starts at zero.

    Tiny weights and gradients (|dw| between 1e-5 and 2e-5), so that every default shows whatever
    the draw: dw**2 (or 0.01 dw**2) is far below the default epsilon 1e-8, which then weighs in every
    adaptive step, inside the square root or outside, and a step of learning_rate * dw is far above
    the tolerance on w.
    """
    shape = _shape(rng)
    w = rng.normal(size=shape) * 1e-3
    dw = rng.uniform(1e-5, 2e-5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
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
    """w, dw, config and the state arrays in config come back unchanged; next_w is a new array and right."""
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
    # Leaving the inputs alone earns the point together with a right step, not by computing nothing.
    assert_close(seen.value[0], getattr(reference, name)(w, dw, config)[0], **F64, what=f"{name}: next_w")


@points(1)
@pytest.mark.parametrize("name", RULES)
def test_rule_float32(submission, reference, rng, name):
    """float32 weights, gradients and state stay float32.

    A learning rate of 0.1 and, for Adam, a state after one step (t = 1, where the bias correction
    is strongest): a wrong step shows beyond float32's tolerance whatever the seed (with a random
    learning rate and t, a t off by one moved w by less than the tolerance for some seeds).
    """
    w, dw, config = _step_inputs(rng, name, dtype=np.float32)
    config["learning_rate"] = 0.1
    if "t" in config:
        config["t"] = 1
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
    if name in ("adagrad", "rmsprop", "adam", "adamw"):
        cfg["epsilon"] = NO_EPSILON  # the gradients shrink towards 0 along a run: see NO_EPSILON
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
    """Tiny gradients (their squares comparable to epsilon): sqrt(.) + eps, not sqrt(. + eps).

    |dw| between 5e-4 and 1.5e-3, epsilon 1e-6 (not the default, so a hard-coded epsilon shows too):
    the two placements differ by 20% or more in every step, whatever the draw.
    """
    w, dw = rng.normal(size=6), rng.uniform(5e-4, 1.5e-3, size=6) * rng.choice([-1.0, 1.0], size=6)
    config = {"learning_rate": 1e-2, "epsilon": 1e-6}
    next_w, _ = getattr(submission, name)(w, dw, config)
    assert_close(next_w, getattr(reference, name)(w, dw, config)[0], **F64, what=f"{name} next_w with |dw| ~ 1e-4")


@points(1)
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_adam_bias_correction_first_steps(submission, reference, rng, name):
    """The first three steps from zero state, where bias correction matters most (epsilon 0: see NO_EPSILON)."""
    w, config = rng.normal(size=(2, 3)), {"learning_rate": 0.1, "beta1": 0.9, "beta2": 0.999, "epsilon": NO_EPSILON}
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
    config = {"learning_rate": 0.01, "weight_decay": 0.5, "epsilon": NO_EPSILON}
    next_w, _ = submission.adamw(w, dw, config)
    assert_close(next_w, reference.adamw(w, dw, config)[0], **F64, what="adamw next_w")


@points(1)
def test_adamw_without_decay_is_adam(submission, reference, rng):
    w, dw, config = _step_inputs(rng, "adam")
    next_w, _ = submission.adamw(w, dw, {**config, "weight_decay": 0.0})
    assert_close(next_w, reference.adam(w, dw, config)[0], **F64, what="adamw with weight_decay=0")
