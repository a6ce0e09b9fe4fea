#!/usr/bin/python3
"""make_demo_model.py - builds xaid's bundled demo model and its sample images.

Everything here is SYNTHETIC: chest-radiograph-like pictures drawn procedurally (a body
silhouette, two dark lung fields, a bright mediastinum and heart, ribs as faint curved bands,
noise, pose and contrast jitter), in three classes whose evidence is local:

  clear    no lesion
  nodule   one small bright round blob (radius 3-6 % of the image's shorter side) in a lung
  opacity  one larger, irregular, soft-edged bright region (radius 9-15 %) in a lung

Each picture comes with its ground-truth lesion mask (empty for `clear`). A small CNN
(conv->BN->ReLU blocks, two residual blocks, max pooling, then global average pooling and a
single Linear layer, so that CAM applies) is trained on them with Adam, checked on a held-out
set, exported to ONNX (opset 13) and described by model.json. Sample images in several
encodings are written with their masks and the probabilities PyTorch gives for them, computed
with the preprocessing the service applies:

  RGB -> gray with ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B, in float, unrounded)
  -> stretch to 128x128: bilinear, align_corners=False, antialiased when shrinking
     (torch.nn.functional.interpolate(..., mode="bilinear", antialias=True))
  -> divide by the format's maximum (255 or 65535) -> (x - mean) / std

The model has NO clinical meaning. It runs with Debian's PyTorch (python3-torch 1.13):

  /usr/bin/python3 tools/make_demo_model.py [--out models/chest-demo] [--examples examples]
                                            [--seed 0]

Generation is seeded per image (numpy Generator seeded with (seed, split, index)), torch is
seeded and runs on a fixed number of threads, so a rerun on the same machine gives the same
files. The ONNX file is checked without the onnx package: a small protobuf reader lists its
graph, and a numpy interpreter of the ops it contains recomputes the logits and the CAM
layer's activations, which must match PyTorch.
"""
import argparse
import collections
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

LABELS = ["clear", "nodule", "opacity"]
SIZE = 128  # network input height and width
LUMA = (0.299, 0.587, 0.114)
TARGET_ACCURACY = 0.95
MAX_ONNX_BYTES = 2 * 1024 * 1024
SPLIT_TRAIN, SPLIT_VAL, SPLIT_EXAMPLES = 1, 2, 3


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# Synthetic chest-radiograph-like images
# ---------------------------------------------------------------------------------------------

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def _smooth_field(rng, h, w, cells):
    """Low-frequency noise in about [-1, 1]: a small random grid upsampled bilinearly."""
    grid = torch.from_numpy(rng.standard_normal((1, 1, cells, cells)).astype(np.float32))
    up = F.interpolate(grid, size=(h, w), mode="bilinear", align_corners=True)
    return up[0, 0].numpy()


def synth_chest(h, w, cls, rng):
    """Draws one picture of class index `cls` (0 clear, 1 nodule, 2 opacity) at h x w.

    Returns (image, mask): image float32 in [0, 1], mask bool (lesion pixels).
    Anatomy lives in 'body coordinates' (u to the image's right, v down) whose unit is half
    the image's shorter side, so non-square pictures show more or less around the chest
    instead of a stretched chest.
    """
    half = min(h, w) / 2.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = (xx + 0.5 - w / 2.0) / half
    y = (yy + 0.5 - h / 2.0) / half
    ang = math.radians(rng.uniform(-5.0, 5.0))
    scale = rng.uniform(0.92, 1.06)
    dx, dy = rng.uniform(-0.05, 0.05, size=2)
    ca, sa = math.cos(ang), math.sin(ang)
    u = (ca * x + sa * y - dx) / scale
    v = (-sa * x + ca * y - dy) / scale

    # Body silhouette: broad torso; shoulders sloping down from the neck at the top.
    aw = 0.9 + rng.uniform(-0.04, 0.04) - 0.05 * v * v
    vtop = -0.98 + 0.55 * np.clip(np.abs(u) - 0.2, 0.0, None) ** 1.3
    vtop = vtop - 4.0 * _sigmoid((0.17 - np.abs(u)) / 0.02)  # the neck
    body = _sigmoid((aw - np.abs(u)) / 0.015) * _sigmoid((v - vtop) / 0.02)

    # Lungs: tapered at the apex, lateral costophrenic angles lower than the medial side.
    lungs = np.zeros_like(u)
    for sg in (-1.0, 1.0):
        cx = sg * (0.38 + rng.uniform(-0.03, 0.03))
        cy = 0.02 + rng.uniform(-0.04, 0.04)
        a = 0.27 + rng.uniform(-0.02, 0.02)
        b = 0.62 + rng.uniform(-0.04, 0.04)
        dv = (v - cy - 0.12 * sg * (u - cx)) / b
        taper = 0.6 + 0.4 * np.clip((dv + 1.0) / 1.3, 0.0, 1.0)
        du = (u - cx) / (a * taper)
        lungs = np.maximum(lungs, _sigmoid((1.0 - (du * du + dv * dv)) / 0.07))
    # Heart: bulges into the left lung (the image's right side).
    hx, hy = 0.1 + rng.uniform(-0.03, 0.03), 0.36 + rng.uniform(-0.04, 0.04)
    ha, hb = 0.3 + rng.uniform(-0.03, 0.03), 0.24 + rng.uniform(-0.02, 0.02)
    heart = _sigmoid((1.0 - ((u - hx) / ha) ** 2 - ((v - hy) / hb) ** 2) / 0.08)
    lungs = lungs * (1.0 - heart) * body

    img = 0.04 + 0.5 * body
    img += 0.08 * body * _sigmoid((v - 0.6) / 0.08)  # denser abdomen under the diaphragm
    img -= 0.32 * lungs
    img += 0.025 * lungs * _smooth_field(rng, h, w, 16)  # lung markings
    img += 0.07 * heart
    img += 0.08 * body * np.exp(-0.5 * (u / 0.05) ** 4)  # spine
    for sg in (-1.0, 1.0):  # hila
        img += 0.06 * np.exp(-0.5 * (((u - sg * 0.17) / 0.06) ** 2 + ((v + 0.02) / 0.1) ** 2))

    # Ribs: faint curved bands running out from the spine and down laterally.
    rib_gain = rng.uniform(0.04, 0.08)
    au = np.abs(u) - 0.06
    lateral = (au > 0.0) & (np.abs(u) < 0.88)
    v0 = -0.88 + rng.uniform(-0.03, 0.03)
    for i in range(11):
        vi = v0 + i * 0.15
        curve = vi - 0.3 * au + 1.2 * au * au
        img += rib_gain * body * lateral * np.exp(-0.5 * ((v - curve) / 0.022) ** 2)
    # Clavicles.
    clav = -0.74 + 0.12 * np.abs(u)
    img += 0.07 * body * (np.abs(u) < 0.55) * np.exp(-0.5 * ((v - clav) / 0.025) ** 2)

    lung_mask = lungs > 0.5
    mask = np.zeros((h, w), dtype=bool)
    if cls != 0:
        side = min(h, w)
        if cls == 1:
            r = rng.uniform(0.03, 0.06) * side
            reach, need = r + 1.0, 0.95
        else:
            r = rng.uniform(0.09, 0.15) * side
            reach, need = r, 0.6
        cand = np.flatnonzero(lung_mask)
        for _ in range(400):
            k = cand[rng.integers(len(cand))]
            cy_, cx_ = divmod(int(k), w)
            dist_px = np.hypot(yy - cy_, xx - cx_)
            disk = dist_px <= reach
            if lung_mask[disk].mean() >= need:
                break
        else:
            raise RuntimeError("could not place a lesion")
        if cls == 1:
            edge = 0.12 * r + 0.4
            prof = np.clip((r - dist_px) / edge + 0.5, 0.0, 1.0)
            prof *= 0.75 + 0.25 * np.sqrt(np.clip(1.0 - (dist_px / r) ** 2, 0.0, 1.0))
            img += rng.uniform(0.15, 0.3) * prof
            mask = dist_px <= r
        else:
            theta = np.arctan2(yy - cy_, xx - cx_)
            rad = np.ones_like(theta)
            for kh in range(2, 6):
                rad += rng.uniform(0.0, 0.14) * np.cos(kh * theta + rng.uniform(0, 2 * math.pi))
            rad *= r
            prof = _sigmoid((rad - dist_px) / (0.18 * r))
            prof *= np.clip(lungs * 1.6, 0.0, 1.0)  # respects the lung's border
            texture = 0.8 + 0.2 * _smooth_field(rng, h, w, 12)
            img += rng.uniform(0.14, 0.26) * prof * texture
            mask = (prof > 0.5) & lung_mask

    img += 0.03 * _smooth_field(rng, h, w, 5)
    img += rng.uniform(0.01, 0.035) * rng.standard_normal((h, w), dtype=np.float32)
    img = np.clip(img, 0.0, 1.0)
    img = img ** rng.uniform(0.8, 1.25)
    img = rng.uniform(-0.05, 0.06) + rng.uniform(0.85, 1.15) * img
    return np.clip(img, 0.0, 1.0), mask


# ---------------------------------------------------------------------------------------------
# Preprocessing (the service's): luma -> stretch to 128x128 (antialiased bilinear) -> /max
# ---------------------------------------------------------------------------------------------

def to_unit_128(samples, max_value):
    """samples: HxW or HxWx3 array of values in [0, max_value]. Returns a 1x1x128x128 float32
    tensor in [0, 1] (before mean/std normalisation)."""
    x = torch.from_numpy(np.asarray(samples, dtype=np.float32))
    if x.ndim == 3:
        x = LUMA[0] * x[..., 0] + LUMA[1] * x[..., 1] + LUMA[2] * x[..., 2]
    x = x[None, None]
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                      antialias=True)
    return x / float(max_value)


def resize_weights(n_in, n_out):
    """The stretch as a matrix (n_out x n_in), written out so that a C port has a reference:
    PyTorch's antialiased bilinear resize, align_corners=False. With scale = n_in / n_out,
    output sample i is centred at c = scale * (i + 0.5) in input coordinates; input samples
    j in [max(int(c - support + 0.5), 0), min(int(c + support + 0.5), n_in)) get the weight
    max(0, 1 - |j + 0.5 - c| / support), normalised to sum 1, where support = scale when
    shrinking and 1 otherwise (then it is plain bilinear with clamped edges). The 2-D resize
    applies it to rows and columns: out = Wy @ img @ Wx.T."""
    scale = n_in / n_out
    support = scale if scale > 1.0 else 1.0
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        c = scale * (i + 0.5)
        lo = max(int(c - support + 0.5), 0)
        hi = min(int(c + support + 0.5), n_in)
        j = np.arange(lo, hi)
        k = np.maximum(0.0, 1.0 - np.abs(j + 0.5 - c) / support)
        w[i, lo:hi] = k / k.sum()
    return w


def mask_to_128(mask):
    m = torch.from_numpy(mask.astype(np.float32))[None, None]
    m = F.interpolate(m, size=(SIZE, SIZE), mode="bilinear", align_corners=False,
                      antialias=True)
    return (m[0, 0] > 0.25).numpy()


def make_split(seed, split, n, only=None):
    """n pictures at random sizes and aspect ratios, as the service would feed them to the
    network. Classes cycle so the split is balanced; only=k draws class k alone."""
    xs = torch.empty(n, 1, SIZE, SIZE)
    ys = torch.empty(n, dtype=torch.long)
    masks = np.zeros((n, SIZE, SIZE), dtype=bool)
    for i in range(n):
        rng = np.random.default_rng([seed, split, i])
        cls = i % len(LABELS) if only is None else only
        if rng.random() < 0.3:
            h = w = SIZE
        else:
            side = int(rng.integers(SIZE, 2 * SIZE + 1))
            aspect = math.exp(rng.uniform(math.log(0.75), math.log(1.34)))
            h, w = side, max(SIZE // 2, int(round(side * aspect)))
        img, mask = synth_chest(h, w, cls, rng)
        if rng.random() < 0.4:  # the full-range stretch 16-bit exports often have
            lo, hi = img.min(), img.max()
            img = (img - lo) / max(hi - lo, 1e-6)
        if rng.random() < 0.5:  # 8-bit quantisation
            img = np.round(img * 255.0) / 255.0
        xs[i] = to_unit_128(img, 1.0)[0]
        ys[i] = cls
        masks[i] = mask_to_128(mask)
    return xs, ys, masks


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------

class ConvBNReLU(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(collections.OrderedDict([
            ("conv", nn.Conv2d(cin, cout, 3, padding=1, bias=False)),
            ("bn", nn.BatchNorm2d(cout)),
            ("relu", nn.ReLU()),
        ]))


class ResBlock(nn.Module):
    """conv-BN-ReLU, conv-BN, plus a shortcut (1x1 conv-BN when the width changes), ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = ConvBNReLU(cin, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if cin != cout:
            self.shortcut = nn.Sequential(collections.OrderedDict([
                ("conv", nn.Conv2d(cin, cout, 1, bias=False)),
                ("bn", nn.BatchNorm2d(cout)),
            ]))
        else:
            self.shortcut = nn.Identity()
        self.out = nn.ReLU()

    def forward(self, x):
        return self.out(self.bn2(self.conv2(self.conv1(x))) + self.shortcut(x))


class ChestDemoNet(nn.Module):
    def __init__(self, n_classes=len(LABELS)):
        super().__init__()
        self.features = nn.Sequential(collections.OrderedDict([
            ("block1", ConvBNReLU(1, 16)),     # 128x128
            ("pool1", nn.MaxPool2d(2)),
            ("block2", ConvBNReLU(16, 24)),    # 64x64
            ("pool2", nn.MaxPool2d(2)),
            ("block3", ResBlock(24, 32)),      # 32x32
            ("pool3", nn.MaxPool2d(2)),
            ("block4", ResBlock(32, 64)),      # 16x16: the CAM layer
        ]))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(64, n_classes)

    def forward(self, x):
        x = self.features(x)
        x = self.pool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def evaluate(model, xs, ys, mean, std, batch=200):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xs), batch):
            logits = model((xs[i:i + batch] - mean) / std)
            correct += int((logits.argmax(1) == ys[i:i + batch]).sum())
    return correct / len(xs)


def train(model, xs, ys, vx, vy, mean, std, epochs, seed, batch=16, lr=2e-3):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(xs) / batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.2)
    acc = 0.0
    for ep in range(epochs):
        t0 = time.time()
        model.train()
        order = torch.randperm(len(xs), generator=g)
        total, n = 0.0, 0
        for i in range(0, len(xs), batch):
            idx = order[i:i + batch]
            xb = (xs[idx] - mean) / std
            # Light augmentation: a small random shift keeps the lesions' evidence local.
            sx, sy = (int(v) for v in torch.randint(-4, 5, (2,), generator=g))
            xb = torch.roll(xb, shifts=(sy, sx), dims=(2, 3))
            loss = F.cross_entropy(model(xb), ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            n += len(idx)
        acc = evaluate(model, vx, vy, mean, std)
        log(f"epoch {ep + 1}/{epochs}: loss {total / n:.4f}, validation accuracy "
            f"{100 * acc:.2f}% ({time.time() - t0:.1f} s)")
    return acc


def cam_pointing(model, xs, ys, masks, mean, std, tol_px=8):
    """For lesion images classified correctly: is the class activation map's peak on the
    lesion (within tol_px pixels of its mask at 128x128)?"""
    model.eval()
    feats = {}
    hook = model.features.block4.register_forward_hook(lambda m, i, o: feats.update(a=o))
    hits = tried = 0
    w = model.classifier.weight.detach()
    with torch.no_grad():
        for i in range(0, len(xs), 200):
            logits = model((xs[i:i + 200] - mean) / std)
            a = feats["a"]
            pred = logits.argmax(1)
            for j in range(len(pred)):
                c = int(ys[i + j])
                if c == 0 or int(pred[j]) != c:
                    continue
                cam = torch.einsum("k,khw->hw", w[c], a[j])
                cam = F.interpolate(cam[None, None], size=(SIZE, SIZE), mode="bilinear",
                                    align_corners=False)[0, 0]
                py, px = divmod(int(cam.argmax()), SIZE)
                m = masks[i + j]
                ys_, xs_ = np.nonzero(m)
                if len(ys_) == 0:
                    continue
                tried += 1
                d = np.min(np.hypot(ys_ - py, xs_ - px))
                hits += int(d <= tol_px)
    hook.remove()
    return hits, tried


# ---------------------------------------------------------------------------------------------
# ONNX, read without the onnx package
# ---------------------------------------------------------------------------------------------

def _varint(b, i):
    r = sh = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << sh
        sh += 7
        if c < 0x80:
            return r, i


def _fields(b):
    i, n = 0, len(b)
    while i < n:
        key, i = _varint(b, i)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            ln, i = _varint(b, i)
            v, i = b[i:i + ln], i + ln
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wt}")
        yield f, wt, v


def _packed_or_single(wt, v):
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def _signed64(x):
    return x - (1 << 64) if x >= (1 << 63) else x


def read_onnx(path):
    """Returns {'nodes': [...], 'initializers': {name: ndarray}, 'inputs', 'outputs',
    'opset'} for the fields xaid cares about (float32 initializers only)."""
    with open(path, "rb") as fh:
        data = fh.read()
    graph, opset = None, None
    for f, wt, v in _fields(data):
        if f == 7:
            graph = v
        elif f == 8:
            dom, ver = "", None
            for ff, _, vv in _fields(v):
                if ff == 1:
                    dom = vv.decode()
                elif ff == 2:
                    ver = vv
            if dom in ("", "ai.onnx"):
                opset = ver
    nodes, inits, inputs, outputs = [], {}, [], []
    for f, wt, v in _fields(graph):
        if f == 1:
            node = {"input": [], "output": [], "name": "", "op_type": "", "attrs": {}}
            for ff, wt2, vv in _fields(v):
                if ff == 1:
                    node["input"].append(vv.decode())
                elif ff == 2:
                    node["output"].append(vv.decode())
                elif ff == 3:
                    node["name"] = vv.decode()
                elif ff == 4:
                    node["op_type"] = vv.decode()
                elif ff == 5:
                    name, val = "", None
                    ints = []
                    for fa, wta, va in _fields(vv):
                        if fa == 1:
                            name = va.decode()
                        elif fa == 2:
                            val = struct.unpack("<f", va)[0]
                        elif fa == 3:
                            val = _signed64(va)
                        elif fa == 8:
                            ints += [_signed64(z) for z in _packed_or_single(wta, va)]
                    node["attrs"][name] = ints if ints else val
            nodes.append(node)
        elif f == 5:
            dims, dtype, name, raw, floats = [], None, "", None, []
            for ff, wt2, vv in _fields(v):
                if ff == 1:
                    dims += _packed_or_single(wt2, vv)
                elif ff == 2:
                    dtype = vv
                elif ff == 8:
                    name = vv.decode()
                elif ff == 9:
                    raw = vv
                elif ff == 4:
                    floats += list(struct.unpack(f"<{len(vv) // 4}f", vv)) if wt2 == 2 \
                        else [struct.unpack("<f", vv)[0]]
            if dtype == 1:
                arr = np.frombuffer(raw, dtype="<f4") if raw is not None \
                    else np.asarray(floats, dtype=np.float32)
                inits[name] = arr.reshape(dims).astype(np.float32)
            elif dtype == 7:
                inits[name] = np.frombuffer(raw, dtype="<i8").reshape(dims)
            else:
                raise ValueError(f"initializer {name}: data type {dtype}")
        elif f in (11, 12):
            for ff, _, vv in _fields(v):
                if ff == 1:
                    (inputs if f == 11 else outputs).append(vv.decode())
    inputs = [n for n in inputs if n not in inits]
    return {"nodes": nodes, "initializers": inits, "inputs": inputs, "outputs": outputs,
            "opset": opset}


def _conv(x, w, b, a):
    kh, kw = w.shape[2:]
    if a.get("group", 1) not in (None, 1) or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise ValueError("conv: only group=1, dilation 1")
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    if b is not None:
        y = y + b[None, :, None, None]
    return y.astype(np.float32)


def _maxpool(x, a):
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    if any(a.get("pads", [0, 0, 0, 0])):
        raise ValueError("maxpool: padding not handled")
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return win.max(axis=(4, 5))


def run_onnx(model, x):
    """A numpy interpreter for the few ops the demo model uses. Returns every tensor."""
    env = dict(model["initializers"])
    env[model["inputs"][0]] = x.astype(np.float32)
    for nd in model["nodes"]:
        op, a = nd["op_type"], nd["attrs"]
        ins = [env[n] if n else None for n in nd["input"]]
        if op == "Conv":
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(ins[0], 0)
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "MaxPool":
            y = _maxpool(ins[0], a)
        elif op == "GlobalAveragePool":
            y = ins[0].mean(axis=(2, 3), keepdims=True)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = ins[0].reshape(int(np.prod(ins[0].shape[:ax])), -1)
        elif op == "Gemm":
            A, B = ins[0], ins[1]
            if a.get("transA", 0):
                A = A.T
            if a.get("transB", 0):
                B = B.T
            y = a.get("alpha", 1.0) * (A @ B)
            if len(ins) > 2 and ins[2] is not None:
                y = y + a.get("beta", 1.0) * ins[2]
        else:
            raise ValueError(f"op {op} not handled by the checker")
        env[nd["output"][0]] = np.asarray(y, dtype=np.float32)
    return env


def describe_head(model):
    """Finds GlobalAveragePool -> Flatten -> Gemm -> output and returns the CAM tensor name,
    the Gemm's weight and bias names, and the Gemm attributes. Fails loudly otherwise."""
    nodes = model["nodes"]
    producers = {o: nd for nd in nodes for o in nd["output"]}
    gemm = producers[model["outputs"][0]]
    if gemm["op_type"] != "Gemm":
        raise SystemExit(f"head: output made by {gemm['op_type']}, not Gemm")
    flat = producers[gemm["input"][0]]
    gap = producers.get(flat["input"][0]) if flat["op_type"] == "Flatten" else None
    if gap is None or gap["op_type"] != "GlobalAveragePool":
        raise SystemExit("head: not GlobalAveragePool -> Flatten -> Gemm")
    cam = gap["input"][0]
    users = [nd for nd in nodes if cam in nd["input"]]
    if len(users) != 1:
        raise SystemExit(f"CAM tensor {cam} has {len(users)} consumers, expected 1")
    return {"cam_layer": cam, "cam_node": producers[cam], "gemm": gemm, "weight":
            gemm["input"][1], "bias": gemm["input"][2] if len(gemm["input"]) > 2 else None}


# ---------------------------------------------------------------------------------------------
# Sample images
# ---------------------------------------------------------------------------------------------

# name, class, width, height, encoding, seed index
EXAMPLES = [
    ("clear-1", "clear", 256, 256, "png8", 0),
    ("nodule-1", "nodule", 256, 256, "png8", 1),
    ("opacity-1", "opacity", 384, 384, "png16", 2),
    ("nodule-2", "nodule", 320, 320, "png16", 3),
    ("clear-2", "clear", 300, 300, "jpeg", 4),
    ("opacity-2", "opacity", 288, 288, "jpeg", 5),
    ("nodule-3", "nodule", 200, 150, "png8", 6),
    ("opacity-3", "opacity", 192, 240, "png8", 7),
    ("clear-3", "clear", 240, 240, "rgb-png", 8),
    ("nodule-4", "nodule", 272, 272, "rgb-jpeg", 9),
]

FORMAT_TEXT = {
    "png8": "PNG, 8-bit gray",
    "png16": "PNG, 16-bit gray (full 0-65535 range)",
    "jpeg": "JPEG (quality 92), gray",
    "rgb-png": "PNG, 8-bit RGB (gray slightly tinted)",
    "rgb-jpeg": "JPEG (quality 92), RGB (gray slightly tinted, 4:2:0 chroma)",
}

TINT = np.array([1.0, 0.95, 0.86])


def png_bit_depth(path):
    with open(path, "rb") as fh:
        head = fh.read(26)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return head[24]


def write_example(outdir, name, cls, w, h, enc, idx, seed):
    rng = np.random.default_rng([seed, SPLIT_EXAMPLES, idx])
    img, mask = synth_chest(h, w, LABELS.index(cls), rng)
    ext = ".jpg" if "jpeg" in enc else ".png"
    path = os.path.join(outdir, name + ext)
    if enc == "png16":
        lo, hi = img.min(), img.max()
        img16 = np.round((img - lo) / (hi - lo) * 65535.0).astype(np.uint16)
        Image.fromarray(img16).save(path, optimize=True)
        if png_bit_depth(path) != 16:
            raise SystemExit(f"{path}: not written as 16-bit")
    elif enc.startswith("rgb"):
        rgb = np.round(np.clip(img[..., None] * TINT * 255.0, 0, 255)).astype(np.uint8)
        pim = Image.fromarray(rgb, "RGB")
        if ext == ".jpg":
            pim.save(path, quality=92)
        else:
            pim.save(path, optimize=True)
    else:
        g8 = np.round(img * 255.0).astype(np.uint8)
        pim = Image.fromarray(g8, "L")
        if ext == ".jpg":
            pim.save(path, quality=92)
        else:
            pim.save(path, optimize=True)
    Image.fromarray(mask.astype(np.uint8) * 255, "L").save(
        os.path.join(outdir, name + "_mask.png"), optimize=True)
    return name + ext, name + "_mask.png"


def load_as_service(path):
    """Decodes like the service: samples as floats in [0, max_value], gray or RGB."""
    pim = Image.open(path)
    depth = png_bit_depth(path)
    if pim.mode in ("I;16", "I;16B", "I"):
        arr = np.asarray(pim).astype(np.float64)
        maxv = 65535.0 if depth == 16 else 255.0
    elif pim.mode == "L":
        arr, maxv = np.asarray(pim).astype(np.float64), 255.0
    else:
        arr, maxv = np.asarray(pim.convert("RGB")).astype(np.float64), 255.0
    return arr, maxv, pim.size


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="models/chest-demo")
    ap.add_argument("--examples", default="examples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=3000, help="training images")
    ap.add_argument("--val", type=int, default=900, help="validation images")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    t_start = time.time()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    log(f"torch {torch.__version__}, numpy {np.__version__}, seed {args.seed}, "
        f"{args.threads} threads")

    t0 = time.time()
    xs, ys, _ = make_split(args.seed, SPLIT_TRAIN, args.train)
    vx, vy, vmasks = make_split(args.seed, SPLIT_VAL, args.val)
    t_gen = time.time() - t0
    log(f"generated {args.train} training and {args.val} validation images in {t_gen:.1f} s")
    mean = round(float(xs.mean()), 4)
    std = round(float(xs.std()), 4)
    log(f"normalisation: mean {mean}, std {std}")

    model = ChestDemoNet()
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters")
    t0 = time.time()
    acc = train(model, xs, ys, vx, vy, mean, std, args.epochs, args.seed)
    t_train = time.time() - t0
    log(f"training: {t_train:.1f} s; validation accuracy {100 * acc:.2f}% on {args.val} images")
    if acc < TARGET_ACCURACY:
        raise SystemExit(f"FAILED: validation accuracy {100 * acc:.2f}% is under "
                         f"{100 * TARGET_ACCURACY:.0f}%; nothing written")
    hits, tried = cam_pointing(model, vx, vy, vmasks, mean, std)
    log(f"CAM peak within 8 px of the lesion: {hits}/{tried} correctly classified lesion "
        f"images ({100 * hits / max(tried, 1):.1f}%)")
    model.eval()

    # Export.
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    t0 = time.time()
    dummy = torch.zeros(1, 1, SIZE, SIZE)
    torch.onnx.export(model, dummy, onnx_path, opset_version=13, input_names=["input"],
                      output_names=["logits"], do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    onnx_bytes = os.path.getsize(onnx_path)
    g = read_onnx(onnx_path)
    head = describe_head(g)
    ops = collections.Counter(nd["op_type"] for nd in g["nodes"])
    log(f"ONNX: {onnx_path}, {onnx_bytes} bytes, opset {g['opset']}, ops {dict(ops)}")
    log(f"CAM layer: tensor '{head['cam_layer']}' (made by {head['cam_node']['op_type']} "
        f"node '{head['cam_node']['name']}'); classifier weight '{head['weight']}', "
        f"bias '{head['bias']}', Gemm attributes {head['gemm']['attrs']}")
    if onnx_bytes > MAX_ONNX_BYTES:
        raise SystemExit(f"FAILED: {onnx_path} is {onnx_bytes} bytes, over 2 MB")
    if "BatchNormalization" in ops:
        log("note: BatchNormalization was not folded into the convolutions")
    if not head["cam_node"]["name"].startswith("/features/block4/"):
        raise SystemExit("FAILED: the CAM tensor is not block4's output")
    gemm_a = head["gemm"]["attrs"]
    if gemm_a.get("transB", 0) != 1 or gemm_a.get("transA", 0):
        raise SystemExit(f"FAILED: unexpected Gemm attributes {gemm_a}")
    wt = g["initializers"][head["weight"]]
    if not np.array_equal(wt, model.classifier.weight.detach().numpy()):
        raise SystemExit("FAILED: the Gemm weight is not the classifier's weight")

    # The ONNX graph, interpreted in numpy, must agree with PyTorch: logits and CAM layer.
    feats = {}
    hook = model.features.block4.register_forward_hook(lambda m, i, o: feats.update(a=o))
    probe = (vx[:4] - mean) / std
    with torch.no_grad():
        ref = model(probe).numpy()
    hook.remove()
    env = run_onnx(g, probe.numpy())
    d_logits = float(np.abs(env["logits"] - ref).max())
    d_cam = float(np.abs(env[head["cam_layer"]] - feats["a"].numpy()).max())
    log(f"numpy ONNX interpreter vs PyTorch: max |diff| logits {d_logits:.2e}, "
        f"CAM layer {d_cam:.2e}")
    if d_logits > 1e-3 or d_cam > 1e-3:
        raise SystemExit("FAILED: the exported graph does not match PyTorch")
    log(f"CAM layer shape {list(env[head['cam_layer']].shape)}; export and checks: "
        f"{time.time() - t0:.1f} s")

    meta = collections.OrderedDict([
        ("name", "chest-demo"),
        ("version", "1.0.0"),
        ("description",
         "Demo model for xaid: a small CNN classifying chest-radiograph-like pictures as "
         "clear, nodule or opacity. It was trained on SYNTHETIC images generated by "
         "tools/make_demo_model.py; it has NO clinical meaning. Validation accuracy "
         f"{100 * acc:.1f}% on {args.val} synthetic images."),
        ("labels", LABELS),
        ("task", "multiclass"),
        ("output_activation", "softmax"),
        # The format is docs/models.md's; xaid's loader checks every field against the graph.
        ("input", collections.OrderedDict([
            ("name", "input"), ("channels", 1), ("height", SIZE), ("width", SIZE),
            ("gray", "luma"),
        ])),
        ("output", collections.OrderedDict([("name", "logits")])),
        ("resize", collections.OrderedDict([("mode", "stretch")])),
        ("intensity", collections.OrderedDict([("scale", 1.0)])),
        ("normalize", collections.OrderedDict([("mean", [mean]), ("std", [std])])),
        ("cam_layer", head["cam_layer"]),
        ("classifier", collections.OrderedDict([("weight", head["weight"]),
                                                ("bias", head["bias"])])),
        ("training", collections.OrderedDict([
            ("script", "tools/make_demo_model.py"), ("seed", args.seed),
            ("framework", f"PyTorch {torch.__version__}"),
            ("train_images", args.train), ("validation_images", args.val),
            ("epochs", args.epochs), ("validation_accuracy", round(acc, 4)),
            ("cam_pointing", f"CAM peak within 8 px of the lesion on {hits} of {tried} "
                             "correctly classified validation lesion images"),
        ])),
    ])
    with open(os.path.join(args.out, "model.json"), "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")

    # Sample images and what PyTorch says about them.
    t0 = time.time()
    os.makedirs(args.examples, exist_ok=True)
    expected = collections.OrderedDict()
    rows = []
    for name, cls, w, h, enc, idx in EXAMPLES:
        fname, mname = write_example(args.examples, name, cls, w, h, enc, idx, args.seed)
        fpath = os.path.join(args.examples, fname)
        arr, maxv, size = load_as_service(fpath)
        unit = to_unit_128(arr, maxv)
        gray = arr @ np.asarray(LUMA) if arr.ndim == 3 else arr
        ref = resize_weights(arr.shape[0], SIZE) @ gray @ resize_weights(arr.shape[1], SIZE).T
        d_resize = float(np.abs(ref / maxv - unit[0, 0].double().numpy()).max())
        if d_resize > 1e-5:
            raise SystemExit(f"FAILED: {fname}: resize_weights differs from PyTorch "
                             f"({d_resize:.2e})")
        x = (unit - mean) / std
        with torch.no_grad():
            logits = model(x)[0].double()
        probs = torch.softmax(logits, 0)
        pred = LABELS[int(probs.argmax())]
        expected[fname] = collections.OrderedDict([
            ("label", cls), ("predicted", pred), ("mask", mname),
            ("width", size[0]), ("height", size[1]),
            ("probabilities", collections.OrderedDict(
                (lab, round(float(p), 6)) for lab, p in zip(LABELS, probs))),
            ("logits", [round(float(v), 6) for v in logits]),
        ])
        rows.append((fname, mname, cls, FORMAT_TEXT[enc], f"{size[0]}x{size[1]}",
                     os.path.getsize(fpath), probs.tolist(), pred))
        log(f"{fname:16s} {cls:8s} {size[0]}x{size[1]:<4d} predicted {pred:8s} "
            + " ".join(f"{lab} {p:.4f}" for lab, p in zip(LABELS, probs.tolist())))
    with open(os.path.join(args.examples, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=2)
        fh.write("\n")
    write_readme(args.examples, rows, meta)
    log(f"examples: {time.time() - t0:.1f} s")
    wrong = [r[0] for r in rows if r[2] != r[7]]
    if wrong:
        log(f"note: misclassified samples: {', '.join(wrong)}")
    log(f"total: {time.time() - t_start:.1f} s")


def write_readme(outdir, rows, meta):
    mean, std = meta["normalize"]["mean"][0], meta["normalize"]["std"][0]
    lines = [
        "# Sample images for the demo model",
        "",
        "Synthetic chest-radiograph-like pictures made by `tools/make_demo_model.py` (the",
        "generator of the demo model's training data, with other seeds). They have **no",
        "clinical meaning**. Each image comes with `NAME_mask.png`, its ground-truth lesion",
        "mask: same size, 8-bit gray, 255 on the lesion, all 0 for `clear`.",
        "",
        "The probabilities are those of `models/chest-demo/model.onnx` in PyTorch, with the",
        "service's preprocessing:",
        "",
        "1. decode (PIL, libjpeg-turbo for JPEG) to float samples in [0, 255] or [0, 65535];",
        "2. RGB to gray with ITU-R 601 luma, 0.299 R + 0.587 G + 0.114 B, in float, unrounded;",
        "3. stretch to 128x128: bilinear, `align_corners=False`, antialiased when shrinking",
        "   (`torch.nn.functional.interpolate(..., mode=\"bilinear\", antialias=True)`; the",
        "   filter is written out in `resize_weights()` of the script);",
        "4. divide by 255 or 65535;",
        f"5. `(x - {mean}) / {std}`.",
        "",
        "`expected.json` holds the same numbers (probabilities, and logits) for each file,",
        "for tests comparing the C engine with PyTorch.",
        "",
        "| file | class | format | size (w x h) | bytes | p(clear) | p(nodule) | p(opacity) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fname, mname, cls, fmt, size, nbytes, probs, pred in rows:
        mark = "" if pred == cls else f" (**predicted {pred}**)"
        lines.append(f"| `{fname}` | {cls}{mark} | {fmt} | {size} | {nbytes} | "
                     + " | ".join(f"{p:.4f}" for p in probs) + " |")
    wrong = [r for r in rows if r[2] != r[7]]
    if wrong:
        lines += ["", "The samples were drawn once with fixed seeds, not redrawn until the model "
                  "got them", "right: " + ", ".join(f"`{r[0]}` ({r[2]}, predicted {r[7]})"
                                                     for r in wrong)
                  + " is a miss, kept as a failure", "case to explain."]
    lines += ["", "Regenerate them, with the model, by "
              "`/usr/bin/python3 tools/make_demo_model.py`.", ""]
    with open(os.path.join(outdir, "README.md"), "w") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    main()
