#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-k8s-manifests.py — renders each kustomization under deploy/k8s with the real
`kubectl kustomize` (secrets it generates from files written here, in a copy of the tree)
and checks that the Kubernetes pod is the pod of quadlets/ and pods/ai-semble.yaml: per
service the image, user (non-root), read-only root, no privilege escalation
(NoNewPrivileges=), all capabilities dropped, its own Localhost seccomp profile, /tmp,
volumes, port, environment, health routes with liveness no quicker than the units'
watchdog, the drain time and the memory/CPU limits; one Service with the orchestrator's
8080 only; the orchestrator's keys (and in scale-out its ORCH_DB_URL) from the generated
Secret. It reads quadlets/ and the YAML with tests/integration/units_agree.py's parsers.
The kustomization files may only use what kubectl 1.20's kustomize v2.0.3 (Debian 12's
kubernetes-client) reads as well as kustomize v5.
Usage: test-k8s-manifests.py KUBECTL"""
import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import units_agree  # noqa: E402  (the integration test's parsers of quadlets/ and the YAML)

KUBECTL = sys.argv[1]
K8S = os.path.join(ROOT, "deploy", "k8s")
OVERLAYS = ("single-host", "scale-out")
# kustomize v2.0.3 reads these fields and no newer ones (components, replacements,
# labels, patches); `resources` there takes files only, directories go in `bases`.
V2_FIELDS = {"apiVersion", "kind", "bases", "resources", "namespace", "commonLabels", "images",
             "secretGenerator", "patchesStrategicMerge"}
V2_GENERATOR_FIELDS = {"name", "files", "literals", "type"}
# Settings the Kubernetes pod has that pods/ai-semble.yaml has not, each with its reason.
K8S_ONLY_ENV = {
    # requests come through the Service's name, which the orchestrator answers 421 otherwise
    ("orchestrator", "ORCH_ALLOWED_HOSTS"): "all",
    # the shared job store of the orchestrators
    ("orchestrator", "ORCH_DB_URL"): "scale-out",
}

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL", msg)


def expect(what, want, got):
    if want != got:
        fail(f"{what}: expected {want!r}, got {got!r}")


def check_v2_fields():
    """Every kustomization under deploy/k8s stays inside kustomize v2.0.3's fields."""
    found = 0
    for d, _, files in os.walk(K8S):
        if "kustomization.yaml" not in files:
            continue
        found += 1
        rel = os.path.relpath(d, K8S)
        k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
        for key in sorted(set(k) - V2_FIELDS):
            fail(f"{rel}/kustomization.yaml: '{key}' is not read by kubectl 1.20's kustomize v2.0.3")
        for r in k.get("resources", []):
            if not os.path.isfile(os.path.join(d, r)):
                fail(f"{rel}: resources '{r}' is not a file (kustomize v2.0.3: directories go in bases)")
        for b in k.get("bases", []):
            if not os.path.isfile(os.path.join(d, b, "kustomization.yaml")):
                fail(f"{rel}: bases '{b}' is not a kustomization directory")
        for g in k.get("secretGenerator", []):
            for key in sorted(set(g) - V2_GENERATOR_FIELDS):
                fail(f"{rel}: secretGenerator '{key}' is not read by kustomize v2.0.3")
    expect("kustomizations under deploy/k8s (base, two overlays, postgres)", 4, found)


def write_secrets(tree):
    """Random contents for every file a secretGenerator names; returns {dir: {key: value}}."""
    written = {}
    for d, _, files in os.walk(tree):
        if "kustomization.yaml" not in files:
            continue
        for g in yaml.safe_load(open(os.path.join(d, "kustomization.yaml"))).get("secretGenerator", []):
            for spec in g.get("files", []):
                key, _, path = spec.partition("=")
                value = base64.b64encode(os.urandom(48)).decode()
                if key == "db-url":
                    value = "postgresql://aisemble:%s@ai-semble-postgres:5432/aisemble" % value[:24].replace("/", "_")
                os.makedirs(os.path.dirname(os.path.join(d, path)), exist_ok=True)
                with open(os.path.join(d, path), "w") as f:
                    f.write(value)
                written.setdefault(os.path.relpath(d, tree), {})[key] = value
    return written


def render(tree, rel):
    p = subprocess.run([KUBECTL, "kustomize", os.path.join(tree, rel)], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"kubectl kustomize {rel} failed ({p.returncode}): {p.stderr.strip()}")
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def one(docs, kind, rel):
    found = [d for d in docs if d["kind"] == kind]
    if len(found) != 1:
        raise SystemExit(f"{rel}: expected one {kind}, found {len(found)}")
    return found[0]


def as_pod_file(template, tmp, name):
    """The pod template as a Pod in a file, which units_agree.from_yaml reads."""
    path = os.path.join(tmp, name + ".pod.yaml")
    with open(path, "w") as f:
        yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": template["metadata"],
                        "spec": template["spec"]}, f)
    return path


def quadlet(name):
    return units_agree.ini(os.path.join(ROOT, "quadlets", f"ai-semble-{name}.container"))


def seconds(v):
    return int(v.rstrip("s"))


def documented_settings():
    names = set()
    for line in open(os.path.join(ROOT, "README.md")):
        m = re.match(r"^\| `([A-Z][A-Z0-9_]+)` \|", line)
        if m:
            names.add(m.group(1))
    return names


def compare(rel, docs, tmp, secrets):
    """Every difference between the rendered kustomization and the units, as messages."""
    out = []

    def want(what, expected, got):
        if expected != got:
            out.append(f"{rel}: {what}: expected {expected!r}, got {got!r}")

    dep = one(docs, "Deployment", rel)
    tpl = dep["spec"]["template"]
    spec = tpl["spec"]
    quad, _ = units_agree.from_quadlets(os.path.join(ROOT, "quadlets"))
    pod_yaml = yaml.safe_load(open(os.path.join(ROOT, "pods", "ai-semble.yaml")))
    pod_ctrs = {c["name"]: c for c in pod_yaml["spec"]["containers"]}
    k8s, k8s_publish = units_agree.from_yaml(as_pod_file(tpl, tmp, rel.replace("/", "-")))
    ctrs = {c["name"]: c for c in spec["containers"]}
    ports = {n: int(p) for n, p in (l.split() for l in open(os.path.join(ROOT, "services", "pod-services.txt"))
                                    if l.strip() and not l.startswith("#"))}
    scale_out = rel.endswith("scale-out")

    if scale_out:
        want("replicas > 1", True, dep["spec"]["replicas"] > 1)
    else:
        want("replicas", 1, dep["spec"]["replicas"])
    want("services", sorted(quad), sorted(k8s))
    want("no hostPort (the Service publishes)", set(), k8s_publish)
    want("pod runAsNonRoot", True, spec["securityContext"].get("runAsNonRoot"))
    want("enableServiceLinks (no Service variables in the services' environment)", False,
         spec.get("enableServiceLinks"))
    want("automountServiceAccountToken", False, spec.get("automountServiceAccountToken"))
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]
              if "persistentVolumeClaim" in v}
    pvcs = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    want("claims without a PersistentVolumeClaim", set(), set(claims.values()) - pvcs)
    empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}

    stop = {seconds(quadlet(n)["Container"]["StopTimeout"][0]) for n in quad}
    want("terminationGracePeriodSeconds = quadlets' StopTimeout", stop, {spec["terminationGracePeriodSeconds"]})

    secret = one(docs, "Secret", rel)
    sname = secret["metadata"]["name"]
    want("Secret data", secrets,
         {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()})
    want("secret volumes name the generated Secret", {sname},
         {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v})

    for name, q in quad.items():
        got, c, pc = k8s.get(name, {}), ctrs.get(name, {}), pod_ctrs.get(name, {})
        qc = quadlet(name)
        for k, v in q.items():
            if k == "volumes" and scale_out:
                # /data is the pod's own there (an emptyDir): the jobs are in PostgreSQL
                v = {x for x in v if x[1] != "/data"}
                if any(x[1] == "/data" for x in q["volumes"]):
                    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
                    want(f"{name} /data from an emptyDir", True, mounts.get("/data") in empty)
            want(f"{name}.{k} (quadlets)", v, got.get(k))
        sc = c.get("securityContext", {})
        want(f"{name} runAsNonRoot", True, sc.get("runAsNonRoot"))
        profile = os.path.basename(qc["Container"]["SeccompProfile"][0])
        want(f"{name} seccomp", {"type": "Localhost", "localhostProfile": "ai-semble-" + profile},
             sc.get("seccompProfile"))
        want(f"{name} seccomp = pods/ai-semble.yaml", pc["securityContext"]["seccompProfile"], sc.get("seccompProfile"))
        want(f"{name} seccomp profile in security/seccomp", True,
             os.path.isfile(os.path.join(ROOT, "security", "seccomp", profile)))
        want(f"{name} ports", [ports[name]], [p["containerPort"] for p in c.get("ports", [])])
        want(f"{name} ports = pods/ai-semble.yaml", [p["containerPort"] for p in pc["ports"]],
             [p["containerPort"] for p in c.get("ports", [])])

        env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}
        expected = {e["name"]: e["value"] for e in pc["env"]}
        for (svc, key), where in K8S_ONLY_ENV.items():
            if svc == name and key in env and where in ("all", os.path.basename(rel)):
                expected[key] = env[key]
        want(f"{name} environment (pods/ai-semble.yaml's, plus {sorted(k for s, k in K8S_ONLY_ENV if s == name)})",
             expected, env)
        listen = [v for k, v in env.items() if k.endswith("_LISTEN")]
        want(f"{name} listens on its port", [ports[name]], [int(v.rsplit(":", 1)[1]) for v in listen])

        health = json.loads(qc["Container"]["HealthCmd"][0])
        live, ready = c.get("livenessProbe", {}), c.get("readinessProbe", {})
        want(f"{name} liveness = HealthCmd", health, live.get("exec", {}).get("command"))
        want(f"{name} readiness", [health[0], "--healthcheck=/health/ready"], ready.get("exec", {}).get("command"))
        want(f"{name} liveness, readiness = pods/ai-semble.yaml", [pc["livenessProbe"], pc["readinessProbe"]],
             [live, ready])
        watchdog = seconds(qc["Service"]["WatchdogSec"][0])
        window = live.get("periodSeconds", 10) * live.get("failureThreshold", 3)
        want(f"{name} liveness gives up no sooner than WatchdogSec={watchdog}", True, window >= watchdog)
        start = c.get("startupProbe", {})
        want(f"{name} startup probe window = TimeoutStartSec",
             seconds(qc["Service"]["TimeoutStartSec"][0]),
             start.get("periodSeconds", 10) * start.get("failureThreshold", 3))
        want(f"{name} startup probe = HealthCmd", health, start.get("exec", {}).get("command"))
        want(f"{name} resources = pods/ai-semble.yaml", pc["resources"], c.get("resources"))
        # the units declare no memory/CPU limits (rootless cgroup v1 would drop them,
        # docs/security.md): when they do, they must be the ones compared here
        want(f"{name} quadlet memory/CPU keys", [],
             [k for k in qc.get("Container", {}) if k in ("Memory", "PodmanArgs")] +
             [k for k in qc.get("Service", {}) if k in ("MemoryMax", "MemoryHigh", "CPUQuota")])
        for ref in (e["valueFrom"]["secretKeyRef"] for e in c.get("env", []) if "valueFrom" in e):
            want(f"{name} secretKeyRef names the generated Secret", sname, ref["name"])
            want(f"{name} secretKeyRef key in the Secret", True, ref["key"] in secrets)

    orch_env = {e["name"]: e for e in ctrs["orchestrator"]["env"]}
    if scale_out:
        want("scale-out: ORCH_DB_URL from the Secret's db-url", {"secretKeyRef": {"name": sname, "key": "db-url"}},
             orch_env.get("ORCH_DB_URL", {}).get("valueFrom"))
    else:
        want("single-host: no ORCH_DB_URL (SQLite, the default)", None, orch_env.get("ORCH_DB_URL"))

    svcs = [d for d in docs if d["kind"] == "Service"]
    want("Services", 1, len(svcs))
    if svcs:
        s = svcs[0]["spec"]
        want("Service type", "ClusterIP", s.get("type"))
        want("Service selector matches the pods", True,
             all(tpl["metadata"]["labels"].get(k) == v for k, v in s["selector"].items()))
        named = {p["name"]: p["containerPort"] for p in ctrs["orchestrator"]["ports"]}
        want("Service ports: the orchestrator's 8080 only", [(8080, ports["orchestrator"])],
             [(p["port"], named.get(p["targetPort"], p["targetPort"])) for p in s["ports"]])
    return out


def main():
    check_v2_fields()
    documented = documented_settings()

    tmp = tempfile.mkdtemp(prefix="test-k8s-manifests.")
    try:
        tree = os.path.join(tmp, "k8s")
        shutil.copytree(K8S, tree)
        secrets = write_secrets(tree)

        # pods/ai-semble.yaml (podman's single-host pod) agrees with the quadlets
        quad, _ = units_agree.from_quadlets(os.path.join(ROOT, "quadlets"))
        podf, _ = units_agree.from_yaml(os.path.join(ROOT, "pods", "ai-semble.yaml"))
        expect("pods/ai-semble.yaml = quadlets", quad, podf)

        for name in OVERLAYS:
            rel = "overlays/" + name
            docs = render(tree, rel)
            for msg in compare(rel, docs, tmp, secrets[rel]):
                fail(msg)
            env = {e["name"] for c in one(docs, "Deployment", rel)["spec"]["template"]["spec"]["containers"]
                   for e in c["env"]}
            for key in sorted(env - documented):
                fail(f"{rel}: {key} is no setting of any service (README's tables)")
            print(f"ok {rel}: {len(docs)} objects agree with quadlets/ and pods/ai-semble.yaml")

        # the comparison sees a change: llm's root made writable adds exactly that difference
        rel = "overlays/single-host"
        docs = render(tree, rel)
        broken = copy.deepcopy(docs)
        for c in one(broken, "Deployment", rel)["spec"]["template"]["spec"]["containers"]:
            if c["name"] == "llm":
                c["securityContext"]["readOnlyRootFilesystem"] = False
        before = compare(rel, docs, tmp, secrets[rel])
        expect("differences a writable llm root adds",
               [f"{rel}: llm.read_only (quadlets): expected True, got False"],
               [d for d in compare(rel, broken, tmp, secrets[rel]) if d not in before])

        docs = render(tree, "postgres")
        sts, svc = one(docs, "StatefulSet", "postgres"), one(docs, "Service", "postgres")
        expect("postgres Service", ("ai-semble-postgres", [5432]),
               (svc["metadata"]["name"], [p["port"] for p in svc["spec"]["ports"]]))
        expect("postgres StatefulSet's Service", "ai-semble-postgres", sts["spec"]["serviceName"])
        print("ok postgres: StatefulSet and Service ai-semble-postgres:5432")
    finally:
        shutil.rmtree(tmp)

    if FAILURES:
        print(f"{len(FAILURES)} failures")
        return 1
    print("all manifests agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
