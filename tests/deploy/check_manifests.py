#!/usr/bin/python3
"""check_manifests.py - the deployment files agree with the server that ships.

usage: check_manifests.py --xaid BUILD/xaid [--work DIR]

1. renders the kustomize base and every overlay (`kubectl kustomize`, or `kustomize build`);
2. lints every YAML file under deploy/ with yamllint (deploy/.yamllint);
3. asks the binary: `xaid serve --help` for its flags and XAID_* variables, then starts
   `xaid serve` on a free loopback port with the demo models and records which paths answer
   200 and which metrics /metrics exports;
4. checks the rendered objects, docker-compose.yml, the Prometheus config and the Dockerfile
   against those facts: every variable and flag exists, probe paths are /readyz, /healthz
   and a startup probe, and answer 200, probe and scrape ports are the port xaid listens
   on, selectors select the pods, the HPA's custom metric is exported and is the adapter
   rule's, the grace period outlasts pre-stop + request deadline, every container is
   non-root, read-only, without privilege escalation or capabilities, with requests and
   limits;
5. breaks a copy of the base in a dozen ways (probe path, port, unknown variable, ...) and
   expects the checks to notice each;
6. runs the init container's fetch script against an archive made by
   deploy/make-model-archive: the right sha256 unpacks the models, a wrong one is refused.

Needs /usr/bin/python3 with python3-yaml, yamllint, kubectl (or kustomize) and curl;
docker-compose, when present, also validates the compose file. Exits 1 listing every failure.
"""
import argparse
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(REPO, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
SKIP = 77  # ctest's SKIP_RETURN_CODE

failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
    return ok


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------------------------------------
# Facts from the binary


def help_facts(xaid):
    r = run([xaid, "serve", "--help"])
    text = r.stdout + r.stderr
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
    env = set(re.findall(r"\bXAID_[A-Z0-9_]+\b", text))
    if not check(r.returncode == 0 and flags and env,
                 f"`xaid serve --help` exited {r.returncode} or names no flag or XAID_ variable:"
                 f"\n{text[:500]}"):
        return set(), set()
    return flags, env


class Server:
    """xaid serve on a free loopback port, with the repository's demo models."""

    def __init__(self, xaid, env):
        self.err = tempfile.TemporaryFile(mode="w+")
        full = {k: v for k, v in os.environ.items() if not k.startswith("XAID_")}
        full.update(env)
        full.update({"XAID_LISTEN": "127.0.0.1", "XAID_PORT": "0",
                     "XAID_MODELS": os.path.join(REPO, "models")})
        self.proc = subprocess.Popen([xaid, "serve"], env=full, stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        self.base = None
        t = time.monotonic()
        while time.monotonic() - t < 30 and self.proc.poll() is None:
            self.err.seek(0)
            m = re.search(r"listening on (http://[\d.]+:\d+)", self.err.read())
            if m:
                self.base = m.group(1)
                break
            time.sleep(0.1)

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def stderr(self):
        self.err.seek(0)
        return self.err.read()


# ---------------------------------------------------------------------------------------------
# Kubernetes


def renderer():
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def render(tool, path):
    r = run(tool + [path])
    if not check(r.returncode == 0, f"{' '.join(tool)} {path} failed:\n{r.stderr}"):
        return []
    return [d for d in yaml.safe_load_all(r.stdout) if d]


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_env(container, configmaps):
    env = {}
    for src in container.get("envFrom", []):
        name = src.get("configMapRef", {}).get("name")
        if check(name in configmaps, f"envFrom names ConfigMap {name}, not in the render"):
            env.update(configmaps[name].get("data", {}))
    for e in container.get("env", []):
        env[e["name"]] = e.get("value")
    return env


def resolve_port(port, container):
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    return None


def check_container_security(where, c):
    sc = c.get("securityContext", {})
    check(sc.get("readOnlyRootFilesystem") is True, f"{where}: root filesystem not read-only")
    check(sc.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
    check(sc.get("runAsNonRoot") is True, f"{where}: runAsNonRoot is not set")
    check(not sc.get("privileged"), f"{where}: privileged")
    check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{where}: capabilities not dropped")
    res = c.get("resources", {})
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            check(r in res.get(kind, {}), f"{where}: no {r} {kind}")


def check_deployment(name, docs, facts):
    flags, env_names, served, metrics = facts
    deps = by_kind(docs, "Deployment")
    if not check(len(deps) == 1, f"{name}: {len(deps)} Deployments"):
        return
    dep = deps[0]
    spec = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"].get("labels", {})
    configmaps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    check(matches(dep["spec"]["selector"]["matchLabels"], labels),
          f"{name}: the Deployment's selector does not select its pods")
    xaid = [c for c in spec["containers"] if c["name"] == "xaid"]
    if not check(len(xaid) == 1, f"{name}: no container named xaid"):
        return
    c = xaid[0]
    env = container_env(c, configmaps)
    for k in env:
        check(k.startswith("XAID_"), f"{name}: variable {k}: xaid is configured by XAID_* only")
        check(not k.startswith("XAID_") or k in env_names,
              f"{name}: variable {k} is not in `xaid serve --help`")
    check("XAID_WORKERS" not in env, f"{name}: XAID_WORKERS set: workers must follow the CPU limit")
    for a in c.get("command", []) + c.get("args", []):
        if a.startswith("--"):
            check(a.split("=")[0] in flags, f"{name}: flag {a} is not in `xaid serve --help`")
    port = int(env.get("XAID_PORT", "8080"))
    check(any(p["containerPort"] == port for p in c.get("ports", [])),
          f"{name}: no containerPort {port} (XAID_PORT)")
    probes = {k: c.get(k) for k in ("readinessProbe", "livenessProbe", "startupProbe")}
    want = {"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": None}
    for kind, probe in probes.items():
        if not check(probe and "httpGet" in probe, f"{name}: no HTTP {kind}"):
            continue
        path = probe["httpGet"]["path"]
        check(want[kind] in (None, path), f"{name}: {kind} path {path}, expected {want[kind]}")
        check(served.get(path) == 200, f"{name}: {kind} path {path}: xaid answers "
              f"{served.get(path, 'nothing')}")
        check(resolve_port(probe["httpGet"]["port"], c) == port,
              f"{name}: {kind} port {probe['httpGet']['port']} is not {port}")
    startup = probes["startupProbe"] or {}
    check(startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3) >= 120,
          f"{name}: the startup probe allows less than 2 minutes to load models")
    ann = dep["spec"]["template"]["metadata"].get("annotations", {})
    if "prometheus.io/port" in ann:
        check(int(ann["prometheus.io/port"]) == port, f"{name}: prometheus.io/port is not {port}")
        check(served.get(ann.get("prometheus.io/path", "/metrics")) == 200,
              f"{name}: prometheus.io/path is not served")
    pre = c.get("lifecycle", {}).get("preStop", {})
    pause = 0
    if "exec" in pre:
        cmd = pre["exec"]["command"]
        pause = float(cmd[-1]) if cmd and cmd[0].endswith("sleep") else 0
    elif "sleep" in pre:
        pause = pre["sleep"]["seconds"]
    check(pause > 0, f"{name}: no pre-stop pause")
    deadline = int(env.get("XAID_DEADLINE_MS", "30000")) / 1000
    grace = spec.get("terminationGracePeriodSeconds", 30)
    check(grace > pause + deadline, f"{name}: terminationGracePeriodSeconds {grace} is not above "
          f"pre-stop {pause} s + deadline {deadline} s")
    psc = spec.get("securityContext", {})
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
          f"{name}: the pod is not non-root")
    for ic in spec.get("initContainers", []) + spec["containers"]:
        check_container_security(f"{name}: container {ic['name']}", ic)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    for ic in spec.get("initContainers", []) + spec["containers"]:
        for m in ic.get("volumeMounts", []):
            check(m["name"] in volumes, f"{name}: mount {m['name']} has no volume")
    for v in volumes.values():
        if "configMap" in v:
            check(v["configMap"]["name"] in configmaps,
                  f"{name}: volume {v['name']} names a missing ConfigMap")
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            check(any(p["metadata"]["name"] == claim
                      for p in by_kind(docs, "PersistentVolumeClaim")),
                  f"{name}: volume {v['name']} names a missing PVC {claim}")
    models = env.get("XAID_MODELS", "models")
    mounted = any(models == m["mountPath"] or models.startswith(m["mountPath"] + "/")
                  for m in c.get("volumeMounts", []))
    check(mounted or models == "/models",
          f"{name}: XAID_MODELS={models} is neither mounted nor the image's /models")
    for svc in by_kind(docs, "Service"):
        check(matches(svc["spec"].get("selector"), labels),
              f"{name}: Service {svc['metadata']['name']} does not select the pods")
        for p in svc["spec"]["ports"]:
            check(resolve_port(p.get("targetPort", p["port"]), c) == port,
                  f"{name}: Service port {p['port']} does not reach {port}")
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        check(matches(pdb["spec"].get("selector", {}).get("matchLabels"), labels),
              f"{name}: the PodDisruptionBudget does not select the pods")
    for np in by_kind(docs, "NetworkPolicy"):
        check(matches(np["spec"]["podSelector"].get("matchLabels"), labels),
              f"{name}: the NetworkPolicy does not select the pods")
        for rule in np["spec"].get("ingress", []):
            for p in rule.get("ports", []):
                check(resolve_port(p["port"], c) == port,
                      f"{name}: NetworkPolicy lets in port {p['port']}, not {port}")
        for rule in np["spec"].get("egress", []):
            for peer in rule.get("to", []):
                sel = peer.get("podSelector", {}).get("matchLabels", {})
                check(not any(k.startswith("app.kubernetes.io/") for k in sel),
                      f"{name}: an egress peer selector carries xaid's labels: {sel}")
    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    check(len(hpas) == 1, f"{name}: {len(hpas)} HorizontalPodAutoscalers")
    for hpa in hpas:
        check(hpa["apiVersion"] == "autoscaling/v2", f"{name}: HPA is not autoscaling/v2")
        ref = hpa["spec"]["scaleTargetRef"]
        check(ref["kind"] == "Deployment" and ref["name"] == dep["metadata"]["name"],
              f"{name}: the HPA scales {ref['kind']}/{ref['name']}")
        kinds = {m["type"] for m in hpa["spec"]["metrics"]}
        check({"Resource", "Pods"} <= kinds, f"{name}: the HPA lacks a CPU or a per-pod metric")
        for m in hpa["spec"]["metrics"]:
            if m["type"] == "Pods":
                metric = m["pods"]["metric"]["name"]
                check(metric in metrics, f"{name}: HPA metric {metric} is not on /metrics")
                check(metric in adapter_metrics(),
                      f"{name}: HPA metric {metric} is not served by the adapter rule")
    return configmaps


def adapter_metrics():
    rules = yaml.safe_load(open(os.path.join(K8S, "base", "prometheus-adapter-rules.yaml")))
    out = set()
    for r in rules["rules"]:
        series = re.match(r"\s*(\w+)", r["seriesQuery"]).group(1)
        out.add(re.sub(r["name"]["matches"], r["name"]["as"], series))
    return out


def check_model_archive(work, base_docs):
    """The base's MODEL_SHA256 is the demo repository's archive; the fetch script checks it."""
    cms = [d for d in by_kind(base_docs, "ConfigMap") if d["metadata"]["name"].startswith(
        "xaid-models")]
    if not check(len(cms) == 1, "base: no xaid-models ConfigMap"):
        return
    want = cms[0]["data"]["MODEL_SHA256"]
    archive = os.path.join(work, "models.tar.gz")
    r = run([os.path.join(DEPLOY, "make-model-archive"), os.path.join(REPO, "models"), archive])
    if not check(r.returncode == 0, f"make-model-archive failed: {r.stderr}"):
        return
    got = re.search(r"MODEL_SHA256=(\w+)", r.stdout).group(1)
    check(got == want, f"base: MODEL_SHA256 {want} is not the demo archive's {got}: run "
          "deploy/make-model-archive models /tmp/m.tar.gz and update the kustomization")
    script = os.path.join(K8S, "base", "fetch-models.sh")
    for sha, ok in ((got, True), ("0" * 64, False)):
        dest = os.path.join(work, "fetched-" + str(ok))
        os.makedirs(dest)
        env = dict(os.environ, MODEL_URL="file://" + archive, MODEL_SHA256=sha, MODELS_DIR=dest)
        r = run(["/bin/sh", script], env=env)
        onnx = glob.glob(dest + "/*/model.onnx")
        if ok:
            want = sorted(glob.glob(os.path.join(REPO, "models", "*", "model.onnx")))
            same = len(onnx) == len(want) and all(
                open(os.path.join(dest, os.path.relpath(w, os.path.join(REPO, "models"))),
                     "rb").read() == open(w, "rb").read() for w in want)
            check(r.returncode == 0 and same,
                  f"fetch-models.sh with the right sha256: exit {r.returncode}, {r.stderr}")
        else:
            check(r.returncode != 0 and not onnx and "mismatch" in r.stderr,
                  f"fetch-models.sh took an archive with a wrong sha256: exit {r.returncode}")


def xaid_container(docs):
    dep = by_kind(docs, "Deployment")[0]
    return [c for c in dep["spec"]["template"]["spec"]["containers"] if c["name"] == "xaid"][0]


def config_data(docs):
    return [d for d in by_kind(docs, "ConfigMap")
            if d["metadata"]["name"].startswith("xaid-config")][0]["data"]


# Each mutation breaks the base in one way the checks must notice (so they can fail).
MUTATIONS = {
    "readiness path /ready": lambda d: xaid_container(d)["readinessProbe"]["httpGet"].update(
        path="/ready"),
    "liveness port 9090": lambda d: xaid_container(d)["livenessProbe"]["httpGet"].update(
        port=9090),
    "no startup probe": lambda d: xaid_container(d).pop("startupProbe"),
    "XAID_PORT 9000": lambda d: config_data(d).update(XAID_PORT="9000"),
    "unknown variable XAID_WORKER": lambda d: config_data(d).update(XAID_WORKER="2"),
    "hard-coded XAID_WORKERS": lambda d: config_data(d).update(XAID_WORKERS="2"),
    "unknown flag": lambda d: xaid_container(d).update(args=["--worker-count=2"]),
    "short grace period": lambda d: by_kind(d, "Deployment")[0]["spec"]["template"][
        "spec"].update(terminationGracePeriodSeconds=30),
    "writable root": lambda d: xaid_container(d)["securityContext"].update(
        readOnlyRootFilesystem=False),
    "Service selects other pods": lambda d: by_kind(d, "Service")[0]["spec"].update(
        selector={"app.kubernetes.io/name": "other"}),
    "HPA on an unexported metric": lambda d: [m for m in by_kind(
        d, "HorizontalPodAutoscaler")[0]["spec"]["metrics"] if m["type"] == "Pods"][0][
        "pods"]["metric"].update(name="xaid_queue_length"),
    "DNS peer selecting xaid's labels": lambda d: by_kind(d, "NetworkPolicy")[0]["spec"][
        "egress"][0]["to"][0]["podSelector"]["matchLabels"].update(
        {"app.kubernetes.io/name": "xaid"}),
}


def mutation_tests(base_docs, facts):
    """Every mutation must make check_deployment fail; the real render must not."""
    global failures, passed
    kept = (failures, passed)
    missed = []
    for what, mutate in MUTATIONS.items():
        docs = copy.deepcopy(base_docs)
        mutate(docs)
        failures = []
        check_deployment("mutant", docs, facts)
        if not failures:
            missed.append(what)
    failures, passed = kept
    for what in missed:
        check(False, f"self-test: the checks did not notice: {what}")
    check(not missed, "self-test")


# ---------------------------------------------------------------------------------------------
# Compose, Prometheus, Dockerfile


def check_compose(facts):
    flags, env_names, served, metrics = facts
    path = os.path.join(DEPLOY, "docker-compose.yml")
    if shutil.which("docker-compose"):
        r = run(["docker-compose", "-f", path, "--profile", "monitoring", "config", "-q"])
        check(r.returncode == 0, f"docker-compose config: {r.stderr}")
    doc = yaml.safe_load(open(path))
    x = doc["services"]["xaid"]
    env = x.get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    for k in env:
        check(k in env_names, f"compose: variable {k} is not in `xaid serve --help`")
    check("XAID_WORKERS" not in env, "compose: XAID_WORKERS set")
    port = int(env.get("XAID_PORT", "8080"))
    check(any(str(p).split(":")[-1] == str(port) for p in x.get("ports", [])),
          f"compose: no published port to {port}")
    test = " ".join(x.get("healthcheck", {}).get("test", []))
    paths = re.findall(r"\s(/\S*)", test)
    check(paths and served.get(paths[-1]) == 200 and paths[-1] == "/healthz",
          f"compose: health check '{test}' does not probe /healthz")
    check(x.get("stop_signal") == "SIGTERM", "compose: stop_signal is not SIGTERM")
    check(any(v.get("target") == "/models" for v in x.get("volumes", []) if isinstance(v, dict)),
          "compose: no model volume on /models")
    lim = x.get("deploy", {}).get("resources", {}).get("limits", {})
    check("cpus" in lim and "memory" in lim, "compose: no CPU and memory limits")
    prom = doc["services"].get("prometheus", {})
    check("monitoring" in prom.get("profiles", []), "compose: no Prometheus in a profile")
    conf = yaml.safe_load(open(os.path.join(DEPLOY, "prometheus", "prometheus.yml")))
    for job in conf["scrape_configs"]:
        path_ = job.get("metrics_path", "/metrics")
        check(served.get(path_) == 200, f"prometheus: {job['job_name']} scrapes {path_}")
        for sc in job.get("static_configs", []):
            for t in sc["targets"]:
                check(t == f"xaid:{port}", f"prometheus: target {t} is not xaid:{port}")


def check_dockerfile(facts):
    flags, env_names, served, metrics = facts
    text = open(os.path.join(REPO, "Dockerfile")).read()
    for line in re.findall(r"^ENV\s+(.*)$", text, re.M):
        for word in line.split():
            k = word.split("=")[0]
            check(k in env_names, f"Dockerfile: ENV {k} is not in `xaid serve --help`")
    for port in re.findall(r"^EXPOSE\s+(\d+)", text, re.M):
        check(port == re.search(r"XAID_PORT=(\d+)", text).group(1),
              "Dockerfile: EXPOSE is not XAID_PORT")


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xaid", required=True)
    ap.add_argument("--work")
    args = ap.parse_args()
    tool = renderer()
    if not tool:
        print("check_manifests: SKIP: neither kubectl nor kustomize is installed", flush=True)
        return SKIP
    for need in ("yamllint", "curl"):
        if not shutil.which(need):
            print(f"check_manifests: {need} is missing (tools/install-deps test)")
            return 1
    work = args.work or tempfile.mkdtemp(prefix="xaid-manifests-")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    yfiles = sorted(glob.glob(DEPLOY + "/**/*.yml", recursive=True) +
                    glob.glob(DEPLOY + "/**/*.yaml", recursive=True))
    r = run(["yamllint", "--strict", "-c", os.path.join(DEPLOY, ".yamllint")] + yfiles)
    check(r.returncode == 0, f"yamllint:\n{r.stdout}{r.stderr}")

    flags, env_names = help_facts(args.xaid)
    srv = Server(args.xaid, {})
    served, metrics = {}, set()
    if check(srv.base, f"xaid serve did not start:\n{srv.stderr()}"):
        for path in ("/healthz", "/readyz", "/metrics"):
            served[path] = srv.get(path)[0]
        body = srv.get("/metrics")[1]
        metrics = set(re.findall(r"^(?:# TYPE )?([a-zA-Z_:][\w:]*)", body, re.M))
        metrics.discard("#")
        check(srv.stop() == 0, f"xaid serve did not exit 0 on SIGTERM:\n{srv.stderr()}")
    facts = (flags, env_names, served, metrics)

    overlays = [os.path.join(K8S, "base")] + sorted(glob.glob(os.path.join(K8S, "overlays/*/")))
    base_docs = None
    for path in overlays:
        name = os.path.relpath(path, K8S).rstrip("/")
        docs = render(tool, path)
        if not docs:
            continue
        with open(os.path.join(work, name.replace("/", "-") + ".yaml"), "w") as f:
            yaml.safe_dump_all(docs, f)
        base_docs = base_docs or docs
        check_deployment(name, docs, facts)
    if base_docs:
        check_model_archive(work, base_docs)
        mutation_tests(base_docs, facts)
    check_compose(facts)
    check_dockerfile(facts)

    for f in failures:
        print("FAIL:", f)
    print(f"check_manifests: {len(overlays)} kustomizations rendered ({' '.join(tool)}), "
          f"{len(yfiles)} YAML files linted, {len(flags)} flags and {len(env_names)} variables "
          f"from `xaid serve --help`")
    print(f"{passed} passed, {len(failures)} failed")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
