#!/usr/bin/python3
"""make_slic_fixtures.py - scikit-image's SLIC labels for core/slic.c's test (tests/slic).

usage: /usr/bin/python3 tools/make_slic_fixtures.py OUTDIR

For a few images (colour photographs shipped with scikit-image, its gray camera picture, and
the repository's sample radiographs, gray and RGB, 8- and 16-bit) and settings, writes the image
(float32, h x w x c, values as decoded: [0, 255] or [0, 65535]) and skimage.segmentation.slic's
labels (int32, start_label=0) with a manifest.json. tests/slic/test_slic.c runs xai_slic on
the same images and compares the labellings with the adjusted Rand index.
"""
import json
import os
import sys

import numpy as np
from PIL import Image
from skimage import data
from skimage.segmentation import slic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    a = np.asarray(Image.open(os.path.join(ROOT, "examples", name)))
    return a.astype(np.float32)


def images():
    yield "astronaut", data.astronaut().astype(np.float32)
    yield "chelsea", data.chelsea().astype(np.float32)
    yield "coffee", data.coffee().astype(np.float32)
    yield "camera", data.camera().astype(np.float32)
    for name in ("nodule-2.png", "opacity-1.png", "clear-3.png"):
        yield name.split(".")[0], load_example(name)


# (n_segments, compactness for colour, compactness for gray)
SETTINGS = [(50, 10.0, 0.1), (200, 20.0, 0.05)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = []
    for name, img in images():
        c = 1 if img.ndim == 2 else img.shape[2]
        fimg = name + "_image.bin"
        np.ascontiguousarray(img, dtype="<f4").tofile(os.path.join(out, fimg))
        for n, comp_rgb, comp_gray in SETTINGS:
            comp = comp_rgb if c == 3 else comp_gray
            # skimage reads float input as is; it rescales to [0, 1] itself (as xai_slic does).
            lab = slic(img.astype(np.float64), n_segments=n, compactness=comp,
                       channel_axis=-1 if c == 3 else None, start_label=0)
            label = "%s_n%d" % (name, n)
            flab = label + "_labels.bin"
            np.ascontiguousarray(lab, dtype="<i4").tofile(os.path.join(out, flab))
            cases.append(dict(name=label, image=fimg, width=img.shape[1], height=img.shape[0],
                              channels=c, n_segments=n, compactness=comp, labels=flab,
                              n_labels=int(lab.max()) + 1))
            print("%-20s %dx%dx%d  %d labels" % (label, img.shape[1], img.shape[0], c,
                                                 lab.max() + 1), flush=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
