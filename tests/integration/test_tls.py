#!/usr/bin/python3
"""test_tls.py - HTTPS through libmicrohttpd's GnuTLS support, with a self-signed certificate
made at test time (openssl req -x509): curl --cacert gets the usual answers (checked against
openapi.yaml) over TLS 1.2 and 1.3; curl without the CA refuses the certificate; plain HTTP to
the TLS port gets no HTTP answer; XAID_TLS_CERT / XAID_TLS_KEY work like the flags; a client
that trickles its handshake is cut off at --read-timeout; a missing, non-PEM, mismatched
or half-given certificate and key stop the start with a message naming the flag and the
cause."""
import os
import socket
import subprocess
import tempfile
import time
import unittest

from xaidtest import MODEL, MODELS, XAID, Server, contract, curl, example, main


def setUpModule():
    global C, TMP, CERT, KEY, OTHER_CERT, OTHER_KEY
    C = contract()
    TMP = tempfile.TemporaryDirectory(prefix="xaid-tls-")
    CERT, KEY = make_cert("server", "IP:127.0.0.1")
    OTHER_CERT, OTHER_KEY = make_cert("other", "DNS:other.example")


def tearDownModule():
    TMP.cleanup()


def make_cert(name, san):
    cert = os.path.join(TMP.name, name + "-cert.pem")
    key = os.path.join(TMP.name, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=xaid-test-" + name, "-addext", "subjectAltName=" + san, "-keyout", key,
                    "-out", cert], check=True, capture_output=True)
    return cert, key


def start_fails(*args, env=None):
    """`xaid serve` with these arguments: its exit code and stderr (it must not start)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("XAID_")}
    e.update(env or {})
    p = subprocess.run([XAID, "serve", "--listen", "127.0.0.1", "--port", "0", "--models", MODELS,
                        *args], capture_output=True, text=True, timeout=60, env=e)
    return p.returncode, p.stderr


class Https(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("--workers", "1", "--read-timeout", "2", "--tls-cert", CERT, "--tls-key",
                         KEY)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        if rc != 0:
            raise AssertionError("xaid serve exited %r" % rc)

    def test_https_answers(self):
        self.assertTrue(self.srv.base.startswith("https://127.0.0.1:"), self.srv.base)
        for version in ("--tlsv1.2", "--tlsv1.3"):
            with self.subTest(version=version):
                r = curl(self.srv.url("/healthz"), "--cacert", CERT, version)
                C.check(r, "/healthz", "GET", 200)
                self.assertEqual(r.header("x-content-type-options"), "nosniff")
        r = curl(self.srv.url("/v1/models/%s/explain" % MODEL), "--cacert", CERT,
                 "-F", "image=@%s;type=image/png" % example("nodule-1.png"))
        body = C.check(r, "/v1/models/{model}/explain", "POST", 200)
        self.assertEqual(body["model"]["name"], MODEL)
        r = curl(self.srv.url("/v1/models/%s/predict" % MODEL), "--cacert", CERT, "-H",
                 "Content-Type: image/png", "--data-binary", "@" + example("clear-1.png"))
        C.check(r, "/v1/models/{model}/predict", "POST", 200)

    def test_certificate_is_checked(self):
        with self.assertRaisesRegex(AssertionError, "curl failed \\(60\\)"):
            curl(self.srv.url("/healthz"))  # self-signed: not trusted without --cacert
        with self.assertRaisesRegex(AssertionError, "curl failed"):
            curl(self.srv.url("/healthz"), "--cacert", OTHER_CERT)

    def test_plain_http_to_the_tls_port(self):
        with self.assertRaisesRegex(AssertionError, "curl failed"):
            curl(self.srv.url("/healthz").replace("https://", "http://"))
        s = socket.create_connection(self.srv.address(), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
        s.close()
        self.assertFalse(data.startswith(b"HTTP/"), data[:80])
        C.check(curl(self.srv.url("/healthz"), "--cacert", CERT), "/healthz", "GET", 200)

    def test_trickled_handshake_cut_off(self):
        """A ClientHello record announced at 16 KB and sent a byte every 0.3 s keeps the
        connection active (libmicrohttpd's idle timeout never fires) and is cut off at
        --read-timeout all the same."""
        s = socket.create_connection(self.srv.address(), timeout=10)
        t0 = time.monotonic()
        s.sendall(b"\x16\x03\x01\x40\x00\x01")  # handshake record of 16384 bytes
        closed = False
        try:
            while time.monotonic() - t0 < 10:
                s.sendall(b"\x00")
                time.sleep(0.3)
                s.setblocking(False)
                try:
                    if not s.recv(4096):
                        closed = True
                        break
                except BlockingIOError:
                    pass
                s.setblocking(True)
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        took = time.monotonic() - t0
        s.close()
        self.assertTrue(closed, "a trickled handshake outlived --read-timeout")
        self.assertGreater(took, 1.5)
        self.assertLess(took, 6.0)
        C.check(curl(self.srv.url("/healthz"), "--cacert", CERT), "/healthz", "GET", 200)


class Environment(unittest.TestCase):
    def test_variables(self):
        with Server(env={"XAID_TLS_CERT": CERT, "XAID_TLS_KEY": KEY}) as srv:
            self.assertTrue(srv.base.startswith("https://"))
            C.check(curl(srv.url("/v1/methods"), "--cacert", CERT), "/v1/methods", "GET", 200)


class StartUpErrors(unittest.TestCase):
    def test_bad_files(self):
        notpem = os.path.join(TMP.name, "notpem.pem")
        with open(notpem, "w") as f:
            f.write("this is not a key\n")
        missing = os.path.join(TMP.name, "missing.pem")
        cases = [
            (("--tls-cert", missing, "--tls-key", KEY), 1, ["--tls-cert", "cannot open"]),
            (("--tls-cert", CERT, "--tls-key", notpem), 1, ["--tls-key", "no PEM"]),
            (("--tls-cert", CERT, "--tls-key", OTHER_KEY), 1,
             ["--tls-cert and --tls-key", "do not match"]),
            (("--tls-cert", KEY, "--tls-key", KEY), 1, ["--tls-cert and --tls-key"]),
            (("--tls-cert", CERT), 2, ["--tls-cert (XAID_TLS_CERT) and --tls-key"]),
        ]
        for args, code, says in cases:
            with self.subTest(args=args):
                rc, err = start_fails(*args)
                self.assertEqual(rc, code, err)
                for s in says:
                    self.assertIn(s, err)
                self.assertNotIn("listening on", err)
        rc, err = start_fails(env={"XAID_TLS_KEY": KEY})
        self.assertEqual(rc, 2, err)
        self.assertIn("go together", err)


if __name__ == "__main__":
    main()
