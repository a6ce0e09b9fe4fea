#!/usr/bin/python3
"""serve_memory.py - resident memory of `xaid serve` by worker count and method (sizing data for
docs/deployment.md).

usage: bench/serve_memory.py --xaid build/xaid [--models DIR] [--model NAME] [--image PNG]
                             [--workers 1,2,4] [--methods m1,m2,...] [--rounds N]
                             [--torchvision ARCH]

For each worker count W and each method, starts a fresh server (so arenas start empty),
reads VmRSS once it listens, then sends rounds of W concurrent explain calls (each worker
runs the method at least once with high probability; arenas stay at their largest size) and
reads VmRSS and VmHWM again. Prints a Markdown table: idle RSS, RSS after the method, and the
growth per worker (the method's arena for this model).
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def status_kb(pid, key):
    text = open(f"/proc/{pid}/status").read()
    return int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1))


def serve(xaid, models, workers):
    p = subprocess.Popen([xaid, "serve", "--listen", "127.0.0.1", "--port", "0", "--models",
                          models, "--workers", str(workers), "--deadline-ms", "3600000"],
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return p, m.group(1)
    raise RuntimeError("xaid serve did not start")


def explain(base, model, method, body):
    req = urllib.request.Request(f"{base}/v1/models/{model}/explain?method={method}&outputs=raw",
                                 data=body, headers={"Content-Type": "image/png"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status


EXPORT = """
import sys, torch, torchvision
torch.manual_seed(0)
model = getattr(torchvision.models, sys.argv[1])(num_classes=2).eval()
torch.onnx.export(model, torch.zeros(1, 3, 224, 224), sys.argv[2], opset_version=13,
                  input_names=["input"], output_names=["logits"], do_constant_folding=True,
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
"""


def torchvision_repo(arch):
    """A repository holding one torchvision architecture (random weights: memory does not
    depend on them), 224 x 224 RGB, two classes."""
    repo = tempfile.mkdtemp(prefix="xaid-mem-")
    os.makedirs(os.path.join(repo, arch))
    subprocess.run(["/usr/bin/python3", "-c", EXPORT, arch,
                    os.path.join(repo, arch, "model.onnx")], check=True, capture_output=True)
    with open(os.path.join(repo, arch, "model.json"), "w") as f:
        json.dump({"name": arch, "version": "0", "labels": ["a", "b"], "task": "multiclass",
                   "input": {"channels": 3, "height": 224, "width": 224},
                   "normalize": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}},
                  f)
    return repo


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xaid", required=True)
    ap.add_argument("--models", default=os.path.join(REPO, "models"))
    ap.add_argument("--model", default="chest-demo")
    ap.add_argument("--image", default=os.path.join(REPO, "examples", "nodule-2.png"))
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--methods", default="")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--torchvision", help="measure this torchvision architecture instead "
                    "(exported at 224 x 224 with /usr/bin/python3)")
    args = ap.parse_args()
    if args.torchvision:
        args.models, args.model = torchvision_repo(args.torchvision), args.torchvision
    methods = args.methods.split(",") if args.methods else sorted(
        m.split()[0] for m in subprocess.run([args.xaid, "methods"], capture_output=True,
                                             text=True).stdout.splitlines()
        if m and not m.startswith(" "))
    body = open(args.image, "rb").read()
    counts = [int(w) for w in args.workers.split(",")]
    rows = {}
    for w in counts:
        for method in methods:
            p, base = serve(args.xaid, args.models, w)
            try:
                time.sleep(0.2)
                idle = status_kb(p.pid, "VmRSS")
                with concurrent.futures.ThreadPoolExecutor(w) as pool:
                    for _ in range(args.rounds):
                        codes = list(pool.map(lambda _: explain(base, args.model, method, body),
                                              range(w)))
                        assert codes == [200] * w, codes
                rss, hwm = status_kb(p.pid, "VmRSS"), status_kb(p.pid, "VmHWM")
            finally:
                p.terminate()
                p.wait()
            rows[(w, method)] = (idle, rss, hwm)
            print(f"workers {w} {method:22s} idle {idle / 1024:6.1f} MB  after "
                  f"{rss / 1024:6.1f} MB  peak {hwm / 1024:6.1f} MB", flush=True)
    print(f"\n| method | " + " | ".join(f"{w} worker{'s' if w > 1 else ''}: RSS after"
                                         for w in counts) + " | per worker |")
    print("|---|" + "---|" * (len(counts) + 1))
    for method in methods:
        cells = [f"{rows[(w, method)][1] / 1024:.0f} MB" for w in counts]
        lo, hi = counts[0], counts[-1]
        per = (rows[(hi, method)][1] - rows[(lo, method)][1]) / (hi - lo) / 1024 if hi > lo else 0
        print(f"| {method} | " + " | ".join(cells) + f" | {per:.0f} MB |")
    idle = [rows[(w, methods[0])][0] / 1024 for w in counts]
    print(f"\nidle after load: " + ", ".join(f"{w} workers {i:.0f} MB" for w, i in zip(counts, idle)))


if __name__ == "__main__":
    main()
