#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-schedules-host.py — schedules with the real binaries on the host: the
orchestrator (ORCH_AUTH=off, its store in a temporary directory) and the nlp service it
calls, checked from outside with Python's standard library. An every-1s schedule runs
about once a second as completed jobs linked to it; across a 4 s stop of the
orchestrator, catch_up "all" fires the missed runs and "none" drops them.
Usage: test-schedules-host.py ORCHESTRATOR NLP (ports SCHEDULES_TEST_PORT and the next
one, default 19210)"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import hostrun

ORCH, NLP = sys.argv[1], sys.argv[2]
PORT = int(os.environ.get("SCHEDULES_TEST_PORT", "19210"))
BASE = f"http://127.0.0.1:{PORT}"
TMP = tempfile.mkdtemp(prefix="test-schedules-host.")
FAILURES = []
PROCS = {}


def start(name, argv, env, port):
    hostrun.start(PROCS, TMP, name, argv, env, port, timeout=15)


def stop(name):
    PROCS[name].terminate()
    assert PROCS[name].wait(20) == 0, f"{name} did not exit 0 on SIGTERM"


def start_orchestrator():
    start("orchestrator", ORCH, {"ORCHESTRATOR_LISTEN": f"127.0.0.1:{PORT}", "ORCH_AUTH": "off",
                                 "ORCH_DB_PATH": f"{TMP}/orch.db", "NLP_SERVICE_URL": f"http://127.0.0.1:{PORT + 1}",
                                 "LOG_LEVEL": "info"}, PORT)


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what)
    if not cond:
        FAILURES.append(what)


def schedule(sid):
    status, s = call("GET", f"/schedules/{sid}")
    assert status == 200, (status, s)
    return s


def create(**timing):
    body = {"service": "nlp", "task": "tokenize", "payload": {"text": "one two three"}, **timing}
    status, s = call("POST", "/schedules", body)
    assert status == 201, (status, s)
    return s["schedule_id"]


def wait_completed(job_id):
    deadline = time.time() + 10
    while time.time() < deadline:
        status, j = call("GET", f"/jobs/{job_id}")
        if status == 200 and j["status"] == "completed":
            return j
        time.sleep(0.05)
    return j


def main():
    start("nlp", NLP, {"NLP_LISTEN": f"127.0.0.1:{PORT + 1}"}, PORT + 1)
    start_orchestrator()

    t0 = time.time()
    every = create(every="1s")
    deadline = t0 + 8
    while schedule(every)["runs"] < 4 and time.time() < deadline:
        time.sleep(0.05)
    took = time.time() - t0
    s = schedule(every)
    # Its runs fall 1, 2, 3 and 4 s after it was made: 4 runs take at least 4 s.
    check(s["runs"] >= 4 and took >= 3.95, f"an every-1s schedule ran {s['runs']} times in {took:.2f} s (4 in 4-8 s)")
    job = wait_completed(s["last_job_id"])
    check(job["status"] == "completed" and job.get("schedule_id") == every,
          "its last run is a completed job linked to the schedule")
    status, _ = call("POST", f"/schedules/{every}/pause", {})
    check(status == 200, "paused")

    # Two schedules across the same downtime: catch_up all and none.
    fire_all = create(every="1s", catch_up="all", overlap="allow")
    fire_none = create(every="1s", catch_up="none", overlap="allow")
    time.sleep(1.5)
    before = {sid: schedule(sid)["runs"] for sid in (fire_all, fire_none)}
    stop("orchestrator")
    down = time.time()
    time.sleep(4)
    start_orchestrator()
    up = time.time()
    time.sleep(0.5)
    a, n = schedule(fire_all), schedule(fire_none)
    due_while_down = int(up - down)  # at least this many runs came due while it was down
    check(a["missed"] == 0 and a["runs"] - before[fire_all] >= due_while_down,
          f"catch_up all: {a['runs'] - before[fire_all]} runs after the restart, {a['missed']} missed "
          f"(>= {due_while_down} came due while down)")
    check(n["missed"] >= due_while_down - 1 and n["runs"] - before[fire_none] <= 2,
          f"catch_up none: {n['missed']} missed, {n['runs'] - before[fire_none]} runs after the restart")
    check(schedule(every)["paused"] is True, "a paused schedule stays paused across the restart")

    stop("orchestrator")
    stop("nlp")


try:
    main()
finally:
    for p in PROCS.values():
        if p.poll() is None:
            p.kill()
            p.wait()
    if FAILURES:
        for name in ("orchestrator", "nlp"):
            if os.path.exists(f"{TMP}/{name}.log"):
                print(f"--- {name} log (tail)\n" + open(f"{TMP}/{name}.log").read()[-3000:])
    shutil.rmtree(TMP, ignore_errors=True)
print(f"{len(FAILURES)} failed")
sys.exit(1 if FAILURES else 0)
