#!/usr/bin/python3
"""inspect_report.py - the inspection views on the demo data: figures and figures of merit for
docs/inspection.md. A report, not a test.

usage: /usr/bin/python3 tools/inspect_report.py [--xaid build/xaid] [--images 300]
                                                [--timing 2000] [--lesions 60] [--img docs/img]

  embed          the embedding of --images fresh synthetic pictures (tools/make_demo_model.py's
                 generator, other seeds; classes in turn) by the demo model, t-SNE and PCA, with
                 the k-NN agreement of the projection and of the features; the scatter plots
  timing         `xaid embed` of --timing pictures (t-SNE, Barnes-Hut), wall time
  reconstruction the demo autoencoder's map on --lesions fresh lesion pictures and on the
                 sample images: pointing game (the map's maximum inside the lesion mask) of
                 several parameter choices; the scores of the default map on those and on 30
                 fresh clear pictures plus the clear sample images: AUC
  dominant_class the fraction of lesion pixels the dominant-class map gives the lesion's class,
                 and the pointing game of its strength, on the same pictures
  figures        filters, features, maximize (each class), embed, reconstruction, attention and
                 dominant_class, in --img
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import make_demo_model as dm  # noqa: E402

SPLIT_REPORT = 31
DEMO = os.path.join(ROOT, "models/chest-demo")
AE = os.path.join(ROOT, "models/chest-ae")
ATT = os.path.join(ROOT, "models/chest-attention")


def xaid(args, cmd):
    r = subprocess.run([args.xaid] + cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit("xaid %s: %s" % (" ".join(cmd[:3]), r.stderr.strip()))
    return r.stdout


def synth(outdir, n, seed, lesion_only=False):
    """n pictures (PNG, 8-bit) with their classes and masks."""
    files, labels, masks = [], [], []
    for i in range(n):
        rng = np.random.default_rng([seed, SPLIT_REPORT, i])
        cls = 1 + i % 2 if lesion_only else i % 3
        side = int(rng.integers(128, 257))
        img, mask = dm.synth_chest(side, side, cls, rng)
        p = os.path.join(outdir, "%s-%04d.png" % (dm.LABELS[cls], i))
        Image.fromarray(np.round(img * 255).astype(np.uint8), "L").save(p)
        files.append(p)
        labels.append(dm.LABELS[cls])
        masks.append(mask)
    return files, labels, masks


def raw(a):
    r = a["raw"] if "raw" in a else a
    return np.frombuffer(base64.b64decode(r["data"]), "<f4").reshape(r["shape"])


def embed(args, files, labels, projection, out_png):
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "e.json")
        t0 = time.time()
        xaid(args, ["embed", "--model", DEMO, "--projection", projection, "--labels",
                    ",".join(labels), "--json", js] + (["--out", out_png] if out_png else []) +
             files)
        dt = time.time() - t0
        return json.load(open(js)), dt


def explain(args, model, image, method, target=None, out_png=None, extra=()):
    with tempfile.TemporaryDirectory() as d:
        js = os.path.join(d, "a.json")
        cmd = ["explain", "--model", model, "--image", image, "--method", method, "--json", js]
        cmd += ["--target", target] if target else []
        cmd += ["--out", out_png] if out_png else []
        cmd += list(extra)
        xaid(args, cmd)
        return json.load(open(js))


def pointing(m, mask):
    y, x = np.unravel_index(int(np.argmax(m)), m.shape)
    return bool(mask[y, x])


def lesion_set(args, tmp):
    files, labels, masks = synth(tmp, args.lesions, 1, lesion_only=True)
    exp = json.load(open(os.path.join(ROOT, "examples/expected.json")))
    for name, e in sorted(exp.items()):
        mask = np.asarray(Image.open(os.path.join(ROOT, "examples", e["mask"]))) > 0
        if mask.any():
            files.append(os.path.join(ROOT, "examples", name))
            labels.append(e["label"])
            masks.append(mask)
    return files, labels, masks


# (error, blur, smooth): the default, the two-sided error with the same blur, the plain
# per-pixel error, and the best variant before the residual blur existed.
RECON_VARIANTS = (("positive", "3", "0"), ("squared", "3", "0"), ("squared", "0", "0"),
                  ("positive", "0", "3"))


def recon_explain(args, f, variant):
    kind, blur, smooth = variant
    return explain(args, args.ae, f, "reconstruction",
                   extra=("--param", "error=" + kind, "--param", "blur=" + blur,
                          "--param", "smooth=" + smooth))


def recon_scores(a):
    """(anomaly_score, peak_error, the model's anomaly logit) of an explain answer."""
    m = a["explanation"]["metrics"]
    return m["anomaly_score"], m["peak_error"], a["scores"][0]["logit"]


def reconstruction_report(args, files, masks):
    """Pointing game and scores of each (error, blur, smooth) variant."""
    hits, scores = [0] * len(RECON_VARIANTS), [[] for _ in RECON_VARIANTS]
    for f, m in zip(files, masks):
        for i, v in enumerate(RECON_VARIANTS):
            a = recon_explain(args, f, v)
            hits[i] += pointing(raw(a["explanation"]), m)
            scores[i].append(recon_scores(a))
    return hits, len(files), scores


def auc(pos, neg):
    """Area under the ROC curve: the chance that a positive scores above a negative."""
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def dominant_report(args, files, labels, masks):
    hits, fracs = 0, []
    for f, lab, m in zip(files, labels, masks):
        a = explain(args, DEMO, f, "dominant_class")["explanation"]
        cls = np.frombuffer(base64.b64decode(a["class_map"]["data"]), "<i4").reshape(
            a["class_map"]["shape"])
        want = dm.LABELS.index(lab)
        fracs.append(float((cls[m] == want).mean()))
        hits += pointing(raw(a), m)
    return hits, len(files), fracs


def clear_scores(args, tmp, n):
    """Scores of each variant on n fresh clear pictures and the clear sample images."""
    files, _, _ = synth(tmp, 3 * n, 2)
    exp = json.load(open(os.path.join(ROOT, "examples/expected.json")))
    files = files[::3] + [os.path.join(ROOT, "examples", k) for k, e in sorted(exp.items())
                          if e["label"] == "clear"]
    return [[recon_scores(recon_explain(args, f, v)) for f in files] for v in RECON_VARIANTS]


def figures(args, models):
    img = args.img
    ex = os.path.join(ROOT, "examples")
    xaid(args, ["filters", "--model", DEMO, "--zoom", "12", "--out",
                os.path.join(img, "inspect-filters.png")])
    xaid(args, ["features", "--model", DEMO, "--image", os.path.join(ex, "nodule-2.png"),
                "--top_k", "16", "--zoom", "4", "--out", os.path.join(img, "inspect-features.png")])
    tiles = []
    for c in dm.LABELS:
        p = os.path.join(img, "inspect-maximize-%s.png" % c)
        xaid(args, ["maximize", "--model", DEMO, "--target", c, "--steps", "200", "--jitter",
                    "2", "--blur_sigma", "0.5", "--out", p])
        tiles.append(Image.open(p).convert("L"))
        os.remove(p)
    strip = Image.new("L", (3 * 128 + 8, 128), 255)
    for i, t in enumerate(tiles):
        strip.paste(t, (i * 132, 0))
    strip.save(os.path.join(img, "inspect-maximize.png"))
    if not models:
        return
    explain(args, AE, os.path.join(ex, "nodule-2.png"), "reconstruction",
            out_png=os.path.join(img, "inspect-reconstruction.png"))
    explain(args, AE, os.path.join(ex, "nodule-2.png"), "reconstruction",
            out_png=os.path.join(img, "inspect-reconstruction-plain.png"),
            extra=("--param", "error=squared", "--param", "blur=0"))
    explain(args, ATT, os.path.join(ex, "opacity-3.png"), "attention",
            out_png=os.path.join(img, "inspect-attention.png"))
    explain(args, DEMO, os.path.join(ex, "nodule-2.png"), "dominant_class",
            out_png=os.path.join(img, "inspect-dominant-class.png"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xaid", default=os.path.join(ROOT, "build/xaid"))
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--timing", type=int, default=2000)
    ap.add_argument("--lesions", type=int, default=60)
    ap.add_argument("--img", default=os.path.join(ROOT, "docs/img"))
    ap.add_argument("--ae", default=AE, help="the autoencoder of the reconstruction part")
    ap.add_argument("--parts", default="embed,timing,reconstruction,dominant,figures",
                    help="comma-separated; figures_base: the figures without the demo "
                         "autoencoder and attention model")
    a = ap.parse_args()
    parts = a.parts.split(",")
    os.makedirs(a.img, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        files, labels, _ = synth(tmp, max(a.images, a.timing if "timing" in parts else 0), 0)
        if "embed" in parts:
            embed_report(a, files, labels)
        if "timing" in parts and a.timing:
            for proj in ("tsne", "pca"):
                e, dt = embed(a, files[:a.timing], labels[:a.timing], proj, None)
                print("timing: embed of %d pictures with %s: %.1f s (t-SNE %s)" %
                      (a.timing, proj, dt, e.get("tsne", {}).get("method", "-")))
        lf, ll, lm = lesion_set(a, tmp) if {"reconstruction", "dominant"} & set(parts) else \
            ([], [], [])
        if "reconstruction" in parts:
            hits, n, scores = reconstruction_report(a, lf, lm)
            cs = clear_scores(a, tmp, 30)
            print("\n## reconstruction (chest-ae), %d lesion and %d clear pictures" %
                  (n, len(cs[0])))
            print("| error | blur | smooth | pointing game | AUC anomaly_score | "
                  "AUC peak_error |")
            print("|---|---|---|---|---|---|")
            for v, h, ls, c in zip(RECON_VARIANTS, hits, scores, cs):
                print("| %s | %s | %s | %d/%d (%.0f %%) | %.3f | %.3f |" %
                      (v + (h, n, 100.0 * h / n, auc([x[0] for x in ls], [x[0] for x in c]),
                            auc([x[1] for x in ls], [x[1] for x in c]))))
            for k, name in enumerate(("anomaly_score", "peak_error", "model logit")):
                ls, c = [x[k] for x in scores[0]], [x[k] for x in cs[0]]
                print("default %s: median %.4g against %.4g; lesion pictures above the "
                      "clear 95th percentile: %.0f %%; AUC %.3f" %
                      (name, np.median(ls), np.median(c),
                       100.0 * np.mean(np.array(ls) > np.percentile(c, 95)), auc(ls, c)))
        if "dominant" in parts:
            hits, n, fr = dominant_report(a, lf, ll, lm)
            print("\n## dominant_class (chest-demo, grad-CAM): lesion pixels given the lesion's "
                  "class: median %.2f, mean %.2f; strength pointing game %d/%d (%.0f %%)" %
                  (np.median(fr), np.mean(fr), hits, n, 100.0 * hits / n))
    if "figures" in parts or "figures_base" in parts:
        figures(a, "figures" in parts)
        print("\nfigures written to", a.img)


def embed_report(a, files, labels):
    print("## embed (%d pictures, demo model, layer: the input of the final linear layer)"
          % a.images)
    print("| projection | k-NN agreement (k=5), 2-D | in the 64-D features | "
          "prediction accuracy | time |")
    print("|---|---|---|---|---|")
    for proj in ("tsne", "pca"):
        e, dt = embed(a, files[:a.images], labels[:a.images], proj,
                      os.path.join(a.img, "inspect-embed-%s.png" % proj))
        k = e["knn_agreement"]
        print("| %s | %.3f | %.3f | %.3f | %.1f s |" % (proj, k["projection"], k["features"],
                                                        k["prediction_accuracy"], dt))


if __name__ == "__main__":
    main()
