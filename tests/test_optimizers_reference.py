"""The optimizers reference solution, checked against torch.optim.

Every numpy update rule follows torch.optim's trajectory over 200 steps (and
its state matches torch's, once the two conventions are reconciled); every
schedule follows torch.optim.lr_scheduler over 200 steps; the torch
optimizers of the assignment follow torch.optim.SGD / torch.optim.Adam, with
parameter groups and a state_dict round trip. All to 1e-6 relative, in
float64. Plain pytest: no engine involved.

Where the conventions differ (each is reconciled in the test that meets it):

* momentum: CS231n keeps a velocity v = mu * v - lr * dw and steps w + v;
  torch keeps a buffer b = mu * b + dw and steps w - lr * b. For a constant
  lr, v = -lr * b at every step and the weights are the same.
* Nesterov: CS231n's w - mu * v_prev + (1 + mu) * v equals torch's
  w - lr * (dw + mu * b), again through v = -lr * b.
* Adagrad: torch adds eps outside the root as we do, but its default eps is
  1e-10 (ours 1e-8) and it has an initial_accumulator_value (ours 0) and an
  lr_decay (ours none): the tests pass eps and leave the other two at 0.
* RMSprop: torch's alpha is our decay_rate (the fraction of the old average
  kept), eps outside the root in both.
* Adam: torch computes (sqrt(v) / sqrt(1 - beta2^t)) + eps, we compute
  sqrt(v / (1 - beta2^t)) + eps: the same number up to rounding.
* AdamW: torch multiplies w by (1 - lr * wd) before the Adam step; we
  subtract lr * wd * w (the old w) in the same update: the same number.
* Schedules: torch's schedulers are stateful (the lr in force after k calls
  of scheduler.step()); ours are pure functions of k. Step 0 is the first
  step in both. LinearLR warm-up to base_lr in W steps is start_factor=1/W,
  total_iters=W-1. torch's CosineAnnealingLR goes back up after T_max; ours
  stays at min_lr (checked separately).
"""
import copy
import math
import warnings

import numpy as np
import pytest
import torch

from reference_modules import load_reference


opt, optt = load_reference("optimizers", "optimizers", "optimizers_torch")

STEPS = 200
RTOL, ATOL = 1e-6, 1e-12


@pytest.fixture
def rng():
    return np.random.default_rng(4321)


def _gradients(rng, shape, steps=STEPS):
    """A gradient sequence of mixed scales (some coordinates tiny, some large)."""
    scale = np.exp(rng.uniform(-4, 2, size=shape))
    return rng.normal(size=(steps,) + shape) * scale


def _torch_run(cls, w0, grads, **kwargs):
    """torch.optim's trajectory and final state for the given gradient sequence."""
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    o = cls([p], **kwargs)
    traj = [w0.copy()]
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        o.step()
        traj.append(p.detach().numpy().copy())
    return np.stack(traj), o.state[p]


def _numpy_run(rule, w0, grads, config):
    w, traj = w0.copy(), [w0.copy()]
    for g in grads:
        w, config = rule(w, g, config)
        traj.append(w.copy())
    return np.stack(traj), config


def _close(a, b, what):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=what)


# ---------------------------------------------------------------- numpy rules


SHAPE = (3, 4)


def test_sgd_matches_torch(rng):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    ours, _ = _numpy_run(opt.sgd, w0, grads, {"learning_rate": 0.05})
    theirs, _ = _torch_run(torch.optim.SGD, w0, grads, lr=0.05)
    _close(ours, theirs, "sgd trajectory")


@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_momentum_matches_torch(rng, nesterov):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    lr, mu = 0.03, 0.9
    rule = opt.nesterov_momentum if nesterov else opt.sgd_momentum
    ours, config = _numpy_run(rule, w0, grads, {"learning_rate": lr, "momentum": mu})
    theirs, state = _torch_run(torch.optim.SGD, w0, grads, lr=lr, momentum=mu, nesterov=nesterov)
    _close(ours, theirs, "momentum trajectory")
    # torch's buffer b = mu * b + dw is the CS231n velocity divided by -lr.
    _close(config["velocity"], -lr * state["momentum_buffer"].numpy(), "velocity vs -lr * momentum_buffer")


def test_adagrad_matches_torch(rng):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    ours, config = _numpy_run(opt.adagrad, w0, grads, {"learning_rate": 0.1, "epsilon": 1e-8})
    # torch: eps outside the root as ours, but default eps 1e-10: pass ours; accumulator starts at 0.
    theirs, state = _torch_run(torch.optim.Adagrad, w0, grads, lr=0.1, eps=1e-8,
                               initial_accumulator_value=0.0, lr_decay=0.0)
    _close(ours, theirs, "adagrad trajectory")
    _close(config["cache"], state["sum"].numpy(), "adagrad cache vs torch's sum")


def test_rmsprop_matches_torch(rng):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    ours, config = _numpy_run(opt.rmsprop, w0, grads,
                              {"learning_rate": 1e-2, "decay_rate": 0.95, "epsilon": 1e-8})
    theirs, state = _torch_run(torch.optim.RMSprop, w0, grads, lr=1e-2, alpha=0.95, eps=1e-8)
    _close(ours, theirs, "rmsprop trajectory")
    _close(config["cache"], state["square_avg"].numpy(), "rmsprop cache vs torch's square_avg")


def test_adam_matches_torch(rng):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    cfg = {"learning_rate": 1e-2, "beta1": 0.85, "beta2": 0.995, "epsilon": 1e-8}
    ours, config = _numpy_run(opt.adam, w0, grads, cfg)
    theirs, state = _torch_run(torch.optim.Adam, w0, grads, lr=1e-2, betas=(0.85, 0.995), eps=1e-8)
    _close(ours, theirs, "adam trajectory")
    _close(config["m"], state["exp_avg"].numpy(), "adam m vs exp_avg")
    _close(config["v"], state["exp_avg_sq"].numpy(), "adam v vs exp_avg_sq")
    assert config["t"] == int(state["step"]) == STEPS


def test_adam_default_config_matches_torch_defaults(rng):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE, steps=20)
    ours, _ = _numpy_run(opt.adam, w0, grads, None)
    theirs, _ = _torch_run(torch.optim.Adam, w0, grads)  # lr 1e-3, betas (0.9, 0.999), eps 1e-8
    _close(ours, theirs, "adam with default config")


def test_adamw_matches_torch(rng):
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    cfg = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.1}
    ours, _ = _numpy_run(opt.adamw, w0, grads, cfg)
    theirs, _ = _torch_run(torch.optim.AdamW, w0, grads, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
    _close(ours, theirs, "adamw trajectory")
    default, _ = _numpy_run(opt.adamw, w0, grads[:20], None)
    theirs_default, _ = _torch_run(torch.optim.AdamW, w0, grads[:20])  # weight_decay 1e-2 in both
    _close(default, theirs_default, "adamw with default config")


def test_adamw_decay_is_not_l2(rng):
    """Decoupled decay differs from Adam on dw + wd * w (what torch.optim.Adam's weight_decay does)."""
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE, steps=20)
    decoupled, _ = _numpy_run(opt.adamw, w0, grads, {"learning_rate": 1e-2, "weight_decay": 0.5})
    l2, _ = _torch_run(torch.optim.Adam, w0, grads, lr=1e-2, weight_decay=0.5)
    assert np.max(np.abs(decoupled - l2)) > 1e-3


def test_closed_loop_on_rosenbrock_matches_torch():
    """Gradients taken at the current point (so errors would compound), Adam on Rosenbrock."""
    w = np.array([-1.2, 1.0])
    p = torch.nn.Parameter(torch.tensor(w))
    o = torch.optim.Adam([p], lr=0.02)
    config = {"learning_rate": 0.02}
    for _ in range(STEPS):
        x, y = w
        dw = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        w, config = opt.adam(w, dw, config)
        o.zero_grad()
        ((1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2).backward()
        o.step()
    _close(w, p.detach().numpy(), "adam on rosenbrock after 200 steps")


RULES = ["sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam", "adamw"]


@pytest.mark.parametrize("name", RULES)
def test_rule_is_pure_and_keeps_float32(name, rng):
    rule = getattr(opt, name)
    w, dw = rng.normal(size=SHAPE).astype(np.float32), rng.normal(size=SHAPE).astype(np.float32)
    _, config = rule(w, dw, None)  # a config carrying state
    before = (w.copy(), dw.copy(), copy.deepcopy(config))
    next_w, next_config = rule(w, dw, config)
    assert next_w.dtype == np.float32
    assert not np.shares_memory(next_w, w) and not np.shares_memory(next_w, dw)
    np.testing.assert_array_equal(w, before[0])
    np.testing.assert_array_equal(dw, before[1])
    assert config.keys() == before[2].keys() and next_config is not config
    for key, value in before[2].items():
        np.testing.assert_array_equal(config[key], value)


def test_adam_first_step_is_learning_rate_times_sign():
    w, dw = np.array([1.0, -2.0, 3.0]), np.array([0.5, -4.0, 1e-3])
    next_w, config = opt.adam(w, dw, {"learning_rate": 0.1})
    _close(next_w, w - 0.1 * np.sign(dw) * np.abs(dw) / (np.abs(dw) + 1e-8), "adam step 1")
    assert config["t"] == 1


# ------------------------------------------------------------------ schedules


def _torch_lrs(make, base_lr=0.1, steps=STEPS):
    """The learning rate in force at steps 0 .. steps - 1 of a torch scheduler."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    o = torch.optim.SGD([p], lr=base_lr)
    sched = make(o)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SequentialLR's deprecation chatter
        for _ in range(steps):
            lrs.append(o.param_groups[0]["lr"])
            o.step()
            sched.step()
    return np.array(lrs)


def _ours(fn, *args, steps=STEPS):
    return np.array([fn(k, *args) for k in range(steps)])


def test_step_decay_matches_step_lr():
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=30, gamma=0.5))
    _close(_ours(opt.step_decay, 0.1, 30, 0.5), theirs, "step_decay vs StepLR")


def test_exponential_decay_matches_exponential_lr():
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.98))
    _close(_ours(opt.exponential_decay, 0.1, 0.98), theirs, "exponential_decay vs ExponentialLR")


@pytest.mark.parametrize("min_lr", [0.0, 1e-3])
def test_cosine_decay_matches_cosine_annealing_lr(min_lr):
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=min_lr))
    # torch's recursive form drifts by ~1e-17 absolute: near lr = 0 only atol can compare.
    np.testing.assert_allclose(_ours(opt.cosine_decay, 0.1, STEPS, min_lr), theirs, rtol=RTOL, atol=1e-12)


def test_cosine_decay_stays_at_min_after_total_steps():
    assert opt.cosine_decay(50, 0.1, 50, 1e-3) == pytest.approx(1e-3, rel=1e-12)
    assert opt.cosine_decay(80, 0.1, 50, 1e-3) == pytest.approx(1e-3, rel=1e-12)  # torch would go back up


def test_linear_warmup_matches_linear_lr():
    W = 25
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.LinearLR(
        o, start_factor=1 / W, end_factor=1.0, total_iters=W - 1))
    ours = _ours(opt.linear_warmup, 0.1, W)
    _close(ours, theirs, "linear_warmup vs LinearLR")
    assert ours[0] == pytest.approx(0.1 / W) and ours[W - 1] == pytest.approx(0.1)  # step 0 is the first step


def test_warmup_cosine_matches_sequential_lr():
    W, T, min_lr = 20, STEPS, 1e-3
    theirs = _torch_lrs(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=1 / W, end_factor=1.0, total_iters=W - 1),
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T - W, eta_min=min_lr),
    ], milestones=[W]))
    _close(_ours(opt.warmup_cosine, 0.1, W, T, min_lr), theirs, "warmup_cosine vs SequentialLR")


def test_schedule_drives_sgd_like_torch(rng):
    """A schedule set into config each step moves sgd like torch.optim.SGD with the scheduler."""
    w0, grads = rng.normal(size=SHAPE), _gradients(rng, SHAPE)
    w, config = w0.copy(), {}
    for k, g in enumerate(grads):
        config["learning_rate"] = opt.warmup_cosine(k, 0.1, 10, STEPS)
        w, config = opt.sgd(w, g, config)
    p = torch.nn.Parameter(torch.tensor(w0))
    o = torch.optim.SGD([p], lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        o, lambda k: (k + 1) / 10 if k < 10 else 0.5 * (1 + math.cos(math.pi * (k - 10) / (STEPS - 10))))
    for g in grads:
        p.grad = torch.tensor(g)
        o.step()
        sched.step()
    _close(w, p.detach().numpy(), "sgd with warmup_cosine vs SGD + LambdaLR")


# ------------------------------------------------------------- torch optimizers


def _torch_trajectory(cls, params, grads, groups=None, **kwargs):
    leaves = [torch.nn.Parameter(p.clone()) for p in params]
    o = cls([{**g, "params": [leaves[i] for i in g["params"]]} for g in groups] if groups else leaves, **kwargs)
    traj = [[p.detach().clone() for p in leaves]]
    for k in range(grads[0].shape[0]):
        for p, g in zip(leaves, grads):
            p.grad = g[k].clone()
        o.step()
        traj.append([p.detach().clone() for p in leaves])
    return traj, o, leaves


def _problem(rng, dtype=torch.float64, steps=STEPS):
    shapes = [(3, 2), (4,), (1,)]
    params = [torch.tensor(rng.normal(size=s), dtype=dtype) for s in shapes]
    grads = [torch.tensor(_gradients(rng, s, steps), dtype=dtype) for s in shapes]
    return params, grads


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_torch_optimizer_matches_torch_optim(name, kwargs, rng):
    params, grads = _problem(rng)
    ours, _, _ = _torch_trajectory(getattr(optt, name), params, grads, **kwargs)
    theirs, _, _ = _torch_trajectory(getattr(torch.optim, name), params, grads, **kwargs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            _close(x.numpy(), y.numpy(), f"{name} step {k}")


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_torch_optimizer_defaults_match_torch_optim(name, rng):
    params, grads = _problem(rng, steps=20)
    ours, _, _ = _torch_trajectory(getattr(optt, name), params, grads)
    theirs, _, _ = _torch_trajectory(getattr(torch.optim, name), params, grads)
    _close(ours[-1][0].numpy(), theirs[-1][0].numpy(), f"{name} with defaults")


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9)), ("Adam", dict(lr=0.01))])
def test_torch_optimizer_parameter_groups(name, kwargs, rng):
    params, grads = _problem(rng, steps=50)
    groups = [{"params": [0, 2]}, {"params": [1], "lr": 0.2}]
    ours, _, _ = _torch_trajectory(getattr(optt, name), params, grads, groups=groups, **kwargs)
    theirs, _, _ = _torch_trajectory(getattr(torch.optim, name), params, grads, groups=groups, **kwargs)
    for x, y in zip(ours[-1], theirs[-1]):
        _close(x.numpy(), y.numpy(), f"{name} with two parameter groups")


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.01))])
def test_torch_optimizer_state_dict_round_trip(name, kwargs, rng):
    params, grads = _problem(rng, steps=60)
    cls = getattr(optt, name)
    straight, _, _ = _torch_trajectory(cls, params, grads, **kwargs)
    first, o, leaves = _torch_trajectory(cls, params, [g[:25] for g in grads], **kwargs)
    saved = copy.deepcopy(o.state_dict())
    fresh = [torch.nn.Parameter(p.detach().clone()) for p in leaves]
    o2 = cls(fresh, **kwargs)
    o2.load_state_dict(saved)
    for k in range(25, 60):
        for p, g in zip(fresh, grads):
            p.grad = g[k].clone()
        o2.step()
    for x, y in zip(fresh, straight[-1]):
        np.testing.assert_array_equal(x.detach().numpy(), y.numpy())


def test_torch_optimizer_skips_parameters_without_gradient(rng):
    params, grads = _problem(rng, steps=5)
    for cls in (optt.SGD, optt.Adam):
        leaves = [torch.nn.Parameter(p.clone()) for p in params]
        o = cls(leaves, lr=0.1, **({"momentum": 0.9} if cls is optt.SGD else {}))
        leaves[0].grad = grads[0][0].clone()
        o.step()
        assert torch.equal(leaves[1], params[1]) and len(o.state[leaves[1]]) == 0


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
                                         ("Adam", dict(lr=0.01))])
def test_torch_optimizer_float32(name, kwargs, rng):
    params, grads = _problem(rng, dtype=torch.float32, steps=50)
    ours, o, leaves = _torch_trajectory(getattr(optt, name), params, grads, **kwargs)
    theirs, _, _ = _torch_trajectory(getattr(torch.optim, name), params, grads, **kwargs)
    assert all(x.dtype == torch.float32 for x in ours[-1])
    assert all(t.dtype == torch.float32 for s in o.state.values() for t in s.values() if torch.is_tensor(t))
    for x, y in zip(ours[-1], theirs[-1]):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-4, atol=1e-6)


def test_torch_optimizer_closure_and_zero_grad():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    o = optt.Adam([p], lr=0.1)

    def closure():
        o.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        return loss

    assert o.step(closure).item() == pytest.approx(5.0)
    o.zero_grad()
    assert p.grad is None or not p.grad.any()


def test_torch_optimizer_rejects_bad_arguments():
    p = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError):
        optt.SGD(p, lr=0.1, nesterov=True)  # Nesterov needs momentum
    with pytest.raises(ValueError):
        optt.Adam(p, lr=-1.0)
