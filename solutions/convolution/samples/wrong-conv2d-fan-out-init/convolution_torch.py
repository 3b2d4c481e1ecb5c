"""A convolutional layer as a torch.autograd.Function and an nn.Module.

Conv2dFunction computes what torch.nn.functional.conv2d computes (a
cross-correlation, the kernel not flipped; NCHW layout; zero padding on both
sides), with a forward AND a backward written by hand from tensor
operations: the im2col of convolution.py is torch.nn.functional.unfold, and
col2im is torch.nn.functional.fold.

    out = Conv2dFunction.apply(x, w, b, stride, pad)     # not Conv2dFunction()(...)
    out.sum().backward()                                  # runs Conv2dFunction.backward

Rules:

* do not call torch.nn.functional.conv2d (or conv_transpose2d, or
  torch.nn.Conv2d), and do not rely on autograd inside forward/backward: the
  point is to write the derivatives yourself;
* device- and dtype-agnostic: never hard-code a device or a dtype, create any
  new tensor from the inputs, so the same code runs on CPU and CUDA, in
  float32 and float64; results live on the inputs' device;
* backward returns one gradient per input of forward, in the same order
  (None for stride and pad, which are not tensors).
"""
import math

import torch
import torch.nn.functional as F


def _pair(value):
    """(value, value) for an int; the two entries, as ints, for a pair."""
    if isinstance(value, int):
        return value, value
    first, second = value
    return int(first), int(second)


class Conv2dFunction(torch.autograd.Function):
    """2-D convolution with a hand-written backward pass."""

    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        """
        Inputs:
        - ctx: context object; save what backward needs (tensors with
          ctx.save_for_backward, other values as attributes of ctx)
        - x: tensor of shape (N, C, H, W)
        - w: tensor of shape (F, C, HH, WW)
        - b: tensor of shape (F,)
        - stride: int or (stride_h, stride_w)
        - pad: int or (pad_h, pad_w), zeros added on both sides of each axis

        Returns:
        - out: tensor of shape (N, F, H', W'), on the device and of the dtype
          of x, with H' = 1 + (H + 2 * pad_h - HH) // stride_h and
          W' = 1 + (W + 2 * pad_w - WW) // stride_w
        """
        ### BEGIN SOLUTION
        stride, pad = _pair(stride), _pair(pad)
        N, C, H, W = x.shape
        Fn, _, HH, WW = w.shape
        H_out = 1 + (H + 2 * pad[0] - HH) // stride[0]
        W_out = 1 + (W + 2 * pad[1] - WW) // stride[1]
        cols = F.unfold(x, (HH, WW), padding=pad, stride=stride)          # (N, C*HH*WW, P)
        out = w.reshape(Fn, -1) @ cols + b.reshape(1, Fn, 1)              # (N, F, P)
        ctx.save_for_backward(cols, w)
        ctx.geometry = (H, W, stride, pad)
        return out.reshape(N, Fn, H_out, W_out)
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """
        Inputs:
        - ctx: the context filled by forward
        - grad_output: tensor of shape (N, F, H', W'), upstream gradient

        Returns a tuple of:
        - grad_x: tensor of shape (N, C, H, W)
        - grad_w: tensor of shape (F, C, HH, WW)
        - grad_b: tensor of shape (F,), summed over the batch and the positions
        - None, None (for stride and pad)
        """
        ### BEGIN SOLUTION
        cols, w = ctx.saved_tensors
        H, W, stride, pad = ctx.geometry
        Fn, _, HH, WW = w.shape
        N = grad_output.shape[0]
        g = grad_output.reshape(N, Fn, -1)                                 # (N, F, P)
        grad_b = grad_output.sum(dim=(0, 2, 3))
        grad_w = (g @ cols.transpose(1, 2)).sum(dim=0).reshape(w.shape)
        dcols = w.reshape(Fn, -1).t() @ g                                  # (N, C*HH*WW, P)
        grad_x = F.fold(dcols, (H, W), (HH, WW), padding=pad, stride=stride)
        return grad_x, grad_w, grad_b, None, None
        ### END SOLUTION


class Conv2d(torch.nn.Module):
    """A convolutional layer, like torch.nn.Conv2d, computed by Conv2dFunction.

    Parameters, registered as nn.Parameter under these names:
    - weight: shape (out_channels, in_channels, KH, KW)
    - bias: shape (out_channels,)

    Initialization, as torch.nn.Conv2d's: every weight and bias drawn
    uniformly from [-k, k] with k = 1 / sqrt(in_channels * KH * KW), in
    torch's default dtype, with torch's global generator.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        """
        Inputs:
        - in_channels: int C
        - out_channels: int F
        - kernel_size: int or (KH, KW)
        - stride: int or (stride_h, stride_w)
        - padding: int or (pad_h, pad_w)
        """
        super().__init__()
        ### BEGIN SOLUTION
        KH, KW = _pair(kernel_size)
        self.stride, self.padding = _pair(stride), _pair(padding)
        k = 1 / math.sqrt(out_channels * KH * KW)
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels, KH, KW).uniform_(-k, k))
        self.bias = torch.nn.Parameter(torch.empty(out_channels).uniform_(-k, k))
        ### END SOLUTION

    def forward(self, x):
        """
        Inputs:
        - x: tensor of shape (N, in_channels, H, W)

        Returns:
        - out: tensor of shape (N, out_channels, H', W'), through Conv2dFunction
        """
        ### BEGIN SOLUTION
        return Conv2dFunction.apply(x, self.weight, self.bias, self.stride, self.padding)
        ### END SOLUTION
