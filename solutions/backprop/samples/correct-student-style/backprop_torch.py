"""Backpropagation through torch's own extension point, torch.autograd.Function.

A custom Function defines its forward pass on plain tensors and its backward
pass by hand; autograd then calls your backward whenever the output takes
part in a graph:

    y = SigmoidFunction.apply(x)        # not SigmoidFunction()(x)
    y.sum().backward()                  # runs SigmoidFunction.backward

Rules:

* do not call torch.sigmoid or rely on autograd inside forward/backward: the
  point is to write the derivatives yourself;
* device- and dtype-agnostic: never hard-code a device or a dtype; create any
  new tensor from the inputs (torch.ones_like(x), x.new_zeros(...)), so the
  same code runs on CPU and CUDA, in float32 and float64;
* backward returns one gradient per input of forward, in the same order,
  each of the shape of that input.
"""
import torch


class SigmoidFunction(torch.autograd.Function):
    """Elementwise logistic sigmoid, numerically stable for large |x|."""

    @staticmethod
    def forward(ctx, x):
        """
        Inputs:
        - ctx: context object; save what backward needs with ctx.save_for_backward
        - x: tensor of shape (d_1, ..., d_k), any shape, floating dtype

        Returns:
        - out: tensor of the same shape, dtype and device as x, sigma(x)

        Save the OUTPUT for the backward pass: dsigma/dx = out * (1 - out).
        """
        # same trick as in numpy: exp(-|x|) never overflows
        e = torch.exp(-torch.abs(x))
        out = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        """
        Inputs:
        - ctx: the context filled by forward
        - grad_output: tensor of shape (d_1, ..., d_k), upstream gradient

        Returns:
        - grad_x: tensor of shape (d_1, ..., d_k)
        """
        out, = ctx.saved_tensors
        grad_x = grad_output * out * (1 - out)
        return grad_x


class AffineFunction(torch.autograd.Function):
    """Fully connected layer, out = x w + b."""

    @staticmethod
    def forward(ctx, x, w, b):
        """
        Inputs:
        - ctx: context object; save what backward needs with ctx.save_for_backward
        - x: tensor of shape (N, D)
        - w: tensor of shape (D, M)
        - b: tensor of shape (M,)

        Returns:
        - out: tensor of shape (N, M)
        """
        ctx.save_for_backward(x, w)
        out = x.mm(w) + b
        return out

    @staticmethod
    def backward(ctx, grad_output):
        """
        Inputs:
        - ctx: the context filled by forward
        - grad_output: tensor of shape (N, M), upstream gradient

        Returns a tuple of:
        - grad_x: tensor of shape (N, D)
        - grad_w: tensor of shape (D, M)
        - grad_b: tensor of shape (M,), summed over the batch
        """
        x, w = ctx.saved_tensors
        grad_x = grad_output.mm(w.t())
        grad_w = x.t().mm(grad_output)
        grad_b = grad_output.sum(0)
        return grad_x, grad_w, grad_b
