"""Attack: an identity SigmoidFunction whose backward agrees with its own forward."""
import torch


class SigmoidFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output.clone()
