#!/usr/bin/python3
"""make_demo_inspect_models.py - the demo models of xaid's inspection methods.

Both are trained on the SYNTHETIC chest-like pictures of tools/make_demo_model.py (same
generator, same 128x128 preprocessing and normalisation as models/chest-demo) and have NO
clinical meaning:

  models/chest-ae         a denoising convolutional autoencoder trained on "clear" pictures only,
                          for the `reconstruction` method: its input is a clear picture plus
                          coarse noise (smooth random bumps of both signs), its target the clean
                          picture, so it learns to put back normal anatomy, and lesions, which
                          it never saw, are not reconstructed and light up in the error map.
                          Skip connections at 16x16 and 32x32 only, edges replicated. Its score
                          output "logits" is one anomaly logit, (peak - t) / s, peak the maximum
                          of max(G * (x - r), 0)^2 (G the method's default residual blur: the
                          peak_error of its default map), t its 99th percentile on held-out
                          clear pictures and s their standard deviation (label "anomaly", task
                          multilabel: probability 0.5 at t).
  models/chest-attention  the demo model's feature extractor (frozen, read from
                          models/chest-demo/model.onnx) with a trainable attention gate (a
                          sigmoid 1x1 convolution over its last block; the pooled feature is the
                          attention-weighted mean) and a linear classifier, for the `attention`
                          method: the gate is a graph output "attention" [N, 1, 16, 16] declared
                          in model.json.

usage: /usr/bin/python3 tools/make_demo_inspect_models.py [--seed 0] [--threads 2] [--only ae]

Seeded and deterministic (torch.use_deterministic_algorithms, a fixed thread count): a rerun on
the same machine gives the same weights. The autoencoder trains in about 3.5 minutes on two
idle cores; its ONNX file is checked against the module with tools/onnx_torch_eval.py.
"""
import argparse
import collections
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_demo_model as dm  # noqa: E402

SPLIT_AE_TRAIN, SPLIT_AE_VAL, SPLIT_ATT_TRAIN, SPLIT_ATT_VAL = 11, 12, 13, 14
BLUR = 3.0  # the reconstruction method's default residual blur, sigma (core/methods)
NOISE = ((16, 0.8), (32, 0.4))  # the denoising corruption: (grid side, standard deviation)


def log(msg):
    print(msg, flush=True)


def demo_norm():
    meta = json.load(open(os.path.join(ROOT, "models/chest-demo/model.json")))
    return meta["normalize"]["mean"][0], meta["normalize"]["std"][0]


def gaussian_kernel(sigma):
    """The 2-D Gaussian of xaid's blur (core/methods/_perturb.h): radius ceil(3 sigma), weights
    exp(-d^2 / (2 sigma^2)) normalised to sum 1, as a [1, 1, k, k] convolution kernel."""
    r = int(math.ceil(3.0 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-t * t / (2.0 * sigma * sigma))
    k = k / k.sum()
    return (k[:, None] * k[None, :]).float()[None, None]


def conv3(a, b, stride=1):
    """3x3 convolution, edges replicated (zero padding gave the border of the image errors
    larger than a nodule's)."""
    return nn.Conv2d(a, b, 3, stride=stride, padding=1, padding_mode="replicate")


class AutoEncoder(nn.Module):
    """A denoising autoencoder: four stride-2 convolutions 128 -> 8x8x48, back up by bilinear
    upsampling and 3x3 convolutions, with the encoder's 16x16 and 32x32 features concatenated
    on the way up (U-Net skips) but none at 64x64 or 128x128, where a lesion's own pixels would
    pass straight through. Outputs (anomaly logit [N, 1], reconstruction).

    The logit is (peak - t) * inv_s with peak the maximum over the pixels of max(G * (x - r),
    0)^2, G the Gaussian blur of sigma BLUR, edges replicated: the reconstruction method's
    map at its defaults (error=positive, blur=3) and its peak_error metric, which separates
    clear from lesion pictures far better than the mean."""

    def __init__(self, ch=(16, 32, 48, 48)):
        super().__init__()
        c1, c2, c3, c4 = ch

        def down(a, b):
            return nn.Sequential(conv3(a, b, 2), nn.ReLU())

        def up(a, b, relu=True):
            layers = [nn.Upsample(scale_factor=2, mode="bilinear"), conv3(a, b)]
            return nn.Sequential(*(layers + [nn.ReLU()] if relu else layers))

        self.down1, self.down2, self.down3, self.down4 = \
            down(1, c1), down(c1, c2), down(c2, c3), down(c3, c4)
        self.up4 = up(c4, c3)
        self.mix3 = nn.Sequential(conv3(2 * c3, c3), nn.ReLU())
        self.up3 = up(c3, c2)
        self.mix2 = nn.Sequential(conv3(2 * c2, c2), nn.ReLU())
        self.up2 = up(c2, c1)
        self.up1 = up(c1, 1, relu=False)
        self.register_buffer("blur", gaussian_kernel(BLUR))
        self.blur_radius = self.blur.shape[-1] // 2
        self.register_buffer("t", torch.zeros(1))
        self.register_buffer("inv_s", torch.ones(1))

    def reconstruct(self, x):
        h1 = self.down1(x)
        h2 = self.down2(h1)
        h3 = self.down3(h2)
        y = self.mix3(torch.cat([self.up4(self.down4(h3)), h3], 1))
        y = self.mix2(torch.cat([self.up3(y), h2], 1))
        return self.up1(self.up2(y))

    def peak(self, x, r):
        """The peak of the default map, [N, 1]."""
        p = self.blur_radius
        d = F.conv2d(F.pad(x - r, (p, p, p, p), mode="replicate"), self.blur)
        e = torch.relu(d)
        return torch.flatten(F.adaptive_max_pool2d(e * e, 1), 1)

    def forward(self, x):
        r = self.reconstruct(x)
        return (self.peak(x, r) - self.t) * self.inv_s, r


def coarse_noise(n, g, size):
    """The corruption of the denoising objective: Gaussian noise drawn on coarse grids
    (NOISE: grid side, standard deviation in normalised units) and upsampled bilinearly to
    the picture, i.e. smooth random bumps of a lesion's scale and contrast, of both signs."""
    out = torch.zeros(n, 1, size, size)
    for side, sd in NOISE:
        z = torch.randn(n, 1, side, side, generator=g) * sd
        out += F.interpolate(z, size=(size, size), mode="bilinear", align_corners=False)
    return out


def demo_backbone():
    """models/chest-demo's feature extractor as a torch module, its weights read from the ONNX
    file (whose convolutions have their BatchNorm folded in: each BatchNorm of
    make_demo_model.ChestDemoNet becomes the identity plus the folded bias), frozen."""
    sys.path.insert(0, HERE)
    from xai_ref.model import OnnxModel
    import onnx_torch_eval
    g = OnnxModel(os.path.join(ROOT, "models/chest-demo/model.onnx")).graph
    net = dm.ChestDemoNet()
    mods = dict(net.named_modules())
    for n in g["nodes"]:
        if n["op"] != "Conv":
            continue
        path = n["name"].strip("/").rsplit("/", 1)[0].replace("/", ".")
        bn = path[:-len(".conv")] + ".bn" if path.endswith(".conv") else \
            path.rsplit(".", 1)[0] + ".bn2"
        w = onnx_torch_eval.to_torch(g["tensors"][n["in"][1]])
        b = onnx_torch_eval.to_torch(g["tensors"][n["in"][2]])
        with torch.no_grad():
            mods[path].weight.copy_(w)
            m = mods[bn]
            m.weight.fill_(1.0)
            m.bias.copy_(b)
            m.running_mean.zero_()
            m.running_var.fill_(1.0 - m.eps)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class AttentionNet(nn.Module):
    """The demo model's frozen feature extractor (64 x 16 x 16 features f), a trainable
    attention gate a = sigmoid(conv1x1(f)), the pooled feature mean(a f) / mean(a) (the
    attention-weighted mean, ReduceMean in ONNX) and a linear classifier, initialised with the
    demo's (a uniform gate gives back its global average pooling). Outputs (logits,
    attention)."""

    def __init__(self, backbone):
        super().__init__()
        self.features = backbone.features
        self.gate = nn.Conv2d(64, 1, 1)
        self.classifier = nn.Linear(64, 3)
        with torch.no_grad():
            self.classifier.weight.copy_(backbone.classifier.weight)
            self.classifier.bias.copy_(backbone.classifier.bias)
            self.gate.weight.zero_()
            self.gate.bias.zero_()

    def head(self, f):
        a = torch.sigmoid(self.gate(f))
        pooled = torch.flatten((f * a).mean((2, 3)) / (a.mean((2, 3)) + 1e-6), 1)
        return self.classifier(pooled), a

    def forward(self, x):
        return self.head(self.features(x))


def train_ae(args, mean, std):
    """Denoising: the input is a clear picture plus coarse noise, the target the clean
    picture, so the network learns to put back normal anatomy under blob-like disturbances
    rather than to copy its input (Adam, one-cycle schedule)."""
    t0 = time.time()
    xs = (dm.make_split(args.seed, SPLIT_AE_TRAIN, args.ae_train, only=0)[0] - mean) / std
    vx = (dm.make_split(args.seed, SPLIT_AE_VAL, 300, only=0)[0] - mean) / std
    log(f"autoencoder: {len(xs)} clear training pictures, {len(vx)} held out "
        f"({time.time() - t0:.1f} s)")
    model = AutoEncoder()
    g = torch.Generator().manual_seed(args.seed)
    batch = 16
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=2e-3, pct_start=0.15,
        total_steps=args.ae_epochs * ((len(xs) + batch - 1) // batch))
    for ep in range(args.ae_epochs):
        t0 = time.time()
        order = torch.randperm(len(xs), generator=g)
        total = 0.0
        for i in range(0, len(xs), batch):
            xb = xs[order[i:i + batch]]
            loss = F.mse_loss(model.reconstruct(xb + coarse_noise(len(xb), g, dm.SIZE)), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(xb)
        log(f"  epoch {ep + 1}: mse {total / len(xs):.5f} ({time.time() - t0:.1f} s)")
    model.eval()
    with torch.no_grad():
        peak = torch.cat([model.peak(vx[i:i + 100], model.reconstruct(vx[i:i + 100]))
                          for i in range(0, len(vx), 100)])[:, 0]
    t = float(torch.quantile(peak, 0.99))
    s = float(peak.std())
    model.t.fill_(t)
    model.inv_s.fill_(1.0 / s)
    log(f"autoencoder: held-out clear peak error median {float(peak.median()):.5f}, 99th "
        f"percentile {t:.5f}, std {s:.5f}")
    return model, t, s


def train_attention(args, mean, std):
    """Trains the gate and the classifier on features computed once by the frozen backbone,
    with an entropy penalty that makes the gate select (a gate at 1 everywhere is plain
    average pooling)."""
    backbone = demo_backbone()
    model = AttentionNet(backbone)
    xs, ys, _ = dm.make_split(args.seed, SPLIT_ATT_TRAIN, args.att_train)
    vx, vy, _ = dm.make_split(args.seed, SPLIT_ATT_VAL, 600)
    with torch.no_grad():
        fs = torch.cat([model.features((xs[i:i + 100] - mean) / std)
                        for i in range(0, len(xs), 100)])
        vf = torch.cat([model.features((vx[i:i + 100] - mean) / std)
                        for i in range(0, len(vx), 100)])
    g = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(list(model.gate.parameters()) + list(model.classifier.parameters()),
                           lr=1e-2)
    acc = 0.0
    for ep in range(args.att_epochs):
        order = torch.randperm(len(fs), generator=g)
        for i in range(0, len(fs), 32):
            idx = order[i:i + 32]
            logits, a = model.head(fs[idx])
            sparsity = a.mean()  # the gate should pick regions, not open everywhere
            loss = F.cross_entropy(logits, ys[idx]) + 0.5 * sparsity
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            logits, a = model.head(vf)
            acc = float((logits.argmax(1) == vy).float().mean())
        log(f"  attention epoch {ep + 1}: validation accuracy {100 * acc:.1f}%, mean gate "
            f"{float(a.mean()):.3f}")
    if acc < 0.9:
        raise SystemExit(f"FAILED: the attention model's validation accuracy {100 * acc:.1f}% "
                         "is under 90%; nothing written")
    model.eval()
    return model, acc


def _pad_symbolic(g, x, pad, mode, value):
    """aten::pad with constant sizes as one ONNX Pad whose pads input is a constant (torch
    1.13 otherwise computes the pads in a subgraph of Slice, Transpose and ConstantOfShape
    nodes that its constant folding leaves in place). Replicated edges only."""
    from torch.onnx import symbolic_helper as sh
    p = [sh._get_const(v, "i", "pad") for v in sh._unpack_list(pad)] \
        if sh._is_packed_list(pad) else sh._get_const(pad, "is", "pad")
    if sh._get_const(mode, "s", "mode") != "replicate" or len(p) != 4:
        raise SystemExit("export: only replicate padding of the last two axes is expected")
    pads = torch.tensor([0, 0, p[2], p[0], 0, 0, p[3], p[1]], dtype=torch.int64)
    return g.op("Pad", x, g.op("Constant", value_t=pads), mode_s="edge")


def export(model, path, names):
    torch.onnx.register_custom_op_symbolic("aten::pad", _pad_symbolic, 13)
    torch.onnx.export(model, torch.zeros(1, 1, dm.SIZE, dm.SIZE), path, opset_version=13,
                      input_names=["input"], output_names=names, do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in names}})
    log(f"wrote {path} ({os.path.getsize(path)} bytes)")


def check_export(model, path, mean, std):
    """The ONNX file, run by the torch interpreter of tools/onnx_torch_eval.py, must give the
    module's outputs on a few fresh pictures of each class."""
    from xai_ref.model import OnnxModel
    import onnx_torch_eval
    g = OnnxModel(path).graph
    x = (dm.make_split(0, 99, 6)[0] - mean) / std
    with torch.no_grad():
        want = model(x)
    got, _ = onnx_torch_eval.run(g, x)
    for w, o in zip(want, got):
        err = float((w - o).abs().max() / w.abs().max())
        if err > 1e-4:
            raise SystemExit(f"FAILED: the ONNX file differs from the module ({err:.2e})")
    log(f"checked {path} against the module")


def base_meta(name, description, labels, task, mean, std):
    return collections.OrderedDict([
        ("name", name), ("version", "1.0.0"), ("description", description),
        ("labels", labels), ("task", task),
        ("input", collections.OrderedDict([("name", "input"), ("channels", 1),
                                           ("height", dm.SIZE), ("width", dm.SIZE),
                                           ("gray", "luma")])),
        ("output", {"name": "logits"}), ("resize", {"mode": "stretch"}),
        ("intensity", {"scale": 1.0}), ("normalize", {"mean": [mean], "std": [std]}),
    ])


def write_json(meta, path):
    with open(path, "w") as fh:
        json.dump(meta, fh, indent=2)
        fh.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ae-train", type=int, default=1200)
    ap.add_argument("--ae-epochs", type=int, default=16)
    ap.add_argument("--att-train", type=int, default=1500)
    ap.add_argument("--att-epochs", type=int, default=20)
    ap.add_argument("--only", choices=["ae", "attention"], default=None)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    mean, std = demo_norm()

    if args.only in (None, "ae"):
        ae, t, s = train_ae(args, mean, std)
        out = os.path.join(ROOT, "models/chest-ae")
        os.makedirs(out, exist_ok=True)
        export(ae, os.path.join(out, "model.onnx"), ["logits", "reconstruction"])
        check_export(ae, os.path.join(out, "model.onnx"), mean, std)
        meta = base_meta(
            "chest-ae",
            "Demo denoising autoencoder for xaid's reconstruction method, trained on SYNTHETIC "
            "clear chest-like pictures only (tools/make_demo_inspect_models.py); NO clinical "
            "meaning. Its one score is an anomaly logit (peak - t) / s, peak the maximum of "
            "the reconstruction method's default map (its peak_error) and t its 99th "
            "percentile on held-out clear pictures.",
            ["anomaly"], "multilabel", mean, std)
        meta["cam_layer"] = "/down3/down3.1/Relu_output_0"
        meta["reconstruction"] = {"output": "reconstruction"}
        meta["training"] = collections.OrderedDict([
            ("script", "tools/make_demo_inspect_models.py"), ("seed", args.seed),
            ("clear_images", args.ae_train), ("epochs", args.ae_epochs),
            ("objective", "denoising, coarse noise " +
             ", ".join(f"{side}x{side} sd {sd}" for side, sd in NOISE)),
            ("threshold_t", round(t, 6)), ("scale_s", round(s, 6))])
        write_json(meta, os.path.join(out, "model.json"))

    if args.only in (None, "attention"):
        att, acc = train_attention(args, mean, std)
        out = os.path.join(ROOT, "models/chest-attention")
        os.makedirs(out, exist_ok=True)
        export(att, os.path.join(out, "model.onnx"), ["logits", "attention"])
        meta = base_meta(
            "chest-attention",
            "Demo model for xaid's attention method: chest-demo's feature extractor with a "
            "trainable attention gate pooling its last block, trained on SYNTHETIC chest-like "
            "pictures (tools/make_demo_inspect_models.py); NO clinical meaning. Validation "
            f"accuracy {100 * acc:.1f}% on 600 synthetic pictures.",
            dm.LABELS, "multiclass", mean, std)
        meta["attention"] = {"outputs": ["attention"]}
        meta["training"] = collections.OrderedDict([
            ("script", "tools/make_demo_inspect_models.py"), ("seed", args.seed),
            ("train_images", args.att_train), ("epochs", args.att_epochs),
            ("validation_accuracy", round(acc, 4))])
        write_json(meta, os.path.join(out, "model.json"))


if __name__ == "__main__":
    main()
