#!/usr/bin/python3
"""Checks that quadlets/, pods/ai-semble.yaml and the units the supervisor installed
describe the same pod: per service the image, user, read-only rootfs, capabilities,
no-new-privileges, volumes and /tmp; the published address (the orchestrator's socket
unit's ListenStream= for the quadlets and the installed units, hostIP:hostPort for the
YAML, which kube play publishes), as "ip:port:8080".

usage: units_agree.py QUADLET_DIR POD_YAML UNIT_DIR SOCKET_UNIT"""
import glob
import os
import re
import shlex
import sys

import yaml


def ini(path):
    sections, cur = {}, None
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            cur = sections.setdefault(line.strip("[]"), {})
            continue
        k, _, v = line.partition("=")
        cur.setdefault(k.strip(), []).append(v.strip())
    return sections


def from_socket(path):
    return {ls + ":8080" for ls in ini(path)["Socket"]["ListenStream"]}


def from_quadlets(qdir):
    vols = {}
    for f in glob.glob(os.path.join(qdir, "*.volume")):
        vols[os.path.basename(f)] = ini(f)["Volume"]["VolumeName"][0]
    pod = ini(os.path.join(qdir, "ai-semble.pod"))["Pod"]
    if pod.get("PublishPort"):
        sys.exit("quadlets: the pod publishes %s; the orchestrator's socket unit is the published address"
                 % pod["PublishPort"])
    services = {}
    for f in sorted(glob.glob(os.path.join(qdir, "ai-semble-*.container"))):
        c = ini(f)["Container"]
        name = c["ContainerName"][0].removeprefix("ai-semble-")
        volumes = set()
        for v in c.get("Volume", []):
            src, dst, *opt = v.split(":")
            volumes.add((vols.get(src, src), dst, "ro" in opt))
        services[name] = {
            "image": c["Image"][0],
            "user": c["User"][0],
            "read_only": c["ReadOnly"][0] == "true",
            "cap_drop_all": [x.lower() for x in c["DropCapability"]] == ["all"],
            "no_new_privs": c["NoNewPrivileges"][0] == "true",
            "volumes": volumes,
            "tmp": any(t.startswith("/tmp") for t in c.get("Tmpfs", [])),
        }
    return services, from_socket(os.path.join(qdir, "ai-semble-orchestrator.socket"))


def from_yaml(path):
    pod = yaml.safe_load(open(path))
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v}
    empty = {v["name"] for v in pod["spec"]["volumes"] if "emptyDir" in v}
    services, publish = {}, set()
    for c in pod["spec"]["containers"]:
        sc = c["securityContext"]
        volumes = {(claims[m["name"]], m["mountPath"], bool(m.get("readOnly")))
                   for m in c["volumeMounts"] if m["name"] in claims}
        services[c["name"]] = {
            "image": c["image"],
            "user": "%d:%d" % (sc["runAsUser"], sc["runAsGroup"]),
            "read_only": sc["readOnlyRootFilesystem"],
            "cap_drop_all": sc["capabilities"]["drop"] == ["ALL"],
            "no_new_privs": sc["allowPrivilegeEscalation"] is False,
            "volumes": volumes,
            "tmp": any(m["name"] in empty and m["mountPath"] == "/tmp" for m in c["volumeMounts"]),
        }
        for p in c.get("ports", []):
            if "hostPort" in p:
                publish.add("%s:%d:%d" % (p.get("hostIP", "0.0.0.0"), p["hostPort"], p["containerPort"]))
    return services, publish


def split_long_options(args):
    """--opt=value as --opt value: Quadlet writes the first form, podman generate the second."""
    out = []
    for a in args:
        if a.startswith("--") and "=" in a:
            out.extend(a.split("=", 1))
        else:
            out.append(a)
    return out


def exec_args(unit_path):
    text = open(unit_path).read().replace("\\\n", " ")
    for line in text.splitlines():
        for key in ("ExecStart=", "ExecStartPre="):
            if line.startswith(key) and "podman" in line:
                args = split_long_options(shlex.split(line[len(key):]))
                if "run" in args or ("pod" in args and "create" in args):
                    return args
    return None


def from_units(udir, socket_unit):
    services, publish = {}, set()
    for f in sorted(glob.glob(os.path.join(udir, "*.service"))):
        args = exec_args(f)
        if not args:
            continue
        if "pod" in args and "create" in args:
            for i, a in enumerate(args):
                if a in ("-p", "--publish"):
                    publish.add(args[i + 1])
                elif a.startswith("--publish="):
                    publish.add(a.split("=", 1)[1])
            continue
        opts = {"volumes": set(), "read_only": False, "cap_drop_all": False, "no_new_privs": False, "tmp": False}
        name = image = None
        i = args.index("run") + 1
        while i < len(args):
            a = args[i]
            nxt = args[i + 1] if i + 1 < len(args) else ""
            if a == "--name":
                name = nxt
            elif a in ("--user", "-u"):
                opts["user"] = nxt
            elif a == "--read-only" and nxt != "false":
                opts["read_only"] = True
            elif a == "--cap-drop":
                opts["cap_drop_all"] = nxt.lower() == "all"
            elif a == "--security-opt" and nxt == "no-new-privileges":
                opts["no_new_privs"] = True
            elif a in ("-v", "--volume"):
                src, dst, *o = nxt.split(":")
                opts["volumes"].add((src, dst, "ro" in ",".join(o).split(",")))
            elif a == "--tmpfs" and nxt.startswith("/tmp"):
                opts["tmp"] = True
            elif not a.startswith("-") and re.match(r"^[\w.-]+(/[\w.-]+)+:[\w.-]+$", a):
                image = a
                break
            i += 1
        if name and name.startswith("ai-semble-") and image:
            opts["image"] = image
            services[name.removeprefix("ai-semble-")] = opts
    if publish:
        sys.exit("units: the pod publishes %s; the orchestrator's socket unit is the published address"
                 % sorted(publish))
    return services, from_socket(socket_unit)


def main():
    qdir, ypath, udir, socket_unit = sys.argv[1:5]
    sources = {"quadlets": from_quadlets(qdir), "yaml": from_yaml(ypath), "units": from_units(udir, socket_unit)}
    ok = True
    ref_s, ref_p = sources["quadlets"]
    if len(ref_s) != 5:
        print("expected five services in quadlets, found", sorted(ref_s))
        ok = False
    for src, (svc, pub) in sources.items():
        if set(svc) != set(ref_s):
            print(f"{src}: services {sorted(svc)} != quadlets {sorted(ref_s)}")
            ok = False
        for name, want in ref_s.items():
            got = svc.get(name, {})
            for k, v in want.items():
                if got.get(k) != v:
                    print(f"{src}: {name}.{k} = {got.get(k)!r}, quadlets say {v!r}")
                    ok = False
        if pub != ref_p:
            print(f"{src}: published {sorted(pub)} != quadlets {sorted(ref_p)}")
            ok = False
    for src, (svc, pub) in sources.items():
        print(f"{src}: {len(svc)} services, published {sorted(pub)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
