#!/usr/bin/python3
"""make_demo_inspect_models.py - the demo models of xaid's inspection methods.

Both are trained on the SYNTHETIC chest-like pictures of tools/make_demo_model.py (same
generator, same 128x128 preprocessing and normalisation as models/chest-demo) and have NO
clinical meaning:

  models/chest-ae         a convolutional autoencoder trained on "clear" pictures only, for the
                          `reconstruction` method: lesions, which it never saw, are reconstructed
                          badly and light up in the per-pixel error. Its score output "logits"
                          is one anomaly logit, (mean squared error - t) / s, with t the 99th
                          percentile of the error on held-out clear pictures and s their standard
                          deviation (label "anomaly", task multilabel: probability 0.5 at t).
  models/chest-attention  the demo model's feature extractor (frozen, read from
                          models/chest-demo/model.onnx) with a trainable attention gate (a
                          sigmoid 1x1 convolution over its last block; the pooled feature is the
                          attention-weighted mean) and a linear classifier, for the `attention`
                          method: the gate is a graph output "attention" [N, 1, 16, 16] declared
                          in model.json.

usage: /usr/bin/python3 tools/make_demo_inspect_models.py [--seed 0] [--threads 2]
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


def log(msg):
    print(msg, flush=True)


def demo_norm():
    meta = json.load(open(os.path.join(ROOT, "models/chest-demo/model.json")))
    return meta["normalize"]["mean"][0], meta["normalize"]["std"][0]


class AutoEncoder(nn.Module):
    """128 -> 8x8x16 bottleneck -> 128. Outputs (anomaly logit [N,1], reconstruction)."""

    def __init__(self):
        super().__init__()

        def down(a, b):
            return nn.Sequential(nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU())

        def up(a, b, relu=True):
            layers = [nn.ConvTranspose2d(a, b, 4, stride=2, padding=1)]
            return nn.Sequential(*(layers + [nn.ReLU()] if relu else layers))

        self.encoder = nn.Sequential(down(1, 16), down(16, 32), down(32, 32), down(32, 16))
        self.decoder = nn.Sequential(up(16, 32), up(32, 32), up(32, 16), up(16, 1, relu=False))
        self.register_buffer("t", torch.zeros(1))
        self.register_buffer("inv_s", torch.ones(1))

    def reconstruct(self, x):
        return self.decoder(self.encoder(x))

    def forward(self, x):
        r = self.reconstruct(x)
        d = r - x
        err = torch.flatten(d * d, 1).mean(1, keepdim=True)
        return (err - self.t) * self.inv_s, r


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


def clear_split(seed, split, n):
    """n clear pictures (make_split cycles the classes; keep the clear third)."""
    xs, ys, _ = dm.make_split(seed, split, 3 * n)
    return xs[ys == 0]


def train_ae(args, mean, std):
    t0 = time.time()
    xs = (clear_split(args.seed, SPLIT_AE_TRAIN, args.ae_train) - mean) / std
    vx = (clear_split(args.seed, SPLIT_AE_VAL, 300) - mean) / std
    log(f"autoencoder: {len(xs)} clear training pictures, {len(vx)} held out "
        f"({time.time() - t0:.1f} s)")
    model = AutoEncoder()
    g = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for ep in range(args.ae_epochs):
        t0 = time.time()
        order = torch.randperm(len(xs), generator=g)
        total = 0.0
        for i in range(0, len(xs), 16):
            xb = xs[order[i:i + 16]]
            loss = F.mse_loss(model.reconstruct(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(xb)
        log(f"  epoch {ep + 1}: mse {total / len(xs):.5f} ({time.time() - t0:.1f} s)")
    model.eval()
    with torch.no_grad():
        r = model.reconstruct(vx)
        err = ((r - vx) ** 2).flatten(1).mean(1)
    t = float(torch.quantile(err, 0.99))
    s = float(err.std())
    model.t.fill_(t)
    model.inv_s.fill_(1.0 / s)
    log(f"autoencoder: held-out clear error mean {float(err.mean()):.5f}, 99th percentile "
        f"{t:.5f}, std {s:.5f}")
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


def export(model, path, names):
    torch.onnx.export(model, torch.zeros(1, 1, dm.SIZE, dm.SIZE), path, opset_version=13,
                      input_names=["input"], output_names=names, do_constant_folding=True,
                      dynamic_axes={"input": {0: "batch"}, **{n: {0: "batch"} for n in names}})
    log(f"wrote {path} ({os.path.getsize(path)} bytes)")


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
    ap.add_argument("--ae-train", type=int, default=900)
    ap.add_argument("--ae-epochs", type=int, default=8)
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
        meta = base_meta(
            "chest-ae",
            "Demo autoencoder for xaid's reconstruction method, trained on SYNTHETIC clear "
            "chest-like pictures only (tools/make_demo_inspect_models.py); NO clinical meaning. "
            "Its one score is an anomaly logit (mean squared reconstruction error - t) / s with "
            "t the 99th percentile of the error on held-out clear pictures.",
            ["anomaly"], "multilabel", mean, std)
        meta["cam_layer"] = "/encoder/encoder.2/encoder.2.1/Relu_output_0"
        meta["reconstruction"] = {"output": "reconstruction"}
        meta["training"] = collections.OrderedDict([
            ("script", "tools/make_demo_inspect_models.py"), ("seed", args.seed),
            ("clear_images", args.ae_train), ("epochs", args.ae_epochs),
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
