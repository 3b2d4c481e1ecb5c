"""SGD (with momentum and Nesterov) and Adam as real torch optimizers.

A torch optimizer is a subclass of torch.optim.Optimizer. The base class
already does the bookkeeping; you write step():

* self.param_groups is a list of dicts, one per parameter group; each holds
  "params" (a list of tensors) and that group's hyperparameters ("lr", ...).
  ALWAYS read the hyperparameters from the group: groups may have different
  learning rates (e.g. Adam([{"params": body}, {"params": head, "lr": 1e-2}],
  lr=1e-3)); the constructor's values are only the defaults.
* self.state is a dict keyed by parameter tensor: self.state[p] is a dict in
  which you keep p's state (the momentum buffer, Adam's moments and step
  count). Keep ALL state there, never in attributes of self: state_dict()
  and load_state_dict() save and restore exactly self.state and the groups,
  so a run stopped at a checkpoint and resumed in a fresh optimizer goes on
  exactly as if it had never stopped.
* zero_grad(), state_dict(), load_state_dict() and add_param_group() come
  from the base class: do not override them.
* step() runs under torch.no_grad() (the decorator is given): update the
  parameters in place (p.add_(...), p.mul_(...)); skip parameters whose
  p.grad is None (they get no update and no state).
* never change p.grad, and keep no state that shares its memory: the
  gradient is the caller's (a training loop may log or clip it after step(),
  or accumulate into the same tensor for the next step). Build new tensors:
  g = p.grad.add(p, alpha=weight_decay), not p.grad.add_(...); a buffer
  starts as torch.zeros_like(p) or p.grad.clone(), never as p.grad itself.
* device- and dtype-agnostic: create state with torch.zeros_like(p), so it
  lives on p's device with p's dtype; never hard-code a device or a dtype.

The update formulas are torch.optim's, so for the same hyperparameters your
optimizers follow the same trajectory as torch.optim.SGD and torch.optim.Adam.
"""
import torch


class SGD(torch.optim.Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum
    and L2 weight decay, exactly as torch.optim.SGD (with dampening 0).

    For each parameter p with gradient g = p.grad, with the group's
    hyperparameters:

        g = g + weight_decay * p          (L2 penalty, if weight_decay != 0)
        if momentum != 0:
            buf = momentum * buf + g      (buf starts at zero, so buf = g after step 1)
            g   = g + momentum * buf      if nesterov
            g   = buf                     otherwise
        p = p - lr * g

    The buffer is kept in self.state[p]["momentum_buffer"] (torch's name). It
    is the gradient's running sum, so it points UPHILL: it is -v / lr in the
    CS231n form v = momentum * v - lr * dw of optimizers.sgd_momentum (the same
    weights for a constant lr).

    Inputs:
    - params: an iterable of tensors, or of dicts defining parameter groups
    - lr: float, default 1e-3 (torch.optim.SGD's)
    - momentum: float, default 0 (no momentum)
    - nesterov: bool, default False; needs momentum > 0
    - weight_decay: float, default 0
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, nesterov=False, weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires a momentum > 0")
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        Inputs:
        - closure: None, or a function that re-evaluates the model and returns the loss

        Returns:
        - the closure's loss, or None
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ### BEGIN SOLUTION
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
                        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    buf = state["momentum_buffer"]
                    buf.mul_(momentum).add_(g)
                    g = g.add(buf, alpha=momentum) if nesterov else buf
                p.add_(g, alpha=-lr)
        ### END SOLUTION
        return loss


class Adam(torch.optim.Optimizer):
    """Adam, exactly as torch.optim.Adam (amsgrad off).

    For each parameter p with gradient g = p.grad, with the group's
    hyperparameters (beta1, beta2 = betas):

        g      = g + weight_decay * p          (L2 penalty, if weight_decay != 0;
                                                 AdamW would decay p directly instead)
        step   = step + 1                      (first: the first update has step = 1)
        m      = beta1 * m + (1 - beta1) * g
        v      = beta2 * v + (1 - beta2) * g * g
        m_hat  = m / (1 - beta1 ** step)
        v_hat  = v / (1 - beta2 ** step)
        p      = p - lr * m_hat / (sqrt(v_hat) + eps)     (eps OUTSIDE the root)

    State, per parameter, in self.state[p] (torch's names): "step" (the number
    of updates of this parameter, an int), "exp_avg" (m) and "exp_avg_sq" (v),
    both zeros before the first update.

    Inputs:
    - params: an iterable of tensors, or of dicts defining parameter groups
    - lr: float, default 1e-3
    - betas: (float, float), default (0.9, 0.999)
    - eps: float, default 1e-8
    - weight_decay: float, default 0
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid betas: {betas}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter that has a gradient.

        Inputs:
        - closure: None, or a function that re-evaluates the model and returns the loss

        Returns:
        - the closure's loss, or None
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, (beta1, beta2) = group["lr"], group["betas"]
            eps, weight_decay = group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay != 0:
                    g = g.add(p, alpha=weight_decay)
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                bias_correction1 = 1 - beta1 ** t
                bias_correction2 = 1 - beta2 ** t
                denom = (v / bias_correction2).sqrt_().add_(eps)
                p.addcdiv_(m, denom, value=-lr / bias_correction1)
        ### END SOLUTION
        return loss
