"""Worker-side helpers of the optimizers assignment.

They drive the student's update rules and torch optimizers (set gradients,
call step() many times, save and restore state) and return what happened as
data: trajectories and losses. The judge calls the same functions with the
reference's rules to get the expected data, and the mistake catalogue
replays them with each wrong variant. Nothing here decides a verdict.

Test functions (``PROBLEMS``), all of a point of shape (2,) except the bowl,
which takes any shape:

* ``bowl``: an elongated quadratic bowl, f(w) = 0.5 * sum(c_i * w_i**2) with
  curvatures c_i from 1 to 10 along the flattened w;
* ``rosenbrock``: f(x, y) = (1 - x)**2 + 100 * (y - x**2)**2, a narrow
  curved valley with its minimum at (1, 1);
* ``saddle``: f(x, y) = x**2 - y**2 + 0.25 * y**4, a saddle point at the
  origin between two minima at (0, +-sqrt(2)).
"""
from __future__ import annotations

import copy

import numpy as np


# ------------------------------------------------------------ test functions


def _curvatures(n, xp, like=None):
    c = np.linspace(1.0, 10.0, n) if n > 1 else np.ones(1)
    if xp is np:
        return c
    return xp.as_tensor(c, dtype=like.dtype, device=like.device)


def bowl(w):
    """0.5 * sum(c * w**2), curvatures c from 1 to 10 (numpy or torch)."""
    if isinstance(w, np.ndarray):
        c = _curvatures(w.size, np).reshape(w.shape).astype(w.dtype)
        return 0.5 * np.sum(c * w * w)
    import torch

    c = _curvatures(w.numel(), torch, like=w).reshape(w.shape)
    return 0.5 * torch.sum(c * w * w)


def bowl_grad(w):
    c = _curvatures(w.size, np).reshape(w.shape).astype(w.dtype)
    return c * w


def rosenbrock(w):
    x, y = w[0], w[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_grad(w):
    x, y = w[0], w[1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]).astype(w.dtype)


def saddle(w):
    x, y = w[0], w[1]
    return x * x - y * y + 0.25 * y ** 4


def saddle_grad(w):
    x, y = w[0], w[1]
    return np.stack([2 * x, -2 * y + y ** 3]).astype(w.dtype)


PROBLEMS = {
    "bowl": (bowl, bowl_grad),
    "rosenbrock": (rosenbrock, rosenbrock_grad),
    "saddle": (saddle, saddle_grad),
}


# ------------------------------------------------------------- numpy rules


def rule_trajectory(rule, w0, config, problem, steps, schedule=None):
    """Run ``steps`` updates of a numpy rule on a named problem.

    Each step: dw = gradient at w (exact, numpy), then
    ``w, config = rule(w, dw, config)``. With ``schedule`` (a list of floats),
    config["learning_rate"] is set to schedule[k] before step k.

    Returns a tuple of:
    - trajectory: array of shape (steps + 1, *w0.shape), w0 first
    - losses: array of shape (steps + 1,), the loss at each point
    """
    f, grad = PROBLEMS[problem]
    w = np.array(w0, copy=True)
    config = None if config is None else dict(config)
    points, losses = [w.copy()], [float(f(w))]
    for k in range(int(steps)):
        if schedule is not None:
            config = dict(config or {})
            config["learning_rate"] = schedule[k]
        w, config = rule(w, grad(w), config)
        w = np.array(w, copy=True)  # the rule's next call gets its own array
        points.append(w.copy())
        losses.append(float(f(w)))
    return np.stack(points), np.asarray(losses)


def rule_with_gradients(rule, w0, grads, config=None):
    """Apply a numpy rule with the given gradients (an array of shape (steps, *w0.shape)).

    Returns the trajectory, an array of shape (steps + 1, *w0.shape).
    """
    w = np.array(w0, copy=True)
    config = None if config is None else dict(config)
    points = [w.copy()]
    for dw in grads:
        w, config = rule(w, np.array(dw, copy=True), config)
        w = np.array(w, copy=True)
        points.append(w.copy())
    return np.stack(points)


# ------------------------------------------------------------ torch optimizers


def _leaves(params):
    import torch

    return [torch.nn.Parameter(p.detach().clone()) for p in params]


def _groups(leaves, groups):
    """Parameter groups with tensor indices replaced by the tensors."""
    if groups is None:
        return leaves
    return [{**g, "params": [leaves[i] for i in g["params"]]} for g in groups]


def _snapshot(leaves):
    return [p.detach().clone() for p in leaves]


def _stack(snapshots):
    import torch

    return tuple(torch.stack([s[i] for s in snapshots]) for i in range(len(snapshots[0])))


def _apply(opt, leaves, grads, k):
    for p, g in zip(leaves, grads):
        p.grad = None if g is None else g[k].detach().clone()
    opt.step()


def optimizer_trajectory(opt_class, params, grads, groups=None, kwargs=None, split=None):
    """Drive ``opt_class`` with given gradients (resumed from a checkpoint after ``split`` steps, if given).

    Inputs:
    - opt_class: a torch.optim.Optimizer subclass (the student's, the reference's, torch's)
    - params: list of tensors, the initial values (copied into fresh leaves)
    - grads: list, one per parameter, of a tensor of shape (steps, *p.shape)
      (the gradient at each step) or None (that parameter never has a gradient)
    - groups: None, or a list of dicts each with "params": a list of indices
      into params, plus that group's options
    - kwargs: dict of keyword arguments of the constructor (the defaults)

    Returns a tuple with, per parameter, a tensor of shape (steps + 1, *p.shape).
    """
    leaves = _leaves(params)
    opt = opt_class(_groups(leaves, groups), **(kwargs or {}))
    steps = max(g.shape[0] for g in grads if g is not None)
    snapshots = [_snapshot(leaves)]
    for k in range(steps):
        if k == split:
            saved = copy.deepcopy(opt.state_dict())
            leaves = _leaves(leaves)
            opt = opt_class(_groups(leaves, groups), **(kwargs or {}))
            opt.load_state_dict(saved)
        _apply(opt, leaves, grads, k)
        snapshots.append(_snapshot(leaves))
    return _stack(snapshots)


def trajectory_with_gradients_in_place(opt_class, params, grads, kwargs=None):
    """Like optimizer_trajectory, but each parameter keeps ONE gradient tensor, overwritten in
    place before every step (as backward() does after zero_grad(set_to_none=False)), and the
    gradients are read back after every step.

    Returns a tuple of:
    - trajectory: a tuple with, per parameter, a tensor of shape (steps + 1, *p.shape)
    - gradients: a tuple with, per parameter, a tensor of shape (steps, *p.shape), p.grad after each step
    """
    leaves = _leaves(params)
    opt = opt_class(leaves, **(kwargs or {}))
    for p, g in zip(leaves, grads):
        p.grad = g[0].detach().clone()
    snapshots, after = [_snapshot(leaves)], []
    for k in range(grads[0].shape[0]):
        for p, g in zip(leaves, grads):
            p.grad.copy_(g[k])
        opt.step()
        snapshots.append(_snapshot(leaves))
        after.append([p.grad.detach().clone() for p in leaves])
    return _stack(snapshots), _stack(after)


def problem_trajectory(opt_class, x0, problem, steps, kwargs=None):
    """Minimize a named problem (computed in torch, gradients by autograd).

    Each step: opt.zero_grad(); loss = f(x); loss.backward(); opt.step().

    Returns a tuple of:
    - trajectory: tensor of shape (steps + 1, *x0.shape)
    - losses: tensor of shape (steps,), the loss before each step
    """
    import torch

    f = PROBLEMS[problem][0]
    (x,) = _leaves([x0])
    opt = opt_class([x], **(kwargs or {}))
    points, losses = [x.detach().clone()], []
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        opt.step()
        losses.append(loss.detach().clone())
        points.append(x.detach().clone())
    return torch.stack(points), torch.stack(losses)


def checkpoint_trajectory(opt_class, params, grads, split, groups=None, kwargs=None):
    """Like optimizer_trajectory, but stopped after ``split`` steps and resumed.

    After step ``split`` the optimizer's state_dict() is saved (a deep copy),
    fresh parameters with the current values and a fresh optimizer built with
    the same arguments are made, the saved state is loaded into it with
    load_state_dict(), and the remaining steps go on with the fresh pair.

    Returns a tuple with, per parameter, a tensor of shape (steps + 1, *p.shape).
    """
    return optimizer_trajectory(opt_class, params, grads, groups, kwargs, split=split)


def zero_grad_leaves_no_gradient(opt_class, params, kwargs=None):
    """Set gradients, call opt.zero_grad(); True if every gradient is then None or all zeros."""
    import torch

    leaves = _leaves(params)
    opt = opt_class(leaves, **(kwargs or {}))
    for p in leaves:
        p.grad = torch.ones_like(p)
    opt.zero_grad()
    return all(p.grad is None or not bool(p.grad.any()) for p in leaves)


# A student's optimizer kept in the worker between calls (tests that save its
# state_dict in the judge and load it into another instance).


def optimizer_params(opt):
    """The current values of every parameter of ``opt``, group by group, as a list."""
    return [p.detach().clone() for group in opt.param_groups for p in group["params"]]


def steps_with(opt, grads):
    """Run len(grads[0]) steps of an existing optimizer with the given gradients.

    grads: list, one per parameter of opt (in optimizer_params order), of a
    tensor of shape (steps, *p.shape). Returns the parameter values after the
    last step, as a list.
    """
    leaves = [p for group in opt.param_groups for p in group["params"]]
    for k in range(grads[0].shape[0]):
        _apply(opt, leaves, grads, k)
    return optimizer_params(opt)


def state_dict(opt):
    """A deep copy of opt.state_dict(), to travel to the judge as data."""
    return copy.deepcopy(opt.state_dict())


def load_state_dict(opt, saved):
    """opt.load_state_dict(saved); returns the parameter values (unchanged by loading)."""
    opt.load_state_dict(saved)
    return optimizer_params(opt)
