"""Known mistakes of the convolution assignment.

Each variant is a small wrong copy of ONE reference function (or class). The
engine binds each variant to a copy of the reference module in which the
target is replaced, so a body may use the reference's globals (np, pair,
conv_output_size, im2col, ...) and must read the cache format of the
reference's forward functions:

    conv_forward_naive:      cache = (x, w, b, conv_param)
    conv_forward_im2col:     cache = (x.shape, w, cols, conv_param)
    max_pool_forward_naive:  cache = (x, pool_param)
    avg_pool_forward:        cache = (x.shape, pool_param)

Class variants get names of their own (the engine renames them), and run with
the globals of THIS file (torch, F), not the reference module's.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from autograder.mistakes import mistake

# ---------------------------------------------------------------- output size


@mistake("conv_output_size", "output size with the padding counted once (H + pad instead of H + 2 * pad)",
         hint="Padding adds pad rows on top AND pad at the bottom: H' = 1 + (H + 2 * pad - HH) // stride.")
def conv_output_size(H, W, HH, WW, conv_param):
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821 - the reference module's helper
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    return 1 + (H + pad_h - HH) // stride_h, 1 + (W + pad_w - WW) // stride_w


@mistake("conv_output_size", "output size without the + 1 (one output row and column short)",
         hint="A kernel of HH rows fits at 1 + (H + 2 * pad - HH) // stride positions: the first one, and one per "
              "stride after it. Without the + 1 the last window is lost.")
def conv_output_size(H, W, HH, WW, conv_param):  # noqa: F811
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821 - the reference module's helper
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    return (H + 2 * pad_h - HH) // stride_h, (W + 2 * pad_w - WW) // stride_w


# ------------------------------------------------------------ naive forward


@mistake("conv_forward_naive", "kernel flipped (true convolution instead of cross-correlation)",
         hint="A convolutional layer computes a cross-correlation, as torch's conv2d does: "
              "out[n, f, i, j] = sum x_window * w[f], with the kernel NOT flipped (no w[:, :, ::-1, ::-1]).")
def conv_forward_naive(x, w, b, conv_param):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)  # noqa: F821
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    w_rows = w[:, :, ::-1, ::-1].reshape(F, -1)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i * stride_h, j * stride_w
                window = xp[n, :, top:top + HH, left:left + WW]
                out[n, :, i, j] = w_rows @ window.reshape(-1) + b
    cache = (x, w, b, conv_param)
    return out, cache


@mistake("conv_forward_naive", "padding on one side only (x placed at the top-left of the padded array)",
         hint="Zero padding goes on both sides: the padded array holds x at rows pad .. pad + H - 1 and "
              "columns pad .. pad + W - 1 (np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))), "
              "not at [:H, :W], which puts all 2 * pad zeros at the bottom and right.")
def conv_forward_naive(x, w, b, conv_param):  # noqa: F811
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)  # noqa: F821
    xp = np.zeros((N, C, H + 2 * pad_h, W + 2 * pad_w), dtype=x.dtype)
    xp[:, :, :H, :W] = x
    w_rows = w.reshape(F, -1)
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i * stride_h, j * stride_w
                window = xp[n, :, top:top + HH, left:left + WW]
                out[n, :, i, j] = w_rows @ window.reshape(-1) + b
    cache = (x, w, b, conv_param)
    return out, cache


# ----------------------------------------------------------- naive backward


@mistake("conv_backward_naive", "the pad = 0 slicing bug (dxp[:, :, pad:-pad] is empty when pad is 0)",
         hint="With pad = 0, dxp[:, :, 0:-0] is dxp[:, :, 0:0], an empty array. "
              "Slice with explicit ends: dxp[:, :, pad:pad + H, pad:pad + W].")
def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i * stride_h, j * stride_w
                g = dout[n, :, i, j]
                window = xp[n, :, top:top + HH, left:left + WW]
                dxp[n, :, top:top + HH, left:left + WW] += np.tensordot(g, w, axes=1)
                dw += g[:, None, None, None] * window
    dx = dxp[:, :, pad_h:-pad_h, pad_w:-pad_w].copy()
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


@mistake("conv_backward_naive", "dx returned with the padding (the gradient of the padded input, not of x)",
         hint="dx must have the shape of x: accumulate into the padded array, then cut the padding off "
              "with dxp[:, :, pad_h:pad_h + H, pad_w:pad_w + W].")
def conv_backward_naive(dout, cache):  # noqa: F811
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i * stride_h, j * stride_w
                g = dout[n, :, i, j]
                window = xp[n, :, top:top + HH, left:left + WW]
                dxp[n, :, top:top + HH, left:left + WW] += np.tensordot(g, w, axes=1)
                dw += g[:, None, None, None] * window
    db = dout.sum(axis=(0, 2, 3))
    return dxp, dw, db


@mistake("conv_backward_naive", "stride ignored in backward (windows taken at i, j instead of i * stride, j * stride)",
         hint="The backward pass must visit the same windows as the forward pass: output (i, j) read the "
              "window starting at row i * stride and column j * stride.")
def conv_backward_naive(dout, cache):  # noqa: F811
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i, j
                g = dout[n, :, i, j]
                window = xp[n, :, top:top + HH, left:left + WW]
                dxp[n, :, top:top + HH, left:left + WW] += np.tensordot(g, w, axes=1)
                dw += g[:, None, None, None] * window
    dx = dxp[:, :, pad_h:pad_h + H, pad_w:pad_w + W].copy()
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


@mistake("conv_backward_naive", "db summed over the output positions but not over the batch",
         hint="b[f] is added at every output position of every example: db[f] is the sum of "
              "dout[:, f, :, :] over the batch AND the positions, an array of shape (F,).")
def conv_backward_naive(dout, cache):  # noqa: F811
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i * stride_h, j * stride_w
                g = dout[n, :, i, j]
                window = xp[n, :, top:top + HH, left:left + WW]
                dxp[n, :, top:top + HH, left:left + WW] += np.tensordot(g, w, axes=1)
                dw += g[:, None, None, None] * window
    dx = dxp[:, :, pad_h:pad_h + H, pad_w:pad_w + W].copy()
    db = dout.sum(axis=(2, 3))
    return dx, dw, db


# ---------------------------------------------------------------- im2col path


@mistake("im2col", "im2col rows ordered (di, dj, c) instead of (c, di, dj), the order of w.reshape(F, -1)",
         hint="Row c * HH * WW + di * WW + dj of cols must hold channel c at kernel offset (di, dj), so that "
              "w.reshape(F, -1) @ cols multiplies each weight by its own input value.")
def im2col(x, HH, WW, conv_param):
    N, C, H, W = x.shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)  # noqa: F821
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    cols = np.empty((N, HH, WW, C, H_out, W_out), dtype=x.dtype)
    for di in range(HH):
        for dj in range(WW):
            cols[:, di, dj] = xp[:, :, di:di + stride_h * (H_out - 1) + 1:stride_h,
                                 dj:dj + stride_w * (W_out - 1) + 1:stride_w]
    return cols.reshape(N, C * HH * WW, H_out * W_out)


@mistake("col2im", "col2im assigns overlapping windows instead of adding them up",
         hint="Where windows overlap (stride < kernel size) a value of x appears in several columns, and its "
              "gradient is the SUM of their entries: use +=, not =.")
def col2im(cols, x_shape, HH, WW, conv_param):
    N, C, H, W = x_shape
    stride_h, stride_w = pair(conv_param["stride"])  # noqa: F821
    pad_h, pad_w = pair(conv_param["pad"])  # noqa: F821
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)  # noqa: F821
    cols = cols.reshape(N, C, HH, WW, H_out, W_out)
    xp = np.zeros((N, C, H + 2 * pad_h, W + 2 * pad_w), dtype=cols.dtype)
    for di in range(HH):
        for dj in range(WW):
            xp[:, :, di:di + stride_h * (H_out - 1) + 1:stride_h,
               dj:dj + stride_w * (W_out - 1) + 1:stride_w] = cols[:, :, di, dj]
    return xp[:, :, pad_h:pad_h + H, pad_w:pad_w + W].copy()


@mistake("conv_backward_im2col", "db summed over the batch but not over the output positions",
         hint="dout.sum(axis=0), as for an affine layer, leaves an array of shape (F, H', W'): b[f] is added at "
              "every position too, so db = dout.sum(axis=(0, 2, 3)).")
def conv_backward_im2col(dout, cache):
    x_shape, w, cols, conv_param = cache
    F, _, HH, WW = w.shape
    N = dout.shape[0]
    dout_rows = dout.reshape(N, F, -1)
    db = dout.sum(axis=0)
    dw = np.tensordot(dout_rows, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    dcols = np.matmul(w.reshape(F, -1).T, dout_rows)
    dx = col2im(dcols, x_shape, HH, WW, conv_param)  # noqa: F821
    return dx, dw, db


@mistake("conv_backward_im2col", "dw computed as (C * KH * KW, F) and reshaped to w.shape (the weight gradient transposed)",
         hint="dw[f, k] = sum over n and p of dout_rows[n, f, p] * cols[n, k, p]: contract dout_rows with cols "
              "in that order, np.tensordot(dout_rows, cols, axes=([0, 2], [0, 2])), which gives (F, C * KH * KW); "
              "the other order gives its transpose, which reshape(w.shape) scrambles without an error.")
def conv_backward_im2col(dout, cache):  # noqa: F811
    x_shape, w, cols, conv_param = cache
    F, _, HH, WW = w.shape
    N = dout.shape[0]
    dout_rows = dout.reshape(N, F, -1)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.tensordot(cols, dout_rows, axes=([0, 2], [0, 2])).reshape(w.shape)
    dcols = np.matmul(w.reshape(F, -1).T, dout_rows)
    dx = col2im(dcols, x_shape, HH, WW, conv_param)  # noqa: F821
    return dx, dw, db


# ---------------------------------------------------------------- pooling


@mistake("max_pool_backward_naive", "overlapping pool gradients overwritten instead of accumulated",
         hint="When windows overlap, one input value can be the maximum of several windows: it gets the SUM "
              "of their gradients (dx[...] += dout[...]), not the last one written.")
def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    N, C, H, W = x.shape
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * s:i * s + PH, j * s:j * s + PW]
                    di, dj = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + di, j * s + dj] = dout[n, c, i, j]
    return dx


@mistake("max_pool_backward_naive", "max-pool gradient sent to every tied maximum instead of the first",
         hint="The tie rule of this assignment: the whole gradient goes to the FIRST maximum of the window in "
              "row-major order (np.argmax of the flattened window), not to every value equal to the maximum.")
def max_pool_backward_naive(dout, cache):  # noqa: F811
    x, pool_param = cache
    N, C, H, W = x.shape
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * s:i * s + PH, j * s:j * s + PW]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * s:i * s + PH, j * s:j * s + PW] += mask * dout[:, :, i:i + 1, j:j + 1]
    return dx


@mistake("max_pool_backward_naive", "max-pool gradient sent to the last tied maximum instead of the first",
         hint="The tie rule of this assignment: the whole gradient goes to the FIRST maximum of the window in "
              "row-major order, which is what np.argmax of the flattened window returns.")
def max_pool_backward_naive(dout, cache):  # noqa: F811
    x, pool_param = cache
    N, C, H, W = x.shape
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * s:i * s + PH, j * s:j * s + PW]
                    last = window.size - 1 - np.argmax(window.ravel()[::-1])
                    di, dj = np.unravel_index(last, window.shape)
                    dx[n, c, i * s + di, j * s + dj] += dout[n, c, i, j]
    return dx


@mistake("avg_pool_backward", "avg-pool gradient not divided by the window size",
         hint="Each output is the MEAN of PH * PW values, so each of them receives dout / (PH * PW).")
def avg_pool_backward(dout, cache):
    x_shape, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for di in range(PH):
        for dj in range(PW):
            dx[:, :, di:di + s * (H_out - 1) + 1:s, dj:dj + s * (W_out - 1) + 1:s] += dout
    return dx


@mistake("avg_pool_backward", "avg_pool_backward divides dout in place",
         hint="dout /= PH * PW changes the caller's array. Compute a new one: share = dout / (PH * PW).")
def avg_pool_backward(dout, cache):  # noqa: F811
    x_shape, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    dout /= PH * PW
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for di in range(PH):
        for dj in range(PW):
            dx[:, :, di:di + s * (H_out - 1) + 1:s, dj:dj + s * (W_out - 1) + 1:s] += dout
    return dx


# ------------------------------------------------------------ Conv2dFunction


@mistake("convolution_torch.Conv2dFunction", "Conv2dFunction grad_w averaged over the batch instead of summed",
         hint="Every example uses the same weights, so grad_w is the SUM over the batch of each example's "
              "contribution, not the mean.")
class Conv2dFunctionMeanWeightGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        # a class variant runs with the globals of this file: no helpers of the reference module
        stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        pad = (pad, pad) if isinstance(pad, int) else tuple(pad)
        N, C, H, W = x.shape
        Fn, _, HH, WW = w.shape
        H_out = 1 + (H + 2 * pad[0] - HH) // stride[0]
        W_out = 1 + (W + 2 * pad[1] - WW) // stride[1]
        cols = F.unfold(x, (HH, WW), padding=pad, stride=stride)
        out = w.reshape(Fn, -1) @ cols + b.reshape(1, Fn, 1)
        ctx.save_for_backward(cols, w)
        ctx.geometry = (H, W, stride, pad)
        return out.reshape(N, Fn, H_out, W_out)

    @staticmethod
    def backward(ctx, grad_output):
        cols, w = ctx.saved_tensors
        H, W, stride, pad = ctx.geometry
        Fn, _, HH, WW = w.shape
        N = grad_output.shape[0]
        g = grad_output.reshape(N, Fn, -1)
        grad_b = grad_output.sum(dim=(0, 2, 3))
        grad_w = (g @ cols.transpose(1, 2)).mean(dim=0).reshape(w.shape)
        dcols = w.reshape(Fn, -1).t() @ g
        grad_x = F.fold(dcols, (H, W), (HH, WW), padding=pad, stride=stride)
        return grad_x, grad_w, grad_b, None, None


@mistake("convolution_torch.Conv2dFunction",
         "Conv2dFunction grad_w computed as (C * KH * KW, F) and reshaped to w.shape (the weight gradient transposed)",
         hint="grad_w[f, k] = sum over n and p of g[n, f, p] * cols[n, k, p], that is g @ cols.transpose(1, 2), "
              "of shape (N, F, C * KH * KW); cols @ g.transpose(1, 2) is its transpose, which reshape(w.shape) "
              "scrambles without an error.")
class Conv2dFunctionTransposedWeightGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, stride=1, pad=0):
        stride = (stride, stride) if isinstance(stride, int) else tuple(stride)
        pad = (pad, pad) if isinstance(pad, int) else tuple(pad)
        N, C, H, W = x.shape
        Fn, _, HH, WW = w.shape
        H_out = 1 + (H + 2 * pad[0] - HH) // stride[0]
        W_out = 1 + (W + 2 * pad[1] - WW) // stride[1]
        cols = F.unfold(x, (HH, WW), padding=pad, stride=stride)
        out = w.reshape(Fn, -1) @ cols + b.reshape(1, Fn, 1)
        ctx.save_for_backward(cols, w)
        ctx.geometry = (H, W, stride, pad)
        return out.reshape(N, Fn, H_out, W_out)

    @staticmethod
    def backward(ctx, grad_output):
        cols, w = ctx.saved_tensors
        H, W, stride, pad = ctx.geometry
        Fn, _, HH, WW = w.shape
        N = grad_output.shape[0]
        g = grad_output.reshape(N, Fn, -1)
        grad_b = grad_output.sum(dim=(0, 2, 3))
        grad_w = (cols @ g.transpose(1, 2)).sum(dim=0).reshape(w.shape)
        dcols = w.reshape(Fn, -1).t() @ g
        grad_x = F.fold(dcols, (H, W), (HH, WW), padding=pad, stride=stride)
        return grad_x, grad_w, grad_b, None, None


# ----------------------------------------------------------------- Conv2d


@mistake("convolution_torch.Conv2d", "Conv2d initialised with the fan-out bound 1/sqrt(out_channels * KH * KW)",
         hint="torch.nn.Conv2d draws from U(-k, k) with k = 1 / sqrt(in_channels * KH * KW), the FAN-IN: the "
              "number of inputs each output sums over. out_channels * KH * KW is the fan-out.")
class Conv2dFanOutInit(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        pair = lambda v: (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))  # noqa: E731
        KH, KW = pair(kernel_size)
        self.stride, self.padding = pair(stride), pair(padding)
        k = 1 / math.sqrt(out_channels * KH * KW)
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels, KH, KW).uniform_(-k, k))
        self.bias = torch.nn.Parameter(torch.empty(out_channels).uniform_(-k, k))

    def forward(self, x):
        return Conv2dFunction.apply(x, self.weight, self.bias, self.stride, self.padding)


@mistake("convolution_torch.Conv2d", "Conv2d bias initialised to zeros instead of U(-k, k)",
         hint="torch.nn.Conv2d draws the bias from U(-k, k) too, with the same k = 1 / sqrt(in_channels * KH * KW).")
class Conv2dZeroBias(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        pair = lambda v: (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))  # noqa: E731
        KH, KW = pair(kernel_size)
        self.stride, self.padding = pair(stride), pair(padding)
        k = 1 / math.sqrt(in_channels * KH * KW)
        self.weight = torch.nn.Parameter(torch.empty(out_channels, in_channels, KH, KW).uniform_(-k, k))
        self.bias = torch.nn.Parameter(torch.zeros(out_channels))

    def forward(self, x):
        return Conv2dFunction.apply(x, self.weight, self.bias, self.stride, self.padding)


@mistake("convolution_torch.Conv2d", "Conv2d weights drawn from the normal N(0, k^2) instead of U(-k, k)",
         hint="torch.nn.Conv2d draws every weight uniformly from [-k, k], k = 1 / sqrt(in_channels * KH * KW): "
              "torch.empty(...).uniform_(-k, k). torch.randn(...) * k has the right scale but another "
              "distribution, with values beyond k.")
class Conv2dNormalInit(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        pair = lambda v: (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))  # noqa: E731
        KH, KW = pair(kernel_size)
        self.stride, self.padding = pair(stride), pair(padding)
        k = 1 / math.sqrt(in_channels * KH * KW)
        self.weight = torch.nn.Parameter(torch.randn(out_channels, in_channels, KH, KW) * k)
        self.bias = torch.nn.Parameter(torch.empty(out_channels).uniform_(-k, k))

    def forward(self, x):
        return Conv2dFunction.apply(x, self.weight, self.bias, self.stride, self.padding)
