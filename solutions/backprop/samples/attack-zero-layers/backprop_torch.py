"""Attack: torch Functions whose forward and backward return zeros of the right shapes."""
import torch


class SigmoidFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.zeros_like(x)

    @staticmethod
    def backward(ctx, grad_output):
        return torch.zeros_like(grad_output)


class AffineFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b):
        ctx.shapes = (x.shape, w.shape, b.shape)
        return x.new_zeros((x.shape[0], w.shape[1]))

    @staticmethod
    def backward(ctx, grad_output):
        return tuple(grad_output.new_zeros(shape) for shape in ctx.shapes)
