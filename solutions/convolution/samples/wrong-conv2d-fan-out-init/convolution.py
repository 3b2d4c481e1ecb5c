"""Convolution and pooling layers in numpy, first with loops, then vectorized.

Every layer comes as a pair of functions in the functional style used by
CS231n:

    out, cache = layer_forward(x, ...)
    dx, ...    = layer_backward(dout, cache)

``cache`` is whatever the forward pass needs to keep for the backward pass;
its format is yours to choose (the grader only hands it back to your own
backward function). ``dout`` is the upstream gradient dL/dout, of the shape of
``out``; the backward functions return dL/dx (and dL/dw, dL/db), each of the
shape of the input it belongs to.

Conventions that hold in this file:

* Images are stored as x of shape (N, C, H, W): N examples, C channels,
  height H, width W ("NCHW", as in torch).
* A "convolution" is what deep-learning libraries call one: a
  cross-correlation, the kernel is NOT flipped. With stride 1 and no padding,

      out[n, f, i, j] = b[f] + sum_{c, di, dj} x[n, c, i + di, j + dj] * w[f, c, di, dj]

  exactly as torch.nn.functional.conv2d computes it.
* conv_param = {'stride': s, 'pad': p}: s and p are each an int (the same for
  height and width) or a pair (for height, for width). Zero padding adds p
  rows of zeros on top AND p at the bottom (p columns left and right). For a
  kernel of HH x WW, the output height and width are

      H' = 1 + (H + 2 * pad_h - HH) // stride_h
      W' = 1 + (W + 2 * pad_w - WW) // stride_w

  (floor division: rows and columns a window cannot reach are ignored).
* pool_param = {'pool_height': PH, 'pool_width': PW, 'stride': s}, s an int.
  Windows may overlap (s < PH): an input value inside several windows gets
  the gradient of each of them, added up. No padding: H' = 1 + (H - PH) // s.

Rules for every function in this file:

* never modify an argument in place (copy it first if you need to);
* return new arrays, not views of the arguments;
* keep the floating dtype of the input (float32 in, float32 out);
* numpy only.
"""
import numpy as np


def pair(value):
    """(value, value) for an int; the two entries, as ints, for a pair.

    A helper you may use: pair(2) == (2, 2) and pair((1, 3)) == (1, 3).
    """
    if np.ndim(value) == 0:
        return int(value), int(value)
    first, second = value
    return int(first), int(second)


def conv_output_size(H, W, HH, WW, conv_param):
    """Output height and width of a convolution (see the module docstring).

    Inputs:
    - H, W: int, the input's height and width
    - HH, WW: int, the kernel's height and width
    - conv_param: dict with keys 'stride' and 'pad', each an int or a pair

    Returns a tuple of two ints (H', W') with
    H' = 1 + (H + 2 * pad_h - HH) // stride_h and
    W' = 1 + (W + 2 * pad_w - WW) // stride_w.
    Use it in every convolution function below.
    """
    ### BEGIN SOLUTION
    stride_h, stride_w = pair(conv_param["stride"])
    pad_h, pad_w = pair(conv_param["pad"])
    return 1 + (H + 2 * pad_h - HH) // stride_h, 1 + (W + 2 * pad_w - WW) // stride_w
    ### END SOLUTION


# ------------------------------------------------------------ naive convolution


def conv_forward_naive(x, w, b, conv_param):
    """Forward pass of a convolutional layer, with explicit loops.

    Loops over the output positions (and over the examples, if you like) are
    expected here; the vectorized version is conv_forward_im2col. The speed of
    this function is not graded.

    Inputs:
    - x: array of shape (N, C, H, W), input data
    - w: array of shape (F, C, HH, WW), F filters of C x HH x WW weights
    - b: array of shape (F,), biases
    - conv_param: dict with keys
      - 'stride': int or (stride_h, stride_w), the step between two windows
      - 'pad': int or (pad_h, pad_w), zeros added on both sides of each axis

    Returns a tuple of:
    - out: array of shape (N, F, H', W'), with
      H' = 1 + (H + 2 * pad_h - HH) // stride_h and
      W' = 1 + (W + 2 * pad_w - WW) // stride_w
    - cache: whatever conv_backward_naive needs
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride_h, stride_w = pair(conv_param["stride"])
    pad_h, pad_w = pair(conv_param["pad"])
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
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
    ### END SOLUTION


def conv_backward_naive(dout, cache):
    """Backward pass of conv_forward_naive, with explicit loops.

    Inputs:
    - dout: array of shape (N, F, H', W'), upstream gradient
    - cache: the cache returned by conv_forward_naive

    Returns a tuple of:
    - dx: array of shape (N, C, H, W), gradient with respect to x (the
      unpadded input: the padding is not part of x)
    - dw: array of shape (F, C, HH, WW), gradient with respect to w
    - db: array of shape (F,), gradient with respect to b, summed over the
      batch and over every output position
    """
    ### BEGIN SOLUTION
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    stride_h, stride_w = pair(conv_param["stride"])
    pad_h, pad_w = pair(conv_param["pad"])
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                top, left = i * stride_h, j * stride_w
                g = dout[n, :, i, j]                                   # (F,)
                window = xp[n, :, top:top + HH, left:left + WW]        # (C, HH, WW)
                dxp[n, :, top:top + HH, left:left + WW] += np.tensordot(g, w, axes=1)
                dw += g[:, None, None, None] * window
    dx = dxp[:, :, pad_h:pad_h + H, pad_w:pad_w + W].copy()
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db
    ### END SOLUTION


# ----------------------------------------------------------------- max pooling


def max_pool_forward_naive(x, pool_param):
    """Forward pass of max pooling, with explicit loops.

    Inputs:
    - x: array of shape (N, C, H, W), input data
    - pool_param: dict with keys
      - 'pool_height': int PH, the window's height
      - 'pool_width': int PW, the window's width
      - 'stride': int, the step between two windows (windows overlap when
        stride < PH or stride < PW)

    Returns a tuple of:
    - out: array of shape (N, C, H', W'), the maximum of each window, with
      H' = 1 + (H - PH) // stride and W' = 1 + (W - PW) // stride
    - cache: whatever max_pool_backward_naive needs
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = 1 + (H - PH) // s, 1 + (W - PW) // s
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x[:, :, i * s:i * s + PH, j * s:j * s + PW]
            out[:, :, i, j] = window.max(axis=(2, 3))
    cache = (x, pool_param)
    return out, cache
    ### END SOLUTION


def max_pool_backward_naive(dout, cache):
    """Backward pass of max_pool_forward_naive.

    Each window passes its gradient dout[n, c, i, j] to the input value that
    was its maximum. Tie rule: when several values of a window share the
    maximum, the gradient goes to the FIRST of them in row-major order within
    the window (the one np.argmax of the flattened window picks, and the one
    torch's max_pool2d picks). Where windows overlap, an input value that is
    the maximum of several windows receives the SUM of their gradients.

    Inputs:
    - dout: array of shape (N, C, H', W'), upstream gradient
    - cache: the cache returned by max_pool_forward_naive

    Returns:
    - dx: array of shape (N, C, H, W), gradient with respect to x
    """
    ### BEGIN SOLUTION
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
                    di, dj = np.unravel_index(np.argmax(window), window.shape)  # first maximum
                    dx[n, c, i * s + di, j * s + dj] += dout[n, c, i, j]
    return dx
    ### END SOLUTION


# ------------------------------------------------------------- average pooling


def avg_pool_forward(x, pool_param):
    """Forward pass of average pooling: the mean of each window.

    Vectorize over the batch and the channels; a loop over the output
    positions or over the PH * PW offsets inside a window is fine.

    Inputs:
    - x: array of shape (N, C, H, W), input data
    - pool_param: dict with keys 'pool_height' (PH), 'pool_width' (PW) and
      'stride' (int), as for max pooling; windows may overlap

    Returns a tuple of:
    - out: array of shape (N, C, H', W'), H' = 1 + (H - PH) // stride,
      W' = 1 + (W - PW) // stride
    - cache: whatever avg_pool_backward needs
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    H_out, W_out = 1 + (H - PH) // s, 1 + (W - PW) // s
    total = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for di in range(PH):
        for dj in range(PW):
            total += x[:, :, di:di + s * (H_out - 1) + 1:s, dj:dj + s * (W_out - 1) + 1:s]
    out = total / np.asarray(PH * PW, dtype=x.dtype)
    cache = (x.shape, pool_param)
    return out, cache
    ### END SOLUTION


def avg_pool_backward(dout, cache):
    """Backward pass of avg_pool_forward.

    Each window spreads its gradient evenly: every one of its PH * PW input
    values receives dout[n, c, i, j] / (PH * PW). Overlapping windows add up.

    Inputs:
    - dout: array of shape (N, C, H', W'), upstream gradient
    - cache: the cache returned by avg_pool_forward

    Returns:
    - dx: array of shape (N, C, H, W), gradient with respect to x
    """
    ### BEGIN SOLUTION
    x_shape, pool_param = cache
    PH, PW, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    _, _, H_out, W_out = dout.shape
    share = dout / np.asarray(PH * PW, dtype=dout.dtype)
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for di in range(PH):
        for dj in range(PW):
            dx[:, :, di:di + s * (H_out - 1) + 1:s, dj:dj + s * (W_out - 1) + 1:s] += share
    return dx
    ### END SOLUTION


# ------------------------------------------------------------ im2col convolution


def im2col(x, HH, WW, conv_param):
    """Every receptive field of a convolution, as the columns of a matrix.

    With the output size H' x W' of the module docstring and P = H' * W',
    column p = i * W' + j of example n holds the window of the padded input
    under output position (i, j), flattened in (c, di, dj) order, the order
    of w.reshape(F, -1):

        cols[n, c * HH * WW + di * WW + dj, i * W' + j]
            = x_padded[n, c, i * stride_h + di, j * stride_w + dj]

    so that w.reshape(F, -1) @ cols[n] is the convolution of example n.
    No Python loop over the batch or the output positions: a loop over the
    HH * WW kernel offsets is fine (or none at all). Speed, graded as for
    conv_forward_im2col: at most 3x the reference solution's time.

    Inputs:
    - x: array of shape (N, C, H, W), input data
    - HH, WW: int, the kernel's height and width
    - conv_param: dict with keys 'stride' and 'pad', each an int or a pair

    Returns:
    - cols: array of shape (N, C * HH * WW, H' * W'), of the dtype of x
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    stride_h, stride_w = pair(conv_param["stride"])
    pad_h, pad_w = pair(conv_param["pad"])
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)
    xp = np.pad(x, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
    cols = np.empty((N, C, HH, WW, H_out, W_out), dtype=x.dtype)
    for di in range(HH):
        for dj in range(WW):
            cols[:, :, di, dj] = xp[:, :, di:di + stride_h * (H_out - 1) + 1:stride_h,
                                    dj:dj + stride_w * (W_out - 1) + 1:stride_w]
    return cols.reshape(N, C * HH * WW, H_out * W_out)
    ### END SOLUTION


def col2im(cols, x_shape, HH, WW, conv_param):
    """The adjoint of im2col: adds every column back onto the window it came from.

    A value of x that lies in several windows (stride < kernel size) appears
    in several columns; col2im ADDS up their entries. Entries that fall on the
    padding are dropped. So for dcols = dL/dcols, col2im(dcols, ...) is dL/dx.
    No Python loop over the batch or the output positions. (np.add.at with
    fancy indices works but is slow; adding one strided slice per kernel
    offset (di, dj) is fast.) Speed, graded as for conv_forward_im2col: at
    most 3x the reference solution's time.

    Inputs:
    - cols: array of shape (N, C * HH * WW, H' * W'), laid out as im2col's
    - x_shape: tuple (N, C, H, W), the shape of the input of im2col
    - HH, WW: int, the kernel's height and width
    - conv_param: dict with keys 'stride' and 'pad', each an int or a pair

    Returns:
    - x: array of shape (N, C, H, W), of the dtype of cols
    """
    ### BEGIN SOLUTION
    N, C, H, W = x_shape
    stride_h, stride_w = pair(conv_param["stride"])
    pad_h, pad_w = pair(conv_param["pad"])
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)
    cols = cols.reshape(N, C, HH, WW, H_out, W_out)
    xp = np.zeros((N, C, H + 2 * pad_h, W + 2 * pad_w), dtype=cols.dtype)
    for di in range(HH):
        for dj in range(WW):
            xp[:, :, di:di + stride_h * (H_out - 1) + 1:stride_h,
               dj:dj + stride_w * (W_out - 1) + 1:stride_w] += cols[:, :, di, dj]
    return xp[:, :, pad_h:pad_h + H, pad_w:pad_w + W].copy()
    ### END SOLUTION


def conv_forward_im2col(x, w, b, conv_param):
    """Forward pass of a convolutional layer, vectorized with im2col.

    Same inputs, outputs and conventions as conv_forward_naive, with no Python
    loop over the batch or the output positions: build the columns with
    im2col and multiply them by w.reshape(F, -1).

    Speed, graded as a ratio of times on x of shape (8, 4, 16, 16), w of shape
    (32, 4, 3, 3), stride 1, pad 1: at most 3x the reference solution's time
    (the public test_speed_* tests; the same rule for im2col, col2im and
    conv_backward_im2col).

    Inputs:
    - x: array of shape (N, C, H, W)
    - w: array of shape (F, C, HH, WW)
    - b: array of shape (F,)
    - conv_param: dict with keys 'stride' and 'pad', each an int or a pair

    Returns a tuple of:
    - out: array of shape (N, F, H', W')
    - cache: whatever conv_backward_im2col needs
    """
    ### BEGIN SOLUTION
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out, W_out = conv_output_size(H, W, HH, WW, conv_param)
    cols = im2col(x, HH, WW, conv_param)                      # (N, C*HH*WW, P)
    out = np.matmul(w.reshape(F, -1), cols)                   # (N, F, P)
    out = out.reshape(N, F, H_out, W_out) + b.reshape(1, F, 1, 1)
    cache = (x.shape, w, cols, conv_param)
    return out, cache
    ### END SOLUTION


def conv_backward_im2col(dout, cache):
    """Backward pass of conv_forward_im2col, vectorized.

    No Python loop over the batch or the output positions: use matrix
    products with the columns and col2im.

    Speed, graded as for conv_forward_im2col (same size): at most 3x the
    reference solution's time.
    np.matmul and np.tensordot call BLAS; plain np.einsum (without
    optimize=True) and np.add.at are several times slower.

    Inputs:
    - dout: array of shape (N, F, H', W'), upstream gradient
    - cache: the cache returned by conv_forward_im2col

    Returns a tuple of:
    - dx: array of shape (N, C, H, W)
    - dw: array of shape (F, C, HH, WW)
    - db: array of shape (F,), summed over the batch and the output positions
    """
    ### BEGIN SOLUTION
    x_shape, w, cols, conv_param = cache
    F, _, HH, WW = w.shape
    N = dout.shape[0]
    dout_rows = dout.reshape(N, F, -1)                                    # (N, F, P)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.tensordot(dout_rows, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    dcols = np.matmul(w.reshape(F, -1).T, dout_rows)                      # (N, C*HH*WW, P)
    dx = col2im(dcols, x_shape, HH, WW, conv_param)
    return dx, dw, db
    ### END SOLUTION
