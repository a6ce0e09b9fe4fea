#!/usr/bin/python3
"""onnx_torch_eval.py - runs exported ONNX files with a small interpreter built on torch ops.

usage: /usr/bin/python3 tools/onnx_torch_eval.py FIXTURE_DIR [SUBSTRING...]
       /usr/bin/python3 tools/onnx_torch_eval.py FIXTURE_DIR CASE --dump VALUE [--out FILE]

The first form checks the fixtures of tools/make_reference.py themselves, independently of
the engine: for every case of FIXTURE_DIR/manifest.json it evaluates the ONNX graph node by
node (this file's reading of the ONNX operator specification, on torch tensors), at the
recorded batch and at batch 1, and compares the logits and the autograd input gradient with
what make_reference.py recorded from the original PyTorch module. A case that fails here is
a fixture or export problem, not an engine bug.

The second form is for debugging the engine: it writes one intermediate tensor of a case
(by its ONNX value name, as xai_session_tensor takes it) for the case's recorded input, as
raw float32, so it can be compared with the engine's value at the same name.

Every operator and attribute value met in the reference exports is handled; anything else
is refused with a message, so a new export pattern cannot slip through unnoticed.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_summary  # noqa: E402  (the protobuf reader)

NP_DTYPES = {"float": np.float32, "int64": np.int64, "int32": np.int32, "double": np.float64,
             "bool": np.bool_, "uint8": np.uint8, "int8": np.int8}


def to_torch(t):
    """A TensorProto (onnx_summary.tensor_info with raw bytes) as a torch tensor."""
    dt = NP_DTYPES.get(t["dtype"])
    if dt is None:
        raise ValueError("tensor %r has unsupported dtype %s" % (t["name"], t["dtype"]))
    if t["raw"] is not None:
        a = np.frombuffer(bytes(t["raw"]), dtype=np.dtype(dt).newbyteorder("<"))
    elif t["dtype"] == "float":
        a = np.array(t["float_data"], dtype=np.float32)
    else:
        a = np.array(t["int64_data"], dtype=dt)
    return torch.from_numpy(a.astype(dt).reshape(t["dims"]).copy())


class Attrs:
    """A node's attributes; every one must be read (or explicitly accepted) by the op."""

    def __init__(self, node):
        self.node = node
        self.values = {a[0]: a[3] for a in node["attrs"]}
        self.unread = set(self.values)

    def get(self, name, default=None):
        self.unread.discard(name)
        return self.values.get(name, default)

    def accept(self, name, allowed):
        """An attribute whose value must be one of `allowed` and changes nothing here."""
        v = self.get(name, allowed[0])
        if v not in allowed:
            raise NotImplementedError("%s: %s=%r is not handled" % (self.node["op"], name, v))

    def done(self):
        if self.unread:
            raise NotImplementedError("%s node %r: attributes %s not handled" % (
                self.node["op"], self.node["name"], sorted(self.unread)))


def sym_pads(a, nd=2):
    """ONNX pads [b0, b1, e0, e1] -> torch padding (b0, b1) when symmetric."""
    pads = a.get("pads", [0] * 2 * nd)
    if pads[:nd] != pads[nd:]:
        raise NotImplementedError("asymmetric pads %s" % pads)
    return tuple(pads[:nd])


def conv(a, x, w, b=None):
    a.accept("auto_pad", ["NOTSET"])
    k = a.get("kernel_shape", list(w.shape[2:]))
    if list(k) != list(w.shape[2:]):
        raise ValueError("Conv kernel_shape %s vs weight %s" % (k, list(w.shape)))
    return F.conv2d(x, w, b, stride=tuple(a.get("strides", [1, 1])), padding=sym_pads(a),
                    dilation=tuple(a.get("dilations", [1, 1])), groups=a.get("group", 1))


def conv_transpose(a, x, w, b=None):
    a.accept("auto_pad", ["NOTSET"])
    for name in ("output_shape",):
        if a.get(name) is not None:
            raise NotImplementedError("ConvTranspose %s" % name)
    k = a.get("kernel_shape", list(w.shape[2:]))
    if list(k) != list(w.shape[2:]):
        raise ValueError("ConvTranspose kernel_shape %s vs weight %s" % (k, list(w.shape)))
    return F.conv_transpose2d(x, w, b, stride=tuple(a.get("strides", [1, 1])),
                              padding=sym_pads(a),
                              output_padding=tuple(a.get("output_padding", [0, 0])),
                              groups=a.get("group", 1), dilation=tuple(a.get("dilations", [1, 1])))


def batch_norm(a, x, scale, bias, mean, var):
    a.get("momentum")  # only used in training
    if a.get("training_mode", 0) != 0:
        raise NotImplementedError("BatchNormalization training_mode=1")
    return F.batch_norm(x, mean, var, scale, bias, False, 0.0, a.get("epsilon", 1e-5))


def pool_out_ok(x, k, s, pads, ceil, y):
    """ONNX's output size (ceil or floor of (in + pads - k) / s + 1) against torch's, which
    also drops a last window that would start in the end padding."""
    for i in range(2):
        n = (x.shape[2 + i] + pads[i] * 2 - k[i]) / s[i] + 1
        want = math.ceil(n - 1) + 1 if ceil else math.floor(n)
        if want != y.shape[2 + i]:
            raise NotImplementedError("pool output size: ONNX %d, torch %d" % (want,
                                                                               y.shape[2 + i]))


def max_pool(a, x):
    a.accept("auto_pad", ["NOTSET"])
    a.accept("storage_order", [0])
    k, s = a.get("kernel_shape"), a.get("strides", [1, 1])
    d = a.get("dilations", [1, 1])
    pads, ceil = sym_pads(a), bool(a.get("ceil_mode", 0))
    y = F.max_pool2d(x, tuple(k), tuple(s), pads, tuple(d), ceil_mode=ceil)
    pool_out_ok(x, [(k[i] - 1) * d[i] + 1 for i in range(2)], s, pads, ceil, y)
    return y


def avg_pool(a, x):
    a.accept("auto_pad", ["NOTSET"])
    k, s = a.get("kernel_shape"), a.get("strides", [1, 1])
    pads, ceil = sym_pads(a), bool(a.get("ceil_mode", 0))
    y = F.avg_pool2d(x, tuple(k), tuple(s), pads, ceil_mode=ceil,
                     count_include_pad=bool(a.get("count_include_pad", 0)))
    pool_out_ok(x, k, s, pads, ceil, y)
    return y


def gemm(a, A, B, C=None):
    if a.get("transA", 0):
        A = A.t()
    if a.get("transB", 0):
        B = B.t()
    y = a.get("alpha", 1.0) * (A @ B)
    return y if C is None else y + a.get("beta", 1.0) * C


def clip(a, x, lo=None, hi=None):
    return torch.clamp(x, None if lo is None else lo.item(), None if hi is None else hi.item())


def pad(a, x, pads, value=None):
    """Pad: constant, or edge (replicated) on the last two axes of a 4-D input."""
    mode = a.get("mode", "constant")
    p = pads.tolist()
    nd = x.dim()
    torch_pads = []
    for i in reversed(range(nd)):
        torch_pads += [p[i], p[i + nd]]
    if mode == "edge" and nd == 4 and not any(torch_pads[4:]) and min(torch_pads) >= 0:
        return F.pad(x, torch_pads[:4], mode="replicate")
    if mode != "constant":
        raise NotImplementedError("Pad mode %s with pads %s" % (mode, p))
    return F.pad(x, torch_pads, value=0.0 if value is None else value.item())


def resize(a, x, roi=None, scales=None, sizes=None):
    mode = a.get("mode", "nearest")
    coord = a.get("coordinate_transformation_mode", "half_pixel")
    a.get("cubic_coeff_a")  # cubic only
    a.accept("exclude_outside", [0])
    a.accept("extrapolation_value", [0.0])
    nearest = a.get("nearest_mode", "round_prefer_floor")
    if sizes is not None and sizes.numel():
        out = [int(v) for v in sizes.tolist()]
    else:
        out = [int(math.floor(n * f)) for n, f in zip(x.shape, scales.tolist())]
    if out[:2] != list(x.shape[:2]):
        raise NotImplementedError("Resize over batch or channels")
    if mode == "nearest" and coord == "asymmetric" and nearest == "floor":
        # src = floor(dst * in / out): torch's "nearest" when given the size.
        return F.interpolate(x, size=out[2:], mode="nearest")
    if mode == "linear" and coord in ("half_pixel", "pytorch_half_pixel"):
        if coord == "pytorch_half_pixel" and min(out[2:]) == 1:
            raise NotImplementedError("pytorch_half_pixel to size 1")
        return F.interpolate(x, size=out[2:], mode="bilinear", align_corners=False)
    raise NotImplementedError("Resize mode=%s coordinate_transformation_mode=%s nearest_mode=%s"
                              % (mode, coord, nearest))


def reshape(a, x, shape):
    allowzero = a.get("allowzero", 0)
    s = shape.tolist()
    if not allowzero:
        s = [x.shape[i] if v == 0 else v for i, v in enumerate(s)]
    return x.reshape(s)


def slice_(a, x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else axes.tolist()
    steps = [1] * len(axes) if steps is None else steps.tolist()
    idx = [slice(None)] * x.dim()
    for st, en, ax, sp in zip(starts.tolist(), ends.tolist(), axes, steps):
        if sp != 1:
            raise NotImplementedError("Slice step %d" % sp)
        n = x.shape[ax]
        st = max(0, min(n, st + n if st < 0 else st))
        en = max(0, min(n, en + n if en < 0 else en))
        idx[ax] = slice(st, en)
    return x[tuple(idx)]


def unsqueeze(a, x, axes):
    out_dim = x.dim() + axes.numel()
    for ax in sorted(v + out_dim if v < 0 else v for v in axes.tolist()):
        x = x.unsqueeze(ax)
    return x


def gather(a, x, idx):
    axis = a.get("axis", 0)
    n = x.shape[axis]
    idx = torch.where(idx < 0, idx + n, idx)
    return torch.index_select(x, axis, idx.reshape(-1)).reshape(
        x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def reduce_mean(a, x):
    """ReduceMean before opset 18: axes attribute (all axes when absent), keepdims (1)."""
    axes = a.get("axes", None)
    dims = tuple(range(x.dim())) if axes is None else tuple(int(k) % x.dim() for k in axes)
    return x.mean(dim=dims, keepdim=bool(a.get("keepdims", 1)))


OPS = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "BatchNormalization": batch_norm,
    "Relu": lambda a, x: F.relu(x),
    "LeakyRelu": lambda a, x: F.leaky_relu(x, a.get("alpha", 0.01)),
    "Sigmoid": lambda a, x: torch.sigmoid(x),
    "Tanh": lambda a, x: torch.tanh(x),
    "Clip": clip,
    "Add": lambda a, x, y: x + y,
    "Mul": lambda a, x, y: x * y,
    "Sub": lambda a, x, y: x - y,
    "Div": lambda a, x, y: x / y,
    "ReduceMean": reduce_mean,
    "MaxPool": max_pool,
    "AveragePool": avg_pool,
    "GlobalAveragePool": lambda a, x: x.mean(dim=(2, 3), keepdim=True),
    "Flatten": lambda a, x: x.reshape(
        int(np.prod(x.shape[:a.get("axis", 1)])), int(np.prod(x.shape[a.get("axis", 1):]))),
    "Gemm": gemm,
    "Concat": lambda a, *xs: torch.cat(xs, dim=a.get("axis")),
    "Pad": pad,
    "Resize": resize,
    "Identity": lambda a, x: x,
    "Shape": lambda a, x: torch.tensor(list(x.shape), dtype=torch.int64),
    "Gather": gather,
    "Unsqueeze": unsqueeze,
    "Slice": slice_,
    "Reshape": reshape,
}


def constants(model):
    """The graph's initializers as torch tensors, for run(..., consts=...)."""
    return {name: to_torch(t) for name, t in model["tensors"].items()}


def run(model, x, keep=None, ops=None, consts=None):
    """Evaluates the graph on x; returns the values of the graph outputs (and of `keep`, a
    value name or a collection of names). `ops` maps op types to replacement functions (same
    signature as OPS entries), e.g. a guided-backprop Relu for attribution references.
    `consts`: the initializers already converted by constants(model) (read, never changed),
    so that repeated runs do not convert the weights each time."""
    if model["opsets"].get("ai.onnx") not in (13, 14, 15, 16, 17):
        raise NotImplementedError("opset %s" % model["opsets"])
    env = dict(consts) if consts is not None else constants(model)
    env[model["inputs"][0]["name"]] = x
    kept = {}
    for node in model["nodes"]:
        a = Attrs(node)
        if node["op"] == "Constant":
            outs = [to_torch(a.get("value"))]
        elif node["op"] in OPS and not node["domain"]:
            args = [env[n] if n else None for n in node["in"]]
            while args and args[-1] is None:
                args.pop()
            fn = (ops or {}).get(node["op"], OPS[node["op"]])
            outs = [fn(a, *args)]
        else:
            raise NotImplementedError("op %s" % node["op"])
        a.done()
        if len(node["out"]) != 1:
            raise NotImplementedError("%s with %d outputs" % (node["op"], len(node["out"])))
        env[node["out"][0]] = outs[0]
        if keep and (node["out"][0] == keep or
                     (not isinstance(keep, str) and node["out"][0] in keep)):
            kept[node["out"][0]] = outs[0]
    return [env[o["name"]] for o in model["outputs"]], kept


def check_case(fdir, case, model):
    shape = case["input_shape"]
    x = torch.from_numpy(np.fromfile(os.path.join(fdir, case["input"]), "<f4").reshape(shape))
    ref_y = np.fromfile(os.path.join(fdir, case["logits"]), "<f4").reshape(case["logits_shape"])
    ref_g = np.fromfile(os.path.join(fdir, case["grad"]), "<f4").reshape(shape)
    figs = []
    for b in (shape[0], 1):
        xb = x[:b].clone().requires_grad_(True)
        (y,), _ = run(model, xb)
        y[:, case["target"]].sum().backward()
        yr, gr = torch.from_numpy(ref_y[:b]), torch.from_numpy(ref_g[:b]).double()
        rel = float((y.detach() - yr).abs().max() / yr.abs().max())
        g = xb.grad.double()
        cos = float((g * gr).sum() / (g.norm() * gr.norm()))
        figs.append((b, rel, cos))
    ok = all(rel < 1e-5 and cos > 1 - 1e-6 for _, rel, cos in figs)
    print("%s  %-28s %s" % ("PASS" if ok else "FAIL", case["name"], "  ".join(
        "b%d: logits %.1e grad cos 1-%.1e" % (b, rel, 1 - cos) for b, rel, cos in figs)),
        flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fixtures")
    ap.add_argument("cases", nargs="*", help="only cases whose name contains one of these")
    ap.add_argument("--dump", metavar="VALUE", help="write this ONNX value for one case")
    ap.add_argument("--out", help="file for --dump (default VALUE with / replaced, .bin)")
    args = ap.parse_args()
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    with open(os.path.join(args.fixtures, "manifest.json")) as f:
        manifest = json.load(f)
    cases = [c for c in manifest["cases"]
             if not args.cases or any(s in c["name"] for s in args.cases)]
    if args.dump:
        if len(cases) != 1:
            sys.exit("onnx_torch_eval: --dump needs exactly one case, %d match" % len(cases))
        c = cases[0]
        model = onnx_summary.load(os.path.join(args.fixtures, c["onnx"]), with_data=True)
        x = np.fromfile(os.path.join(args.fixtures, c["input"]), "<f4")
        with torch.no_grad():
            _, kept = run(model, torch.from_numpy(x.reshape(c["input_shape"])), args.dump)
        if args.dump not in kept:
            sys.exit("onnx_torch_eval: no node output named %r" % args.dump)
        v = kept[args.dump]
        out = args.out or args.dump.strip("/").replace("/", "_") + ".bin"
        np.ascontiguousarray(v.numpy(), dtype="<f4").tofile(out)
        print("%s %s -> %s" % (args.dump, list(v.shape), out))
        return
    passed = failed = 0
    for c in cases:
        try:
            model = onnx_summary.load(os.path.join(args.fixtures, c["onnx"]), with_data=True)
            ok = check_case(args.fixtures, c, model)
        except (NotImplementedError, ValueError, KeyError, RuntimeError) as e:
            print("FAIL  %-28s %s: %s" % (c["name"], type(e).__name__, e))
            ok = False
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
