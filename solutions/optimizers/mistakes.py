"""Known mistakes of the optimizers assignment.

Each variant is a small wrong copy of ONE reference function (or class). A
function variant runs with the globals of a copy of the reference module, so
it may use np, math and the module's helper _with_defaults. Class variants
are whole torch.optim.Optimizer subclasses using only torch; they get names
of their own here (the validation step renames them to the target's).
"""
import numpy as np
import torch

from autograder.mistakes import mistake

# ------------------------------------------------------------------ plain SGD


@mistake("sgd", "sgd updates w in place (w -= learning_rate * dw)",
         hint="`w -= ...` changes the caller's array (this is how CS231n's original sgd is written). "
              "Build a new array: next_w = w - learning_rate * dw.")
def sgd(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-2)  # noqa: F821 - the reference module's helper
    w -= config["learning_rate"] * dw
    return w, config


# ------------------------------------------------------------------- momentum


@mistake("sgd_momentum", "momentum sign flipped (v = momentum * v + learning_rate * dw, then w + v)",
         hint="The velocity points downhill: v = momentum * v - learning_rate * dw, then next_w = w + v. "
              "With + learning_rate * dw every step climbs the loss.")
def sgd_momentum(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)  # noqa: F821
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


@mistake("sgd_momentum", "momentum step subtracts the velocity (w - v)",
         hint="v = momentum * v - learning_rate * dw already points downhill: next_w = w + v.")
def sgd_momentum(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)  # noqa: F821
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w - v
    config["velocity"] = v
    return next_w, config


@mistake("sgd_momentum", "velocity stored with torch's sign (v = momentum * v + learning_rate * dw, w - v)",
         hint="The weights come out right, but this assignment stores CS231n's velocity, which points downhill: "
              "v = momentum * v - learning_rate * dw and next_w = w + v. A velocity saved by another "
              "implementation (or by an earlier call) would otherwise be used with the wrong sign.")
def sgd_momentum(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)  # noqa: F821
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw
    next_w = w - v
    config["velocity"] = v
    return next_w, config


@mistake("sgd_momentum", "velocity updated in place (v *= momentum), changing the caller's config",
         hint="v = config['velocity'] is the caller's array: v *= momentum changes it. "
              "Build a new one: v = momentum * v - learning_rate * dw.")
def sgd_momentum(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)  # noqa: F821
    v = config.get("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


@mistake("nesterov_momentum", "Nesterov written as plain momentum (next_w = w + v)",
         hint="Nesterov's step looks ahead: next_w = w + momentum * v - learning_rate * dw with the new v "
              "(or w - momentum * v_prev + (1 + momentum) * v).")
def nesterov_momentum(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-2, momentum=0.9)  # noqa: F821
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    next_w = w + v
    config["velocity"] = v
    return next_w, config


# ------------------------------------------------------- adaptive learning rates


@mistake("adagrad", "Adagrad using only the current gradient (cache = dw**2)",
         hint="Adagrad's cache is the running SUM of all squared gradients: cache = cache + dw**2. "
              "With only the current gradient every step has about the same size.")
def adagrad(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-2, epsilon=1e-8)  # noqa: F821
    cache = config.get("cache", np.zeros_like(w))
    cache = dw * dw
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


@mistake("rmsprop", "RMSProp decay applied to the wrong term",
         hint="decay_rate is the fraction of the OLD cache that is kept: "
              "cache = decay_rate * cache + (1 - decay_rate) * dw**2.")
def rmsprop(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)  # noqa: F821
    cache = config.get("cache", np.zeros_like(w))
    rho = config["decay_rate"]
    cache = (1 - rho) * cache + rho * (dw * dw)
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    config["cache"] = cache
    return next_w, config


@mistake("rmsprop", "RMSProp epsilon inside the square root",
         hint="This assignment (like torch.optim.RMSprop) adds epsilon OUTSIDE the root: "
              "dw / (sqrt(cache) + epsilon), not dw / sqrt(cache + epsilon).")
def rmsprop(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)  # noqa: F821
    cache = config.get("cache", np.zeros_like(w))
    rho = config["decay_rate"]
    cache = rho * cache + (1 - rho) * (dw * dw)
    next_w = w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"])
    config["cache"] = cache
    return next_w, config


@mistake("adagrad", "Adagrad epsilon inside the square root",
         hint="This assignment (like torch.optim.Adagrad) adds epsilon OUTSIDE the root: "
              "dw / (sqrt(cache) + epsilon), not dw / sqrt(cache + epsilon).")
def adagrad(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-2, epsilon=1e-8)  # noqa: F821
    cache = config.get("cache", np.zeros_like(w))
    cache = cache + dw * dw
    next_w = w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"])
    config["cache"] = cache
    return next_w, config


@mistake("adam", "Adam without bias correction",
         hint="m and v start at zero, so early on they are too small; divide them by 1 - beta1**t "
              "and 1 - beta2**t (m_hat, v_hat) before the update.")
def adam(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)  # noqa: F821
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"] + 1
    m = config["beta1"] * m + (1 - config["beta1"]) * dw
    v = config["beta2"] * v + (1 - config["beta2"]) * (dw * dw)
    next_w = w - config["learning_rate"] * m / (np.sqrt(v) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


@mistake("adam", "t off by one (incremented after the bias correction)",
         hint="Increment t BEFORE using it: the first update has t = 1. With t = 0 the bias correction "
              "divides by 1 - beta**0 = 0 (NaN), and later steps use the previous step's count.")
def adam(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)  # noqa: F821
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"]
    m = config["beta1"] * m + (1 - config["beta1"]) * dw
    v = config["beta2"] * v + (1 - config["beta2"]) * (dw * dw)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = m / (1 - config["beta1"] ** t)
        v_hat = v / (1 - config["beta2"] ** t)
        next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t + 1
    return next_w, config


@mistake("adam", "epsilon inside the square root",
         hint="This assignment (like torch.optim.Adam) adds epsilon OUTSIDE the root: "
              "sqrt(v_hat) + epsilon, not sqrt(v_hat + epsilon).")
def adam(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)  # noqa: F821
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"] + 1
    m = config["beta1"] * m + (1 - config["beta1"]) * dw
    v = config["beta2"] * v + (1 - config["beta2"]) * (dw * dw)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    next_w = w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


@mistake("adamw", "L2 added to the gradient in AdamW instead of decoupled decay",
         hint="AdamW decays the weights directly: next_w = w - learning_rate * (adam step + weight_decay * w). "
              "Adding weight_decay * w to dw is L2 regularization, which Adam's normalization rescales.")
def adamw(w, dw, config=None):
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,  # noqa: F821
                            weight_decay=1e-2, t=0)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"] + 1
    dw = dw + config["weight_decay"] * w
    m = config["beta1"] * m + (1 - config["beta1"]) * dw
    v = config["beta2"] * v + (1 - config["beta2"]) * (dw * dw)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


@mistake("adamw", "AdamW weight decay not scaled by the learning rate (w - lr * adam_step - weight_decay * w)",
         hint="torch.optim.AdamW (and this assignment) scales the decay by the learning rate too: "
              "next_w = w - learning_rate * (m_hat / (sqrt(v_hat) + epsilon) + weight_decay * w).")
def adamw(w, dw, config=None):  # noqa: F811
    config = _with_defaults(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,  # noqa: F821
                            weight_decay=1e-2, t=0)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"] + 1
    m = config["beta1"] * m + (1 - config["beta1"]) * dw
    v = config["beta2"] * v + (1 - config["beta2"]) * (dw * dw)
    m_hat = m / (1 - config["beta1"] ** t)
    v_hat = v / (1 - config["beta2"] ** t)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]) - config["weight_decay"] * w
    config["m"], config["v"], config["t"] = m, v, t
    return next_w, config


# ------------------------------------------------------------------ schedules


@mistake("step_decay", "step decay without the floor (gamma ** (step / step_size))",
         hint="The learning rate drops in steps: gamma ** (step // step_size), constant in between.")
def step_decay(step, base_lr, step_size, gamma=0.1):
    return base_lr * gamma ** (step / step_size)


@mistake("step_decay", "step decay one step early (gamma ** ((step + 1) // step_size))",
         hint="Step 0 is the first step: the first drop comes at step == step_size, so the exponent is "
              "step // step_size, with no + 1.")
def step_decay(step, base_lr, step_size, gamma=0.1):  # noqa: F811
    return base_lr * gamma ** ((step + 1) // step_size)


@mistake("cosine_decay", "cosine decay not held at min_lr after total_steps",
         hint="After total_steps the learning rate stays at min_lr; the raw formula climbs back up.")
def cosine_decay(step, base_lr, total_steps, min_lr=0.0):
    return min_lr + (base_lr - min_lr) * (1 + math.cos(math.pi * step / total_steps)) / 2  # noqa: F821


@mistake("linear_warmup", "warm-up off by one step",
         hint="Step 0 is the first step and gets base_lr / warmup_steps, not 0: "
              "lr = base_lr * (step + 1) / warmup_steps during the warm-up.")
def linear_warmup(step, base_lr, warmup_steps):
    if step >= warmup_steps:
        return float(base_lr)
    return base_lr * step / warmup_steps


@mistake("warmup_cosine", "cosine phase not shifted by the warm-up",
         hint="The cosine's clock starts when the warm-up ends: "
              "cosine_decay(step - warmup_steps, base_lr, total_steps - warmup_steps, min_lr).")
def warmup_cosine(step, base_lr, warmup_steps, total_steps, min_lr=0.0):
    if step < warmup_steps:
        return linear_warmup(step, base_lr, warmup_steps)  # noqa: F821
    return cosine_decay(step, base_lr, total_steps, min_lr)  # noqa: F821


# ----------------------------------------------------------- torch optimizers


@mistake("optimizers_torch.SGD", "torch SGD ignores nesterov (plain momentum step)",
         hint="With nesterov=True the step uses g + momentum * buf, not buf.")
class SGDNoNesterov(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                if group["momentum"]:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    g = state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                p.add_(g, alpha=-group["lr"])
        return loss


@mistake("optimizers_torch.SGD", "torch SGD adds the weight decay into p.grad (p.grad.add_)",
         hint="p.grad is the caller's: build the decayed gradient as a new tensor, "
              "g = p.grad.add(p, alpha=weight_decay), as torch.optim.SGD does. Written into p.grad, "
              "the decay is added again at every step() of a loop that accumulates gradients.")
class SGDDecayIntoGrad(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add_(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                if group["momentum"]:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    buf = state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                    g = g.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                p.add_(g, alpha=-group["lr"])
        return loss


@mistake("optimizers_torch.SGD", "torch SGD's momentum buffer starts as p.grad itself (not a copy)",
         hint="A buffer that IS p.grad changes with it: the next backward() (or any write to p.grad) "
              "overwrites the momentum, and buf.mul_() changes the caller's gradient. Start it as "
              "p.grad.clone() (torch.optim.SGD's torch.clone(g).detach()) or torch.zeros_like(p).")
class SGDBufferAliasesGrad(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                if group["momentum"]:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        buf = state["momentum_buffer"] = g
                    else:
                        buf = state["momentum_buffer"].mul_(group["momentum"]).add_(g)
                    g = g.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                p.add_(g, alpha=-group["lr"])
        return loss


@mistake("optimizers_torch.SGD", "momentum buffer kept on the optimizer, not in self.state (lost by state_dict)",
         hint="Keep per-parameter state in self.state[p]: state_dict() saves only self.state and the groups, "
              "so a buffer kept in an attribute restarts at zero after load_state_dict().")
class SGDBufferAttribute(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))
        self.buffers = {}

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                if group["momentum"]:
                    if p not in self.buffers:
                        self.buffers[p] = torch.zeros_like(p)
                    buf = self.buffers[p].mul_(group["momentum"]).add_(g)
                    g = g.add(buf, alpha=group["momentum"]) if group["nesterov"] else buf
                p.add_(g, alpha=-group["lr"])
        return loss


@mistake("optimizers_torch.SGD", "torch SGD ignores the group's lr (uses self.defaults['lr'])",
         hint="Read every hyperparameter from the parameter group (group['lr']): groups may have "
              "learning rates of their own; the constructor's arguments are only the defaults.")
class SGDDefaultsLr(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = self.defaults["lr"], group["momentum"]
            nesterov, weight_decay = group["nesterov"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay != 0:
                    g = g.add(p, alpha=weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum).add_(g)
                    g = g.add(buf, alpha=momentum) if nesterov else buf
                p.add_(g, alpha=-lr)
        return loss


@mistake("optimizers_torch.SGD", "torch SGD momentum buffer as an average (buf = momentum * buf + (1 - momentum) * g)",
         hint="torch.optim.SGD (dampening 0) sums the gradients: buf = momentum * buf + g. "
              "Scaling g by 1 - momentum makes the steps 1 - momentum times too small.")
class SGDDampenedBuffer(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            nesterov, weight_decay = group["nesterov"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay != 0:
                    g = g.add(p, alpha=weight_decay)
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = torch.zeros_like(p)
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum).add_(g, alpha=1 - momentum)
                    g = g.add(buf, alpha=momentum) if nesterov else buf
                p.add_(g, alpha=-lr)
        return loss


@mistake("optimizers_torch.Adam", "torch Adam epsilon inside the square root",
         hint="torch.optim.Adam (and this assignment) adds eps OUTSIDE the root: "
              "p - lr * m_hat / (sqrt(v_hat) + eps), not sqrt(v_hat + eps).")
class AdamEpsInsideSqrt(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat = state["exp_avg"] / (1 - beta1 ** t)
                v_hat = state["exp_avg_sq"] / (1 - beta2 ** t)
                p.addcdiv_(m_hat, (v_hat + group["eps"]).sqrt(), value=-group["lr"])
        return loss


@mistake("optimizers_torch.Adam", "torch Adam without bias correction",
         hint="Divide m by 1 - beta1**step and v by 1 - beta2**step before the update.")
class AdamNoBiasCorrection(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                p.addcdiv_(state["exp_avg"], state["exp_avg_sq"].sqrt().add_(group["eps"]), value=-group["lr"])
        return loss


@mistake("optimizers_torch.Adam", "torch Adam ignores the group's lr (uses self.defaults['lr'])",
         hint="Read every hyperparameter from the parameter group (group['lr']): groups may have "
              "learning rates of their own; the constructor's arguments are only the defaults.")
class AdamDefaultsLr(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        lr = self.defaults["lr"]
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (state["exp_avg_sq"] / (1 - beta2 ** t)).sqrt_().add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-lr / (1 - beta1 ** t))
        return loss


@mistake("optimizers_torch.Adam", "torch Adam counts steps on the optimizer, not per parameter",
         hint="Each parameter's step count lives in self.state[p]['step'] and grows by one per step(); "
              "a single counter on the optimizer grows once per PARAMETER, and is not saved by state_dict().")
class AdamSharedStep(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))
        self.t = 0

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.add(p, alpha=group["weight_decay"]) if group["weight_decay"] else p.grad
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                self.t += 1
                state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (state["exp_avg_sq"] / (1 - beta2 ** self.t)).sqrt_().add_(group["eps"])
                p.addcdiv_(state["exp_avg"], denom, value=-group["lr"] / (1 - beta1 ** self.t))
        return loss
