#!/usr/bin/python3
"""scale_out.py - xaid replicas behind Debian's nginx, under a wrk load of explain calls.

usage: scale_out.py --xaid BUILD/xaid [--seconds S] [--repeats R] [--workers N]
                    [--connections C] [--method M] [--json OUT.json]

Runs with wrk POSTing the demo image to /v1/models/chest-demo/explain through nginx on
loopback (tests/deploy/explain.lua tallies every answer by status and error code):

  1. R times, alternately: one replica, then three replicas, S seconds each: throughput
     (the medians are compared);
  2. three replicas, max(S, 12) seconds: at 1/3 of the run one replica is sent SIGTERM
     (it must drain and exit 0), at 2/3 another is SIGKILLed.

Every replica runs `xaid serve --workers N` (default 1: one CPU's worth, as a pod with a
1-CPU limit) on its own loopback port, in a session of its own (as a service or a pod would
be: with the kernel's autogroup scheduling, a session is what gets a fair share of a busy
machine). Each clean run also reports the replicas' CPU time per answered request. nginx balances them least-connected, keeps connections
to them alive, and on a connection error, a timeout or a 503 passes the request to the next
replica (proxy_next_upstream, at most 3 tries; explain has no side effect, so a request that
died with a killed replica may be retried: non_idempotent). nginx open source has no active
health checks: a replica counts as out when its connections fail (max_fails=1,
fail_timeout=2s). That stands in for readiness because a draining xaid closes its listener at
SIGTERM, answers the requests already begun with Connection: close and closes its idle
connections when it stops; before the load starts the script waits for every replica's
/readyz.

Passes when every answer of every run is a 200 or a deliberate 503 (overloaded: a full
queue, with Retry-After; not_ready: not ready or draining), wrk saw no socket error, the
SIGTERMed replica exited 0, the replica left standing kept answering, and every replica of
the faulted run served requests. Prints (and with --json writes) the
throughputs and latencies; docs/performance.md records a full run.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = "chest-demo"
IMAGE = os.path.join(REPO, "examples", "nodule-2.png")
DELIBERATE = {"200", "503:overloaded", "503:not_ready"}


def log(msg):
    print(f"scale_out: {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=2):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


class Replica:
    def __init__(self, xaid, work, i, workers, queue):
        self.name = f"replica{i}"
        self.err_path = os.path.join(work, self.name + ".stderr")
        self.out_path = os.path.join(work, self.name + ".stdout")
        env = {k: v for k, v in os.environ.items() if not k.startswith("XAID_")}
        with open(self.err_path, "w") as err, open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(
                [xaid, "serve", "--listen", "127.0.0.1", "--port", "0", "--models",
                 os.path.join(REPO, "models"), "--workers", str(workers), "--queue", str(queue)],
                stdout=out, stderr=err, env=env, start_new_session=True)
        self.port = None
        t = time.monotonic()
        while time.monotonic() - t < 60 and self.proc.poll() is None:
            m = re.search(r"listening on http://[\d.]+:(\d+)", open(self.err_path).read())
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)
        if not self.port:
            raise RuntimeError(f"{self.name} did not start:\n{open(self.err_path).read()}")

    def ready(self):
        return get(f"http://127.0.0.1:{self.port}/readyz") == 200

    def served(self):
        """Access-log lines of explain calls answered 200."""
        n = 0
        for line in open(self.out_path):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            n += e.get("status") == 200 and "explain" in str(e.get("route"))
        return n

    def cpu_seconds(self):
        """User + system CPU time of the process so far (all its threads)."""
        try:
            fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


NGINX_CONF = """
worker_processes 2;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
  log_format upstream '$status $upstream_addr $upstream_status $request_time';
  access_log {work}/nginx-access.log upstream;
  client_body_temp_path {work}/tmp/body;
  proxy_temp_path {work}/tmp/proxy;
  fastcgi_temp_path {work}/tmp/fastcgi;
  uwsgi_temp_path {work}/tmp/uwsgi;
  scgi_temp_path {work}/tmp/scgi;
  upstream xaid {{
    least_conn;
{servers}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 32m;
    client_body_buffer_size 1m;
    location / {{
      proxy_pass http://xaid;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Request-ID $request_id;
      proxy_connect_timeout 1s;
      proxy_read_timeout 35s;
      proxy_next_upstream {next_upstream};
      proxy_next_upstream_tries 3;
      proxy_buffers 16 64k;
    }}
  }}
}}
"""


class Nginx:
    def __init__(self, work, replicas, next_upstream):
        self.work = work
        self.port = free_port()
        os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
        user = ""
        if os.geteuid() == 0:  # workers drop to nobody: let them write the temp folders
            user = "user nobody nogroup;"
            os.chmod(work, 0o755)
            os.chmod(os.path.join(work, "tmp"), 0o777)
        servers = "\n".join(f"    server 127.0.0.1:{r.port} max_fails=1 fail_timeout=2s;"
                            for r in replicas)
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(work=work, port=self.port, servers=servers, user=user,
                                      next_upstream=next_upstream))
        self.proc = subprocess.Popen(["nginx", "-p", work, "-c", conf, "-e",
                                      os.path.join(work, "nginx-error.log")],
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        t = time.monotonic()
        while get(f"http://127.0.0.1:{self.port}/healthz") != 200:
            if self.proc.poll() is not None or time.monotonic() - t > 10:
                raise RuntimeError("nginx did not start:\n" +
                                   open(os.path.join(work, "nginx-error.log")).read())
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wrk(port, seconds, connections, method, work):
    env = dict(os.environ, XAI_IMAGE=IMAGE, XAI_PATH=f"/v1/models/{MODEL}/explain?method={method}")
    threads = min(2, connections)
    return subprocess.Popen(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "40s",
         "-s", os.path.join(HERE, "explain.lua"), f"http://127.0.0.1:{port}/"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=work,
        start_new_session=True)


def parse_wrk(text):
    out = {"status": {}, "text": text}
    for m in re.finditer(r"^status (\S+) (\d+)$", text, re.M):
        out["status"][m.group(1)] = int(m.group(2))
    m = re.search(r"^socket_errors connect (\d+) read (\d+) write (\d+) timeout (\d+)$", text, re.M)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else -1
    m = re.search(r"^requests (\d+) duration_us (\d+)$", text, re.M)
    out["requests"], out["seconds"] = (int(m.group(1)), int(m.group(2)) / 1e6) if m else (0, 1)
    out["ok"] = out["status"].get("200", 0)
    out["rps"] = out["ok"] / out["seconds"]
    for p in (50, 90, 99):
        m = re.search(rf"^latency_p{p}_us (\d+)$", text, re.M)
        out[f"p{p}_ms"] = int(m.group(1)) / 1000 if m else None
    return out


def run(args, work, n, seconds, faults):
    """n replicas behind nginx under wrk for `seconds`; faults: [(fraction, signal)]."""
    sub = tempfile.mkdtemp(dir=work, prefix=f"run-{n}-{'faults' if faults else 'clean'}-")
    replicas, nginx, fails = [], None, []
    try:
        replicas = [Replica(args.xaid, sub, i, args.workers, args.queue) for i in range(n)]
        t = time.monotonic()
        while not all(r.ready() for r in replicas):
            if time.monotonic() - t > 30:
                raise RuntimeError("replicas not ready after 30 s")
            time.sleep(0.1)
        nginx = Nginx(sub, replicas, args.next_upstream)
        load = wrk(nginx.port, seconds, args.connections, args.method, sub)
        t0 = time.monotonic()
        hit = []
        for (frac, sig), r in zip(faults, replicas):
            time.sleep(max(0, t0 + frac * seconds - time.monotonic()))
            r.proc.send_signal(sig)
            hit.append((r, sig))
            log(f"  {time.monotonic() - t0:5.1f} s: {signal.Signals(sig).name} to {r.name}")
        out, _ = load.communicate(timeout=seconds + 120)
        res = parse_wrk(out)
        if not faults:  # CPU time per answered request: what a replica costs, whatever the load
            cpu = sum(r.cpu_seconds() for r in replicas)
            res["xaid_cpu_ms_per_request"] = 1000 * cpu / max(1, res["ok"])
        for r, sig in hit:
            if sig == signal.SIGTERM:
                try:
                    rc = r.proc.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    rc = None
                res["sigterm_exit"] = rc
                if rc != 0:
                    fails.append(f"the SIGTERMed replica exited {rc}:\n"
                                 + open(r.err_path).read()[-2000:])
        res["per_replica"] = [r.served() for r in replicas]
        nginx.stop()  # flushes its access log: requests that needed more than one replica
        log_lines = open(os.path.join(sub, "nginx-access.log")).read().splitlines()
        res["retried"] = sum("," in ln.split(" ", 2)[-1] for ln in log_lines)
        bad = {k: v for k, v in res["status"].items() if k not in DELIBERATE}
        if bad:
            fails.append(f"answers other than 200 or a deliberate 503: {bad}")
        if res["socket_errors"]:
            fails.append(f"wrk saw {res['socket_errors']} socket errors")
        if not res["ok"]:
            fails.append("no request answered 200")
        survivors = [r for r in replicas if r not in [h[0] for h in hit]]
        for r in survivors:
            if r.proc.poll() is not None:
                fails.append(f"{r.name} died:\n" + open(r.err_path).read()[-2000:])
        if faults and not all(r.served() for r in replicas):
            fails.append(f"a replica served nothing: {res['per_replica']}")
        if fails:
            fails.append("wrk output:\n" + out)
        return res, fails
    finally:
        for r in replicas:
            r.stop()
        if nginx:
            nginx.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xaid", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--queue", type=int, default=16)
    ap.add_argument("--connections", type=int, default=6)
    ap.add_argument("--method", default="gradcam")
    ap.add_argument("--repeats", type=int, default=1, help="clean runs of each size")
    ap.add_argument("--next-upstream", default="error timeout http_503 non_idempotent",
                    help="nginx's proxy_next_upstream (to show what fails without retries)")
    ap.add_argument("--json")
    ap.add_argument("--keep", help="keep logs in this folder")
    args = ap.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"scale_out: {tool} is missing (tools/install-deps test)")
            return 1
    os.environ["PATH"] += ":/usr/sbin"
    work = args.keep or tempfile.mkdtemp(prefix="xaid-scale-")
    os.makedirs(work, exist_ok=True)
    results, failures = {}, []
    seconds = int(args.seconds)
    # Clean runs alternate one and three replicas, so that both see the same background load
    # on a shared machine; the throughputs compared are the medians.
    plan = [(f"{n} replica{'s' if n > 1 else ''} #{k + 1}", n, seconds, [])
            for k in range(args.repeats) for n in (1, 3)]
    plan.append(("3 replicas, SIGTERM + SIGKILL", 3, max(seconds, 12),
                 [(1 / 3, signal.SIGTERM), (2 / 3, signal.SIGKILL)]))
    log(f"{args.connections} connections, {args.workers} worker(s) per replica, method "
        f"{args.method}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rps = {1: [], 3: []}
    for name, n, secs, faults in plan:
        log(f"{name}, {secs} s")
        res, fails = run(args, work, n, secs, faults)
        res["loadavg"] = os.getloadavg()[0]
        results[name] = {k: v for k, v in res.items() if k != "text"}
        cost = res.get("xaid_cpu_ms_per_request")
        log(f"  {res['ok']} x 200 in {res['seconds']:.1f} s = {res['rps']:.1f} req/s, p50 "
            f"{res['p50_ms']} ms, p99 {res['p99_ms']} ms; answers {res['status']}; per replica "
            f"{res['per_replica']}, {res['retried']} retried on another replica"
            + (f"; xaid CPU {cost:.1f} ms per request" if cost else "")
            + f"; load average {res['loadavg']:.1f}")
        if not faults:
            rps[n].append(res["rps"])
        failures += [f"{name}: {f}" for f in fails]
    ratio = 0
    if args.repeats:
        one, three = statistics.median(rps[1]), statistics.median(rps[3])
        ratio = three / one if one else 0
        log(f"throughput (median of {args.repeats}): 3 replicas / 1 replica = {three:.1f} / "
            f"{one:.1f} = {ratio:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "ratio": ratio, "args": vars(args),
                       "cpus": os.cpu_count()}, f, indent=1)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL:", f)
    failed = len({f.split(":")[0] for f in failures})
    print(f"{len(plan) - failed} passed, {failed} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
