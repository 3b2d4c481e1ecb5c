"""My SoftmaxFunction."""
import torch


class SoftmaxFunction(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x, dim=-1):
        m, _ = x.max(dim=dim, keepdim=True)
        ex = torch.exp(x - m)
        probs = ex / ex.sum(dim=dim, keepdim=True)
        ctx.save_for_backward(probs)
        ctx.dim = dim
        return probs

    @staticmethod
    def backward(ctx, grad_output):
        probs, = ctx.saved_tensors
        dot = (grad_output * probs).sum(dim=ctx.dim, keepdim=True)
        return probs * (grad_output - dot), None
