"""Known mistakes of the dropout assignment.

Each variant is a small wrong copy of ONE reference function (or class). The
engine binds it to a copy of the reference module in which the target is
replaced, so a body may use the reference's globals (np, torch, nn) and must
read the cache format of the reference's forward pass:

    dropout_forward: cache = SimpleNamespace(p, mode, variant, mask), mask being
                     the factor of each unit: keep / (1 - p) (inverted, train),
                     keep (vanilla, train), or the scalar 1 or 1 - p (test)

(An object rather than a tuple, so that diagnosis compares the outputs of a
forward call and never the student's cache, whatever its format.)

Every variant draws its mask exactly as the reference does (the seed
convention of the docstrings), so replaying a failed test's seeded calls
reproduces a student's wrong output and names the mistake.
"""
import numpy as np
import torch
from torch import nn

from autograder.mistakes import mistake

# ------------------------------------------------------------ training mode


@mistake("dropout_forward", "kept units scaled by 1/p instead of 1/(1 - p)",
         hint="p is the probability of DROPPING a unit; a unit is kept with probability 1 - p, so "
              "inverted dropout divides the kept units by (1 - p) to preserve the mean.")
def dropout_forward(x, dropout_param):
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        scale = (1.0 / p if p > 0 else 1.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "keep and drop probabilities swapped (units kept with probability p)",
         hint="In this course, as in torch.nn.Dropout, p is the probability of DROPPING a unit: "
              "keep = rng.random(x.shape) >= p, then divide by (1 - p). Code written for p = keep "
              "probability (rand < p, then / p) drops 1 - p of the units instead.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) < p
        scale = (1.0 / p if p > 0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "kept units multiplied by (1 - p) at training time instead of divided by it",
         hint="Inverted dropout compensates at TRAINING time by dividing the kept units by (1 - p), "
              "so that the expected output equals x. Multiplying by (1 - p) shrinks it twice.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        scale = (1.0 - p) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "one mask shared by every example of the batch",
         hint="Draw one random number per ELEMENT of x: rng.random(x.shape). A mask of shape "
              "x.shape[1:] broadcast over the batch drops the same features in every example.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape[1:]) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "p = 1 divides by zero (0 / 0 gives nan)",
         hint="With p = 1 every unit is dropped and 1 - p = 0: x * keep / (1 - p) is 0 / 0 = nan. "
              "Handle p = 1 separately (the output is all zeros).")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        with np.errstate(divide="ignore", invalid="ignore"):
            mask = keep.astype(x.dtype) / np.asarray(1.0 - p, dtype=x.dtype) if variant == "inverted" \
                else keep.astype(x.dtype)
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "float32 input returned as float64 (mask kept in float64)",
         hint="(rng.random(x.shape) >= p) / (1 - p) is a float64 array, and x * mask then promotes a "
              "float32 x to float64. Cast the mask to x.dtype: keep.astype(x.dtype).")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep * scale
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "mask drawn in x's dtype (rng.random(x.shape, dtype=np.float32)): another random stream",
         hint="The seed convention draws float64 numbers whatever the dtype of x: rng.random(x.shape) >= p, "
              "then cast the mask to x.dtype. rng.random(x.shape, dtype=np.float32) draws a different "
              "stream, so the mask is not the one the seed determines.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = (rng.random(x.shape, dtype=x.dtype) if x.dtype in (np.float32, np.float64)
                else rng.random(x.shape)) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "mask drawn from numpy's legacy global generator (np.random.seed(seed); np.random.rand)",
         hint="The seed convention of this assignment is a generator of its own: "
              "rng = np.random.default_rng(seed); keep = rng.random(x.shape) >= p. np.random.seed and "
              "np.random.rand (the old CS231n code) draw another stream, and change numpy's global state.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        if dropout_param.get("seed") is not None:
            np.random.seed(dropout_param["seed"])
        keep = np.random.rand(*x.shape) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


# ---------------------------------------------------------------- test mode


@mistake("dropout_forward", "inverted dropout scaled by (1 - p) at test time",
         hint="Inverted dropout already scaled the kept units by 1 / (1 - p) during training, so at "
              "test time it is the identity. Only the vanilla variant multiplies by (1 - p) at test time.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 - p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "vanilla dropout not scaled by (1 - p) at test time",
         hint="Vanilla dropout does not scale during training, so at test time each unit must be "
              "multiplied by (1 - p), its probability of having been kept, to match the training "
              "output in expectation.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "vanilla dropout scaled by p at test time instead of the keep probability 1 - p",
         hint="At test time each unit is multiplied by its probability of having been KEPT, 1 - p "
              "(p is the probability of dropping it).")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    variant = dropout_param.get("variant", "inverted")
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
        mask = keep.astype(x.dtype) * scale
    else:
        mask = 1.0 if variant == "inverted" else p
    return x * mask, SimpleNamespace(p=p, mode=mode, variant=variant, mask=mask)


@mistake("dropout_forward", "'variant' ignored: vanilla dropout computed as inverted",
         hint="dropout_param['variant'] == 'vanilla' means: no scaling at training time, "
              "x * (1 - p) at test time.")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p, mode = float(dropout_param["p"]), dropout_param["mode"]
    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        keep = rng.random(x.shape) >= p
        mask = keep.astype(x.dtype) * (1.0 / (1.0 - p) if p < 1.0 else 0.0)
    else:
        mask = 1.0
    return x * mask, SimpleNamespace(p=p, mode=mode, variant="inverted", mask=mask)


@mistake("dropout_forward", "units dropped at test time too (mode ignored)",
         hint="Dropout only drops units in 'train' mode. In 'test' mode nothing is random: "
              "inverted dropout returns x, vanilla returns x * (1 - p).")
def dropout_forward(x, dropout_param):  # noqa: F811
    from types import SimpleNamespace  # as in the reference: validate runs this source alone

    p = float(dropout_param["p"])
    variant = dropout_param.get("variant", "inverted")
    rng = np.random.default_rng(dropout_param.get("seed"))
    keep = rng.random(x.shape) >= p
    scale = (1.0 / (1.0 - p) if p < 1.0 else 0.0) if variant == "inverted" else 1.0
    mask = keep.astype(x.dtype) * scale
    return x * mask, SimpleNamespace(p=p, mode="train", variant=variant, mask=mask)


# ----------------------------------------------------------------- backward


@mistake("dropout_backward", "backward without the mask (dropped units get a gradient)",
         hint="out = x * mask / (1 - p), so dx = dout * mask / (1 - p) with the SAME mask as the "
              "forward pass: the units dropped there get no gradient. Keep the mask in the cache.")
def dropout_backward(dout, cache):
    if cache.mode == "train":
        inverted = cache.variant == "inverted"
        return dout * (1.0 / (1.0 - cache.p) if inverted and cache.p < 1.0 else 1.0)
    return dout * cache.mask


@mistake("dropout_backward", "backward without the scale 1/(1 - p)",
         hint="The forward pass multiplied the kept units by 1 / (1 - p); the chain rule multiplies "
              "their gradient by the same factor: dx = dout * mask / (1 - p).")
def dropout_backward(dout, cache):  # noqa: F811
    if cache.mode == "train":
        return dout * (cache.mask != 0)
    return dout * cache.mask


# --------------------------------------------------------- ensemble average


@mistake("dropout_ensemble_average", "thinned networks scaled by 1/(1 - p) in the ensemble",
         hint="The 2^D thinned networks are the raw sub-networks (x * m) @ w + b, without inverted "
              "dropout's 1 / (1 - p). Their average is then the WEIGHT-SCALED network "
              "x @ ((1 - p) w) + b; with the scaling it would be the full network.")
def dropout_ensemble_average(x, w, b, p):
    D = x.shape[1]
    masks = (np.arange(2 ** D)[:, None] >> np.arange(D)[None, :]) & 1
    prob = np.prod(np.where(masks == 1, 1.0 - p, p), axis=1)
    scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
    thinned = (x[None, :, :] * masks[:, None, :] * scale) @ w + b
    return np.tensordot(prob, thinned, axes=1)


@mistake("dropout_ensemble_average", "thinned networks averaged with equal weights, not their probabilities",
         hint="Mask m occurs with probability prod_j (1 - p)^m_j p^(1 - m_j): weight each thinned "
              "network by it. The plain mean over the 2^D masks is right only for p = 0.5.")
def dropout_ensemble_average(x, w, b, p):  # noqa: F811
    D = x.shape[1]
    masks = (np.arange(2 ** D)[:, None] >> np.arange(D)[None, :]) & 1
    thinned = (x[None, :, :] * masks[:, None, :]) @ w + b
    return thinned.mean(axis=0)


# ------------------------------------------------------------ torch module


@mistake("dropout_torch.Dropout", "Dropout module drops units in eval mode too",
         hint="nn.Module.eval() sets self.training = False; forward must then return x unchanged. "
              "Check self.training before drawing a mask.")
class DropoutIgnoresEval(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        keep = torch.rand_like(x) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return x * keep.to(x.dtype) * scale


@mistake("dropout_torch.Dropout", "Dropout module changes x in place (x.mul_)",
         hint="x is the caller's: build a new tensor, out = x * keep / (1 - p). An in-place change "
              "destroys the input, and autograd refuses it on a tensor that requires grad.")
class DropoutInPlace(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return x.mul_(keep.to(x.dtype)).mul_(scale)


@mistake("dropout_torch.Dropout", "Dropout module does not scale the kept units",
         hint="torch's Dropout is inverted dropout: in training mode the kept units are divided by "
              "(1 - p), so that eval mode can be the identity.")
class DropoutNoScale(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype)


@mistake("dropout_torch.Dropout", "mask built with torch.rand(x.shape): float32 on the CPU whatever x is",
         hint="torch.rand(x.shape) ignores x's dtype and device: a float16 input comes back as float32, "
              "and a CUDA input fails. Use torch.rand_like(x), and keep the mask in x.dtype.")
class DropoutFixedDtypeMask(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        mask = (torch.rand(x.shape) >= self.p).float()
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return x * mask * scale


@mistake("dropout_torch.Dropout", "Dropout module multiplies by (1 - p) in eval mode",
         hint="torch's Dropout is inverted dropout: the kept units were already scaled by 1 / (1 - p) in "
              "training, so eval mode is the identity and returns x unchanged.")
class DropoutScalesInEval(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x * (1 - self.p)
        keep = torch.rand_like(x) >= self.p
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        return x * keep.to(x.dtype) * scale


@mistake("dropout_torch.Dropout", "Dropout module divides by zero for p = 1 (nan)",
         hint="With p = 1 every unit is dropped and 1 - p = 0: x * keep / (1 - p) is 0 / 0 = nan. "
              "Return zeros for p = 1.")
class DropoutNanAtPOne(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep.to(x.dtype) / (1.0 - self.p)  # a tensor / 0.0: nan where keep is 0, for p = 1
