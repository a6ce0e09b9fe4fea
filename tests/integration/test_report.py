#!/usr/bin/python3
"""test_report.py - the clinicians' report (POST /v1/models/{model}/report) and the viewer's
files (GET /, /viewer.js, /viewer.css), each answer checked against openapi.yaml.

The report: HTML by default and JSON with Accept: application/json, in the three encodings;
the HTML is self-contained (no script, no URL but data: images) under its
Content-Security-Policy; the JSON agrees with predict and explain on the same image, names
the model, the request and the upload's digest, and holds the method and grad-CAM beside it.
Errors are in test_errors.py, 503/504 in test_load.py, the log in test_access_log.py."""
import base64
import datetime
import hashlib
import json
import os
import re
import tempfile
import unittest

from xaidtest import (MODEL, MODELS, SOURCE, Server, check_colorbar, check_display_range,
                      contract, curl, example, main, png_size, request_args)

REPORT = "/v1/models/{model}/report"
EXPLAIN = "/v1/models/{model}/explain"
PREDICT = "/v1/models/{model}/predict"
ORIGIN = "https://viewer.example.org"
JSON = ("-H", "Accept: application/json")
VIEWER = (("/", "index.html", "text/html", "viewerPage"),
          ("/viewer.js", "viewer.js", "text/javascript", None),
          ("/viewer.css", "viewer.css", "text/css", None))


def setUpModule():
    global SERVER, C, INFO
    C = contract()
    SERVER = Server("--workers", "2", "--queue", "16", "--cors-origins", ORIGIN)
    SERVER.start()
    INFO = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)


def tearDownModule():
    rc = SERVER.stop()
    if rc != 0:
        raise AssertionError("xaid serve exited %r after SIGTERM:\n%s" % (rc, SERVER.stderr()))


def post(route, image, params=None, encoding="raw", extra=()):
    with tempfile.TemporaryDirectory() as d:
        args, qs = request_args(encoding, image, params, d)
        url = SERVER.url("/v1/models/%s/%s" % (MODEL, route)) + ("?" + qs if qs else "")
        return curl(url, *args, *extra)


def get(path, *args):
    return curl(SERVER.url(path), *args)


def read(path):
    with open(path, "rb") as f:
        return f.read()


# What a self-contained document may not hold: a scheme (http:, https:, ftp:, file:, a
# protocol-relative //host), a CSS url() or @import, a script, a frame, an object or a form.
URL_RE = re.compile(r"\b[a-z][a-z0-9+.-]*://|(?<![:\w])//[a-z0-9-]+\.", re.I)
FORBIDDEN_RE = re.compile(r"<script|<iframe|<object|<embed|<form|<link|<base|@import|url\(|"
                          r"\bon[a-z]+\s*=|javascript:|srcset", re.I)
ATTR_RE = re.compile(r"""\b(src|href|action|poster|data|xlink:href)\s*=\s*["']?([^"'\s>]*)""",
                     re.I)
DATA_URI_RE = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def external_references(html):
    """Everything in html that could make a browser fetch something: URLs, forbidden
    elements and attributes, and src/href values other than data: images or #fragments."""
    found = []
    text = DATA_URI_RE.sub("data:image/png;base64,", html)
    found += URL_RE.findall(text)
    found += FORBIDDEN_RE.findall(text)
    for attr, value in ATTR_RE.findall(text):
        if not (value.startswith("data:image/") or value.startswith("#")):
            found.append("%s=%s" % (attr, value))
    return found


class ReportHtml(unittest.TestCase):
    def check_html(self, r):
        html = C.check(r, REPORT, "POST", 200)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        csp = r.header("content-security-policy")
        self.assertIsNotNone(csp, "an HTML report without Content-Security-Policy")
        directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";"))
        self.assertEqual(directives["default-src"], "'none'")
        self.assertEqual(directives["img-src"], "data:")
        self.assertRegex(directives["style-src"], r"^'sha256-[A-Za-z0-9+/]+=*'$")
        self.assertNotIn("script-src", directives)
        self.assertEqual(r.header("referrer-policy"), "no-referrer")
        self.assertEqual(external_references(html), [])
        # the inline stylesheet is the one the policy's hash allows
        style = re.search(r"<style>(.*?)</style>", html, re.S)
        self.assertIsNotNone(style)
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        self.assertEqual(directives["style-src"], "'sha256-%s'" % digest)
        return html

    def test_every_encoding(self):
        png = read(example("nodule-2.png"))
        sha = hashlib.sha256(png).hexdigest()
        for enc in ("multipart", "raw", "json"):
            with self.subTest(encoding=enc):
                r = post("report", example("nodule-2.png"), {}, enc,
                         extra=("-H", "X-Request-ID: report-" + enc))
                html = self.check_html(r)
                self.assertTrue(html.startswith("<!DOCTYPE html>"))
                for needle in ("report-" + enc, INFO["sha256"], sha, MODEL, "guided grad-CAM",
                               "grad-CAM", "likelihood of nodule", "not a diagnosis"):
                    self.assertIn(needle, html)
                self.assertGreaterEqual(len(DATA_URI_RE.findall(html)), 5)  # image, 2x2 maps

    def test_accept_html_or_anything(self):
        for accept in ("text/html", "*/*", "image/png", "text/*",
                       "application/json;q=0.5, text/html", "application/json;q=0.9, */*"):
            with self.subTest(accept=accept):
                r = post("report", example("clear-1.png"), {"method": "gradcam"},
                         extra=("-H", "Accept: " + accept))
                self.check_html(r)

    def test_the_self_containment_check_can_fail(self):
        for bad in ('<img src="https://cdn.example.com/x.png">', "<script>1</script>",
                    '<a href="report.pdf">', "body{background:url(x.png)}",
                    '<img src="//cdn.example.com/x.png">', '<p onclick="x()">'):
            self.assertNotEqual(external_references("<p>ok</p>" + bad), [], bad)
        self.assertEqual(external_references(
            '<img src="data:image/png;base64,iVBORw0KGgo//=" alt="x"><a href="#h-1">'), [])


class ReportJson(unittest.TestCase):
    def report(self, image, params=None, encoding="raw", extra=()):
        r = post("report", example(image), params, encoding, extra=JSON + tuple(extra))
        body = C.check(r, REPORT, "POST", 200)
        self.assertEqual(r.header("content-type").split(";")[0], "application/json")
        self.assertIsNone(r.header("content-security-policy"))
        self.assertEqual(body["report"]["request_id"], r.header("x-request-id"))
        return body

    def test_fields(self):
        png = read(example("nodule-2.png"))
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        body = self.report("nodule-2.png", extra=("-H", "X-Request-ID: rep.json-1"))
        after = datetime.datetime.now(datetime.timezone.utc)
        meta = body["report"]
        self.assertEqual(meta["version"], 1)
        self.assertEqual(meta["request_id"], "rep.json-1")
        self.assertRegex(meta["software"], r"^xaid \S+")
        generated = datetime.datetime.strptime(meta["generated"], "%Y-%m-%dT%H:%M:%SZ")
        generated = generated.replace(tzinfo=datetime.timezone.utc)
        self.assertTrue(before - datetime.timedelta(seconds=1) <= generated <= after,
                        (before, generated, after))
        with open(os.path.join(MODELS, MODEL, "model.json")) as f:
            mj = json.load(f)
        self.assertEqual(body["model"], {"name": MODEL, "version": mj["version"],
                                         "sha256": INFO["sha256"],
                                         "description": mj.get("description"),
                                         "task": INFO["task"]})
        img = body["image"]
        self.assertEqual(img["sha256"], hashlib.sha256(png).hexdigest())
        self.assertEqual((img["width"], img["height"]), png_size(base64.b64encode(png)))
        self.assertEqual((img["shown_width"], img["shown_height"]),
                         (img["width"], img["height"]))  # under 1024 px: not scaled
        self.assertEqual(png_size(img["png"]), (img["shown_width"], img["shown_height"]))
        self.assertNotEqual(img["png"], base64.b64encode(png).decode())  # re-encoded
        # the method asked for (by default guided grad-CAM), then grad-CAM beside it
        self.assertEqual([e["method"] for e in body["explanations"]],
                         ["guided_gradcam", "gradcam"])
        self.assertEqual([e["title"] for e in body["explanations"]],
                         ["guided grad-CAM", "grad-CAM"])
        methods = {m["name"]: m for m in C.check(get("/v1/methods"), "/v1/methods", "GET",
                                                  200)["methods"]}
        for e in body["explanations"]:
            with self.subTest(method=e["method"]):
                m = methods[e["method"]]
                self.assertEqual((e["summary"], e["caveat"]), (m["summary"], m["caveat"]))
                self.assertEqual(e["params"], {p["name"]: p["default"] for p in m["parameters"]})
                self.assertEqual((e["width"], e["height"]), (img["width"], img["height"]))
                self.assertEqual(png_size(e["overlay_png"]),
                                 (img["shown_width"], img["shown_height"]))
                self.assertEqual(e["layer"], INFO["cam_layer"])
                self.assertTrue(e["evidence"])
                check_display_range(self, e)
                check_colorbar(self, e["colorbar_png"], e["colormap"])
        # the target is the prediction, with its probability
        self.assertEqual(body["prediction"], body["scores"][0])
        self.assertEqual(body["target"], {k: body["prediction"][k]
                                          for k in ("index", "label", "probability")})
        self.assertIn("95", body["summary"])
        self.assertIn(body["target"]["label"], body["summary"])
        self.assertIn(body["target"]["label"], body["title"])
        self.assertIn("not a diagnosis", body["disclaimer"])

    def test_agrees_with_predict_and_explain(self):
        """The report's scores are predict's; its grad-CAM part is explain's grad-CAM (same
        range, display range, colour bar, metrics) on the same image and target."""
        body = self.report("opacity-2.jpg", {"method": "saliency", "target": "nodule"}, "json")
        pred = C.check(post("predict", example("opacity-2.jpg")), PREDICT, "POST", 200)
        self.assertEqual(body["scores"], pred["scores"])
        self.assertEqual(body["prediction"], pred["prediction"])
        self.assertEqual(body["target"]["label"], "nodule")
        probs = {s["label"]: s["probability"] for s in pred["scores"]}
        self.assertEqual(body["target"]["probability"], probs["nodule"])
        self.assertEqual([e["method"] for e in body["explanations"]], ["saliency", "gradcam"])
        for part in body["explanations"]:
            with self.subTest(method=part["method"]):
                ex = C.check(post("explain", example("opacity-2.jpg"),
                                  {"method": part["method"], "target": "nodule",
                                   "outputs": "colorbar_png"}), EXPLAIN, "POST", 200)
                e = ex["explanation"]
                for k in ("method", "params", "width", "height", "range", "display_range",
                          "signed", "colormap", "metrics", "colorbar_png"):
                    self.assertEqual(part[k], e[k], k)
                self.assertEqual(part.get("layer"), e.get("layer"))

    def test_method_params_target_and_evaluate(self):
        params = {"method": "integrated_gradients", "steps": 4, "target": "opacity",
                  "evaluate": True, "colormap": "viridis", "outputs": ["raw", "heatmap_png"]}
        for enc in ("multipart", "json", "raw"):
            with self.subTest(encoding=enc):
                body = self.report("nodule-3.png", params, enc)
                self.assertEqual(body["target"]["label"], "opacity")
                self.assertIn("opacity", body["summary"])
                ig, cam = body["explanations"]
                self.assertEqual(ig["method"], "integrated_gradients")
                self.assertEqual(ig["params"]["steps"], 4)
                self.assertEqual(ig["colormap"], "viridis")
                self.assertNotIn("layer", ig)
                self.assertEqual(cam["method"], "gradcam")
                self.assertEqual(cam["params"], {})  # the companion runs with its defaults
                for e in (ig, cam):  # outputs is ignored: no raw map, no heatmap
                    self.assertFalse({"raw", "heatmap_png"} & set(e))
                    f = e["metrics"]["faithfulness"]
                    self.assertEqual(len(f["deletion"]), len(f["fractions"]))

    def test_gradcam_alone(self):
        body = self.report("clear-1.png", {"method": "gradcam", "layer":
                                           INFO["layers"][len(INFO["layers"]) // 2]["name"]})
        self.assertEqual([e["method"] for e in body["explanations"]], ["gradcam"])
        self.assertEqual(body["explanations"][0]["layer"],
                         INFO["layers"][len(INFO["layers"]) // 2]["name"])

    def test_accept_json(self):
        for accept in ("application/json", "text/html;q=0.5, application/json",
                       "application/*", "application/json, text/html;q=0.9",
                       "*/*;q=0.1, application/json;q=0.2"):
            with self.subTest(accept=accept):
                r = post("report", example("clear-1.png"), {"method": "gradcam"},
                         extra=("-H", "Accept: " + accept))
                body = C.check(r, REPORT, "POST", 200)
                self.assertIsInstance(body, dict, "an HTML answer to Accept: " + accept)

    def test_large_image_scaled_to_1024(self):
        from PIL import Image
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "wide.png")
            Image.open(example("nodule-2.png")).resize((1600, 700)).save(path)
            r = post("report", path, {"method": "gradcam"}, extra=JSON)
        body = C.check(r, REPORT, "POST", 200)
        img = body["image"]
        self.assertEqual((img["width"], img["height"]), (1600, 700))
        self.assertEqual(img["shown_width"], 1024)
        self.assertLessEqual(abs(img["shown_height"] - 700 * 1024 / 1600), 1)
        self.assertEqual(png_size(img["png"]), (1024, img["shown_height"]))
        self.assertEqual(png_size(body["explanations"][0]["overlay_png"]),
                         (1024, img["shown_height"]))

    def test_cors_and_metrics(self):
        r = post("report", example("clear-1.png"), {"method": "gradcam"},
                 extra=JSON + ("-H", "Origin: " + ORIGIN))
        C.check(r, REPORT, "POST", 200)
        self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)
        r = get("/v1/models/%s/report" % MODEL, "-X", "OPTIONS", "-H", "Origin: " + ORIGIN,
                "-H", "Access-Control-Request-Method: POST")
        C.check(r, REPORT, "OPTIONS", 204)
        self.assertEqual(r.header("access-control-allow-methods"), "POST, OPTIONS")
        text = get("/metrics").body.decode()
        self.assertRegex(text, r'xaid_requests_total\{route="/v1/models/\{model\}/report",'
                               r'http_method="POST",method="gradcam",status="200"\} [1-9]')


class Viewer(unittest.TestCase):
    def test_files(self):
        for path, name, ctype, _ in VIEWER:
            with self.subTest(path=path):
                r = get(path)
                C.check(r, path, "GET", 200)
                self.assertEqual(r.header("content-type"), ctype + "; charset=utf-8")
                self.assertEqual(r.body, read(os.path.join(SOURCE, "server", "viewer", name)))
                csp = r.header("content-security-policy")
                self.assertIn("script-src 'self'", csp)
                self.assertIn("connect-src 'self'", csp)
                self.assertNotIn("unsafe-inline", csp)
                self.assertNotIn("*", csp)
                self.assertEqual(r.header("referrer-policy"), "no-referrer")
                self.assertEqual(r.header("cache-control"), "no-store")
                h = get(path, "-I")
                C.check(h, path, "HEAD", 200)
                self.assertEqual(h.header("content-type"), r.header("content-type"))

    def test_page_loads_only_its_own_files(self):
        html = get("/").body.decode()
        self.assertEqual(URL_RE.findall(html), [])
        refs = {v for v in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
                if not v.startswith("data:") and v != "#"}
        self.assertEqual({v.lstrip("/") for v in refs}, {"viewer.css", "viewer.js"})
        js = get("/viewer.js").body.decode()
        self.assertEqual(URL_RE.findall(js), [])
        for word in ("/v1/models", "/v1/methods", "explain", "report"):
            self.assertIn(word, js)

    def test_only_these_paths(self):
        for path in ("/index.html", "/viewer.html", "/viewer.js/", "/v1/viewer.js",
                     "/viewer.map"):
            with self.subTest(path=path):
                r = get(path)
                self.assertEqual(r.status, 404, r)
                C.validate(r.json(), "Error404")
        r = get("/?model=x")  # a query string does not change the file
        C.check(r, "/", "GET", 200)


if __name__ == "__main__":
    main()
