#!/usr/bin/python3
"""test_api.py - every route of xaid's HTTP API, every input encoding and every attribution
method on the demo model, each answer checked against openapi.yaml; request ids, trace context,
CORS and the metrics counters. One server for all (CORS on, no auth)."""
import hashlib
import json
import os
import re
import tempfile
import unittest

from xaidtest import (MODEL, MODELS, Server, check_map, contract, curl, decode_class_map,
                      decode_raw, example, main, method_table, percentile, request_args,
                      wait_for)

EXPLAIN = "/v1/models/{model}/explain"
PREDICT = "/v1/models/{model}/predict"
OUTPUTS = {"raw", "overlay_png", "heatmap_png", "colorbar_png"}
AE = "chest-ae"  # the demo autoencoder (method reconstruction)
ATTENTION = "chest-attention"  # the demo model with an attention gate (method attention)
ORIGIN = "https://viewer.example.org"
OTHER_ORIGIN = "https://evil.example.com"

# Parameters that keep the sampling methods quick on two shared cores.
QUICK = {
    "integrated_gradients": {"steps": 4},
    "lime": {"samples": 16, "n_segments": 8},
    "occlusion": {"patch": 32, "stride": 32},
    "smoothgrad": {"samples": 2},
    "smoothgrad_sq": {"samples": 2},
    "vargrad": {"samples": 2},
}


def setUpModule():
    global SERVER, C, METHODS
    C = contract()
    METHODS = method_table()
    SERVER = Server("--workers", "2", "--queue", "16", "--cors-origins",
                    ORIGIN + ",http://localhost:3000")
    SERVER.start()


def tearDownModule():
    rc = SERVER.stop()
    if rc != 0:
        raise AssertionError("xaid serve exited %r after SIGTERM:\n%s" % (rc, SERVER.stderr()))


def post(route, image, params=None, encoding="raw", model=MODEL, extra=()):
    with tempfile.TemporaryDirectory() as d:
        args, qs = request_args(encoding, image, params, d)
        url = SERVER.url("/v1/models/%s/%s" % (model, route)) + ("?" + qs if qs else "")
        return curl(url, *args, *extra)


def get(path, *args):
    return curl(SERVER.url(path), *args)


class Operations(unittest.TestCase):
    def test_healthz(self):
        C.check(get("/healthz"), "/healthz", "GET", 200)

    def test_readyz(self):
        C.check(get("/readyz"), "/readyz", "GET", 200)

    def test_head_on_every_get_route(self):
        for path, template in (("/healthz", "/healthz"), ("/readyz", "/readyz"),
                               ("/metrics", "/metrics"), ("/v1/models", "/v1/models"),
                               ("/v1/models/" + MODEL, "/v1/models/{model}"),
                               ("/v1/methods", "/v1/methods")):
            with self.subTest(path=path):
                r = get(path, "-I")
                C.check(r, template, "HEAD", 200)
                self.assertEqual(r.body, b"")
        r = get("/v1/models/nope", "-I")
        C.check(r, "/v1/models/{model}", "HEAD", 404)

    def test_metrics_format(self):
        r = get("/metrics")
        text = C.check(r, "/metrics", "GET", 200)
        self.assertIn("version=0.0.4", r.header("content-type"))
        m = parse_metrics(text)
        for name in ("xaid_queue_depth", "xaid_jobs_in_flight", "xaid_workers", "xaid_ready",
                     "xaid_worker_busy_seconds_total"):
            self.assertIn(name, m, "metric %s missing" % name)
        self.assertEqual(value(m, "xaid_workers"), 2)
        self.assertEqual(value(m, "xaid_ready"), 1)
        info = m.get("xaid_model_info", [])
        self.assertTrue(any(l.get("name") == MODEL and len(l.get("sha256", "")) == 64
                            for l, _ in info), info)

    def test_metrics_counters_move(self):
        before = parse_metrics(get("/metrics").body.decode())
        for _ in range(2):
            C.check(post("explain", example("clear-1.png")), EXPLAIN, "POST", 200)
        C.check(post("predict", example("clear-1.png")), PREDICT, "POST", 200)
        route = "/v1/models/{model}/explain"
        proute = "/v1/models/{model}/predict"

        def count(m, route, status, method=None):
            return sum(v for l, v in m.get("xaid_requests_total", [])
                       if l.get("route") == route and l.get("status") == status
                       and l.get("http_method") == "POST"
                       and (method is None or l.get("method") == method))

        # A request is counted when libmicrohttpd reports it complete, after its last byte has
        # gone out: the client can read /metrics first (seen under the sanitizers).
        scraped = {}

        def counted():
            m = scraped["after"] = parse_metrics(get("/metrics").body.decode())
            return (count(m, route, "200", "gradcam") - count(before, route, "200", "gradcam") >= 2
                    and count(m, proute, "200") - count(before, proute, "200") >= 1)

        wait_for(counted, 5, "the three requests' counts in /metrics")
        after = scraped["after"]
        self.assertGreaterEqual(count(after, route, "200", "gradcam") -
                                count(before, route, "200", "gradcam"), 2)
        self.assertGreaterEqual(count(after, proute, "200") - count(before, proute, "200"), 1)
        hist = lambda m: sum(v for l, v in m.get("xaid_request_duration_seconds_count", [])
                             if l.get("route") == route)
        self.assertGreaterEqual(hist(after) - hist(before), 2)
        busy = lambda m: value(m, "xaid_worker_busy_seconds_total")
        self.assertGreater(busy(after), busy(before))


class Models(unittest.TestCase):
    def test_list(self):
        body = C.check(get("/v1/models"), "/v1/models", "GET", 200)
        names = [m["name"] for m in body["models"]]
        self.assertEqual(names, sorted(d for d in os.listdir(MODELS)
                                       if os.path.isdir(os.path.join(MODELS, d))))
        one = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)
        self.assertEqual(body["models"][names.index(MODEL)], one)

    def test_info(self):
        info = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)
        with open(os.path.join(MODELS, MODEL, "model.onnx"), "rb") as f:
            self.assertEqual(info["sha256"], hashlib.sha256(f.read()).hexdigest())
        with open(os.path.join(MODELS, MODEL, "model.json")) as f:
            mj = json.load(f)
        self.assertEqual(info["labels"], mj["labels"])
        self.assertEqual(info["input"]["height"], 128)
        self.assertIn(info["cam_layer"], [l["name"] for l in info["layers"]])
        names = [m["name"] for m in METHODS]
        self.assertTrue(set(info["methods"]) <= set(names))
        self.assertIn("gradcam", info["methods"])

    def test_methods_equal_the_table(self):
        body = C.check(get("/v1/methods"), "/v1/methods", "GET", 200)
        self.assertEqual(body, {"methods": METHODS})


class Encodings(unittest.TestCase):
    def test_predict_every_encoding(self):
        with open(os.path.join(os.path.dirname(example("x")), "expected.json")) as f:
            expected = json.load(f)
        for image in ("nodule-2.png", "opacity-2.jpg"):
            answers = []
            for enc in ("multipart", "raw", "json"):
                with self.subTest(image=image, encoding=enc):
                    body = C.check(post("predict", example(image), encoding=enc), PREDICT,
                                   "POST", 200)
                    self.assertEqual(body["model"]["name"], MODEL)
                    probs = {s["label"]: s["probability"] for s in body["scores"]}
                    for label, p in expected[image]["probabilities"].items():
                        self.assertAlmostEqual(probs[label], p, delta=2e-5)
                    ranked = [s["probability"] for s in body["scores"]]
                    self.assertEqual(ranked, sorted(ranked, reverse=True))
                    self.assertEqual(body["prediction"]["label"], expected[image]["predicted"])
                    answers.append(body["scores"])
            self.assertEqual(answers[0], answers[1])
            self.assertEqual(answers[0], answers[2])

    def test_explain_every_encoding(self):
        params = {"method": "integrated_gradients", "steps": 5, "target": "nodule",
                  "outputs": ["raw", "heatmap_png"], "colormap": "viridis", "opacity": 0.3}
        maps = []
        for enc in ("multipart", "raw", "json"):
            with self.subTest(encoding=enc):
                body = C.check(post("explain", example("nodule-3.png"), params, enc), EXPLAIN,
                               "POST", 200)
                e = body["explanation"]
                self.assertEqual(e["method"], "integrated_gradients")
                self.assertEqual(e["params"]["steps"], 5)
                self.assertEqual(body["target"]["label"], "nodule")
                self.assertEqual(e["colormap"], "viridis")
                self.assertIn("heatmap_png", e)
                self.assertNotIn("overlay_png", e)
                self.assertEqual((e["width"], e["height"]), (200, 150))
                maps.append(check_map(self, e))
        self.assertEqual(maps[0], maps[1])
        self.assertEqual(maps[0], maps[2])

    def test_json_outputs_as_string_and_values_as_strings(self):
        params = {"method": "smoothgrad", "samples": "3", "sigma": "0.1", "seed": "7",
                  "outputs": "raw", "evaluate": "false", "target": 2}
        body = C.check(post("explain", example("opacity-3.png"), params, "json"), EXPLAIN,
                       "POST", 200)
        e = body["explanation"]
        self.assertEqual(e["params"]["samples"], 3)
        self.assertEqual(set(e) & OUTPUTS, {"raw"})
        self.assertEqual(body["target"]["index"], 2)

    def test_defaults(self):
        body = C.check(post("explain", example("nodule-2.png")), EXPLAIN, "POST", 200)
        e = body["explanation"]
        self.assertEqual(e["method"], "gradcam")
        self.assertEqual(body["target"]["index"], body["prediction"]["index"])
        self.assertEqual(set(e) & OUTPUTS, {"raw", "overlay_png"})
        info = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)
        self.assertEqual(e["layer"], info["cam_layer"])
        self.assertEqual(e["colormap"], "jet")
        self.assertEqual(e["metrics"].get("faithfulness"), None)
        check_map(self, e)

    def test_layer_and_evaluate(self):
        info = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)
        layer = info["layers"][len(info["layers"]) // 2]["name"]
        body = C.check(post("explain", example("nodule-3.png"),
                            {"layer": layer, "evaluate": True}, "multipart"), EXPLAIN, "POST",
                       200)
        e = body["explanation"]
        self.assertEqual(e["layer"], layer)
        f = e["metrics"]["faithfulness"]
        self.assertEqual(len(f["deletion"]), len(f["fractions"]))


class ModelSizeImage(unittest.TestCase):
    """On an image of the model's own size (128 x 128, stretch) the raw map is the model-grid
    map itself: what the server computes from that grid can be checked exactly."""

    @classmethod
    def setUpClass(cls):
        from PIL import Image
        cls.tmp = tempfile.TemporaryDirectory()
        cls.image = os.path.join(cls.tmp.name, "model-size.png")
        Image.open(example("nodule-2.png")).convert("L").resize((128, 128)).save(cls.image)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()


class ColourScale(ModelSizeImage):
    """display_range and colorbar_png: display_range must be exactly [P2, P98] of the raw
    values (signed maps: [-P98, P98] of their magnitudes)."""

    def test_display_range_is_the_percentiles(self):
        cases = (({"method": "saliency"}, "jet"),
                 ({"method": "gradient_x_input"}, "bwr"),
                 ({"method": "gradcam", "colormap": "viridis"}, "viridis"),
                 ({"method": "lrp", "colormap": "gray"}, "gray"),
                 ({"method": "smoothgrad", "samples": 2, "colormap": "inferno"}, "inferno"),
                 ({"method": "integrated_gradients", "steps": 4, "colormap": "turbo"}, "turbo"))
        signs = set()
        for params, colormap in cases:
            with self.subTest(**params):
                body = C.check(post("explain", self.image,
                                    dict(params, outputs="raw,colorbar_png")), EXPLAIN, "POST",
                               200)
                e = body["explanation"]
                self.assertEqual((e["width"], e["height"]), (128, 128))
                self.assertEqual(e["colormap"], colormap)
                self.assertEqual(set(e) & OUTPUTS, {"raw", "colorbar_png"})
                values = check_map(self, e)  # checks the colour bar's ends too
                for got, w in zip(e["range"], (min(values), max(values))):
                    self.assertAlmostEqual(got, w, delta=1e-6 * max(1e-6, abs(w)))
                if e["signed"]:
                    r = percentile([abs(v) for v in values], 98)
                    want = [-r, r]
                else:
                    want = [percentile(values, 2), percentile(values, 98)]
                for got, w in zip(e["display_range"], want):
                    self.assertAlmostEqual(got, w, delta=1e-5 * max(1e-6, abs(w)))
                self.assertLess(e["display_range"][0], e["display_range"][1])
                signs.add(e["signed"])
        self.assertEqual(signs, {False, True})

    def test_colorbar_is_the_colormap_alone(self):
        """The same colormap gives the same colour bar whatever the image and method; only
        colorbar_png asked for: no map, no pictures, the display range still there."""
        bars = {}
        for image, params in (("nodule-2.png", {"method": "gradcam"}),
                              ("clear-1.png", {"method": "saliency"}),
                              ("opacity-2.jpg", {"method": "gradient_x_input",
                                                 "colormap": "jet"}),
                              ("nodule-3.png", {"method": "gradcam", "colormap": "bwr"})):
            with self.subTest(image=image, **params):
                body = C.check(post("explain", example(image),
                                    dict(params, outputs=["colorbar_png"]), "json"), EXPLAIN,
                               "POST", 200)
                e = body["explanation"]
                self.assertEqual(set(e) & OUTPUTS, {"colorbar_png"})
                check_map(self, e)
                bars.setdefault(e["colormap"], set()).add(e["colorbar_png"])
        self.assertEqual({k: len(v) for k, v in bars.items()}, {"jet": 1, "bwr": 1})
        self.assertNotEqual(bars["jet"], bars["bwr"])


class DominantClass(ModelSizeImage):
    def test_class_map_is_the_argmax_of_the_base_method(self):
        """dominant_class with base saliency (a map on the input grid) against saliency run
        for each class: every pixel's class is the argmax (ties: the lower index; -1 where no
        class is positive) and the map is the largest value."""
        info = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)
        per_class = []
        for c in range(len(info["labels"])):
            body = C.check(post("explain", self.image, {"method": "saliency", "target": c,
                                                        "outputs": "raw"}), EXPLAIN, "POST",
                           200)
            per_class.append(decode_raw(body["explanation"]["raw"]))
        body = C.check(post("explain", self.image,
                            {"method": "dominant_class", "base": "saliency",
                             "outputs": "raw,overlay_png,heatmap_png,colorbar_png"}, "json"),
                       EXPLAIN, "POST", 200)
        e = body["explanation"]
        self.assertEqual(e["params"], {"base": "saliency"})
        check_map(self, e)  # and check_class_map
        classes = decode_class_map(e["class_map"])
        strength = decode_raw(e["raw"])
        self.assertEqual([x["label"] for x in e["legend"]], info["labels"])
        for i in range(len(classes)):
            values = [m[i] for m in per_class]
            best = max(values)
            want = values.index(best) if best > 0 else -1
            self.assertEqual(classes[i], want, "pixel %d: %r" % (i, values))
            self.assertEqual(strength[i], max(0.0, best), i)
        counts = {c: classes.count(c) for c in set(classes)}
        self.assertGreaterEqual(sum(1 for c, n in counts.items() if c >= 0 and n > 100), 2,
                                "one class almost everywhere: a weak test image %r" % counts)


class EveryMethod(unittest.TestCase):
    def test_listed_methods_run(self):
        """A model's info lists only methods that run on it: each one listed for the autoencoder
        and the attention model answers 200 (their graphs have Sub and Mul nodes, which LRP has
        no rule for: lrp is not listed for them), and lrp is listed for the demo model."""
        for model in (AE, ATTENTION):
            info = C.check(get("/v1/models/" + model), "/v1/models/{model}", "GET", 200)
            self.assertNotIn("lrp", info["methods"], model)
            for name in info["methods"]:
                with self.subTest(model=model, method=name):
                    params = dict(QUICK.get(name, {}), method=name, target=info["labels"][-1])
                    C.check(post("explain", example("nodule-4.jpg"), params, model=model),
                            EXPLAIN, "POST", 200)
        demo = C.check(get("/v1/models/" + MODEL), "/v1/models/{model}", "GET", 200)
        self.assertIn("lrp", demo["methods"])

    def test_every_method(self):
        """Every method of `xaid methods --json` through the raw encoding: on the demo model,
        or the demo autoencoder (reconstruction) or attention model (attention), as they
        need."""
        infos = {name: C.check(get("/v1/models/" + name), "/v1/models/{model}", "GET", 200)
                 for name in (MODEL, AE, ATTENTION)}
        for m in METHODS:
            name = m["name"]
            model = AE if m["needs_reconstruction"] else \
                ATTENTION if m["needs_attention"] else MODEL
            info = infos[model]
            with self.subTest(method=name, model=model):
                self.assertIn(name, info["methods"])
                for other, oinfo in infos.items():  # the model info lists the methods that fit
                    fits = (oinfo["reconstruction"] is not None or
                            not m["needs_reconstruction"]) and \
                        (oinfo["attention"] != [] or not m["needs_attention"])
                    if not fits:
                        self.assertNotIn(name, oinfo["methods"], other)
                target = info["labels"][-1] if model == AE else "nodule"
                params = dict(QUICK.get(name, {}), method=name, target=target)
                body = C.check(post("explain", example("nodule-4.jpg"), params, model=model),
                               EXPLAIN, "POST", 200)
                e = body["explanation"]
                self.assertEqual(e["method"], name)
                want = {p["name"]: p["default"] for p in m["parameters"]}
                want.update(QUICK.get(name, {}))
                self.assertEqual(e["params"], want)
                self.assertEqual(e["signed"], m["signed"])
                self.assertEqual("layer" in e, m["uses_layer"])
                self.assertEqual(e["colormap"], "bwr" if m["signed"] else "jet")
                self.assertEqual(body["target"]["label"], target)
                self.assertEqual(body["model"]["name"], model)
                self.assertEqual("class_map" in e, name == "dominant_class")
                values = check_map(self, e)
                self.assertEqual(len(values), e["width"] * e["height"])
                self.assertTrue(any(v != 0 for v in values), "an all-zero map")


class Headers(unittest.TestCase):
    def test_request_id_echoed(self):
        for rid in ("abc-123_X.y", "a" * 64):
            r = get("/v1/models", "-H", "X-Request-ID: " + rid)
            C.check(r, "/v1/models", "GET", 200)
            self.assertEqual(r.header("x-request-id"), rid)
        r = post("predict", example("clear-1.png"), extra=("-H", "X-Request-ID: my.req-1"))
        body = C.check(r, PREDICT, "POST", 200)
        self.assertEqual(body["request_id"], "my.req-1")
        self.assertEqual(r.header("x-request-id"), "my.req-1")

    def test_request_id_replaced(self):
        for bad in ("has space", "a" * 65, "semi;colon", "ünïcode", "x/y"):
            r = get("/healthz", "-H", "X-Request-ID: " + bad)
            C.check(r, "/healthz", "GET", 200)
            self.assertRegex(r.header("x-request-id"), r"^[0-9a-f]{32}$", bad)

    def test_request_id_generated(self):
        ids = set()
        for _ in range(3):
            r = get("/healthz")
            self.assertRegex(r.header("x-request-id"), r"^[0-9a-f]{32}$")
            ids.add(r.header("x-request-id"))
        self.assertEqual(len(ids), 3)
        r = get("/v1/models/nope")
        err = C.check_error(r, "/v1/models/{model}", "GET", 404, "not_found")
        self.assertRegex(err["request_id"], r"^[0-9a-f]{32}$")

    def test_traceparent_kept(self):
        trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        sent = "00-%s-00f067aa0ba902b7-01" % trace
        r = post("predict", example("clear-1.png"), extra=("-H", "traceparent: " + sent))
        C.check(r, PREDICT, "POST", 200)
        tp = r.header("traceparent")
        self.assertRegex(tp, r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
        self.assertEqual(tp.split("-")[1], trace)
        self.assertNotEqual(tp.split("-")[2], "00f067aa0ba902b7")

    def test_traceparent_invalid_or_absent(self):
        for sent in (None, "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"):
            args = ("-H", "traceparent: " + sent) if sent else ()
            r = get("/v1/models", *args)
            C.check(r, "/v1/models", "GET", 200)
            tp = r.header("traceparent")
            self.assertRegex(tp, r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
            self.assertNotEqual(tp.split("-")[1], "0" * 32)

    def test_nosniff_everywhere(self):
        for path in ("/healthz", "/metrics", "/v1/methods", "/nope"):
            self.assertEqual(get(path).header("x-content-type-options"), "nosniff", path)


class Cors(unittest.TestCase):
    PREFLIGHT = ("-X", "OPTIONS", "-H", "Access-Control-Request-Method: POST",
                 "-H", "Access-Control-Request-Headers: authorization, content-type")

    def test_preflight_allowed(self):
        for path, template in (("/v1/models/%s/explain" % MODEL, EXPLAIN),
                               ("/v1/models", "/v1/models"), ("/v1/methods", "/v1/methods")):
            r = get(path, *self.PREFLIGHT, "-H", "Origin: " + ORIGIN)
            C.check(r, template, "OPTIONS", 204)
            self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)
            self.assertIn("origin", r.header("vary", "").lower())
            allowed = {h.strip().lower() for h in
                       r.header("access-control-allow-headers").split(",")}
            self.assertTrue({"authorization", "content-type", "x-request-id",
                             "traceparent"} <= allowed, allowed)
            self.assertGreater(int(r.header("access-control-max-age")), 0)
        r = get("/v1/models/%s/explain" % MODEL, *self.PREFLIGHT, "-H", "Origin: " + ORIGIN)
        self.assertIn("POST", r.header("access-control-allow-methods"))

    def test_plain_options(self):
        r = get("/v1/models/%s/predict" % MODEL, "-X", "OPTIONS")
        C.check(r, PREDICT, "OPTIONS", 204)
        self.assertIn("POST", r.header("allow"))
        self.assertIsNone(r.header("access-control-allow-origin"))

    def test_preflight_refused(self):
        for origin in (OTHER_ORIGIN, ORIGIN + ".evil.com", "null", "*"):
            r = get("/v1/models/%s/explain" % MODEL, *self.PREFLIGHT, "-H", "Origin: " + origin)
            C.check_error(r, EXPLAIN, "OPTIONS", 403, "forbidden")
            self.assertIsNone(r.header("access-control-allow-origin"), origin)

    def test_simple_request(self):
        r = post("predict", example("clear-1.png"), extra=("-H", "Origin: " + ORIGIN))
        C.check(r, PREDICT, "POST", 200)
        self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)
        self.assertIn("origin", r.header("vary", "").lower())
        r = get("/v1/models", "-H", "Origin: " + OTHER_ORIGIN)
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertIn(r.status, (200, 403))
        C.check(r, "/v1/models", "GET")


# ---- Prometheus text format


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse_metrics(text):
    """{name: [(labels, value)]}; raises on a line that is not a comment, sample or blank."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            if line.startswith("# TYPE") or line.startswith("# HELP"):
                continue
            continue
        m = LINE.match(line)
        if not m:
            raise AssertionError("not a Prometheus sample line: %r" % line)
        labels = {}
        if m.group(3):
            rest = m.group(3)
            pos = 0
            while pos < len(rest):
                lm = LABEL.match(rest, pos)
                if not lm:
                    raise AssertionError("bad labels in %r" % line)
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
        out.setdefault(m.group(1), []).append((labels, float(m.group(4))))
    return out


def value(m, name):
    return sum(v for _, v in m.get(name, []))


if __name__ == "__main__":
    main()
