#!/usr/bin/python3
"""method_report.py - localisation of every attribution method on the demo's sample images.

usage: /usr/bin/python3 tools/method_report.py [--xaid build/xaid] [--figure docs/img/methods.png]
                                               [--image examples/nodule-2.png]

For every method `xaid methods --json` lists and every sample image in examples/ that has a
lesion (non-empty mask), runs `xaid explain` with the true class as target and scores the
pointing game: a hit when the map's maximum lies inside the lesion mask. Prints a markdown
table (for docs/methods.md) and writes a figure with every method's overlay on one image.
This is a report, not a test: it measures where maps point, not whether they are right.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def explain(xaid, image, method, target, out_png=None):
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "a.json")
        cmd = [xaid, "explain", "--model", os.path.join(ROOT, "models/chest-demo"), "--image",
               image, "--method", method, "--target", target, "--json", js]
        if out_png:
            cmd += ["--out", out_png]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            return None, r.stderr.strip()
        a = json.load(open(js))
    raw = a["explanation"]["raw"]
    m = np.frombuffer(base64.b64decode(raw["data"]), "<f4").reshape(raw["shape"])
    return m, a


def lesion_images():
    exp = json.load(open(os.path.join(ROOT, "examples/expected.json")))
    for name, e in sorted(exp.items()):
        mask = np.asarray(Image.open(os.path.join(ROOT, "examples", e["mask"]))) > 0
        if mask.any():
            yield os.path.join(ROOT, "examples", name), e["label"], mask


def figure(xaid, methods, image, label, path):
    tiles = []
    with tempfile.TemporaryDirectory() as d:
        for m in methods:
            p = os.path.join(d, m + ".png")
            _, a = explain(xaid, image, m, label, p)
            if os.path.exists(p):
                tiles.append((m, Image.open(p).convert("RGB")))
    if not tiles:
        return
    w, h = tiles[0][1].size
    cols = 4
    rows = (len(tiles) + cols - 1) // cols
    fig = Image.new("RGB", (cols * w, rows * (h + 18)), "white")
    draw = ImageDraw.Draw(fig)
    for i, (m, t) in enumerate(tiles):
        x, y = (i % cols) * w, (i // cols) * (h + 18)
        draw.text((x + 4, y + 3), m, fill="black")
        fig.paste(t.resize((w, h)), (x, y + 18))
    fig.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xaid", default=os.path.join(ROOT, "build/xaid"))
    ap.add_argument("--figure", default=os.path.join(ROOT, "docs/img/methods.png"))
    ap.add_argument("--image", default=os.path.join(ROOT, "examples/nodule-2.png"))
    a = ap.parse_args()
    # the methods that fit the demo classifier (not those for autoencoders or attention models)
    methods = [m["name"] for m in json.loads(subprocess.run(
        [a.xaid, "methods", "--json"], capture_output=True, text=True, check=True).stdout)
        if not m.get("needs_reconstruction") and not m.get("needs_attention")]
    images = list(lesion_images())
    print("| method | pointing game | images |")
    print("|---|---|---|")
    for m in methods:
        hits, n, errors = 0, 0, []
        for path, label, mask in images:
            mp, info = explain(a.xaid, path, m, label)
            if mp is None:
                errors.append(info)
                continue
            y, x = np.unravel_index(np.argmax(mp), mp.shape)
            hits += bool(mask[y, x])
            n += 1
        note = "" if not errors else " (%d failed: %s)" % (len(errors), errors[0][:80])
        print("| %s | %d/%d (%.0f %%) | %s |" % (m, hits, n, 100.0 * hits / max(n, 1),
                                                  ", ".join(os.path.basename(p) for p, _, _ in images) if m == methods[0] else "same" ) + note)
    label = json.load(open(os.path.join(ROOT, "examples/expected.json")))[
        os.path.basename(a.image)]["label"]
    figure(a.xaid, methods, a.image, label, a.figure)
    print("\nfigure:", os.path.relpath(a.figure, ROOT), file=sys.stderr)


if __name__ == "__main__":
    main()
