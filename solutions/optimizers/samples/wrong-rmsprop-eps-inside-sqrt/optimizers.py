"""Update rules and learning-rate schedules, in numpy.

Every update rule has the CS231n signature

    next_w, config = rule(w, dw, config=None)

- w: array of any shape (d_1, ..., d_k), the current weights;
- dw: array of the same shape, the gradient of the loss with respect to w;
- config: None, or a dict of hyperparameters (e.g. "learning_rate") and of the
  state the rule carries from one call to the next (e.g. "velocity"). Missing
  hyperparameters get the defaults listed in each docstring; missing state
  starts at zero. Pass the returned config to the next call.

Returns next_w, an array of the shape and dtype of w, and the config to pass
to the next call: every hyperparameter and the updated state.

Rules that hold for every function in this file:

* never modify an argument in place: not w, not dw, not config, not the
  arrays stored in config (the caller may keep them: to restart from a
  checkpoint, to try two learning rates from the same state). Each rule
  starts from a copy of config (the given code does it for you) and builds
  new arrays (v = momentum * v - ..., not v *= momentum);
* return new arrays, not views of the arguments;
* keep the floating dtype of w (float32 in, float32 out);
* numpy only.

The schedules at the end of the file are pure functions of the step number:
they return the learning rate to use at that step. Step 0 is the FIRST step
(the first call of the update rule), as in torch.optim.lr_scheduler, where the
learning rate in force before the first scheduler.step() is the step-0 one.
"""
import math

import numpy as np


def _with_defaults(config, **defaults):
    """A NEW dict: config's entries, plus the defaults for the keys it lacks.

    The caller's dict is never modified (CS231n's template calls
    config.setdefault on the caller's dict; here we copy first).
    """
    out = dict(config) if config is not None else {}
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


# ------------------------------------------------------------------ plain SGD


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

        next_w = w - learning_rate * dw

    config:
    - learning_rate: float, default 1e-2

    Inputs:
    - w: array of shape (d_1, ..., d_k), the weights (NOT modified in place)
    - dw: array of shape (d_1, ..., d_k), the gradient
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k), dtype of w
    - config: a new dict with the hyperparameters
    """
    config = _with_defaults(config, learning_rate=1e-2)
    next_w = None
    ### BEGIN SOLUTION
    next_w = w - config["learning_rate"] * dw
    ### END SOLUTION
    return next_w, config


# ------------------------------------------------------------------- momentum


def sgd_momentum(w, dw, config=None):
    """SGD with (heavy-ball) momentum, in CS231n's form.

        v      = momentum * v - learning_rate * dw
        next_w = w + v

    Sign convention: the velocity v points DOWNHILL (it already holds the
    minus sign and the learning rate). torch.optim.SGD keeps instead a buffer
    b = momentum * b + dw and steps w - learning_rate * b; for a constant
    learning rate b = -v / learning_rate and the weights are the same.

    config:
    - learning_rate: float, default 1e-2
    - momentum: float in [0, 1), default 0.9 (0 gives plain SGD)
    - velocity: array of the shape of w, default zeros (the state)

    Inputs:
    - w: array of shape (d_1, ..., d_k)
    - dw: array of shape (d_1, ..., d_k)
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k)
    - config: a new dict; config["velocity"] holds the new v
    """
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config.get("velocity", np.zeros_like(w))
    next_w = None
    ### BEGIN SOLUTION
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    ### END SOLUTION
    config["velocity"] = v
    return next_w, config


def nesterov_momentum(w, dw, config=None):
    """SGD with Nesterov momentum, in the form that needs only the gradient at w.

        v      = momentum * v - learning_rate * dw
        next_w = w + momentum * v - learning_rate * dw

    (the new v on the second line). This is CS231n's
    next_w = w - momentum * v_prev + (1 + momentum) * v written out, and
    torch.optim.SGD(nesterov=True) for a constant learning rate. Same sign
    convention as sgd_momentum: v points downhill.

    config:
    - learning_rate: float, default 1e-2
    - momentum: float in [0, 1), default 0.9
    - velocity: array of the shape of w, default zeros (the state)

    Inputs:
    - w: array of shape (d_1, ..., d_k)
    - dw: array of shape (d_1, ..., d_k)
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k)
    - config: a new dict; config["velocity"] holds the new v
    """
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)
    v = config.get("velocity", np.zeros_like(w))
    next_w = None
    ### BEGIN SOLUTION
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + config["momentum"] * v - config["learning_rate"] * dw
    ### END SOLUTION
    config["velocity"] = v
    return next_w, config


# ------------------------------------------------------- adaptive learning rates


def adagrad(w, dw, config=None):
    """Adagrad: per-coordinate step sizes from the SUM of all squared gradients.

        cache  = cache + dw ** 2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    epsilon is added OUTSIDE the square root (as in torch.optim.Adagrad,
    whose default epsilon is 1e-10 and initial accumulator 0).

    config:
    - learning_rate: float, default 1e-2
    - epsilon: float, default 1e-8
    - cache: array of the shape of w, default zeros (the state)

    Inputs:
    - w: array of shape (d_1, ..., d_k)
    - dw: array of shape (d_1, ..., d_k)
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k)
    - config: a new dict; config["cache"] holds the new sum of squares
    """
    config = _with_defaults(config, learning_rate=1e-2, epsilon=1e-8)
    cache = config.get("cache", np.zeros_like(w))
    next_w = None
    ### BEGIN SOLUTION
    cache = cache + dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    ### END SOLUTION
    config["cache"] = cache
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: Adagrad with a leaky (exponentially decaying) average.

        cache  = decay_rate * cache + (1 - decay_rate) * dw ** 2
        next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    decay_rate multiplies the OLD cache (it is the fraction kept), and
    epsilon is added OUTSIDE the square root. This is torch.optim.RMSprop
    with alpha = decay_rate.

    config:
    - learning_rate: float, default 1e-2
    - decay_rate: float in [0, 1), default 0.99
    - epsilon: float, default 1e-8
    - cache: array of the shape of w, default zeros (the state)

    Inputs:
    - w: array of shape (d_1, ..., d_k)
    - dw: array of shape (d_1, ..., d_k)
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k)
    - config: a new dict; config["cache"] holds the new moving average
    """
    config = _with_defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    cache = config.get("cache", np.zeros_like(w))
    next_w = None
    ### BEGIN SOLUTION
    rho = config["decay_rate"]
    cache = rho * cache + (1 - rho) * (dw * dw)
    next_w = w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"])
    ### END SOLUTION
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam: RMSProp plus momentum, with bias correction.

        t      = t + 1                         (first, so the first step has t = 1)
        m      = beta1 * m + (1 - beta1) * dw
        v      = beta2 * v + (1 - beta2) * dw ** 2
        m_hat  = m / (1 - beta1 ** t)
        v_hat  = v / (1 - beta2 ** t)
        next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    epsilon is added OUTSIDE the square root, to sqrt(v_hat) (as in
    torch.optim.Adam). t counts the updates made so far, including this one.

    config:
    - learning_rate: float, default 1e-3
    - beta1: float, default 0.9
    - beta2: float, default 0.999
    - epsilon: float, default 1e-8
    - m: array of the shape of w, default zeros (state: first moment)
    - v: array of the shape of w, default zeros (state: second moment)
    - t: int, default 0 (state: the number of updates made)

    Inputs:
    - w: array of shape (d_1, ..., d_k)
    - dw: array of shape (d_1, ..., d_k)
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k)
    - config: a new dict with the new m, v and t
    """
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"]
    next_w = None
    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw * dw)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    ### END SOLUTION
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


def adamw(w, dw, config=None):
    """AdamW: Adam with DECOUPLED weight decay (Loshchilov & Hutter).

    The decay is not added to the gradient (that would be L2 regularization,
    whose pull Adam's normalization would rescale); it shrinks the weights
    directly, scaled by the learning rate as in torch.optim.AdamW:

        m, v, t, m_hat, v_hat as in adam, from dw alone
        next_w = w - learning_rate * (m_hat / (sqrt(v_hat) + epsilon) + weight_decay * w)

    (the w on the right is the weight before this update).

    config: the keys of adam (same defaults), plus
    - weight_decay: float, default 1e-2 (torch.optim.AdamW's default)

    Inputs:
    - w: array of shape (d_1, ..., d_k)
    - dw: array of shape (d_1, ..., d_k), the gradient of the loss WITHOUT any decay term
    - config: dict or None

    Returns a tuple of:
    - next_w: array of shape (d_1, ..., d_k)
    - config: a new dict with the new m, v and t
    """
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
                            weight_decay=1e-2, t=0)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"]
    next_w = None
    ### BEGIN SOLUTION
    beta1, beta2 = config["beta1"], config["beta2"]
    t = t + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * (dw * dw)
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    step = m_hat / (np.sqrt(v_hat) + config["epsilon"]) + config["weight_decay"] * w
    next_w = w - config["learning_rate"] * step
    ### END SOLUTION
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


# ------------------------------------------------------------------ schedules
#
# Each schedule is a pure function: the learning rate to use at `step`, where
# step 0 is the first update (the first call of the update rule). A training
# loop does
#
#     for step in range(num_steps):
#         config["learning_rate"] = schedule(step, ...)
#         w, config = rule(w, dw, config)
#
# which is what torch.optim.lr_scheduler gives when scheduler.step() is called
# after each optimizer.step().


def step_decay(step, base_lr, step_size, gamma=0.1):
    """Multiply the learning rate by gamma every step_size steps.

        lr = base_lr * gamma ** floor(step / step_size)

    Steps 0 .. step_size - 1 use base_lr; step step_size is the first to use
    base_lr * gamma (torch.optim.lr_scheduler.StepLR).

    Inputs:
    - step: int >= 0, the step number (0 is the first step)
    - base_lr: float, the learning rate at step 0
    - step_size: int >= 1, the number of steps between decays
    - gamma: float, the factor of each decay

    Returns:
    - lr: float
    """
    ### BEGIN SOLUTION
    return base_lr * gamma ** (step // step_size)
    ### END SOLUTION


def exponential_decay(step, base_lr, gamma):
    """Multiply the learning rate by gamma at every step.

        lr = base_lr * gamma ** step

    so step 0 uses base_lr (torch.optim.lr_scheduler.ExponentialLR).

    Inputs:
    - step: int >= 0 (0 is the first step)
    - base_lr: float, the learning rate at step 0
    - gamma: float, the factor per step

    Returns:
    - lr: float
    """
    ### BEGIN SOLUTION
    return base_lr * gamma ** step
    ### END SOLUTION


def cosine_decay(step, base_lr, total_steps, min_lr=0.0):
    """Half a cosine from base_lr at step 0 down to min_lr at step total_steps.

        lr = min_lr + (base_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2

    for 0 <= step <= total_steps, and min_lr for every step > total_steps (it
    stays at the floor; it does not come back up). Over 0 .. total_steps this
    is torch.optim.lr_scheduler.CosineAnnealingLR(T_max=total_steps,
    eta_min=min_lr).

    Inputs:
    - step: int >= 0 (0 is the first step)
    - base_lr: float, the learning rate at step 0
    - total_steps: int >= 1, the step at which min_lr is reached
    - min_lr: float, the floor

    Returns:
    - lr: float
    """
    ### BEGIN SOLUTION
    if step >= total_steps:
        return float(min_lr)
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2
    ### END SOLUTION


def linear_warmup(step, base_lr, warmup_steps):
    """Ramp the learning rate up linearly over the first warmup_steps steps.

        lr = base_lr * (step + 1) / warmup_steps    for step < warmup_steps
        lr = base_lr                                for step >= warmup_steps

    Step-count convention: step 0 is the first step, and it already gets
    base_lr / warmup_steps (never 0: an update with a zero learning rate
    would be wasted); step warmup_steps - 1 is the first to use the full
    base_lr. E.g. warmup_steps = 4: 0.25, 0.5, 0.75, 1.0, 1.0, ... times
    base_lr. This is torch.optim.lr_scheduler.LinearLR(
    start_factor=1 / warmup_steps, end_factor=1, total_iters=warmup_steps - 1).

    Inputs:
    - step: int >= 0 (0 is the first step)
    - base_lr: float, the learning rate after the warm-up
    - warmup_steps: int >= 1

    Returns:
    - lr: float
    """
    ### BEGIN SOLUTION
    if step >= warmup_steps:
        return float(base_lr)
    return base_lr * (step + 1) / warmup_steps
    ### END SOLUTION


def warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    """Linear warm-up, then a cosine decay: the usual schedule of transformers.

        step < warmup_steps:  linear_warmup(step, base_lr, warmup_steps)
        otherwise:            cosine_decay(step - warmup_steps, base_lr,
                                           total_steps - warmup_steps, min_lr)

    So the full base_lr is used at steps warmup_steps - 1 and warmup_steps,
    and min_lr is reached at step total_steps (and kept after it). The
    cosine's clock starts when the warm-up ends: the decay phase lasts
    total_steps - warmup_steps steps.

    Inputs:
    - step: int >= 0 (0 is the first step)
    - base_lr: float, the peak learning rate
    - warmup_steps: int >= 1
    - total_steps: int > warmup_steps
    - min_lr: float, the floor

    Returns:
    - lr: float
    """
    ### BEGIN SOLUTION
    if step < warmup_steps:
        return linear_warmup(step, base_lr, warmup_steps)
    return cosine_decay(step - warmup_steps, base_lr, total_steps - warmup_steps, min_lr)
    ### END SOLUTION
