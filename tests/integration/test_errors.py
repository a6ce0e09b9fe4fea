#!/usr/bin/python3
"""test_errors.py - every error status of docs/api.md with its code, checked against
openapi.yaml: 400 (bad, unknown and misplaced parameters, malformed JSON and multipart, missing
image), 401/403 (tokens), 404, 405 (Allow), 413 (--max-body), 415, 422, and auth on/off."""
import json
import os
import shutil
import struct
import tempfile
import unittest
import zlib

from xaidtest import MODEL, MODELS, Server, contract, curl, example, main, request_args

EXPLAIN = "/v1/models/{model}/explain"
PREDICT = "/v1/models/{model}/predict"
REPORT = "/v1/models/{model}/report"
MAX_BODY = 400000
NOHEAD = "chest-nohead"
TOKEN_A = "tok-A-9f8e7d6c5b4a"
TOKEN_B = "tok-B-0123456789ab"


def setUpModule():
    """A repository with the demo model and the same network declared without its
    classifier (no global-average-pooling head for CAM)."""
    global SERVER, C, REPO
    C = contract()
    REPO = tempfile.TemporaryDirectory(prefix="xaid-repo-")
    shutil.copytree(os.path.join(MODELS, MODEL), os.path.join(REPO.name, MODEL))
    nohead = os.path.join(REPO.name, NOHEAD)
    os.mkdir(nohead)
    shutil.copy(os.path.join(MODELS, MODEL, "model.onnx"), nohead)
    with open(os.path.join(MODELS, MODEL, "model.json")) as f:
        mj = json.load(f)
    mj["name"] = NOHEAD
    del mj["classifier"]
    with open(os.path.join(nohead, "model.json"), "w") as f:
        json.dump(mj, f)
    SERVER = Server("--workers", "1", "--queue", "8", "--max-body", MAX_BODY, models=REPO.name)
    SERVER.start()


def tearDownModule():
    rc = SERVER.stop()
    REPO.cleanup()
    if rc != 0:
        raise AssertionError("xaid serve exited %r after SIGTERM:\n%s" % (rc, SERVER.stderr()))


def post(route, image, params=None, encoding="raw", model=MODEL, extra=(), server=None):
    server = server or SERVER
    with tempfile.TemporaryDirectory() as d:
        args, qs = request_args(encoding, image, params, d)
        url = server.url("/v1/models/%s/%s" % (model, route)) + ("?" + qs if qs else "")
        return curl(url, *args, *extra)


def post_bytes(route, data, ctype, query="", model=MODEL, extra=()):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "body")
        with open(path, "wb") as f:
            f.write(data)
        url = SERVER.url("/v1/models/%s/%s" % (model, route)) + ("?" + query if query else "")
        args = ["--data-binary", "@" + path]
        if ctype is not None:
            args += ["-H", "Content-Type: " + ctype]
        return curl(url, *args, *extra)


def huge_png(w, h):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(bytes((w + 1) * 4))) + chunk(b"IEND", b""))


def read(name):
    with open(example(name), "rb") as f:
        return f.read()


class BadRequest(unittest.TestCase):
    def expect(self, resp, *names, path=EXPLAIN):
        err = C.check_error(resp, path, "POST", 400, "invalid_argument")
        for n in names:
            self.assertIn(n, err["message"], "the message must name %r" % n)
        return err

    def test_bad_values_name_the_parameter(self):
        cases = [({"method": "integrated_gradients", "steps": 1000}, "steps"),
                 ({"method": "integrated_gradients", "steps": "many"}, "steps"),
                 ({"method": "integrated_gradients", "rule": "simpson"}, "rule"),
                 ({"method": "lrp", "epsilon": -1}, "epsilon"),
                 ({"method": "saliency", "abs": "maybe"}, "abs"),
                 ({"opacity": 2}, "opacity"),
                 ({"colormap": "rainbow"}, "colormap"),
                 ({"outputs": "overlay_png,pdf"}, "outputs"),
                 ({"evaluate": "perhaps"}, "evaluate"),
                 ({"seed": "-3"}, "seed")]
        for params, name in cases:
            for enc in ("raw", "json", "multipart"):
                with self.subTest(params=params, encoding=enc):
                    self.expect(post("explain", example("clear-1.png"), params, enc), name)

    def test_unknown_parameter(self):
        for enc in ("raw", "json", "multipart"):
            with self.subTest(encoding=enc):
                self.expect(post("explain", example("clear-1.png"), {"bogus_knob": 1}, enc),
                            "bogus_knob")
        # a parameter of another method is not one of gradcam's
        self.expect(post("explain", example("clear-1.png"), {"steps": 5}), "steps")
        # predict takes none
        self.expect(post("predict", example("clear-1.png"), {"method": "gradcam"}), "method",
                    path=PREDICT)

    def test_repeated_or_empty(self):
        self.expect(post_bytes("explain", read("clear-1.png"), "image/png",
                               query="method=gradcam&method=saliency"), "method")
        self.expect(post("explain", example("clear-1.png"), {"outputs": []}, "json"), "outputs")
        self.expect(post("explain", example("clear-1.png"), {"outputs": ""}), "outputs")

    def test_malformed_json(self):
        for body in (b'{"image": "AAAA", ', b"not json", b"[1, 2]", b'{"image": 12}',
                     b'{"image": "%%%% not base64 %%%%"}'):
            with self.subTest(body=body):
                self.expect(post_bytes("explain", body, "application/json"))

    def test_malformed_multipart(self):
        body = (b"--XYZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
                b"Content-Type: image/png\r\n\r\n" + read("clear-1.png")[:1000])  # no end
        self.expect(post_bytes("explain", body, "multipart/form-data; boundary=XYZ"))
        self.expect(post_bytes("explain", b"garbage", "multipart/form-data"))  # no boundary
        with tempfile.TemporaryDirectory() as d:  # a params part that is not JSON
            p = os.path.join(d, "p")
            with open(p, "w") as f:
                f.write("{method: gradcam")
            r = curl(SERVER.url("/v1/models/%s/explain" % MODEL),
                     "-F", "image=@%s;type=image/png" % example("clear-1.png"),
                     "-F", "params=<%s;type=application/json" % p)
            self.expect(r)

    def test_missing_image(self):
        self.expect(post_bytes("explain", b"", "image/png"))
        self.expect(post_bytes("explain", b'{"method": "gradcam"}', "application/json"))
        self.expect(post_bytes("predict", b"{}", "application/json"), path=PREDICT)
        r = curl(SERVER.url("/v1/models/%s/explain" % MODEL), "-F", 'params={"method":"gradcam"}')
        self.expect(r)
        r = curl(SERVER.url("/v1/models/%s/predict" % MODEL), "-F", "picture=@" +
                 example("clear-1.png"))
        self.expect(r, path=PREDICT)


class NotFound(unittest.TestCase):
    def test_unknown_route(self):
        for path in ("/index.html", "/v2/models", "/v1/model", "/v1/models/%s/explainx" % MODEL,
                     "/v1/models/%s/explain/more" % MODEL, "/healthz/x",
                     "/v1/models/%s/report/x" % MODEL, "/v1/models/%s/reports" % MODEL):
            with self.subTest(path=path):
                r = curl(SERVER.url(path))
                self.assertEqual(r.status, 404, r)
                body = r.json()
                self.assertEqual(body["error"]["code"], "not_found")
                C.validate(body, "Error404")

    def test_unknown_model(self):
        C.check_error(curl(SERVER.url("/v1/models/nope")), "/v1/models/{model}", "GET", 404,
                      "not_found")
        for route, path in (("explain", EXPLAIN), ("predict", PREDICT), ("report", REPORT)):
            C.check_error(post(route, example("clear-1.png"), model="nope"), path, "POST", 404,
                          "not_found")

    def test_unknown_layer_class_method(self):
        for params, word in (({"layer": "/no/such/tensor"}, "layer"),
                             ({"target": "pneumothorax"}, "target"),
                             ({"target": 3}, "target"),
                             ({"method": "shap"}, "method")):
            for enc in ("raw", "json"):
                with self.subTest(params=params, encoding=enc):
                    err = C.check_error(post("explain", example("clear-1.png"), params, enc),
                                        EXPLAIN, "POST", 404, "not_found")
                    self.assertIn(word, err["message"])


class MethodNotAllowed(unittest.TestCase):
    def test_wrong_method(self):
        cases = [("/v1/models/%s/explain" % MODEL, EXPLAIN, "GET", "POST"),
                 ("/v1/models/%s/predict" % MODEL, PREDICT, "PUT", "POST"),
                 ("/v1/models/%s/report" % MODEL, REPORT, "GET", "POST"),
                 ("/", "/", "POST", "GET"),
                 ("/viewer.js", "/viewer.js", "OPTIONS", "GET"),
                 ("/viewer.css", "/viewer.css", "DELETE", "GET"),
                 ("/v1/models", "/v1/models", "POST", "GET"),
                 ("/v1/models/" + MODEL, "/v1/models/{model}", "DELETE", "GET"),
                 ("/v1/methods", "/v1/methods", "PATCH", "GET"),
                 ("/healthz", "/healthz", "POST", "GET"),
                 ("/metrics", "/metrics", "DELETE", "GET")]
        for url, template, verb, allowed in cases:
            with self.subTest(url=url, verb=verb):
                r = curl(SERVER.url(url), "-X", verb)
                template_verb = "GET" if allowed == "GET" else "POST"
                C.check_error(r, template, template_verb, 405, "method_not_allowed")
                allow = {m.strip() for m in r.header("allow").split(",")}
                self.assertIn(allowed, allow)
                self.assertNotIn(verb, allow)


class Report(unittest.TestCase):
    """The report's errors are explain's, as JSON whatever Accept asks for."""
    ACCEPTS = ((), ("-H", "Accept: text/html"), ("-H", "Accept: application/json"))

    def expect(self, resp, status, code, *words):
        err = C.check_error(resp, REPORT, "POST", status, code)
        for w in words:
            self.assertIn(w, err["message"])
        self.assertIsNone(resp.header("content-security-policy"))
        return err

    def test_bad_and_unknown_parameters(self):
        cases = [({"method": "integrated_gradients", "steps": 1000}, "steps"),
                 ({"opacity": 2}, "opacity"),
                 ({"colormap": "rainbow"}, "colormap"),
                 ({"outputs": "overlay_png,pdf"}, "outputs"),  # ignored, but still checked
                 ({"bogus_knob": 1}, "bogus_knob"),
                 ({"steps": 5}, "steps")]  # not a parameter of the default guided_gradcam
        for i, (params, name) in enumerate(cases):
            enc = ("raw", "json", "multipart")[i % 3]
            accept = self.ACCEPTS[i % 3]
            with self.subTest(params=params, encoding=enc, accept=accept):
                self.expect(post("report", example("clear-1.png"), params, enc, extra=accept),
                            400, "invalid_argument", name)
        for body, ctype in ((b"", "image/png"), (b"{not json", "application/json"),
                            (b'{"method": "gradcam"}', "application/json")):
            with self.subTest(body=body):
                self.expect(post_bytes("report", body, ctype, extra=self.ACCEPTS[1]), 400,
                            "invalid_argument")

    def test_not_found(self):
        for params, word in (({"method": "shap"}, "method"), ({"target": "pneumothorax"},
                                                              "target"),
                             ({"layer": "/no/such/tensor"}, "layer")):
            with self.subTest(params=params):
                self.expect(post("report", example("clear-1.png"), params,
                                 extra=self.ACCEPTS[1]), 404, "not_found", word)
        self.expect(post("report", example("clear-1.png"), model="nope"), 404, "not_found")

    def test_media_size_and_image(self):
        png = read("clear-1.png")
        self.expect(post_bytes("report", png, "text/plain"), 415, "unsupported_media_type")
        self.expect(post_bytes("report", png[:2000], "image/png", extra=self.ACCEPTS[1]), 422,
                    "bad_image")
        self.expect(post_bytes("report", read("opacity-1.png") + bytes(MAX_BODY), "image/png"),
                    413, "too_large")
        self.expect(post_bytes("report", huge_png(40000, 40000), "image/png"), 413, "too_large")

    def test_method_that_does_not_fit_the_model(self):
        self.expect(post("report", example("clear-1.png"), {"method": "cam"}, model=NOHEAD,
                         extra=self.ACCEPTS[1]), 422, "unsupported", "cam")
        # guided grad-CAM and grad-CAM need no GAP head
        r = post("report", example("clear-1.png"), model=NOHEAD)
        C.check(r, REPORT, "POST", 200)


class Limits(unittest.TestCase):
    def test_body_over_max_body(self):
        big = read("opacity-1.png") + bytes(MAX_BODY)  # a PNG with trailing bytes
        for ctype in ("image/png", "application/json"):
            with self.subTest(content_type=ctype):
                r = post_bytes("explain", big, ctype)
                C.check_error(r, EXPLAIN, "POST", 413, "too_large")
        # chunked: no Content-Length to refuse up front
        r = post_bytes("predict", big, "image/png", extra=("-H", "Transfer-Encoding: chunked"))
        C.check_error(r, PREDICT, "POST", 413, "too_large")
        # and the server goes on
        C.check(post("predict", example("clear-1.png")), PREDICT, "POST", 200)

    def test_image_over_pixel_caps(self):
        """A 700-byte PNG that claims 40000 x 40000 pixels: refused before decoding."""
        r = post_bytes("predict", huge_png(40000, 40000), "image/png")
        C.check_error(r, PREDICT, "POST", 413, "too_large")

    def test_just_under_max_body(self):
        r = post("predict", example("opacity-1.png"))  # 272624 bytes < MAX_BODY
        C.check(r, PREDICT, "POST", 200)

    def test_unsupported_media_type(self):
        png = read("clear-1.png")
        for ctype in ("text/plain", "image/gif", "application/octet-stream",
                      "application/x-www-form-urlencoded"):
            with self.subTest(content_type=ctype):
                C.check_error(post_bytes("explain", png, ctype), EXPLAIN, "POST", 415,
                              "unsupported_media_type")
        gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00" \
              b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
        for ctype in ("image/png", "image/jpeg"):
            with self.subTest(gif_as=ctype):
                C.check_error(post_bytes("predict", gif, ctype), PREDICT, "POST", 415,
                              "unsupported_media_type")

    def test_method_that_does_not_fit_the_model(self):
        info = C.check(curl(SERVER.url("/v1/models/" + NOHEAD)), "/v1/models/{model}", "GET",
                       200)
        self.assertNotIn("cam", info["methods"])
        self.assertIn("gradcam", info["methods"])
        err = C.check_error(post("explain", example("clear-1.png"), {"method": "cam"},
                                 model=NOHEAD), EXPLAIN, "POST", 422, "unsupported")
        self.assertIn("cam", err["message"])
        C.check(post("explain", example("clear-1.png"), {"method": "gradcam"}, model=NOHEAD),
                EXPLAIN, "POST", 200)

    def test_corrupt_image(self):
        png = read("clear-1.png")
        jpg = read("clear-2.jpg")
        for name, data, ctype in (("truncated png", png[:2000], "image/png"),
                                  ("png with a broken chunk", png[:33] + b"\x00" * 4000,
                                   "image/png"),
                                  ("truncated jpeg", jpg[:300], "image/jpeg")):
            with self.subTest(image=name):
                C.check_error(post_bytes("explain", data, ctype), EXPLAIN, "POST", 422,
                              "bad_image")
        C.check(post("predict", example("clear-1.png")), PREDICT, "POST", 200)


class Auth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        tokens = os.path.join(cls.tmp.name, "tokens")
        with open(tokens, "w") as f:
            f.write("# id token\nalice %s\n\nbob   %s\n" % (TOKEN_A, TOKEN_B))
        cls.server = Server("--workers", "1", "--tokens", tokens)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        cls.tmp.cleanup()
        if rc != 0:
            raise AssertionError("xaid serve exited %r" % rc)

    def get(self, path, *args):
        return curl(self.server.url(path), *args)

    def test_missing_or_malformed(self):
        for hdr in (None, "Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "bearer", TOKEN_A,
                    "Token " + TOKEN_A):
            with self.subTest(authorization=hdr):
                args = ("-H", "Authorization: " + hdr) if hdr else ()
                r = self.get("/v1/models", *args)
                C.check_error(r, "/v1/models", "GET", 401, "unauthorized")
                self.assertTrue(r.header("www-authenticate").startswith("Bearer"))

    def test_wrong_token(self):
        for tok in ("tok-A-9f8e7d6c5b4b", TOKEN_A + "x", "alice", "id"):
            with self.subTest(token=tok):
                r = self.get("/v1/methods", "-H", "Authorization: Bearer " + tok)
                C.check_error(r, "/v1/methods", "GET", 403, "forbidden")

    def test_good_tokens(self):
        for tok in (TOKEN_A, TOKEN_B):
            r = self.get("/v1/models", "-H", "Authorization: Bearer " + tok)
            C.check(r, "/v1/models", "GET", 200)
        r = post("explain", example("nodule-1.png"), server=self.server,
                 extra=("-H", "Authorization: Bearer " + TOKEN_B))
        C.check(r, EXPLAIN, "POST", 200)
        r = post("predict", example("nodule-1.png"), server=self.server)
        C.check_error(r, PREDICT, "POST", 401, "unauthorized")

    def test_open_routes(self):
        for path in ("/healthz", "/readyz", "/metrics", "/", "/viewer.js", "/viewer.css"):
            r = self.get(path)
            C.check(r, path, "GET", 200)
            r = self.get(path, "-H", "Authorization: Bearer not-a-token-of-this-server")
            C.check(r, path, "GET", 200)

    def test_views_need_a_token(self):
        for path, template in (("/v1/views", "/v1/views"),
                               ("/v1/models/%s/filters" % MODEL, "/v1/models/{model}/filters")):
            C.check_error(self.get(path), template, "GET", 401, "unauthorized")
            C.check_error(self.get(path, "-H", "Authorization: Bearer " + TOKEN_B + "0"),
                          template, "GET", 403, "forbidden")
            C.check(self.get(path, "-H", "Authorization: Bearer " + TOKEN_B), template, "GET",
                    200)
        r = curl(self.server.url("/v1/models/%s/maximize?steps=1" % MODEL), "-X", "POST")
        C.check_error(r, "/v1/models/{model}/maximize", "POST", 401, "unauthorized")

    def test_report_needs_a_token(self):
        r = post("report", example("nodule-1.png"), {"method": "gradcam"}, server=self.server)
        C.check_error(r, REPORT, "POST", 401, "unauthorized")
        self.assertTrue(r.header("www-authenticate").startswith("Bearer"))
        r = post("report", example("nodule-1.png"), {"method": "gradcam"}, server=self.server,
                 extra=("-H", "Authorization: Bearer " + TOKEN_A + "x"))
        C.check_error(r, REPORT, "POST", 403, "forbidden")
        r = post("report", example("nodule-1.png"), {"method": "gradcam"}, server=self.server,
                 extra=("-H", "Authorization: Bearer " + TOKEN_A))
        self.assertTrue(C.check(r, REPORT, "POST", 200).startswith("<!DOCTYPE html>"))

    def test_no_auth_without_tokens(self):
        C.check(curl(SERVER.url("/v1/models")), "/v1/models", "GET", 200)
        r = curl(SERVER.url("/v1/models"), "-H", "Authorization: Bearer whatever")
        C.check(r, "/v1/models", "GET", 200)


if __name__ == "__main__":
    main()
