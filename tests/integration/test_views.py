#!/usr/bin/python3
"""test_views.py - the inspection views over HTTP: GET /v1/views, GET .../filters,
POST .../features, .../maximize and .../embed, each answer checked against openapi.yaml, the
encodings of each route agreeing with one another (embed: multipart, JSON, zip and tar), the
answers consistent in themselves (raw maps against the channel means and dead counts, traces
against their ends, embed's predictions against predict) and the routes' errors. The numbers
themselves are checked against PyTorch, numpy and scikit-learn by tests/inspect."""
import base64
import io
import json
import math
import os
import struct
import tarfile
import tempfile
import unittest
import zipfile

from xaidtest import (MODEL, Server, contract, curl, example, main, png_size, request_args)

VIEWS = "/v1/views"
FILTERS = "/v1/models/{model}/filters"
FEATURES = "/v1/models/{model}/features"
MAXIMIZE = "/v1/models/{model}/maximize"
EMBED = "/v1/models/{model}/embed"
PREDICT = "/v1/models/{model}/predict"
AE = "chest-ae"
ORIGIN = "https://viewer.example.org"
IMAGES = ["nodule-2.png", "clear-1.png", "opacity-2.jpg", "nodule-3.png", "clear-2.jpg",
          "opacity-3.png"]
LABELS = ["nodule", "clear", "opacity", "nodule", "clear", "opacity"]


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


def url(view, model=MODEL, query=""):
    return SERVER.url("/v1/models/%s/%s" % (model, view)) + ("?" + query if query else "")


def get(path, *args):
    return curl(SERVER.url(path), *args)


def read(name):
    with open(example(name), "rb") as f:
        return f.read()


def floats(raw):
    data = base64.b64decode(raw["data"], validate=True)
    n = math.prod(raw["shape"])
    if len(data) != 4 * n:
        raise AssertionError("%d bytes for shape %r" % (len(data), raw["shape"]))
    return struct.unpack("<%df" % n, data)


def same(a, b, drop=("request_id", "timing_ms")):
    """Two answers without their request id and timing."""
    return {k: v for k, v in a.items() if k not in drop} == \
        {k: v for k, v in b.items() if k not in drop}


def post_json(view, obj, model=MODEL, query="", extra=()):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "body.json")
        with open(path, "w") as f:
            json.dump(obj, f)
        return curl(url(view, model, query), "-H", "Content-Type: application/json",
                    "--data-binary", "@" + path, *extra)


def post_bytes(view, data, ctype, model=MODEL, query=""):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "body")
        with open(path, "wb") as f:
            f.write(data)
        return curl(url(view, model, query), "-H", "Content-Type: " + ctype,
                    "--data-binary", "@" + path)


class ViewTable(unittest.TestCase):
    def test_views_equal_the_table(self):
        import subprocess
        from xaidtest import XAID
        body = C.check(get(VIEWS), VIEWS, "GET", 200)
        table = json.loads(subprocess.run([XAID, "views", "--json"], check=True,
                                          capture_output=True, text=True).stdout)
        self.assertEqual(body, {"views": table})
        self.assertEqual([v["name"] for v in table], ["filters", "features", "maximize", "embed"])
        C.check(get(VIEWS, "-I"), VIEWS, "HEAD", 200)

    def test_cors(self):
        r = get("/v1/models/%s/embed" % MODEL, "-X", "OPTIONS", "-H", "Origin: " + ORIGIN,
                "-H", "Access-Control-Request-Method: POST")
        C.check(r, EMBED, "OPTIONS", 204)
        self.assertEqual(r.header("access-control-allow-methods"), "POST, OPTIONS")
        r = curl(url("filters"), "-H", "Origin: " + ORIGIN)
        C.check(r, FILTERS, "GET", 200)
        self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)


class Filters(unittest.TestCase):
    def test_default_and_raw(self):
        body = C.check(curl(url("filters", query="raw=true")), FILTERS, "GET", 200)
        out_ch, in_ch, kh, kw = body["shape"]
        self.assertEqual(body["weights"]["shape"], body["shape"])
        weights = floats(body["weights"])
        self.assertTrue(all(math.isfinite(w) for w in weights))
        self.assertGreater(len(set(weights)), 1)
        self.assertEqual(body["rgb"], in_ch == 3)
        self.assertEqual(png_size(body["grid_png"]), (body["grid"]["width"],
                                                      body["grid"]["height"]))
        self.assertEqual(body["grid"]["zoom"], 8)
        # the grid holds every kernel at zoom pixels per weight
        tiles = out_ch * (1 if in_ch in (1, 3) else in_ch)
        self.assertGreaterEqual(body["grid"]["width"] * body["grid"]["height"],
                                tiles * kh * kw * 64)
        plain = C.check(curl(url("filters")), FILTERS, "GET", 200)
        self.assertNotIn("weights", plain)
        self.assertEqual(plain["grid_png"], body["grid_png"])

    def test_layer_by_output_node_or_weight_name_and_zoom(self):
        first = C.check(curl(url("filters")), FILTERS, "GET", 200)
        import urllib.parse
        answers = []
        for name in (first["layer"], first["node"], first["weight"]):
            r = curl(url("filters", query="zoom=3&layer=" + urllib.parse.quote(name, safe="")))
            answers.append(C.check(r, FILTERS, "GET", 200))
        for a in answers:
            self.assertEqual((a["layer"], a["node"], a["weight"], a["shape"]),
                             (first["layer"], first["node"], first["weight"], first["shape"]))
            self.assertEqual(a["grid"]["zoom"], 3)
            self.assertLess(a["grid"]["width"], first["grid"]["width"])
        self.assertEqual(answers[0]["grid_png"], answers[2]["grid_png"])
        # the last convolution of the model's layers: more input channels, another grid
        convs = [l for l in INFO["layers"] if l["name"].endswith("Conv_output_0")]
        self.assertEqual(convs[0]["name"], first["layer"])
        last = C.check(curl(url("filters", query="layer=" + urllib.parse.quote(
            convs[-1]["name"], safe=""))), FILTERS, "GET", 200)
        self.assertEqual(last["layer"], convs[-1]["name"])
        self.assertEqual(last["shape"][0], convs[-1]["shape"][0])  # out channels
        self.assertGreater(last["shape"][1], first["shape"][1])
        self.assertIn("row per output channel", last["grid"]["tiles"])

    def test_head_and_errors(self):
        r = curl(url("filters"), "-I")
        C.check(r, FILTERS, "HEAD", 200)
        self.assertEqual(r.body, b"")
        for query, name in (("zoom=99", "zoom"), ("raw=maybe", "raw"), ("top_k=3", "top_k")):
            err = C.check_error(curl(url("filters", query=query)), FILTERS, "GET", 400,
                                "invalid_argument")
            if name != "top_k":
                self.assertIn(name, err["message"])
        C.check_error(curl(url("filters", query="layer=nope")), FILTERS, "GET", 404, "not_found")
        C.check_error(curl(url("filters", model="nope")), FILTERS, "GET", 404, "not_found")
        r = curl(url("filters"), "-X", "POST")
        C.check_error(r, FILTERS, "GET", 405, "method_not_allowed")
        self.assertIn("GET", r.header("allow"))


class Features(unittest.TestCase):
    def post(self, params, encoding, image="nodule-2.png", model=MODEL):
        with tempfile.TemporaryDirectory() as d:
            args, qs = request_args(encoding, example(image), params, d)
            return curl(url("features", model, qs), *args)

    def test_every_encoding_and_consistency(self):
        params = {"top_k": 64, "raw": True, "colormap": "gray", "zoom": 1}
        answers = [C.check(self.post(params, enc), FEATURES, "POST", 200)
                   for enc in ("multipart", "raw", "json")]
        for a in answers[1:]:
            self.assertTrue(same(a, answers[0]))
        body = answers[0]
        self.assertEqual(body["layer"], INFO["cam_layer"])
        channels, h, w = body["shape"]
        self.assertEqual(body["top_k"], min(64, channels))
        self.assertEqual(body["raw"]["shape"], [body["top_k"], h, w])
        self.assertEqual(body["colormap"], "gray")
        maps = floats(body["raw"])
        means = [c["mean"] for c in body["channels"]]
        self.assertEqual(means, sorted(means, reverse=True))
        self.assertEqual(len({c["index"] for c in body["channels"]}), body["top_k"])
        for i, c in enumerate(body["channels"]):  # each mean is its raw map's
            m = maps[i * h * w:(i + 1) * h * w]
            self.assertAlmostEqual(c["mean"], sum(m) / len(m), delta=1e-5 * max(1, abs(c["mean"])))
        if body["top_k"] == channels:  # every channel: the dead ones are the all-zero maps
            dead = sum(1 for i in range(channels) if not any(maps[i * h * w:(i + 1) * h * w]))
            self.assertEqual(body["dead_channels"], dead)
            self.assertAlmostEqual(body["dead_fraction"], dead / channels)
        cols = math.ceil(math.sqrt(body["top_k"]))  # a square grid of tiles, zoom 1
        gw, gh = png_size(body["grid_png"])
        self.assertGreaterEqual(gw, cols * w)
        self.assertGreaterEqual(gh, math.ceil(body["top_k"] / cols) * h)

    def test_layer_top_k_and_map_back(self):
        layer = INFO["layers"][1]
        body = C.check(self.post({"layer": layer["name"], "top_k": 3, "map_back": True},
                                 "json", "opacity-2.jpg"), FEATURES, "POST", 200)
        self.assertEqual(body["layer"], layer["name"])
        self.assertEqual(body["shape"], layer["shape"])
        self.assertEqual(len(body["channels"]), 3)
        self.assertNotIn("raw", body)
        from PIL import Image
        with Image.open(example("opacity-2.jpg")) as im:
            w, h = im.size
        self.assertEqual(body["mapped"]["shape"], [3, h, w])
        self.assertTrue(any(floats(body["mapped"])))

    def test_errors(self):
        cases = [({"top_k": 5000}, 400, "invalid_argument", "top_k"),
                 ({"colormap": "bwr"}, 400, "invalid_argument", "colormap"),
                 ({"steps": 3}, 400, "invalid_argument", "steps"),
                 ({"layer": "/no/such/tensor"}, 404, "not_found", "layer"),
                 ({"layer": "/Flatten_output_0"}, 400, "invalid_argument", "layer")]
        for params, status, code, word in cases:
            with self.subTest(params=params):
                err = C.check_error(self.post(params, "raw"), FEATURES, "POST", status, code)
                self.assertIn(word, err["message"])
        C.check_error(post_json("features", {}), FEATURES, "POST", 400, "invalid_argument")
        C.check_error(post_bytes("features", read("clear-1.png")[:500], "image/png"), FEATURES,
                      "POST", 422, "bad_image")
        C.check_error(post_bytes("features", zip_of(["clear-1.png"]), "application/zip"),
                      FEATURES, "POST", 415, "unsupported_media_type")
        C.check_error(self.post({}, "raw", model="nope"), FEATURES, "POST", 404, "not_found")


class Maximize(unittest.TestCase):
    def test_query_or_json(self):
        q = C.check(curl(url("maximize", query="steps=6&target=nodule&raw=true&seed=3"),
                         "-X", "POST"), MAXIMIZE, "POST", 200)
        j = C.check(post_json("maximize", {"steps": 6, "target": 1, "raw": "true", "seed": 3}),
                    MAXIMIZE, "POST", 200)
        self.assertTrue(same(q, j))  # seeded: the same image and trace
        self.assertEqual(q["target"], {"index": 1, "label": "nodule"})
        self.assertEqual(q["params"]["steps"], 6)
        self.assertEqual(q["params"]["seed"], 3)
        score = q["trace"]["score"]
        self.assertEqual(len(score), 7)
        self.assertEqual(len(q["trace"]["objective"]), 7)
        self.assertEqual((score[0], score[-1]), (q["score_start"], q["score_end"]))
        self.assertTrue(q["monotonic"])
        self.assertEqual(score, sorted(score))
        self.assertGreater(q["score_end"], q["score_start"])
        pre = INFO["input"]
        self.assertEqual(q["raw"]["shape"], [pre["channels"], pre["height"], pre["width"]])
        self.assertEqual(png_size(q["image_png"]), (pre["width"], pre["height"]))
        other = C.check(curl(url("maximize", query="steps=6&target=nodule&seed=4"), "-X",
                             "POST"), MAXIMIZE, "POST", 200)
        self.assertNotEqual(other["image_png"], q["image_png"])
        self.assertNotIn("raw", other)

    def test_defaults(self):
        body = C.check(curl(url("maximize", query="steps=2"), "-X", "POST"), MAXIMIZE, "POST",
                       200)
        self.assertEqual(body["target"]["index"], 0)  # the model's first class
        table = {v["name"]: v for v in C.check(get(VIEWS), VIEWS, "GET", 200)["views"]}
        want = {p["name"]: p["default"] for p in table["maximize"]["parameters"]}
        want["steps"] = 2
        self.assertEqual(body["params"], want)

    def test_errors(self):
        for query in ("target=pneumothorax", "target=7"):
            C.check_error(curl(url("maximize", query=query), "-X", "POST"), MAXIMIZE, "POST",
                          404, "not_found")
        for query, word in (("steps=0", "steps"), ("lr=99", "lr"), ("layer=x", "layer")):
            err = C.check_error(curl(url("maximize", query=query), "-X", "POST"), MAXIMIZE,
                                "POST", 400, "invalid_argument")
            self.assertIn(word, err["message"])
        C.check_error(post_json("maximize", [1, 2]), MAXIMIZE, "POST", 400, "invalid_argument")
        C.check_error(post_bytes("maximize", read("clear-1.png"), "image/png"), MAXIMIZE, "POST",
                      415, "unsupported_media_type")
        C.check_error(curl(url("maximize")), MAXIMIZE, "POST", 405, "method_not_allowed")


def zip_of(names, extra=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n in names:
            z.writestr("images/" + n, read(n))
        for name, data in extra:
            z.writestr(name, data)
    return buf.getvalue()


def tar_of(names, extra=()):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in [("x/" + n, read(n)) for n in names] + list(extra):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Embed(unittest.TestCase):
    def multipart(self, names, query="", params=None):
        args = []
        for n in names:
            args += ["-F", "image=@%s;type=image/%s" % (example(n), "jpeg" if n.endswith(".jpg")
                                                         else "png")]
        with tempfile.TemporaryDirectory() as d:
            if params is not None:
                path = os.path.join(d, "params.json")
                with open(path, "w") as f:
                    json.dump(params, f)
                args += ["-F", "params=<%s;type=application/json" % path]
            return curl(url("embed", query=query), *args)

    def test_every_encoding_pca_with_labels(self):
        labels = ",".join(LABELS)
        query = "projection=pca&raw=true&knn_k=2&labels=" + labels
        multipart = C.check(self.multipart(IMAGES, query), EMBED, "POST", 200)
        params = self.multipart(IMAGES, params={"projection": "pca", "raw": True, "knn_k": 2,
                                                "labels": LABELS})
        js = post_json("embed", {"images": [base64.b64encode(read(n)).decode() for n in IMAGES],
                                 "projection": "pca", "raw": "true", "knn_k": "2",
                                 "labels": [1, 0, 2, 1, 0, 2]})
        hidden = [(".DS_Store", b"junk"), ("__MACOSX/images/._x.png", b"junk"),
                  ("images/.hidden.png", read("clear-3.png"))]
        archives = [post_bytes("embed", zip_of(IMAGES, hidden), "application/zip", query=query),
                    post_bytes("embed", tar_of(IMAGES, hidden), "application/x-tar", query=query)]
        for r in [params, js] + archives:
            self.assertTrue(same(C.check(r, EMBED, "POST", 200), multipart))
        body = multipart
        self.assertEqual(body["count"], len(IMAGES))
        self.assertEqual(body["projection"], "pca")
        self.assertEqual(body["colored_by"], "label")
        self.assertEqual([p["index"] for p in body["points"]], list(range(len(IMAGES))))
        self.assertEqual([p["label"] for p in body["points"]], LABELS)
        self.assertEqual(body["features"]["shape"], [len(IMAGES), body["dim"]])
        self.assertLessEqual(sum(body["explained_variance"]), 1 + 1e-6)
        self.assertGreaterEqual(body["explained_variance"][0], body["explained_variance"][1])
        # each point's prediction is predict's on that image
        for p, n in zip(body["points"], IMAGES):
            pred = C.check(post_bytes("predict", read(n), "image/jpeg" if n.endswith(".jpg")
                                      else "image/png"), PREDICT, "POST", 200)["prediction"]
            self.assertEqual(p["prediction"]["index"], pred["index"])
            self.assertAlmostEqual(p["prediction"]["probability"], pred["probability"],
                                   delta=1e-5)
        knn = body["knn_agreement"]
        self.assertEqual(knn["k"], 2)
        accuracy = sum(p["prediction"]["label"] == p["label"] for p in body["points"]) / 6
        self.assertAlmostEqual(knn["prediction_accuracy"], accuracy)
        self.assertEqual(body["params"]["knn_k"], 2)

    def test_tsne_default(self):
        body = C.check(self.multipart(IMAGES[:4], "iterations=250"), EMBED, "POST", 200)
        self.assertEqual(body["projection"], "tsne")
        self.assertEqual(body["colored_by"], "prediction")
        self.assertEqual(body["tsne"]["method"], "exact")
        self.assertAlmostEqual(body["tsne"]["perplexity"], (4 - 1) / 3)  # lowered: 4 images
        self.assertGreaterEqual(body["tsne"]["kl"], 0)
        self.assertNotIn("knn_agreement", body)
        self.assertNotIn("features", body)
        self.assertEqual(png_size(body["scatter_png"]), (512, 512))
        self.assertEqual(len({(p["x"], p["y"]) for p in body["points"]}), 4)

    def test_errors(self):
        cases = [(self.multipart(IMAGES[:1]), 400, "invalid_argument", "2"),
                 (self.multipart(IMAGES[:2], "labels=nodule"), 400, "invalid_argument",
                  "labels"),
                 (self.multipart(IMAGES[:2], "labels=nodule,pneumothorax"), 404, "not_found",
                  "labels"),
                 (self.multipart(IMAGES[:2], "layer=/no/such/tensor"), 404, "not_found",
                  "layer"),
                 (self.multipart(IMAGES[:2], "perplexity=0"), 400, "invalid_argument",
                  "perplexity"),
                 (self.multipart(IMAGES[:2], "bogus=1"), 400, "invalid_argument", "bogus"),
                 (post_json("embed", {"images": ["AAAA"] * 2001}), 413, "too_large", "2000"),
                 (post_json("embed", {"image": "AAAA"}), 400, "invalid_argument", "images"),
                 (post_bytes("embed", read("clear-1.png"), "image/png"), 400,
                  "invalid_argument", "images"),
                 (post_bytes("embed", b"PK\x03\x04 not really", "application/zip"), 422,
                  "bad_image", "archive"),
                 (post_bytes("embed", read("clear-1.png"), "application/x-tar"), 415,
                  "unsupported_media_type", "archive"),
                 (post_bytes("embed", read("clear-1.png"), "text/plain"), 415,
                  "unsupported_media_type", "Content-Type"),
                 (curl(url("embed", AE), "-F", "image=@" + example("clear-1.png"),
                       "-F", "image=@" + example("clear-3.png")), 422, "unsupported", "layer")]
        for i, (r, status, code, word) in enumerate(cases):
            with self.subTest(case=i, status=r.status):
                err = C.check_error(r, EMBED, "POST", status, code)
                self.assertIn(word, err["message"])
                self.assertLessEqual(err["message"].count("parameter '"), 1, err["message"])
        r = curl(url("embed"), "-F", "image=@" + example("clear-1.png"),
                 "-F", "image=@" + os.path.join(os.path.dirname(example("x")), "README.md"))
        C.check_error(r, EMBED, "POST", 415, "unsupported_media_type")


if __name__ == "__main__":
    main()
