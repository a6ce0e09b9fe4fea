#!/usr/bin/python3
"""make_fuzz_seeds.py - writes the fuzz targets' seed corpora, fuzz/corpus/<target>/.

Run with the system Python (PIL, numpy, torch): /usr/bin/python3 tools/make_fuzz_seeds.py
The outputs are committed; run it again only to change the seeds (it rewrites every folder).

  decode_png, decode_jpeg  the image decoder's test corpus (tools/make_image_corpus.py: every
                           PNG colour type and depth, interlacing, JPEG kinds, EXIF, broken
                           files) up to 16 KiB a file, and the small masks of examples/
  onnx                     the importer's test models (tests/data/onnx/) and tiny PyTorch
                           exports using most supported ops, at opsets 11, 13 and 17
  query                    request targets (path?query) for every route
  params                   JSON bodies {"image": base64, ...} for every method
  multipart                Content-Type line + body, every encoding the routes take
  archive                  zip and tar files of small images
and the libFuzzer dictionaries fuzz/<target>.dict (tokens of each format).
"""
import base64
import glob
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fuzz", "corpus")
MAX_IMAGE = 16 * 1024
LAYER = "/features/block4/out/Relu_output_0"



def tiny_png():
    """A 4x4 gray PNG: the image of the seeds that carry one."""
    from PIL import Image
    buf = io.BytesIO()
    Image.frombytes("L", (4, 4), bytes(range(0, 256, 16))).save(buf, "PNG")
    return buf.getvalue()


TINY_PNG = tiny_png()


def folder(name):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def write(path, data):
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def images():
    png, jpeg = folder("decode_png"), folder("decode_jpeg")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "make_image_corpus.py"),
                        tmp], check=True, stdout=subprocess.DEVNULL)
        for kind in ("valid", "broken"):
            for f in sorted(glob.glob(os.path.join(tmp, kind, "*"))):
                name, size = os.path.basename(f), os.path.getsize(f)
                if size > MAX_IMAGE or name.endswith((".json", ".bin")):
                    continue
                dest = png if name.startswith("png_") else jpeg if name.startswith("jpeg_") else None
                if dest:
                    shutil.copy(f, os.path.join(dest, kind + "_" + name))
    for f in sorted(glob.glob(os.path.join(ROOT, "examples", "*_mask.png"))):
        shutil.copy(f, os.path.join(png, "example_" + os.path.basename(f)))


# ---------------------------------------------------------------------------- ONNX

def onnx_models():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Cnn(nn.Module):  # conv, BN, ReLU, pools, depthwise, GAP, linear
        def __init__(self):
            super().__init__()
            self.c1, self.bn = nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2)
            self.dw = nn.Conv2d(2, 2, 3, stride=2, padding=1, groups=2)
            self.fc = nn.Linear(2, 3)

        def forward(self, x):
            y = F.max_pool2d(F.relu(self.bn(self.c1(x))), 2)
            y = F.avg_pool2d(self.dw(y), 2, ceil_mode=True)
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))

    class Blocks(nn.Module):  # residual add, concat, squeeze-excite, hard-swish, softmax
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(3, 2, 1), nn.Conv2d(2, 2, 3, padding=1)
            self.se = nn.Linear(4, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            a = self.a(x)
            y = torch.cat([a, F.hardswish(self.b(a) + a)], 1)
            s = torch.sigmoid(self.se(y.mean((2, 3))))
            y = y * s[:, :, None, None]
            return F.softmax(self.fc(torch.flatten(F.adaptive_max_pool2d(y, 1), 1)), 1)

    class Soup(nn.Module):  # the remaining element-wise, shape and resampling ops
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(1, 1, 2, stride=2)
            self.w = nn.Parameter(torch.randn(8, 3))

        def forward(self, x):
            y = F.pad(self.up(x), (1, 1, 1, 1))[:, :, 1:-1, 1:-1]
            y = F.interpolate(y, scale_factor=0.5, mode="bilinear", align_corners=False)
            y = F.leaky_relu(y, 0.1) + F.relu6(y) - torch.tanh(y) / (1 + torch.exp(-y))
            y = F.gelu(y) + F.hardsigmoid(y) * torch.sqrt(y * y + 1) ** 2 - (-y)
            y = torch.flatten(y.transpose(2, 3), 1).unsqueeze(1)
            y = torch.matmul(y[:, :, :8], self.w).flatten(1)
            return F.log_softmax(y, 1)

    cases = [(Cnn(), (1, 1, 8, 8)), (Blocks(), (1, 3, 6, 6)), (Soup(), (1, 1, 4, 4))]
    out = folder("onnx")
    torch.manual_seed(0)
    for m, shape in cases:
        m.eval()
        x = torch.rand(*shape)
        for opset in (11, 13, 17):
            for dynamic in (False, True):
                axes = {"x": {0: "N"}, "y": {0: "N"}} if dynamic else None
                name = f"{type(m).__name__.lower()}_o{opset}{'_dyn' if dynamic else ''}.onnx"
                torch.onnx.export(m, x, os.path.join(out, name), opset_version=opset,
                                  input_names=["x"], output_names=["y"], dynamic_axes=axes)
    for f in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "onnx", "*.onnx"))):
        shutil.copy(f, os.path.join(out, "importer_" + os.path.basename(f)))


# ---------------------------------------------------------------------------- requests

METHODS = {  # every method with some of its parameters (core/methods/<name>.c)
    "attention": {"index": 0, "reduce": "max"}, "cam": {"relu": False},
    "deconvnet": {"abs": True}, "dominant_class": {"base": "gradcam_pp"}, "gradcam": {},
    "gradcam_pp": {}, "gradient_x_input": {}, "guided_backprop": {"abs": False},
    "guided_gradcam": {"abs": True},
    "integrated_gradients": {"steps": 16, "rule": "riemann_trapezoid", "baseline": "constant",
                             "baseline_value": -1.5, "blur_sigma": 2, "batch_size": 4},
    "lime": {"n_segments": 20, "compactness": 10, "samples": 64, "fill": "segment_mean",
             "sigma": 1.5, "kernel_width": 0.5, "alpha": 0.1},
    "lrp": {"rule": "epsilon_gamma_box", "epsilon": 1e-3, "gamma": 0.5},
    "occlusion": {"patch": 16, "stride": 8, "fill": "blur", "sigma": 3, "incremental": False,
                  "field_threshold": 0.5},
    "reconstruction": {"error": "absolute", "smooth": 2}, "saliency": {"abs": True},
    "smoothgrad": {"samples": 8, "sigma": 0.2, "reduce": "mean"},
    "smoothgrad_sq": {"samples": 4, "sigma": 0}, "vargrad": {"samples": 2, "sigma": 1},
}


def query_seeds():
    out = folder("query")
    base = "/v1/models/chest-demo/"
    seeds = {
        "explain_default": base + "explain",
        "explain_ig": base + "explain?method=integrated_gradients&steps=32&target=1"
                             "&outputs=raw,heatmap_png&colormap=viridis&opacity=0.3&seed=7",
        "explain_layer": base + "explain?method=gradcam&layer=" + LAYER.replace("/", "%2F"),
        "explain_escapes": base + "explain?method=smooth%67rad&sigma=1e-1&samples=+4",
        "explain_label": base + "explain?target=nodule&evaluate=true",
        "explain_bad": base + "explain?steps=-1&method=nope&&=x&outputs=",
        "explain_repeat": base + "explain?seed=1&seed=2",
        "explain_noval": base + "explain?evaluate&raw",
        "predict": base + "predict",
        "predict_arg": base + "predict?target=0",
        "report": base + "report?method=lrp&rule=gamma&gamma=0.1&target=opacity",
        "occlusion": base + "explain?method=occlusion&patch=0&stride=4096&field_threshold=0.05",
        "lime": base + "explain?method=lime&fill=segment_mean&samples=16&alpha=1000",
        "filters": base + "filters?layer=" + LAYER + "&raw=true",
        "features": base + "features?top_k=8&map_back=1",
        "maximize": base + "maximize?target=1&steps=20&lr=0.05&blur_sigma=1&jitter=2&seed=3",
        "embed": base + "embed?projection=tsne&perplexity=5&labels=0,1,clear&tsne_method=exact"
                         "&init=random&theta=0.2&knn_k=3&batch=2&plot_size=128",
        "models": "/v1/models", "model": "/v1/models/chest-demo", "methods": "/v1/methods",
        "views": "/v1/views", "health": "/healthz", "viewer": "/",
        "long_model": "/v1/models/" + "m" * 300 + "/explain",
    }
    for k, v in seeds.items():
        write(os.path.join(out, k), v)


def b64(data):
    return base64.b64encode(data).decode()


def params_seeds():
    out = folder("params")
    img = b64(TINY_PNG)
    for method, params in METHODS.items():
        body = {"image": img, "method": method, **params}
        write(os.path.join(out, method + ".json"), json_text(body))
    extra = {
        "general": {"image": "data:image/png;base64," + img, "target": 1, "layer": LAYER,
                    "outputs": ["overlay_png", "raw", "colorbar_png"], "colormap": "bwr",
                    "opacity": 1, "evaluate": True, "seed": 18446744073709551615},
        "bounds": {"image": img, "method": "integrated_gradients", "steps": 1e9,
                   "baseline": 3, "target": -1, "opacity": "0.5"},
        "types": {"image": img, "method": ["gradcam"], "seed": -1, "evaluate": "yes",
                  "outputs": [1], "target": None},
        "views": {"top_k": 4, "map_back": True, "labels": ["clear", 1], "projection": "pca",
                  "steps": 10, "lr": 0.1, "zoom": 2, "colormap": "inferno", "raw": True},
        "no_image": {"method": "lime", "samples": 32},
        "bad_base64": {"image": "!!!!", "method": "gradcam"},
    }
    for k, v in extra.items():
        write(os.path.join(out, k + ".json"), json_text(v))
    write(os.path.join(out, "dup.json"), '{"image": "%s", "seed": 1, "seed": 2}' % img)
    write(os.path.join(out, "not_object.json"), '["image"]')


def json_text(obj):
    import json
    return json.dumps(obj)


def multipart(boundary, parts, preamble="", epilogue=""):
    body = preamble.encode()
    for headers, data in parts:
        body += b"--" + boundary.encode() + b"\r\n" + headers.encode() + b"\r\n\r\n" + data + b"\r\n"
    return body + b"--" + boundary.encode() + b"--" + epilogue.encode()


def multipart_seeds():
    out = folder("multipart")
    image = ('Content-Disposition: form-data; name="image"; filename="x.png"\r\n'
             'Content-Type: image/png', TINY_PNG)
    params = ('Content-Disposition: form-data; name="params"', b'{"method": "lime", "samples": 32}')
    seeds = {
        "image_only": ("multipart/form-data; boundary=XyZ", multipart("XyZ", [image])),
        "with_params": ('multipart/form-data; boundary="a b:c"',
                        multipart("a b:c", [image, params], "preamble\r\n", "\r\nepilogue")),
        "unknown_part": ("multipart/form-data;boundary=q",
                         multipart("q", [image, ('Content-Disposition: form-data; name="x"', b"")])),
        "two_images": ("Multipart/Form-Data; charset=utf-8; boundary=----b",
                       multipart("----b", [image, image])),
        "no_name": ("multipart/form-data; boundary=z",
                    multipart("z", [("Content-Disposition: form-data", b"1")])),
        "json": ("application/json", json_text({"image": b64(TINY_PNG), "method": "gradcam"})
                 .encode()),
        "raw_png": ("image/png", TINY_PNG),
        "zip": ("application/zip", b"PK\x03\x04"),
        "other": ("text/plain", b"hello"),
    }
    for k, (ctype, body) in seeds.items():
        write(os.path.join(out, k), ctype.encode() + b"\n" + body)


def archive_seeds():
    out = folder("archive")
    for mode, name in ((zipfile.ZIP_STORED, "stored"), (zipfile.ZIP_DEFLATED, "deflated")):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", mode) as z:
            z.writestr("a.png", TINY_PNG)
            z.writestr("dir/b.png", TINY_PNG)
            z.writestr(".hidden.png", TINY_PNG)
            z.writestr("__MACOSX/._a.png", b"x")
            z.writestr("dir/", b"")
        write(os.path.join(out, "zip_" + name + ".zip"), buf.getvalue())
    for fmt, name in ((tarfile.USTAR_FORMAT, "ustar"), (tarfile.GNU_FORMAT, "gnu"),
                      (tarfile.PAX_FORMAT, "pax")):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
            for member in ("a.png", "dir/b.png", ".hidden.png", "long/" + "c" * 96 + ".png"):
                info = tarfile.TarInfo(member)
                info.size, info.mtime = len(TINY_PNG), 0
                t.addfile(info, io.BytesIO(TINY_PNG))
        write(os.path.join(out, "tar_" + name + ".tar"), buf.getvalue())


# ---------------------------------------------------------------------------- dictionaries

VIEW_PARAMS = ["zoom", "raw", "top_k", "colormap", "map_back", "steps", "lr", "blur_sigma",
               "blur_every", "jitter", "init_std", "seed", "projection", "perplexity",
               "iterations", "tsne_method", "init", "theta", "knn_k", "batch", "plot_size",
               "layer", "target", "labels"]
CHOICES = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle",
           "riemann_trapezoid", "zeros", "black", "blur", "uniform_noise", "constant", "zero",
           "mean", "segment_mean", "max", "epsilon_plus_flat", "epsilon_gamma_box", "epsilon",
           "gamma", "squared", "absolute", "positive", "viridis", "gray", "jet", "inferno",
           "turbo", "bwr", "tsne", "pca", "auto", "exact", "barnes_hut", "random", "overlay_png",
           "heatmap_png", "raw", "colorbar_png", "true", "false", "clear", "nodule", "opacity",
           LAYER]
GENERAL = ["method", "target", "layer", "outputs", "colormap", "opacity", "evaluate", "seed"]


def request_tokens():
    names = set(GENERAL + VIEW_PARAMS)
    for params in METHODS.values():
        names.update(params)
    return sorted(names) + sorted(METHODS) + CHOICES


def write_dict(name, tokens):
    def quote(t):
        b = t.encode() if isinstance(t, str) else t
        return "".join(chr(c) if 32 <= c < 127 and c not in b'"\\' else "\\x%02x" % c for c in b)
    lines = [f"# {name}.dict - written by tools/make_fuzz_seeds.py"]
    lines += [f'"{quote(t)}"' for t in dict.fromkeys(tokens)]
    write(os.path.join(ROOT, "fuzz", name + ".dict"), "\n".join(lines) + "\n")


def dictionaries():
    write_dict("decode_png", [b"\x89PNG\r\n\x1a\n", "IHDR", "PLTE", "IDAT", "IEND", "tRNS",
                              "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "bKGD", "pHYs", "tEXt",
                              "zTXt", "iTXt", "eXIf", "acTL", "fcTL", "fdAT", b"\x78\x9c",
                              b"\x78\x01", b"\x00\x00\x00\x0d"])
    write_dict("decode_jpeg", [b"\xff\xd8\xff", b"\xff\xd9", b"\xff\xc0", b"\xff\xc1",
                               b"\xff\xc2", b"\xff\xc3", b"\xff\xc4", b"\xff\xcc",
                               b"\xff\xdb", b"\xff\xda", b"\xff\xdd", b"\xff\xe0",
                               b"\xff\xe1", b"\xff\xee", b"\xff\xfe", b"\xff\xd0",
                               b"Exif\x00\x00", b"JFIF\x00", b"Adobe", b"II*\x00\x08\x00\x00\x00",
                               b"MM\x00*\x00\x00\x00\x08", b"\x01\x12\x00\x03",
                               b"\x12\x01\x03\x00"])
    ops = [os.path.splitext(f)[0] for f in os.listdir(os.path.join(ROOT, "core", "ops"))
           if f.endswith(".c") and not f.startswith("_")]
    onnx_ops = ["".join(w.capitalize() for w in op.split("_")) for op in sorted(ops)]
    onnx_ops = [o.replace("Matmul", "MatMul") for o in onnx_ops]
    write_dict("onnx", onnx_ops + [
        "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Reshape", "Expand",
        "Cast", "Equal", "Where", "Range", "ConstantOfShape", "Constant", "Identity", "Dropout",
        "BatchNormalization", "ai.onnx", "kernel_shape", "strides", "pads", "dilations", "group",
        "auto_pad", "SAME_UPPER", "axis", "axes", "perm", "epsilon", "momentum", "alpha",
        "beta", "transA", "transB", "mode", "value", "keepdims", "ceil_mode",
        "count_include_pad", "coordinate_transformation_mode", "nearest", "linear",
        "allowzero", "to", "min", "max",
        b"\x08\x07", b"\x08\x01", b"\x10\x01", b"\x3a", b"\x42", b"\x4a", b"\x52", b"\x5a",
        b"\x62", b"\x0a", b"\x12", b"\x1a", b"\x22", b"\x2a", b"\x32"])
    tokens = request_tokens()
    write_dict("query", tokens + ["/v1/models/chest-demo/", "explain", "predict", "report",
                                  "filters", "features", "maximize", "embed", "/v1/methods",
                                  "/v1/views", "&", "=", "?", "%", "%2F", "%00", "%25", "+",
                                  "1e308", "-0", "nan", "inf", "0x10"])
    write_dict("params", tokens + ['"image"', '{"image": "', "data:image/png;base64,", '": ',
                                   ", ", "{", "}", "[", "]", "null", "true", "false", "1e308",
                                   "-0", "\\u0000", "18446744073709551616"])
    write_dict("multipart", ["multipart/form-data; boundary=", "\r\n", "\r\n\r\n", "--", "\"",
                             "Content-Disposition: form-data; name=\"", "Content-Type: ",
                             "filename=\"", "name=\"image\"", "name=\"params\"",
                             "image/png", "image/jpeg", "application/json", "application/zip",
                             "application/x-tar", "; ", "charset=utf-8"])
    write_dict("archive", [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x07\x08",
                           b"PK\x06\x06", b"ustar\x0000", b"ustar  \x00", "__MACOSX/", "./",
                           "/.", b"\x08\x00", b"\x00\x00", b"\xff\xff\xff\xff"])


def main():
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    images()
    onnx_models()
    query_seeds()
    params_seeds()
    multipart_seeds()
    archive_seeds()
    dictionaries()
    for d in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, d))
        size = sum(os.path.getsize(os.path.join(OUT, d, f)) for f in files)
        print(f"{d}: {len(files)} files, {size} bytes")


if __name__ == "__main__":
    main()
