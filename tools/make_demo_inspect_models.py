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
  models/chest-attention  a small CNN whose pooling is a trainable attention map (a sigmoid
                          1x1-convolution gate over the last block, the pooled feature being the
                          attention-weighted mean), for the `attention` method: the gate is a
                          graph output "attention" [N, 1, 16, 16] declared in model.json.

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


class AttentionNet(nn.Module):
    """conv blocks to 32x16x16 features f; attention a = sigmoid(conv1x1(f)); the pooled
    feature mean(a f) / mean(a), the attention-weighted mean of f (ReduceMean, which xaid's
    engine runs); a linear classifier. Outputs (logits, attention)."""

    def __init__(self, n_classes=3):
        super().__init__()

        def block(a, b):
            return nn.Sequential(nn.Conv2d(a, b, 3, padding=1), nn.BatchNorm2d(b), nn.ReLU(),
                                 nn.MaxPool2d(2))

        self.features = nn.Sequential(block(1, 16), block(16, 24), block(24, 32),
                                      nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.gate = nn.Conv2d(32, 1, 1)
        self.classifier = nn.Linear(32, n_classes)

    def forward(self, x):
        f = self.features(x)
        a = torch.sigmoid(self.gate(f))
        pooled = torch.flatten((f * a).mean((2, 3)) / (a.mean((2, 3)) + 1e-6), 1)
        return self.classifier(pooled), a


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
    xs, ys, _ = dm.make_split(args.seed, SPLIT_ATT_TRAIN, args.att_train)
    vx, vy, _ = dm.make_split(args.seed, SPLIT_ATT_VAL, 600)
    xs, vx = (xs - mean) / std, (vx - mean) / std
    model = AttentionNet()
    g = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = args.att_epochs * math.ceil(len(xs) / 16)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps,
                                                pct_start=0.2)
    acc = 0.0
    for ep in range(args.att_epochs):
        t0 = time.time()
        model.train()
        order = torch.randperm(len(xs), generator=g)
        for i in range(0, len(xs), 16):
            idx = order[i:i + 16]
            # a small random shift, as the demo model's training, keeps the evidence local
            sx, sy = (int(v) for v in torch.randint(-4, 5, (2,), generator=g))
            xb = torch.roll(xs[idx], shifts=(sy, sx), dims=(2, 3))
            loss = F.cross_entropy(model(xb)[0], ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(vx)[0].argmax(1) == vy).float().mean())
        log(f"  attention epoch {ep + 1}: validation accuracy {100 * acc:.1f}% "
            f"({time.time() - t0:.1f} s)")
    if acc < 0.9:
        raise SystemExit(f"FAILED: the attention model's validation accuracy {100 * acc:.1f}% "
                         "is under 90%; nothing written")
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
    ap.add_argument("--att-train", type=int, default=2400)
    ap.add_argument("--att-epochs", type=int, default=8)
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
            "Demo CNN with a trainable attention gate for xaid's attention method, trained on "
            "SYNTHETIC chest-like pictures (tools/make_demo_inspect_models.py); NO clinical "
            f"meaning. Validation accuracy {100 * acc:.1f}% on 600 synthetic pictures.",
            dm.LABELS, "multiclass", mean, std)
        meta["attention"] = {"outputs": ["attention"]}
        meta["training"] = collections.OrderedDict([
            ("script", "tools/make_demo_inspect_models.py"), ("seed", args.seed),
            ("train_images", args.att_train), ("epochs", args.att_epochs),
            ("validation_accuracy", round(acc, 4))])
        write_json(meta, os.path.join(out, "model.json"))


if __name__ == "__main__":
    main()
