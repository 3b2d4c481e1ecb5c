"""My torch dropout layer (student solution)."""
import torch
from torch import nn


class Dropout(nn.Module):
    """Inverted dropout with drop probability p."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.p
        if self.p == 1.0:
            return x * 0
        return x * keep.to(x.dtype) / (1 - self.p)

    def extra_repr(self):
        return f"p={self.p}"
