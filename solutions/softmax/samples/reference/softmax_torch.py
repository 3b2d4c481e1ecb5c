"""Softmax through torch's own extension point, torch.autograd.Function.

A custom Function defines its forward pass on plain tensors and its backward
pass by hand; autograd calls your backward whenever the output takes part in
a graph:

    s = SoftmaxFunction.apply(x)         # softmax over the last dim
    s = SoftmaxFunction.apply(x, 0)      # over dim 0 (pass dim by position)
    (s * g).sum().backward()             # runs SoftmaxFunction.backward

Rules:

* do not call torch.softmax, torch.nn.functional.softmax or torch.log_softmax,
  and do not rely on autograd inside forward/backward: write the derivative
  yourself;
* numerically stable: logits of magnitude 1000 give no nan and no inf, also
  when one row lies far below another (shift each slice along dim by its own
  maximum);
* device- and dtype-agnostic: never hard-code a device or a dtype; create any
  new tensor from the inputs (torch.ones_like(x), x.new_zeros(...)), so the
  same code runs on CPU and CUDA, in float32 and float64;
* backward returns one gradient per input of forward, in the same order:
  the gradient of x, and None for dim (an integer has no gradient).
"""
import torch


class SoftmaxFunction(torch.autograd.Function):
    """Softmax along one dimension, with a hand-written vector-Jacobian product."""

    @staticmethod
    def forward(ctx, x, dim=-1):
        """
        Inputs:
        - ctx: context object; save tensors for backward with ctx.save_for_backward,
          other values as attributes (ctx.dim = dim)
        - x: tensor of shape (d_1, ..., d_k), floating dtype, on any device
        - dim: int, the dimension holding the classes

        Returns:
        - s: tensor of the same shape, dtype and device as x, softmax(x) along dim

        Save the OUTPUT for the backward pass: the Jacobian is diag(s) - s s^T.
        """
        ### BEGIN SOLUTION
        shifted = x - x.amax(dim=dim, keepdim=True)
        e = shifted.exp()
        s = e / e.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(s)
        ctx.dim = dim
        return s
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """
        Inputs:
        - ctx: the context filled by forward
        - grad_output: tensor of the shape of s, upstream gradient

        Returns a tuple of:
        - grad_x: tensor of the shape of x, s * (grad_output - sum(grad_output * s, dim))
          without forming the Jacobian
        - None: the gradient of dim
        """
        ### BEGIN SOLUTION
        (s,) = ctx.saved_tensors
        grad_x = s * (grad_output - (grad_output * s).sum(dim=ctx.dim, keepdim=True))
        return grad_x, None
        ### END SOLUTION
