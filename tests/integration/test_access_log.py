#!/usr/bin/python3
"""test_access_log.py - the access log (stdout): one JSON line per request with the documented
fields, matching the answers (request id, trace id, route template, HTTP method, status), 499
for a client that left before its answer, and never a token, the file name of a multipart
part, client free text or image bytes. (408 for a body cut off by --read-timeout: test_load.)"""
import base64
import json
import os
import socket
import tempfile
import time
import unittest

from xaidtest import MODEL, Server, contract, curl, example, main, request_args

TOKEN = "s3cr3t-T0KEN-do-not-log-4d2a"
FILENAME = "Doe_Jane_MRN-558812_chest.png"
FIELDS = {"time", "request_id", "trace_id", "route", "model", "method", "http_method", "status",
          "bytes_in", "bytes_out", "ms", "token_id"}
MS = {"queue", "decode", "forward", "explain", "encode", "total"}
TRACE = "0af7651916cd43dd8448eb211c80319c"


class AccessLog(unittest.TestCase):
    def test_access_log(self):
        C = contract()
        with tempfile.TemporaryDirectory() as d:
            tokens = os.path.join(d, "tokens")
            with open(tokens, "w") as f:
                f.write("radiology %s\n" % TOKEN)
            srv = Server("--workers", "1", "--tokens", tokens)
            srv.start()
            auth = ("-H", "Authorization: Bearer " + TOKEN)
            sent = []  # (response, route template, model, method, token_id, HTTP method)
            try:
                url = srv.url("/v1/models/%s/explain" % MODEL)
                params = os.path.join(d, "params.json")
                with open(params, "w") as f:
                    json.dump({"method": "saliency", "target": "nodule"}, f)
                r = curl(url, *auth, "-H", "traceparent: 00-%s-b7ad6b7169203331-01" % TRACE,
                         "-F", "image=@%s;type=image/png;filename=%s" %
                         (example("nodule-1.png"), FILENAME),
                         "-F", "params=<%s;type=application/json" % params)
                C.check(r, "/v1/models/{model}/explain", "POST", 200)
                sent.append((r, "/v1/models/{model}/explain", MODEL, "saliency", "radiology",
                             "POST"))
                args, _ = request_args("json", example("nodule-2.png"), {}, d)
                r = curl(srv.url("/v1/models/%s/predict" % MODEL), *auth, *args,
                         "-H", "X-Request-ID: log-test-1")
                C.check(r, "/v1/models/{model}/predict", "POST", 200)
                sent.append((r, "/v1/models/{model}/predict", MODEL, "", "radiology", "POST"))
                r = curl(srv.url("/v1/models/%s/predict" % MODEL), "-H",
                         "Authorization: Bearer wrong-" + TOKEN, *args)
                C.check_error(r, "/v1/models/{model}/predict", "POST", 403, "forbidden")
                sent.append((r, "/v1/models/{model}/predict", MODEL, "", None, "POST"))
                r = curl(srv.url("/v1/models/Patient-Name-Here?q=free+text+here"), *auth)
                C.check_error(r, "/v1/models/{model}", "GET", 404, "not_found")
                sent.append((r, "/v1/models/{model}", None, "", "radiology", "GET"))
                r = curl(srv.url("/healthz"))
                sent.append((r, "/healthz", None, "", None, "GET"))
                r = curl(srv.url("/v1/models/%s/report" % MODEL), *auth,
                         "-F", "image=@%s;type=image/png;filename=%s" %
                         (example("nodule-1.png"), FILENAME))
                C.check(r, "/v1/models/{model}/report", "POST", 200)
                sent.append((r, "/v1/models/{model}/report", MODEL, "guided_gradcam",
                             "radiology", "POST"))
                r = curl(srv.url("/viewer.js"), "-I")
                C.check(r, "/viewer.js", "HEAD", 200)
                sent.append((r, "/{viewer file}", None, "", None, "HEAD"))
                r = curl(srv.url("/v1/methods"), "-X", "OPTIONS")
                C.check(r, "/v1/methods", "OPTIONS", 204)
                sent.append((r, "/v1/methods", None, "", None, "OPTIONS"))
                # a client that leaves in the middle of its body
                host, port = srv.base[len("http://"):].split(":")
                s = socket.create_connection((host, int(port)))
                s.sendall(("POST /v1/models/%s/predict HTTP/1.1\r\nHost: x\r\n"
                           "X-Request-ID: leaves-early\r\nAuthorization: Bearer %s\r\n"
                           "Content-Type: image/png\r\nContent-Length: 100000\r\n\r\n" %
                           (MODEL, TOKEN)).encode() +
                          b"\x89PNG\r\n\x1a\n")
                time.sleep(0.3)
                s.close()
                time.sleep(0.3)
            finally:
                rc = srv.stop()
            self.assertEqual(rc, 0)
            log = srv.access_log()
            srv.tmp.cleanup()

        # nothing secret or identifying, in any form
        with open(example("nodule-1.png"), "rb") as f:
            png = f.read()
        with open(example("nodule-2.png"), "rb") as f:
            png2 = f.read()
        for needle in (TOKEN.encode(), FILENAME.encode(), b"MRN-558812", b"Doe_Jane",
                       b"Patient-Name-Here", b"free text here", b"free+text+here",
                       b"\x89PNG", b"IHDR", base64.b64encode(png[:48]),
                       base64.b64encode(png2[:48]), base64.b64encode(png2[1000:1048])):
            self.assertNotIn(needle, log, "the access log holds %r" % needle[:40])

        lines = [json.loads(line) for line in log.decode("utf-8").splitlines() if line.strip()]
        by_id = {e.get("request_id"): e for e in lines}
        for r, route, model, method, token_id, http_method in sent:
            rid = r.header("x-request-id")
            with self.subTest(route=route, status=r.status):
                self.assertIn(rid, by_id, "no log line for request %s" % rid)
                e = by_id[rid]
                self.assertTrue(FIELDS <= set(e), "missing fields: %s" % (FIELDS - set(e)))
                self.assertEqual(e["route"], route)
                self.assertEqual(e["http_method"], http_method)
                self.assertEqual(int(e["status"]), r.status)
                if model and r.status not in (401, 403):  # refused before the model is looked up
                    self.assertEqual(e["model"], model)
                self.assertEqual(e["method"] or "", method)
                self.assertEqual(e["token_id"] or None, token_id)
                self.assertIsInstance(e["bytes_in"], int)
                self.assertIsInstance(e["bytes_out"], int)
                self.assertEqual(e["bytes_out"] >= len(r.body), True)
                self.assertRegex(e["trace_id"], r"^[0-9a-f]{32}$")
                self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
                self.assertIsInstance(e["ms"], dict)
                self.assertIn("total", e["ms"])
                self.assertTrue(all(isinstance(v, (int, float)) and v >= 0
                                    for v in e["ms"].values()))
        explain = by_id[sent[0][0].header("x-request-id")]
        self.assertEqual(set(explain["ms"]), MS)
        self.assertEqual(explain["trace_id"], TRACE)
        self.assertGreater(explain["bytes_in"], len(png))
        self.assertIn("log-test-1", by_id)
        left = by_id["leaves-early"]
        self.assertEqual((left["status"], left["http_method"], left["route"], left["model"]),
                         (499, "POST", "/v1/models/{model}/predict", MODEL))
        self.assertGreaterEqual(left["bytes_in"], 8)


if __name__ == "__main__":
    main()
