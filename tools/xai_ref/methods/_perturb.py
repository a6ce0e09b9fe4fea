"""_perturb.py - fills shared by the perturbation references (occlusion, lime), in torch.

zero: 0; mean: the input's per-channel mean; blur: a Gaussian blur (kernel radius ceil(3 sigma),
weights exp(-d^2 / (2 sigma^2)) normalised, edges replicated), as a 2-D convolution of the
padded image with the outer product of the 1-D kernel; segment_mean: each superpixel's
per-channel mean (the lime package's hide_color=None), pixels of no segment (label < 0) keep
their value.
"""
import math

import torch
import torch.nn.functional as F


def gaussian_blur(x, sigma):
    r = int(math.ceil(3.0 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-t * t / (2.0 * sigma * sigma))
    k = k / k.sum()
    k2 = (k[:, None] * k[None, :]).to(x.dtype)
    c = x.shape[1]
    xp = F.pad(x, (r, r, r, r), mode="replicate")
    return F.conv2d(xp, k2.expand(c, 1, 2 * r + 1, 2 * r + 1).contiguous(), groups=c)


def fill(x, kind, sigma=None, segments=None):
    """The baseline image for x ([1,C,H,W]) of the given fill kind."""
    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "mean":
        return x.mean(dim=(2, 3), keepdim=True).expand_as(x).clone()
    if kind == "blur":
        return gaussian_blur(x, sigma)
    if kind == "segment_mean":
        seg = torch.from_numpy(segments).long()
        out = x.clone()
        for lab in torch.unique(seg[seg >= 0]):
            m = seg == lab
            out[0][:, m] = x[0][:, m].mean(dim=1, keepdim=True)
        return out
    raise ValueError(kind)
