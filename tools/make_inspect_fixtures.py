#!/usr/bin/python3
"""make_inspect_fixtures.py - PyTorch, numpy and scikit-learn references for the inspection
views (tests/inspect/test_inspect.c).

usage: /usr/bin/python3 tools/make_inspect_fixtures.py OUTDIR [--force]

Writes OUTDIR/manifest.json and raw little-endian float32 files:

  filters   the kernels of convolutions as PyTorch holds them: the demo model's first Conv
            (read from its ONNX file), and a small RGB model exported with its BatchNorm
            kept as a node, whose reference is the folded kernel W * gamma / sqrt(var + eps)
            computed in torch (the engine folds BatchNorm into the convolution at load)
  features  activations of two demo-model layers for a sample image (the torch interpreter
            of the ONNX file), the top-k channels by mean, and the count of dead channels
  embed     the demo model's embedding vectors (the input of its final linear layer) and
            logits for a batch of the sample images
  pca       coordinates U S from numpy's SVD of the centred data (X^T X and X X^T paths)
  tsne      scikit-learn's t-SNE (exact and Barnes-Hut) on clustered data: its embedding and
            its trustworthiness and k-NN preservation, which the engine's own t-SNE must reach
            within a margin (t-SNE is not unique, so coordinates are not compared)

The script does nothing when OUTDIR/stamp.txt matches (the script, the demo model, versions).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import onnx_torch_eval  # noqa: E402
from xai_ref.model import OnnxModel  # noqa: E402

DEMO = os.path.join(ROOT, "models/chest-demo")
EXAMPLES = ["clear-1.png", "clear-3.png", "nodule-2.png", "nodule-3.png", "opacity-1.png",
            "opacity-3.png"]


def save(outdir, name, arr):
    np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(outdir, name))
    return name


def demo_meta():
    return json.load(open(os.path.join(DEMO, "model.json")))


def preprocess(path, meta):
    """A sample image as the demo model's input (PIL decode, luma, antialiased stretch)."""
    from PIL import Image
    img = Image.open(path)
    a = np.asarray(img).astype(np.float32)
    maxv = 65535.0 if a.max() > 255 else 255.0
    if a.ndim == 3:
        a = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    t = torch.from_numpy(a / maxv)[None, None]
    t = F.interpolate(t, size=(128, 128), mode="bilinear", align_corners=False, antialias=True)
    m, s = meta["normalize"]["mean"][0], meta["normalize"]["std"][0]
    return (t - m) / s


# ---- filters ----

class RGBNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.conv2(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def rgb_model(outdir):
    torch.manual_seed(3)
    m = RGBNet().eval()
    with torch.no_grad():  # statistics that make folding visible, one negative gamma
        m.bn1.weight.copy_(torch.linspace(-0.5, 2.0, 8))
        m.bn1.bias.copy_(torch.linspace(-0.2, 0.3, 8))
        m.bn1.running_mean.copy_(torch.linspace(-0.1, 0.1, 8))
        m.bn1.running_var.copy_(torch.linspace(0.5, 3.0, 8))
    path = os.path.join(outdir, "rgbnet.onnx")
    torch.onnx.export(m, torch.zeros(1, 3, 16, 16), path, opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    bn = m.bn1
    s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = (m.conv1.weight * s[:, None, None, None]).detach()
    return path, folded, m.conv2.weight.detach()


def filters(outdir):
    g = OnnxModel(os.path.join(DEMO, "model.onnx")).graph
    conv = next(n for n in g["nodes"] if n["op"] == "Conv")
    w = onnx_torch_eval.to_torch(g["tensors"][conv["in"][1]])
    cases = [dict(name="demo_first", onnx=os.path.join(DEMO, "model.onnx"), layer=None,
                  weights=save(outdir, "filters_demo.bin", w.numpy()), shape=list(w.shape))]
    path, folded, w2 = rgb_model(outdir)
    rg = OnnxModel(path).graph
    convs = [n for n in rg["nodes"] if n["op"] == "Conv"]
    has_bn = any(n["op"] == "BatchNormalization" for n in rg["nodes"])
    # by node name: the engine writes the folded convolution to the BatchNorm's output name
    cases.append(dict(name="rgb_bn_folded", onnx=path, layer=convs[0]["name"],
                      weights=save(outdir, "filters_rgb1.bin", folded.numpy()),
                      shape=list(folded.shape), batchnorm_node=has_bn))
    cases.append(dict(name="rgb_second_by_weight", onnx=path, layer=convs[1]["in"][1],
                      weights=save(outdir, "filters_rgb2.bin", w2.numpy()), shape=list(w2.shape)))
    return cases


# ---- features and embeddings ----

def features(outdir, x):
    model = OnnxModel(os.path.join(DEMO, "model.onnx"))
    cases = []
    for layer, k in (("/features/block4/out/Relu_output_0", 16),
                     ("/features/block1/relu/Relu_output_0", 8)):
        _, kept = model(x, keep=[layer])
        a = kept[layer][0].detach()
        means = a.double().mean(dim=(1, 2))
        order = sorted(range(a.shape[0]), key=lambda c: (-float(means[c]), c))[:k]
        dead = int(sum(bool((a[c] == 0).all()) for c in range(a.shape[0])))
        cases.append(dict(name=layer, onnx=os.path.join(DEMO, "model.onnx"), layer=layer,
                          top_k=k, index=order, mean=[float(means[c]) for c in order],
                          maps=save(outdir, "features_%d.bin" % len(cases), a[order].numpy()),
                          channels=int(a.shape[0]), dead=dead))
    return cases


def embed(outdir, xs):
    model = OnnxModel(os.path.join(DEMO, "model.onnx"))
    layer = "/Flatten_output_0"
    y, kept = model(xs, keep=[layer])
    f = kept[layer].detach()
    return [dict(name="demo_batch", onnx=os.path.join(DEMO, "model.onnx"), layer=layer,
                 inputs=save(outdir, "embed_inputs.bin", xs.numpy()), n=int(xs.shape[0]),
                 input_shape=list(xs.shape[1:]), dim=int(f.shape[1]),
                 features=save(outdir, "embed_features.bin", f.numpy()),
                 logits=save(outdir, "embed_logits.bin", y.detach().numpy()),
                 classes=int(y.shape[1]))]


# ---- projections ----

def pca(outdir):
    rng = np.random.default_rng(5)
    cases = []
    for n, d in ((60, 12), (8, 40)):
        x = (rng.standard_normal((n, d)) * np.linspace(3, 0.2, d)).astype(np.float32)
        xc = x.astype(np.float64) - x.astype(np.float64).mean(0)
        u, s, _ = np.linalg.svd(xc, full_matrices=False)
        k = 3
        cases.append(dict(name="pca_%dx%d" % (n, d), n=n, d=d, k=k,
                          x=save(outdir, "pca_%dx%d.bin" % (n, d), x),
                          coords=save(outdir, "pca_%dx%d_ref.bin" % (n, d), u[:, :k] * s[:k]),
                          explained=[float(v) for v in (s[:k] ** 2) / (s ** 2).sum()]))
    return cases


def knn_sets(z, k):
    d = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def knn_preservation(x, y, k):
    a, b = knn_sets(x.astype(np.float64), k), knn_sets(y.astype(np.float64), k)
    return float(np.mean([len(set(a[i]) & set(b[i])) / k for i in range(len(x))]))


def tsne(outdir):
    from sklearn.manifold import TSNE, trustworthiness
    import sklearn
    rng = np.random.default_rng(9)
    cases = []
    for n, method in ((150, "exact"), (600, "barnes_hut")):
        centres = rng.standard_normal((4, 20)) * 4
        lab = np.arange(n) % 4
        x = (centres[lab] + rng.standard_normal((n, 20))).astype(np.float32)
        ts = TSNE(n_components=2, perplexity=30.0, learning_rate="auto", init="pca",
                  method=method, random_state=0, n_iter=1000)
        y = ts.fit_transform(x)
        k = 10
        cases.append(dict(name="tsne_%s_%d" % (method, n), n=n, d=20, method=method,
                          perplexity=30.0, iterations=1000, k=k,
                          x=save(outdir, "tsne_%d.bin" % n, x),
                          sk_y=save(outdir, "tsne_%d_sklearn.bin" % n, y),
                          sk_trust=float(trustworthiness(x, y, n_neighbors=k)),
                          sk_knn=knn_preservation(x, y, k),
                          sklearn=sklearn.__version__))
    return cases


def stamp():
    h = hashlib.sha256()
    for f in (__file__, os.path.join(HERE, "onnx_torch_eval.py"), os.path.join(DEMO, "model.onnx")):
        h.update(open(f, "rb").read())
    h.update(torch.__version__.encode())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    sp = os.path.join(a.outdir, "stamp.txt")
    st = stamp()
    if not a.force and os.path.exists(sp) and open(sp).read() == st:
        print("inspect fixtures up to date in", a.outdir)
        return
    os.makedirs(a.outdir, exist_ok=True)
    torch.set_num_threads(1)
    meta = demo_meta()
    xs = torch.cat([preprocess(os.path.join(ROOT, "examples", f), meta) for f in EXAMPLES])
    lo = (0 - meta["normalize"]["mean"][0]) / meta["normalize"]["std"][0]
    hi = (1 - meta["normalize"]["mean"][0]) / meta["normalize"]["std"][0]
    man = dict(filters=filters(a.outdir), features=features(a.outdir, xs[2:3]),
               embed=embed(a.outdir, xs), pca=pca(a.outdir), tsne=tsne(a.outdir),
               demo=dict(onnx=os.path.join(DEMO, "model.onnx"), input_lo=lo, input_hi=hi,
                         input=save(a.outdir, "demo_input.bin", xs[2:3].numpy())))
    with open(os.path.join(a.outdir, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    with open(sp, "w") as f:
        f.write(st)
    for t in man["tsne"]:
        print("%s: scikit-learn %s trustworthiness %.4f, %d-NN preservation %.4f"
              % (t["name"], t["sklearn"], t["sk_trust"], t["k"], t["sk_knn"]))


if __name__ == "__main__":
    main()
