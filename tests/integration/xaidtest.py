"""xaidtest.py - what the integration tests share: the real `xaid serve`, curl as the client, and
openapi.yaml as the judge of every answer.

Run with /usr/bin/python3 (Debian's jsonschema and yaml). ctest sets XAID (the binary) and
XAI_SOURCE_DIR (the repository: openapi.yaml, models/, examples/).

  Server(...)          starts `xaid serve --listen 127.0.0.1 --port 0 ...`, reads the
                       "listening on http(s)://ADDR:PORT" line, keeps stdout (the access log)
                       and stderr in files, and stops with SIGTERM (checking the exit code).
  curl(...)            one request through the curl command; a Response with status, headers
                       (lowercase names) and body.
  Contract.check(...)  the answer against the operation's response in openapi.yaml: a declared
                       status, the content type, the body against its JSON Schema (2020-12, as
                       OpenAPI 3.1 writes it) and every required header against its schema.
  explain_args(...)    curl arguments for the three encodings of explain/predict.
"""
import base64
import json
import math
import os
import re
import signal
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

import jsonschema
import yaml

XAID = os.environ.get("XAID", "build/xaid")
SOURCE = os.environ.get("XAI_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_PATH = os.path.join(SOURCE, "openapi.yaml")
MODELS = os.path.join(SOURCE, "models")
EXAMPLES = os.path.join(SOURCE, "examples")
MODEL = "chest-demo"
CURL = "curl"


def example(name):
    return os.path.join(EXAMPLES, name)


def wait_for(cond, timeout, what):
    """Polls cond() every 50 ms until it is true; AssertionError naming `what` after timeout s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def method_table():
    out = subprocess.run([XAID, "methods", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# The server


class Server:
    """`xaid serve` on a free loopback port; use as a context manager."""

    def __init__(self, *args, env=None, models=MODELS, start_timeout=60):
        self.tmp = tempfile.TemporaryDirectory(prefix="xaid-it-")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.err_path = os.path.join(self.tmp.name, "stderr.log")
        self.args = [XAID, "serve", "--listen", "127.0.0.1", "--port", "0", "--models", models]
        self.args += [str(a) for a in args]
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("XAID_"):
                del self.env[k]
        self.env.update(env or {})
        self.start_timeout = start_timeout
        self.proc = None
        self.base = None
        self.returncode = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.tmp.cleanup()

    def start(self):
        self._out = open(self.log_path, "wb")
        self._err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(self.args, stdout=self._out, stderr=subprocess.PIPE,
                                     env=self.env, start_new_session=True)
        found = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self._err.write(line)
                self._err.flush()
                m = re.search(rb"listening on (https?)://([0-9.]+):([0-9]+)", line)
                if m and not found.is_set():
                    self.base = "%s://%s:%s" % tuple(g.decode() for g in m.groups())
                    found.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + self.start_timeout
        while not found.is_set():
            if self.proc.poll() is not None:
                self._pump.join(2)
                raise AssertionError("xaid serve exited with %d before listening:\n%s" %
                                     (self.proc.returncode, self.stderr()))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("xaid serve did not print 'listening on' in %ds:\n%s" %
                                     (self.start_timeout, self.stderr()))
            found.wait(0.05)

    def url(self, path):
        return self.base + path

    def address(self):
        """(host, port) of the listening socket."""
        host, port = self.base.split("://", 1)[1].split(":")
        return host, int(port)

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=30):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("xaid serve did not exit %ds after SIGTERM:\n%s" %
                                 (timeout, self.stderr()))
        self._pump.join(5)
        self.proc.stderr.close()
        self._out.close()
        self._err.close()
        return self.returncode

    def stop(self, timeout=30):
        """SIGTERM and the exit code (which must be 0: a clean drain)."""
        if self.proc is None or self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.wait(5)

    def stderr(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-4000:]
        except OSError:
            return ""

    def access_log(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


# ---------------------------------------------------------------------------------------------
# curl


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers  # lowercase name -> last value
        self.body = body
        self.elapsed = elapsed

    def json(self):
        return json.loads(self.body)

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "<%d %s %r>" % (self.status, self.headers.get("content-type"), self.body[:300])


def parse_headers(raw):
    """The last header block curl wrote (after any 100 Continue)."""
    blocks = [b for b in raw.decode("latin-1").split("\r\n\r\n") if b.strip()]
    if not blocks:
        return 0, {}
    lines = blocks[-1].split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers


def curl_cmd(url, args, tmpdir):
    hfile = os.path.join(tmpdir, "headers")
    bfile = os.path.join(tmpdir, "body")
    cmd = [CURL, "-sS", "--max-time", "120", "-D", hfile, "-o", bfile, "-w", "%{time_total}",
           *args, url]
    return cmd, hfile, bfile


def curl_collect(proc_rc, stderr, hfile, bfile, stdout):
    """The Response; elapsed is curl's own time_total (not when the caller collected it)."""
    if proc_rc != 0:
        raise AssertionError("curl failed (%d): %s" % (proc_rc, stderr.strip()))
    with open(hfile, "rb") as f:
        status, headers = parse_headers(f.read())
    with open(bfile, "rb") as f:
        body = f.read()
    if body.startswith(b"HTTP/"):  # -I (HEAD): curl writes the headers as the output
        body = b""
    return Response(status, headers, body, float(stdout.strip() or "nan"))


def curl(url, *args):
    """One request: curl URL with extra arguments (-X, -H, -F, --data-binary, ...)."""
    with tempfile.TemporaryDirectory(prefix="xaid-curl-") as d:
        cmd, hfile, bfile = curl_cmd(url, list(args), d)
        p = subprocess.run(cmd, capture_output=True, text=True)
        return curl_collect(p.returncode, p.stderr, hfile, bfile, p.stdout)


class CurlProc:
    """A curl process running in the background (concurrency, load, drain)."""

    def __init__(self, url, *args):
        self.dir = tempfile.TemporaryDirectory(prefix="xaid-curl-")
        cmd, self.hfile, self.bfile = curl_cmd(url, list(args), self.dir.name)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)

    def result(self, timeout=180):
        out, err = self.proc.communicate(timeout=timeout)
        try:
            return curl_collect(self.proc.returncode, err, self.hfile, self.bfile, out)
        finally:
            self.dir.cleanup()


# ---------------------------------------------------------------------------------------------
# Request bodies: the three encodings


def query_string(params):
    parts = []
    for k, v in params.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            v = ",".join(v)
        parts.append((k, str(v)))
    return urllib.parse.urlencode(parts)


def image_type(path):
    return "image/jpeg" if path.lower().endswith((".jpg", ".jpeg")) else "image/png"


def request_args(encoding, image, params, tmpdir, filename=None):
    """(curl args, query string) sending image (a path) and params (a dict) in one encoding:
    multipart (image part + params JSON part), raw (image/png or image/jpeg body + query) or
    json (base64 image + params in one object)."""
    params = dict(params or {})
    if encoding == "multipart":
        part = "image=@%s;type=%s" % (image, image_type(image))
        if filename:
            part += ";filename=%s" % filename
        args = ["-F", part]
        if params:
            pfile = os.path.join(tmpdir, "params-%d.json" % len(os.listdir(tmpdir)))
            with open(pfile, "w") as f:
                json.dump(params, f)
            args += ["-F", "params=<%s;type=application/json" % pfile]
        return args, ""
    if encoding == "raw":
        return ["-H", "Content-Type: " + image_type(image), "--data-binary", "@" + image], \
            query_string(params)
    if encoding == "json":
        with open(image, "rb") as f:
            body = dict(params, image=base64.b64encode(f.read()).decode())
        jfile = os.path.join(tmpdir, "body-%d.json" % len(os.listdir(tmpdir)))
        with open(jfile, "w") as f:
            json.dump(body, f)
        return ["-H", "Content-Type: application/json", "--data-binary", "@" + jfile], ""
    raise ValueError(encoding)


# ---------------------------------------------------------------------------------------------
# The contract


def decode_raw(raw):
    """The raw map's float32 values as a list, checking its declared shape."""
    data = base64.b64decode(raw["data"], validate=True)
    h, w = raw["shape"]
    if len(data) != 4 * h * w:
        raise AssertionError("raw.data holds %d bytes for shape [%d, %d]" % (len(data), h, w))
    return list(struct.unpack("<%df" % (h * w), data))


def png_size(b64):
    """(width, height) of a base64 PNG, checking its signature and IHDR chunk."""
    data = base64.b64decode(b64, validate=True)
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise AssertionError("not a PNG")
    return struct.unpack(">II", data[16:24])


class Contract:
    """openapi.yaml, and checks of answers against it."""

    def __init__(self, path=SPEC_PATH):
        with open(path) as f:
            self.spec = yaml.safe_load(f)
        self.resolver = jsonschema.RefResolver("", self.spec)

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            node = self.resolver.resolve(node["$ref"])[1]
        return node

    def schema_errors(self, instance, schema):
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        return ["%s: %s" % (e.json_path, e.message) for e in v.iter_errors(instance)]

    def validate(self, instance, schema_name):
        errs = self.schema_errors(instance, {"$ref": "#/components/schemas/" + schema_name})
        if errs:
            raise AssertionError("%s does not match openapi.yaml:\n  %s\n%s" % (
                schema_name, "\n  ".join(errs[:10]), json.dumps(instance)[:500]))

    def operation(self, path, method):
        item = self.spec["paths"][path]
        merged = {}
        if "$ref" in item:
            merged.update(self.resolver.resolve(item["$ref"])[1])
        merged.update({k: v for k, v in item.items() if k != "$ref"})
        op = merged.get(method.lower())
        if op is None:
            raise AssertionError("openapi.yaml has no %s %s" % (method, path))
        return op

    def response(self, path, method, status):
        op = self.operation(path, method)
        r = op["responses"].get(str(status))
        if r is None:
            raise AssertionError("openapi.yaml declares no %d for %s %s (declared: %s)" %
                                 (status, method, path, ", ".join(op["responses"])))
        return self.resolve(r)

    def check(self, resp, path, method, status=None):
        """resp (a Response) is a valid answer of the operation at path (a template such as
        /v1/models/{model}/explain); when status is given it must be that one. Returns the
        parsed body (JSON, or text)."""
        if status is not None and resp.status != status:
            raise AssertionError("%s %s: status %d, expected %d: %r" %
                                 (method, path, resp.status, status, resp))
        decl = self.response(path, method, resp.status)
        for name, h in (decl.get("headers") or {}).items():
            h = self.resolve(h)
            value = resp.header(name)
            if value is None:
                if h.get("required"):
                    raise AssertionError("%s %s %d: no %s header: %r" %
                                         (method, path, resp.status, name, resp.headers))
                continue
            schema = dict(h.get("schema", {}))
            inst = int(value) if schema.get("type") == "integer" and value.isdigit() else value
            errs = self.schema_errors(inst, schema)
            if errs:
                raise AssertionError("%s %s %d: header %s: %r: %s" %
                                     (method, path, resp.status, name, value, errs))
        content = decl.get("content")
        if not content:
            if resp.body:
                raise AssertionError("%s %s %d: a body where none is declared: %r" %
                                     (method, path, resp.status, resp.body[:200]))
            return None
        ctype = (resp.header("content-type") or "").split(";")[0].strip().lower()
        if ctype not in content:
            raise AssertionError("%s %s %d: Content-Type %r, declared %s" %
                                 (method, path, resp.status, resp.header("content-type"),
                                  list(content)))
        schema = content[ctype].get("schema", {})
        if ctype == "application/json":
            try:
                body = resp.json()
            except ValueError as e:
                raise AssertionError("%s %s %d: body is not JSON (%s): %r" %
                                     (method, path, resp.status, e, resp.body[:200]))
        else:
            body = resp.body.decode("utf-8")
        errs = self.schema_errors(body, schema)
        if errs:
            raise AssertionError("%s %s %d: the body does not match openapi.yaml:\n  %s\n%s" %
                                 (method, path, resp.status, "\n  ".join(errs[:10]),
                                  resp.body[:400]))
        return body

    def check_error(self, resp, path, method, status, code):
        """An error answer: that status, that code, request_id equal to X-Request-ID."""
        body = self.check(resp, path, method, status)
        err = body["error"]
        if err["code"] != code:
            raise AssertionError("%s %s: code %r, expected %r (%s)" %
                                 (method, path, err["code"], code, err["message"]))
        if err["request_id"] != resp.header("x-request-id"):
            raise AssertionError("error.request_id %r differs from X-Request-ID %r" %
                                 (err["request_id"], resp.header("x-request-id")))
        return err


CONTRACT = None


def contract():
    global CONTRACT
    if CONTRACT is None:
        CONTRACT = Contract()
    return CONTRACT


def percentile(values, p):
    """The p-th percentile of values, interpolating linearly between order statistics (numpy's
    default, as the server computes display_range)."""
    v = sorted(values)
    rank = p / 100.0 * (len(v) - 1)
    lo = int(math.floor(rank))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (rank - lo)


def png_pixels(b64):
    """A base64 PNG as a PIL image in RGB (PIL from Debian's python3-pil)."""
    import io
    from PIL import Image
    return Image.open(io.BytesIO(base64.b64decode(b64, validate=True))).convert("RGB")


def check_display_range(tc, expl):
    """display_range against range: [P2, P98] of the model-grid map lies within its
    [min, max]; a signed map's is symmetric about 0, within max |value|."""
    lo, hi = expl["range"]
    dlo, dhi = expl["display_range"]
    tc.assertLessEqual(dlo, dhi)
    tol = 1e-5 * max(1.0, abs(lo), abs(hi))
    if expl["signed"]:
        tc.assertAlmostEqual(dlo, -dhi, delta=tol)
        tc.assertGreaterEqual(dhi, 0)
        tc.assertLessEqual(dhi, max(abs(lo), abs(hi)) + tol)
    else:
        tc.assertGreaterEqual(dlo, lo - tol)
        tc.assertLessEqual(dhi, hi + tol)


def check_colorbar(tc, b64, colormap):
    """colorbar_png: 256 x 16, the colormap's low end on the left and its high end on the
    right (checked by the end colours of jet, bwr, gray, viridis, inferno, turbo)."""
    tc.assertEqual(png_size(b64), (256, 16))
    img = png_pixels(b64)
    left, right = img.getpixel((0, 8)), img.getpixel((255, 8))
    for x in range(0, 256, 17):  # every row of a column is the same colour
        tc.assertEqual(img.getpixel((x, 0)), img.getpixel((x, 15)), x)
    if colormap == "gray":
        tc.assertLess(sum(left), 30)
        tc.assertGreater(min(right), 240)
    elif colormap in ("jet", "bwr", "turbo"):  # blue (turbo: dark blue-violet) to red
        tc.assertGreater(left[2], left[0] + (5 if colormap == "turbo" else 60), left)
        tc.assertGreater(right[0], right[2] + 60, right)
    else:  # viridis, inferno: dark to bright
        tc.assertLess(sum(left), sum(right) - 200, (left, right))
    if colormap == "bwr":  # white in the middle
        tc.assertGreater(min(img.getpixel((128, 8))), 230)


def check_map(tc, expl):
    """The explanation's raw map: declared shape = [height, width], finite values within the
    declared range (or 0 where the model saw nothing), a display range within the range, PNGs
    of the image's size, the colour bar of its colormap."""
    w, h = expl["width"], expl["height"]
    check_display_range(tc, expl)
    if "colorbar_png" in expl:
        check_colorbar(tc, expl["colorbar_png"], expl["colormap"])
    if "raw" in expl:
        tc.assertEqual(expl["raw"]["shape"], [h, w])
        values = decode_raw(expl["raw"])
        tc.assertTrue(all(math.isfinite(v) for v in values), "non-finite values in the raw map")
        lo, hi = expl["range"]
        tc.assertLessEqual(lo, hi)
        tol = 1e-4 * max(1.0, abs(lo), abs(hi))
        outside = [v for v in values if v != 0 and not (lo - tol <= v <= hi + tol)]
        tc.assertFalse(outside, "raw values outside range %r: %r" % ([lo, hi], outside[:5]))
    for k in ("overlay_png", "heatmap_png"):
        if k in expl:
            if k == "overlay_png" and "class_map" in expl:  # a legend strip below the image
                ow, oh = png_size(expl[k])
                tc.assertGreaterEqual(ow, w)
                tc.assertGreater(oh, h)
            else:
                tc.assertEqual(png_size(expl[k]), (w, h), k)
    if "class_map" in expl:
        check_class_map(tc, expl)
    return decode_raw(expl["raw"]) if "raw" in expl else None


def decode_class_map(cm):
    data = base64.b64decode(cm["data"], validate=True)
    h, w = cm["shape"]
    if len(data) != 4 * h * w:
        raise AssertionError("class_map.data holds %d bytes for shape [%d, %d]" % (len(data), h, w))
    return list(struct.unpack("<%di" % (h * w), data))


def check_class_map(tc, expl):
    """dominant_class: a class (or -1) per pixel, of the image's shape; the legend lists every
    class once, in index order, each with its own colour."""
    cm, legend = expl["class_map"], expl["legend"]
    tc.assertEqual(cm["shape"], [expl["height"], expl["width"]])
    classes = decode_class_map(cm)
    tc.assertEqual([e["index"] for e in legend], list(range(len(legend))))
    tc.assertEqual(len({e["color"] for e in legend}), len(legend))
    tc.assertTrue(set(classes) <= set(range(-1, len(legend))), set(classes))
    tc.assertTrue(any(c >= 0 for c in classes), "no pixel has a class")
    return classes


def main():
    unittest.main(verbosity=2)
