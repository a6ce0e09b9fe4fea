#!/usr/bin/python3
"""make_method_fixtures.py - reference maps for every attribution method, from PyTorch.

usage: /usr/bin/python3 tools/make_method_fixtures.py OUTDIR --reference-dir DIR
                                                      [--methods a,b] [--force]

For each method module in tools/xai_ref/methods/ and each of its CASES, on two models — the
bundled demo model (models/chest-demo) and torchvision's ResNet-18 exported by
tools/make_reference.py into DIR — computes the method's map in PyTorch on the same ONNX
file and writes it with a manifest.json that tests/methods/test_methods.c reads: the engine
runs the same method with the same input, target, parameters, seed and segments, and must
match (Pearson correlation > 0.999, relative L2 error < 1e-3), and so must the metrics a
reference returns with its map (e.g. integrated gradients' convergence delta).
"""
import argparse
import hashlib
import importlib
import json
import os
import sys
import types

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from xai_ref.model import OnnxModel  # noqa: E402


def demo_input():
    """A sample image preprocessed as models/chest-demo/model.json says (PIL + torch)."""
    from PIL import Image
    import torch.nn.functional as F
    meta = json.load(open(os.path.join(ROOT, "models/chest-demo/model.json")))
    img = Image.open(os.path.join(ROOT, "examples/nodule-2.png"))
    a = np.asarray(img).astype(np.float32)
    a = a / (65535.0 if a.max() > 255 else 255.0)
    t = torch.from_numpy(a)[None, None]
    t = F.interpolate(t, size=(128, 128), mode="bilinear", align_corners=False, antialias=True)
    m, s = meta["normalize"]["mean"][0], meta["normalize"]["std"][0]
    return (t - m) / s, meta, (0 - m) / s, (1 - m) / s


def grid_segments(h, w, cell):
    """Superpixels as square cells (LIME's engine-independent segmentation for the test)."""
    ys, xs = np.mgrid[0:h, 0:w]
    return ((ys // cell) * ((w + cell - 1) // cell) + xs // cell).astype(np.int32)


def models(refdir):
    x, meta, lo, hi = demo_input()
    yield dict(name="chest-demo", onnx=os.path.join(ROOT, "models/chest-demo/model.onnx"),
               x=x, target=meta["labels"].index("nodule"), layer=meta["cam_layer"],
               head_weight="classifier.weight", head_bias="classifier.bias",
               input_lo=lo, input_hi=hi, segments=grid_segments(128, 128, 16), classes=3)
    # The inspection demo models (tools/make_demo_inspect_models.py): the autoencoder of the
    # reconstruction method and the attention model, on the same input.
    for name in ("chest-ae", "chest-attention"):
        folder = os.path.join(ROOT, "models", name)
        m = json.load(open(os.path.join(folder, "model.json")))
        yield dict(name=name, onnx=os.path.join(folder, "model.onnx"), x=x,
                   target=0, layer=m.get("cam_layer"), head_weight=None, head_bias=None,
                   input_lo=lo, input_hi=hi, segments=grid_segments(128, 128, 16),
                   classes=len(m["labels"]), output="logits",
                   reconstruction=m.get("reconstruction", {}).get("output"),
                   attention=m.get("attention", {}).get("outputs", []))
    man = json.load(open(os.path.join(refdir, "manifest.json")))
    case = next(c for c in man["cases"] if c["name"] == "resnet18_op13")
    xs = np.fromfile(os.path.join(refdir, case["input"]), "<f4").reshape(case["input_shape"])
    yield dict(name="resnet18", onnx=os.path.abspath(os.path.join(refdir, case["onnx"])),
               x=torch.from_numpy(xs[:1].copy()), target=case["target"],
               layer="/layer4/layer4.1/relu_1/Relu_output_0", head_weight="fc.weight",
               head_bias="fc.bias", input_lo=-3.0, input_hi=3.0,
               segments=grid_segments(64, 64, 8), classes=1000)


DEFAULT_MODELS = ("chest-demo", "resnet18")


def method_modules(only):
    d = os.path.join(HERE, "xai_ref", "methods")
    for f in sorted(os.listdir(d)):
        if f.endswith(".py") and not f.startswith("_"):
            name = f[:-3]
            if not only or name in only:
                yield importlib.import_module("xai_ref.methods." + name)


def split_result(r):
    """compute() returns a map, or (map, metrics) with metrics {name: {"value", "tol"}} and
    optionally "tol_rounding" (the bound with the engine's Winograd rounding): the engine's
    metric of that name must lie within tol of value, or (map, metrics, classes) with
    a class per pixel (dominant_class)."""
    r = r if isinstance(r, tuple) else (r, {})
    m, metrics = r[0], r[1]
    classes = np.asarray(r[2], dtype=np.float32) if len(r) > 2 else None
    metrics = {k: {key: float(val) for key, val in v.items()} for k, v in metrics.items()}
    return np.asarray(m, dtype=np.float32), metrics, classes


def save(outdir, name, arr):
    np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(outdir, name))
    return name


def run(outdir, refdir, only):
    os.makedirs(outdir, exist_ok=True)
    cases = []
    for md in models(refdir):
        model = OnnxModel(md["onnx"])
        xin = save(outdir, md["name"] + "_input.bin", md["x"].numpy())
        seg = save(outdir, md["name"] + "_segments.bin", md["segments"].astype(np.float32))
        for mod in method_modules(only):
            if md["name"] not in getattr(mod, "MODELS", DEFAULT_MODELS):
                continue
            for i, params in enumerate(mod.CASES):
                ctx = types.SimpleNamespace(model=model, x=md["x"].clone(), target=md["target"],
                                            layer=md["layer"], head_weight=md["head_weight"],
                                            head_bias=md["head_bias"], seed=1234 + i,
                                            max_batch=16, input_lo=md["input_lo"],
                                            input_hi=md["input_hi"], segments=md["segments"],
                                            classes=md["classes"],
                                            reconstruction=md.get("reconstruction"),
                                            attention=md.get("attention", []))
                torch.manual_seed(0)
                m, metrics, classes = split_result(mod.compute(ctx, dict(params)))
                assert m.shape == tuple(md["x"].shape[2:]), (mod.NAME, m.shape)
                label = "%s_%s_%d" % (md["name"], mod.NAME, i)
                cases.append(dict(name=label, method=mod.NAME, params=params, onnx=md["onnx"],
                                  input=xin, input_shape=list(md["x"].shape),
                                  target=md["target"], layer=md["layer"],
                                  head_weight=md["head_weight"], head_bias=md["head_bias"],
                                  input_lo=md["input_lo"], input_hi=md["input_hi"],
                                  seed=ctx.seed, max_batch=ctx.max_batch, segments=seg,
                                  map=save(outdir, label + ".bin", m), map_shape=list(m.shape),
                                  metrics=metrics, output=md.get("output"),
                                  reconstruction=md.get("reconstruction"),
                                  attention=md.get("attention", [])))
                if classes is not None:
                    cases[-1]["classes"] = save(outdir, label + "_classes.bin", classes)
                print("%-40s range [%.4g, %.4g]" % (label, m.min(), m.max()), flush=True)
    with open(os.path.join(outdir, "manifest.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)


def stamp_of(refdir, only):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(os.path.join(HERE, "xai_ref"))):
        for f in sorted(files):
            if f.endswith(".py"):
                h.update(open(os.path.join(root, f), "rb").read())
    for f in (__file__, os.path.join(HERE, "onnx_torch_eval.py"),
              os.path.join(ROOT, "models/chest-demo/model.onnx"),
              os.path.join(ROOT, "models/chest-ae/model.onnx"),
              os.path.join(ROOT, "models/chest-attention/model.onnx"),
              os.path.join(refdir, "stamp.json")):
        h.update(open(f, "rb").read())
    h.update(repr(sorted(only or [])).encode())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--reference-dir", required=True)
    ap.add_argument("--methods", default="")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    only = [m for m in a.methods.split(",") if m]
    stamp = stamp_of(a.reference_dir, only)
    sp = os.path.join(a.outdir, "stamp.txt")
    if not a.force and os.path.exists(sp) and open(sp).read() == stamp:
        print("method fixtures up to date in", a.outdir)
        return
    torch.set_num_threads(os.cpu_count() or 1)
    run(a.outdir, a.reference_dir, only)
    with open(sp, "w") as f:
        f.write(stamp)


if __name__ == "__main__":
    main()
