"""Batch normalization as a torch nn.Module, a drop-in for torch.nn.BatchNorm1d.

Here autograd does the backward pass: write the forward pass with tensor
operations, and keep the running statistics as BUFFERS (register_buffer) and
gamma and beta as PARAMETERS (nn.Parameter), so that .to(), .cuda(),
.double(), state_dict() and the optimizer all see them.

This module follows torch's conventions, which differ from batchnorm.py's:

* momentum is the weight of the NEW value (default 0.1):

      running_mean = (1 - momentum) * running_mean + momentum * batch_mean
      running_var  = (1 - momentum) * running_var  + momentum * unbiased_batch_var

* running_var averages the UNBIASED batch variance (sum of squared deviations
  divided by n - 1, n = the number of values per feature), while the
  normalization itself uses the BIASED one (divided by n). Beware: x.var()
  is unbiased by default in torch; x.var(unbiased=False) is the biased one;
* the running statistics start at running_mean = 0 and running_var = 1;
* torch's momentum=None (a cumulative average) is not supported.

Rules:

* do not call torch.nn.functional.batch_norm or torch.nn.BatchNorm1d: the
  point is to write it yourself;
* device- and dtype-agnostic: never hard-code a device or a dtype; create
  tensors with the device and dtype given to __init__, or from the input.
"""
import torch
from torch import nn


class BatchNorm1d(nn.Module):
    """Batch normalization over the batch axis, one statistic per channel C.

    Parameters (nn.Parameter, the names torch uses):
    - weight: tensor of shape (C,), gamma, initialised to ones
    - bias: tensor of shape (C,), beta, initialised to zeros
    Buffers (register_buffer, the names torch uses):
    - running_mean: tensor of shape (C,), initialised to zeros
    - running_var: tensor of shape (C,), initialised to ones

    In training mode (module.train(), the default) forward normalizes with the
    batch statistics and updates the buffers; in evaluation mode
    (module.eval()) it normalizes with the buffers and leaves them unchanged.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, device=None, dtype=None):
        """
        Inputs:
        - num_features: int, C, the number of channels
        - eps: float, added to the variance inside the square root
        - momentum: float, weight of the NEW value in the running averages (torch's convention)
        - device, dtype: where and in which dtype to create the parameters and buffers
          (None: torch's defaults), as in torch.nn.BatchNorm1d
        """
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(num_features, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(num_features, device=device, dtype=dtype))
        self.register_buffer("running_mean", torch.zeros(num_features, device=device, dtype=dtype))
        self.register_buffer("running_var", torch.ones(num_features, device=device, dtype=dtype))

    def forward(self, x):
        """
        Inputs:
        - x: tensor of shape (N, C) or (N, C, L); the statistics of channel c are
          taken over all n = N (or N * L) values x[:, c] (or x[:, c, :])

        Returns:
        - out: tensor of the shape, dtype and device of x

        Training mode with a single value per channel (n = 1) raises ValueError,
        as torch does: the unbiased variance would divide by zero.
        """
        if x.dim() == 2:
            reduce_dims = (0,)
            view = (1, -1)
        else:
            reduce_dims = (0, 2)
            view = (1, -1, 1)
        if self.training:
            n = x.numel() // x.size(1)
            if n == 1:
                raise ValueError("Expected more than 1 value per channel when training")
            mean = x.mean(dim=reduce_dims)
            var = x.var(dim=reduce_dims, unbiased=False)
            with torch.no_grad():
                self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean
                self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
        else:
            mean = self.running_mean
            var = self.running_var
        x_norm = (x - mean.view(view)) / torch.sqrt(var.view(view) + self.eps)
        return self.weight.view(view) * x_norm + self.bias.view(view)
