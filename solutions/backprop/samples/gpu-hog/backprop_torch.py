"""A GPU hog: correct on the CPU; on CUDA, SigmoidFunction asks for 8 GiB of GPU
memory (past the worker's cap) and AffineFunction keeps the GPU spinning until it is killed.

Where a GPU is present, those tests must fail with plain messages (the GPU memory limit, the
call's time limit), every other test must pass, and the next submission must find a clean
device. Without CUDA the gpu tests are skipped and this is a correct solution.
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
        ### BEGIN SOLUTION
        if x.is_cuda:
            torch.empty(2**31, dtype=torch.float32, device=x.device).fill_(1.0)  # 8 GiB
        z = torch.exp(-x.abs())  # in (0, 1]: cannot overflow
        out = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
        ctx.save_for_backward(out)
        return out
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        """
        Inputs:
        - ctx: the context filled by forward
        - grad_output: tensor of shape (d_1, ..., d_k), upstream gradient

        Returns:
        - grad_x: tensor of shape (d_1, ..., d_k)
        """
        ### BEGIN SOLUTION
        (out,) = ctx.saved_tensors
        return grad_output * out * (1 - out)
        ### END SOLUTION


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
        ### BEGIN SOLUTION
        if x.is_cuda:
            while True:  # a kernel that never ends, launched again and again
                torch.cuda._sleep(10**9)
                torch.cuda.synchronize()
        ctx.save_for_backward(x, w)
        return x @ w + b
        ### END SOLUTION

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
        ### BEGIN SOLUTION
        x, w = ctx.saved_tensors
        grad_x = grad_output @ w.t()
        grad_w = x.t() @ grad_output
        grad_b = grad_output.sum(dim=0)
        return grad_x, grad_w, grad_b
        ### END SOLUTION
