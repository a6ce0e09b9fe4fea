#!/usr/bin/python3
"""make_reference.py - exports reference models from PyTorch and records what they compute.

usage: /usr/bin/python3 tools/make_reference.py OUTDIR [--quick] [--models a,b] [--force]

For every model below and every ONNX opset (13 and 17) this writes into OUTDIR:
  <case>.onnx           the model exported by torch.onnx.export (input "input", output
                        "logits", dynamic batch axis on both, do_constant_folding=True)
and, once per model (the same PyTorch module is exported at both opsets):
  <model>_input.bin     a batch of 2 seeded random images, float32 little-endian, NCHW
  <model>_logits.bin    the logits PyTorch computes for it, float32 [2, classes]
  <model>_grad.bin      d(sum_b logits[b, target]) / d input, float32, same shape as the input,
                        computed by autograd on the original module (not on the ONNX)
plus manifest.json listing every case. tests/reference/test_reference.c reads the manifest
and compares the engine with these files.

Choices:
  * Weights: torchvision constructors with weights=None after torch.manual_seed(0) (there is
    no network to download trained weights). BatchNorm layers then get random running
    statistics and affine parameters (randomise_batchnorm): a freshly initialised BatchNorm in
    eval mode is an identity and would hide folding bugs.
  * Input sizes: 64x64 for the torchvision CNNs with a global pooling head (valid for all of
    them and fast). vgg11_bn is exported at 224x224: its AdaptiveAvgPool2d((7, 7)) exports to
    ONNX only when the feature map is a multiple of 7, and the smallest valid input is 224
    (7x7 features; the pool exports as AveragePool with kernel 1). Its classifier is what
    torchvision builds (133M parameters, a 531 MB file per opset); it is left out of --quick.
    custom_preact uses 32x32.
  * torch.onnx.export in eval mode folds each Conv -> BatchNormalization pair into the Conv
    itself, so the standard exports contain BatchNormalization only where it cannot be
    folded (pre-activation, as in densenet121). The *_keepbn cases export the same modules
    with training=TrainingMode.PRESERVE (still in eval mode, so BatchNormalization uses the
    running statistics), which keeps every BatchNormalization node: the engine must fold or
    run them itself.
  * custom_preact is a small model written to reach operators and export patterns the
    torchvision models do not: pre-activation BatchNorm (BN -> LeakyReLU -> Conv),
    LeakyRelu, ConvTranspose, Resize (nearest by scale, bilinear by size, align_corners
    False), a residual Add, MaxPool with ceil_mode, AveragePool with count_include_pad=False,
    Concat, Sigmoid, Tanh, Mul, a Gemm head and the x.view(x.size(0), -1) flatten, which
    exports as Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
  * Every model is also run in float64; the manifest records how far the float32 reference is
    from it (f64_logits_rel, f64_grad_cos): the noise floor the engine's tolerances sit on.

Regeneration is skipped when OUTDIR/stamp.json matches this script's SHA-256, the options and
the torch version, and every file in the manifest exists (--force regenerates anyway).
"""
import argparse
import copy
import hashlib
import importlib.metadata
import json
import os
import sys
import time
import warnings
import zlib

# numpy, torch and torchvision are imported by import_torch() only when there is work to do:
# the up-to-date check must stay fast, it runs before every reference test.
np = torch = nn = F = torchvision = None


def import_torch():
    global np, torch, nn, F, torchvision
    try:
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
        import torchvision
    except ImportError as e:  # depends on the machine
        sys.exit("make_reference: %s (run it with /usr/bin/python3, which has Debian's "
                 "python3-torch and python3-torchvision)" % e)


OPSETS = (13, 17)
BATCH = 2
TARGET = 3  # the logit whose input gradient is recorded


def custom_preact():
    """A small CNN reaching the operators and export patterns listed in the module doc."""

    class CustomPreact(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(16)
            self.conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(16)
            self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
            self.maxpool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.avgpool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
            self.down = nn.Conv2d(32, 24, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(24, 24, 4, stride=2, padding=1)
            self.bn3 = nn.BatchNorm2d(24)
            self.conv3 = nn.Conv2d(24, 8, 3, padding=1)
            self.fc = nn.Linear(8 * 8 * 8, num_classes)

        def forward(self, x):  # x: [N, 3, 32, 32]
            s = self.stem(x)  # [N, 16, 32, 32]
            # Pre-activation residual block. bn1 reads the stem's output, which the skip
            # connection reads too, so it cannot be folded into the stem convolution.
            h = self.conv1(F.leaky_relu(self.bn1(s), 0.1))
            h = self.conv2(F.leaky_relu(self.bn2(h), 0.2))
            r = s + h
            # 32 -> 16 both ways: ceil_mode matters for the max pool (floor would give 15), the
            # average pool's border windows exclude the padding.
            c = torch.cat([self.maxpool(r), self.avgpool(r)], 1)  # [N, 32, 16, 16]
            d = torch.tanh(self.down(c))  # [N, 24, 8, 8]
            near = F.interpolate(d, scale_factor=2.0, mode="nearest")  # [N, 24, 16, 16]
            bil = F.interpolate(d, size=(16, 16), mode="bilinear", align_corners=False)
            m = near * torch.sigmoid(self.up(d)) + bil  # ConvTranspose: [N, 24, 16, 16]
            # Pre-activation after an Add: bn3 cannot be folded either.
            m = self.conv3(F.leaky_relu(self.bn3(m), 0.01))  # [N, 8, 16, 16]
            m = F.max_pool2d(m, 2)  # [N, 8, 8, 8]
            f = m.view(m.size(0), -1)
            return self.fc(f)

    return CustomPreact()


# name: (constructor, input size, in --quick, export mode)
EVAL, KEEPBN = "eval", "keepbn"
MODELS = {
    "custom_preact": (custom_preact, 32, True, EVAL),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), 64, True, EVAL),
    "resnet18_keepbn": (lambda: torchvision.models.resnet18(weights=None), 64, True, KEEPBN),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(weights=None), 64, True, EVAL),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), 64, False, EVAL),
    "mobilenet_v2_keepbn": (lambda: torchvision.models.mobilenet_v2(weights=None), 64, False,
                            KEEPBN),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(weights=None), 64, False,
                        EVAL),
    "densenet121": (lambda: torchvision.models.densenet121(weights=None), 64, False, EVAL),
    "vgg11_bn": (lambda: torchvision.models.vgg11_bn(weights=None), 224, False, EVAL),
}


def randomise_batchnorm(model, gen):
    """Running mean ~ N(0, 0.1), running var ~ U(0.5, 1.5), weight ~ U(0.5, 1.5),
    bias ~ N(0, 0.1): BatchNorm becomes a real per-channel affine map."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                n = mod.num_features
                mod.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                mod.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                if mod.affine:
                    mod.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                    mod.bias.copy_(torch.randn(n, generator=gen) * 0.1)


def build(name):
    ctor, size, _, mode = MODELS[name]
    torch.manual_seed(0)
    model = ctor()
    randomise_batchnorm(model, torch.Generator().manual_seed(1))
    model.eval()
    return model, size, mode


def reference(model, x, target):
    """Logits and d(sum_b logits[b, target]) / d x on the PyTorch module itself."""
    x = x.clone().requires_grad_(True)
    logits = model(x)
    logits[:, target].sum().backward()
    return logits.detach(), x.grad.detach()


def rel_err(a, b):
    return float((a - b).abs().max() / b.abs().max())


def cosine(a, b):
    a, b = a.flatten().double(), b.flatten().double()
    return float(torch.dot(a, b) / (a.norm() * b.norm()))


def write_f32(path, t):
    np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tofile(path)


def export(model, x, path, opset, mode):
    training = (torch.onnx.TrainingMode.PRESERVE if mode == KEEPBN
                else torch.onnx.TrainingMode.EVAL)
    with warnings.catch_warnings():
        # PRESERVE with constant folding warns about training-mode models; these are in eval
        # mode, so nothing is folded wrongly.
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                          output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          do_constant_folding=True, training=training)


def make_model(name, outdir, opsets):
    t0 = time.time()
    model, size, mode = build(name)
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    x = torch.randn(BATCH, 3, size, size, generator=gen)
    logits, grad = reference(model, x, TARGET)

    # The float32 noise floor: the same module in float64.
    m64 = copy.deepcopy(model).double()
    logits64, grad64 = reference(m64, x.double(), TARGET)
    del m64
    f64_rel, f64_cos = rel_err(logits.double(), logits64), cosine(grad, grad64)

    files = {k: "%s_%s.bin" % (name, k) for k in ("input", "logits", "grad")}
    write_f32(os.path.join(outdir, files["input"]), x)
    write_f32(os.path.join(outdir, files["logits"]), logits)
    write_f32(os.path.join(outdir, files["grad"]), grad)

    cases = []
    for opset in opsets:
        t1 = time.time()
        case = "%s_op%d" % (name, opset)
        onnx = case + ".onnx"
        export(model, x, os.path.join(outdir, onnx), opset, mode)
        cases.append({
            "name": case, "model": name, "opset": opset, "onnx": onnx,
            "export_mode": mode, "input_name": "input", "output_name": "logits",
            "input": files["input"], "input_shape": list(x.shape),
            "logits": files["logits"], "logits_shape": list(logits.shape),
            "grad": files["grad"], "grad_shape": list(grad.shape),
            "target": TARGET, "f64_logits_rel": f64_rel, "f64_grad_cos": f64_cos,
            "onnx_bytes": os.path.getsize(os.path.join(outdir, onnx)),
        })
        print("  %-28s exported in %5.1fs, %7.1f MB" % (
            case, time.time() - t1, cases[-1]["onnx_bytes"] / 1e6), flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print("%-20s %dx3x%dx%d  %6.2fM params  |logits| max %.3g  float32 vs float64: logits "
          "rel %.2e, grad cos 1-%.1e  (%.1fs)" % (
              name, BATCH, size, size, n_params / 1e6, float(logits.abs().max()), f64_rel,
              1.0 - f64_cos, time.time() - t0), flush=True)
    return cases


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def script_hash():
    with open(os.path.abspath(__file__), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def up_to_date(outdir, stamp):
    try:
        with open(os.path.join(outdir, "stamp.json")) as f:
            if json.load(f) != stamp:
                return False
        with open(os.path.join(outdir, "manifest.json")) as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return False
    for case in manifest["cases"]:
        for key in ("onnx", "input", "logits", "grad"):
            if not os.path.isfile(os.path.join(outdir, case[key])):
                return False
    return True


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--quick", action="store_true",
                    help="only %s" % ", ".join(n for n, m in MODELS.items() if m[2]))
    ap.add_argument("--models", help="comma-separated subset of: " + ", ".join(MODELS))
    ap.add_argument("--opsets", default=",".join(map(str, OPSETS)),
                    help="comma-separated ONNX opsets (default %(default)s)")
    ap.add_argument("--force", action="store_true", help="regenerate even when up to date")
    args = ap.parse_args()

    names = [n for n, m in MODELS.items() if m[2] or not args.quick]
    if args.models:
        names = args.models.split(",")
        for n in names:
            if n not in MODELS:
                sys.exit("make_reference: unknown model %r (known: %s)" % (n, ", ".join(MODELS)))
    opsets = [int(o) for o in args.opsets.split(",")]
    stamp = {"script_sha256": script_hash(), "models": names, "opsets": opsets,
             "torch": package_version("torch"), "torchvision": package_version("torchvision")}

    os.makedirs(args.outdir, exist_ok=True)
    if not args.force and up_to_date(args.outdir, stamp):
        print("make_reference: %s is up to date (%d models, opsets %s)"
              % (args.outdir, len(names), opsets))
        return
    try:
        os.remove(os.path.join(args.outdir, "stamp.json"))
    except FileNotFoundError:
        pass
    import_torch()

    # Debian's torch starts with one thread; use the cores this process may run on.
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    t0 = time.time()
    print("make_reference: torch %s, torchvision %s, %d threads -> %s" % (
        torch.__version__, torchvision.__version__, torch.get_num_threads(), args.outdir),
        flush=True)
    cases = []
    for name in names:
        cases += make_model(name, args.outdir, opsets)
    manifest = {
        "generator": "tools/make_reference.py", "torch": torch.__version__,
        "torchvision": torchvision.__version__, "batch": BATCH, "target": TARGET,
        "dtype": "float32", "byte_order": "little", "layout": "NCHW",
        "tolerances": {"logits_rel_max": 1e-4, "grad_cos_min": 0.9999},
        "cases": cases,
    }
    write_json(os.path.join(args.outdir, "manifest.json"), manifest)
    write_json(os.path.join(args.outdir, "stamp.json"), stamp)
    print("make_reference: %d cases in %.1fs" % (len(cases), time.time() - t0))


if __name__ == "__main__":
    main()
