"""Inverted dropout as a torch nn.Module, torch's own extension point for layers.

An nn.Module knows whether it is training: ``module.train()`` and
``module.eval()`` set ``self.training``, and a Dropout layer must behave
differently in the two modes:

    layer = Dropout(p=0.3)
    layer.train(); y = layer(x)     # drops units, scales the kept ones by 1 / (1 - p)
    layer.eval();  y = layer(x)     # the identity

Autograd differentiates the forward pass for you: multiply x by a mask and
the gradient flows through the kept units only, with the same mask.

Rules:

* do not call torch.nn.Dropout, torch.nn.functional.dropout (or any other
  dropout of torch's): the point is to write it yourself;
* device- and dtype-agnostic: never hard-code a device or a dtype; create any
  new tensor from the input (torch.rand_like(x), x.new_zeros(...)), so the
  same code runs on CPU and CUDA, in float16, bfloat16, float32 and float64,
  and the output has the input's dtype and device.
"""
import torch
from torch import nn


class Dropout(nn.Module):
    """Inverted dropout with drop probability p, like torch.nn.Dropout(p).

    Mask convention (the tests pin it, so that the grader can replay your
    layer with the same random numbers): in training mode,

        keep = torch.rand_like(x) >= self.p      # True: the unit is kept
        out  = x * keep / (1 - p)                # p = 1: zeros, no division by zero

    with torch.rand_like drawing, in x's dtype, from torch's default generator
    on x's device (so torch.manual_seed makes a call reproducible). The tests
    pin this mask for float32 and float64 inputs (a float32 draw for a float64
    x, torch.rand(x.shape), is another stream); for float16 and bfloat16 they
    check only the fraction dropped and the scale. In eval mode the output is
    x itself, unchanged: no mask is drawn and nothing is scaled.
    """

    def __init__(self, p=0.5):
        """
        Inputs:
        - p: float in [0, 1], the probability of DROPPING each unit
        """
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        self.p = float(p)

    def forward(self, x):
        """
        Inputs:
        - x: tensor of shape (d_1, ..., d_k), any shape, floating dtype, any device

        Returns:
        - out: tensor of the same shape, dtype and device as x; in training mode
          a new tensor: x itself is never changed (no x.mul_(...)), the caller
          may still need it and autograd cannot go back through an in-place
          change of a tensor that requires grad
        """
        ### BEGIN SOLUTION
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return x * keep.to(x.dtype) * scale
        ### END SOLUTION

    def extra_repr(self):
        return f"p={self.p}"
