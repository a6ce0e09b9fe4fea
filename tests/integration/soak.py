#!/usr/bin/python3
"""soak.py - mixed requests against one `xaid serve` for a while: every method on every model
that offers it, the report, predict, the four inspection views, and a set of invalid requests
(corrupt and truncated images, a PNG claiming 100000 x 100000 pixels, wrong content types,
malformed JSON and multipart, unknown models, methods, layers and classes, absurd parameters).

Several client threads go round a shuffled list of those requests (seeded) for --duration
seconds while the server's resident set is sampled every --sample seconds. It passes when:

- no answer is a 5xx other than 503 (overloaded) and 504 (deadline), and no connection fails;
- every valid request is answered 200 (or 503/504), every invalid one with its 4xx;
- the resident set shows no growth beyond noise: after the warm-up (the first quarter of the
  run), the slope of the samples (Theil-Sen: the median of the slopes between every two
  samples, which one transient sample barely moves), projected over that span, stays within
  max(--growth-mib, 3 % of their median), and so does the last third's median over the middle
  third's median (medians, not peaks: a sample can catch a request's transient memory, such as
  an embedding batch's session, which is freed when it ends; a leak raises every sample).

The server runs with its defaults except --workers and --queue. Prints a summary, and with
--json FILE the samples and counts. Exit 0 on a pass, 1 on a failure.

usage: soak.py [--duration S] [--sample S] [--clients N] [--workers N] [--json FILE]
ctest runs it for 120 s (label integration); docs/reliability.md has a 20-minute run.
"""
import argparse
import base64
import http.client
import io
import json
import os
import random
import statistics
import struct
import sys
import threading
import time
import urllib.parse
import zipfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xaidtest  # noqa: E402  (the Server class; XAID and XAI_SOURCE_DIR from the environment)

# Cheaper settings for the slow methods so that a short run still goes round every request.
CHEAP = {"smoothgrad": {"samples": 4}, "smoothgrad_sq": {"samples": 4},
         "vargrad": {"samples": 4}, "integrated_gradients": {"steps": 8},
         "lime": {"samples": 32}, "occlusion": {"patch": 32, "stride": 32}}


def read(name):
    with open(xaidtest.example(name), "rb") as f:
        return f.read()


def png_header(width, height):
    """A PNG whose IHDR claims width x height (8-bit grey), with one tiny IDAT."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) +
            chunk(b"IEND", b""))


def multipart(parts, boundary="soakboundary42"):
    out = io.BytesIO()
    for name, ctype, data in parts:
        out.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
                   "Content-Type: %s\r\n\r\n" % (boundary, name, ctype)).encode())
        out.write(data + b"\r\n")
    out.write(("--%s--\r\n" % boundary).encode())
    return out.getvalue(), "multipart/form-data; boundary=" + boundary


class Req:
    """One request: method, path (with query), body, content type, and the statuses allowed."""

    def __init__(self, name, verb, path, body=b"", ctype=None, want=(200,)):
        self.name, self.verb, self.path, self.body, self.ctype = name, verb, path, body, ctype
        self.want = set(want) | {503, 504}


def valid_requests(models):
    png, jpg = read("nodule-2.png"), None
    for n in sorted(os.listdir(xaidtest.EXAMPLES)):
        if n.endswith((".jpg", ".jpeg")):
            jpg = read(n)
            break
    out = []
    for m in models:
        name = m["name"]
        base = "/v1/models/%s" % name
        out.append(Req("model info", "GET", base))
        out.append(Req("predict", "POST", base + "/predict", png, "image/png"))
        for meth in m["methods"]:
            q = urllib.parse.urlencode(dict(method=meth, **CHEAP.get(meth, {})))
            out.append(Req("explain " + meth, "POST", "%s/explain?%s" % (base, q), png,
                           "image/png"))
        out.append(Req("report", "POST", base + "/report", png, "image/png"))
        out.append(Req("filters", "GET", base + "/filters"))
        out.append(Req("features", "POST", base + "/features?top_k=4", png, "image/png"))
        out.append(Req("maximize", "POST", base + "/maximize?steps=3", b"", None))
        zbuf = io.BytesIO()
        with zipfile.ZipFile(zbuf, "w") as z:
            for n in ("clear-1.png", "nodule-1.png", "opacity-1.png"):
                z.writestr(n, read(n))
        # an autoencoder has no final linear layer to take the features from: 422 names it
        out.append(Req("embed", "POST", base + "/embed?projection=pca", zbuf.getvalue(),
                       "application/zip", (422,) if m.get("reconstruction") else (200,)))
    body = json.dumps({"method": "gradcam", "image": base64.b64encode(png).decode()}).encode()
    out.append(Req("explain json", "POST", "/v1/models/chest-demo/explain", body,
                   "application/json"))
    mp, ctype = multipart([("image", "image/png", png),
                           ("params", "application/json", b'{"method": "saliency"}')])
    out.append(Req("explain multipart", "POST", "/v1/models/chest-demo/explain", mp, ctype))
    if jpg:
        out.append(Req("predict jpeg", "POST", "/v1/models/chest-demo/predict", jpg,
                       "image/jpeg"))
    out += [Req("models", "GET", "/v1/models"), Req("methods", "GET", "/v1/methods"),
            Req("views", "GET", "/v1/views"), Req("healthz", "GET", "/healthz"),
            Req("metrics", "GET", "/metrics")]
    return out


def invalid_requests():
    png = read("nodule-2.png")
    e = "/v1/models/chest-demo/explain"
    bad_mp, bad_ctype = multipart([("image", "image/png", png)])
    return [
        Req("truncated png", "POST", e, png[:len(png) // 3], "image/png", (400, 422)),
        Req("random bytes as png", "POST", e, bytes(random.Random(1).getrandbits(8)
                                                    for _ in range(4096)), "image/png",
            (400, 415, 422)),
        Req("huge dimensions", "POST", e, png_header(100000, 100000), "image/png", (413, 422)),
        Req("wrong content type", "POST", e, png, "text/plain", (415,)),
        Req("malformed json", "POST", e, b'{"method": "gradcam", "image": ', "application/json",
            (400,)),
        Req("json nested", "POST", e, b"[" * 5000 + b"]" * 5000, "application/json", (400,)),
        Req("malformed multipart", "POST", e, bad_mp[:-20], bad_ctype, (400,)),
        Req("multipart without boundary", "POST", e, bad_mp, "multipart/form-data", (400,)),
        Req("unknown model", "POST", "/v1/models/no-such-model/explain", png, "image/png",
            (404,)),
        Req("unknown method", "POST", e + "?method=telepathy", png, "image/png", (404,)),
        Req("unknown layer", "POST", e + "?method=gradcam&layer=nope", png, "image/png",
            (400, 404, 422)),
        Req("unknown class", "POST", e + "?method=gradcam&target=9999", png, "image/png",
            (400, 404, 422)),
        Req("unknown class label", "POST", e + "?method=gradcam&target=unicorn", png,
            "image/png", (400, 404, 422)),
        Req("absurd steps", "POST", e + "?method=integrated_gradients&steps=100000000", png,
            "image/png", (400, 422)),
        Req("negative sigma", "POST", e + "?method=smoothgrad&sigma=-1", png, "image/png",
            (400, 422)),
        Req("nan parameter", "POST", e + "?method=smoothgrad&sigma=nan", png, "image/png",
            (400, 422)),
        Req("unknown route", "GET", "/v1/nothing", b"", None, (404,)),
        Req("wrong verb", "DELETE", "/v1/models", b"", None, (405,)),
        Req("embed of one image", "POST", "/v1/models/chest-demo/embed", png, "image/png",
            (400, 413, 415, 422)),
        Req("maximize absurd steps", "POST", "/v1/models/chest-demo/maximize?steps=99999999",
            b"", None, (400, 422)),
    ]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}    # status -> n
        self.failures = []  # (request name, status or error)
        self.n = 0

    def add(self, req, status):
        with self.lock:
            self.n += 1
            self.counts[status] = self.counts.get(status, 0) + 1
            bad_5xx = isinstance(status, int) and status >= 500 and status not in (503, 504)
            if not isinstance(status, int) or bad_5xx or status not in req.want:
                if len(self.failures) < 50:
                    self.failures.append((req.name, status))


def client(host, port, reqs, seed, stop, tally):
    rng = random.Random(seed)
    conn = None
    while not stop.is_set():
        order = list(reqs)
        rng.shuffle(order)
        for r in order:
            if stop.is_set():
                break
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=120)
                headers = {"Content-Type": r.ctype} if r.ctype else {}
                conn.request(r.verb, r.path, body=r.body or None, headers=headers)
                resp = conn.getresponse()
                resp.read()
                tally.add(r, resp.status)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                tally.add(r, "%s: %s" % (type(e).__name__, e))
                if conn:
                    conn.close()
                conn = None


def trend(samples, warm_fraction=0.25):
    """(slope KiB/s, growth projected over the post-warm-up span KiB, median KiB,
    last third's median minus middle third's median KiB) of [(t, kib)] after the warm-up."""
    t0 = samples[0][0]
    span = samples[-1][0] - t0
    post = [(t, k) for t, k in samples if t - t0 >= warm_fraction * span]
    if len(post) < 3:
        return 0.0, 0.0, statistics.median(k for _, k in samples), 0.0
    ts, ks = [t for t, _ in post], [k for _, k in post]
    # Theil-Sen: the median of the slopes between every two samples. A leak raises all of
    # them; one sample on a request's transient memory (late in the run, it swung a
    # least-squares slope past the bound: +34 MiB at 110 s of 120) moves the median little.
    pairs = [(ks[j] - ks[i]) / (ts[j] - ts[i]) for i in range(len(ts))
             for j in range(i + 1, len(ts)) if ts[j] > ts[i]]
    slope = statistics.median(pairs) if pairs else 0.0
    third = max(1, len(ks) // 3)
    return (slope, slope * (ts[-1] - ts[0]), statistics.median(ks),
            statistics.median(ks[-third:]) - statistics.median(ks[third:2 * third] or ks[:third]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=120)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", type=int, default=8)
    ap.add_argument("--growth-mib", type=float, default=8.0)
    ap.add_argument("--json")
    a = ap.parse_args()
    with xaidtest.Server("--workers", a.workers, "--queue", a.queue) as srv:
        info = json.loads(xaidtest.curl(srv.url("/v1/models")).body)["models"]
        valid, invalid = valid_requests(info), invalid_requests()
        reqs = valid + invalid
        host, port = srv.base[len("http://"):].split(":")
        tally, stop = Tally(), threading.Event()
        threads = [threading.Thread(target=client, args=(host, int(port), reqs, i, stop, tally))
                   for i in range(a.clients)]
        start = time.monotonic()
        samples = [(0.0, srv.rss_kib())]
        for t in threads:
            t.start()
        while time.monotonic() - start < a.duration:
            time.sleep(min(a.sample, max(0.0, a.duration - (time.monotonic() - start))))
            samples.append((time.monotonic() - start, srv.rss_kib()))
        stop.set()
        for t in threads:
            t.join(180)
        alive = srv.proc.poll() is None
        rc = srv.stop()
    slope, growth, median, thirds = trend(samples)
    bound = max(a.growth_mib * 1024, 0.03 * median)
    ok = (alive and rc == 0 and not tally.failures and growth <= bound and thirds <= bound and
          tally.n > len(reqs))
    print("soak: %.0f s, %d clients, %d workers: %d requests (%d kinds: %d valid, %d invalid)"
          % (a.duration, a.clients, a.workers, tally.n, len(reqs), len(valid), len(invalid)))
    print("  statuses: %s" % ", ".join("%s: %d" % kv for kv in
                                        sorted(tally.counts.items(), key=lambda kv: str(kv[0]))))
    print("  RSS MiB every %.0f s: %s" % (a.sample, " ".join("%.1f" % (k / 1024)
                                                               for _, k in samples)))
    print("  after warm-up: slope %.2f KiB/s, projected growth %.2f MiB, last-third median minus "
          "middle-third median %.2f MiB, bound %.2f MiB (median %.1f MiB)" % (
              slope, growth / 1024, thirds / 1024, bound / 1024, median / 1024))
    print("  server alive at the end: %s, exit code after SIGTERM: %s" % (alive, rc))
    for name, status in tally.failures:
        print("  FAILED %-28s %s" % (name, status))
    if tally.n <= len(reqs):
        print("  FAILED: fewer requests than kinds: the run did not go round the list")
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"samples": samples, "counts": {str(k): v for k, v in
                                                      tally.counts.items()},
                       "failures": tally.failures, "slope_kib_s": slope, "growth_kib": growth,
                       "thirds_kib": thirds, "bound_kib": bound, "ok": ok}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
