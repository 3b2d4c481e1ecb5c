"""Hidden tests of the learning-rate schedules (optimizers.py).

Each schedule is compared with the reference over steps 0..119 (evaluated in
one round trip), and the step-count conventions at the phase boundaries are
checked one by one.
"""
import numpy as np
import pytest

from autograder import assert_close, load_helpers, points

drive = load_helpers(__file__)  # the same drivers (worker_helpers.py), run here on the reference / torch.optim

TRAJ = dict(rtol=1e-6, atol=1e-9)     # long float64 runs: rounding may differ with the order of operations


def _probes(submission):
    return submission.helpers


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
