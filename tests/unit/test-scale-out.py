#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-scale-out.py — three orchestrators on one PostgreSQL (issue 19), with the real
binaries on the host: the orchestrators (ORCH_AUTH=off, ORCH_DB_URL the throwaway cluster
of pg-cluster.sh, one worker each so that work queues) and the nlp service they call. Checked
from outside with Python's standard library:
- 1,000 async jobs submitted round-robin; one orchestrator SIGKILLed right after its share
  was accepted: its unfinished jobs are taken over by the others once their leases run
  out; every accepted job completes, with exactly one terminal state event;
- an SSE client on one orchestrator sees, live, the events of a job another one runs, and
  resumes with Last-Event-ID on a third;
- an Idempotency-Key, a named lock and a webhook delivery's replay memory are the same on
  every orchestrator;
- PostgreSQL restarted while jobs are submitted: the orchestrators reconnect and no
  accepted job is lost.
Usage: pg-cluster.sh test-scale-out.py ORCHESTRATOR NLP (ports SCALE_OUT_TEST_PORT .. +3,
default 19230)"""
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import hostrun
from concurrent.futures import ThreadPoolExecutor

ORCH, NLP = sys.argv[1], sys.argv[2]
PG_URL = os.environ["ORCH_TEST_DB_URL"]  # pg-cluster.sh's
AS_OWNER = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
PG_RESTART = AS_OWNER + [f"{os.environ['PG_CLUSTER_BINDIR']}/pg_ctl", "-D", os.environ["PG_CLUSTER_DATA"],
                         "-l", os.path.dirname(os.environ["PG_CLUSTER_DATA"]) + "/server.log",
                         "-m", "fast", "-w", "-t", "30", "restart"]
PORT = int(os.environ.get("SCALE_OUT_TEST_PORT", "19230"))
NLP_PORT = PORT + 3
LEASE = "2s"
TMP = tempfile.mkdtemp(prefix="test-scale-out.")
WEBHOOK_SECRET = "the scale-out test's webhook secret, 32+ bytes long"
with open(f"{TMP}/webhook", "w") as f:
    f.write(WEBHOOK_SECRET)
FAILURES = []
PROCS = {}


def start(name, argv, env, port):
    hostrun.start(PROCS, TMP, name, argv, env, port, timeout=20)


def start_orchestrator(i):
    start(f"orch{i}", ORCH, {"ORCHESTRATOR_LISTEN": f"127.0.0.1:{PORT + i}", "ORCH_AUTH": "off",
                             "ORCH_DB_URL": PG_URL, "ORCH_INSTANCE": f"orch{i}", "ORCH_LEASE_TIMEOUT": LEASE,
                             "ORCH_WORKERS": "1", "ORCH_QUEUE_MAX": "5000", "ORCH_CACHE_MAX_BYTES": "0",
                             "ORCH_WEBHOOK_SECRET_FILE": f"{TMP}/webhook",
                             "ORCH_WEBHOOK_EVENTS": "review.posted=nlp/sentiment",
                             "NLP_SERVICE_URL": f"http://127.0.0.1:{NLP_PORT}", "LOG_LEVEL": "info"}, PORT + i)


def call(i, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", PORT + i, timeout=timeout)
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json"} if data else {}
    hdrs.update(headers or {})
    try:
        conn.request(method, path, body=data, headers=hdrs)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def call_raw(i, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", PORT + i, timeout=30)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def check(cond, what):
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def submit(i, n):
    """An async sentiment job of its own text (no two alike: nothing is answered twice)."""
    try:
        status, body = call(i, "POST", "/ai/nlp/process",
                            {"text": f"job {n}: a calm and pleasant day number {n}", "task": "sentiment",
                             "async": True})
    except (ConnectionError, OSError):
        return None
    return body["job_id"] if status == 202 else None


def wait_done(ids, alive, timeout):
    """Every id terminal, read through the live orchestrators in turn; the unfinished left."""
    deadline, left = time.time() + timeout, set(ids)
    k = 0
    while left and time.time() < deadline:
        for jid in list(left):
            status, job = call(alive[k % len(alive)], "GET", f"/jobs/{jid}")
            k += 1
            if status == 200 and job["status"] in ("completed", "failed", "cancelled"):
                left.discard(jid)
        if left:
            time.sleep(0.5)
    return left


def sse(i, jid, last_event_id=None, until=None):
    """The events of a job's stream as (id, event, data) until it ends, or until until(data)."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    conn = http.client.HTTPConnection("127.0.0.1", PORT + i, timeout=20)
    conn.request("GET", f"/jobs/{jid}/events", headers=headers)
    r = conn.getresponse()
    events, cur = [], {}
    try:
        for raw in r:
            line = raw.decode().rstrip("\n")
            if not line:
                if "data" in cur:
                    events.append((cur.get("id"), cur.get("event", "message"), json.loads(cur["data"])))
                    if until and until(events[-1]):
                        break
                cur = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(":")
                cur[key] = value.strip()
    finally:
        conn.close()
    return events


def is_terminal(ev):
    return ev[1] == "state" and ev[2].get("status") in ("completed", "failed", "cancelled")


def t_takeover():
    accepted, by = [], {0: [], 1: [], 2: []}
    with ThreadPoolExecutor(8) as pool:
        futures = [(n % 3, pool.submit(submit, n % 3, n)) for n in range(1000)]
        for i, f in futures:
            jid = f.result()
            if jid:
                accepted.append(jid)
                by[i].append(jid)
    check(len(accepted) == 1000, f"1,000 async jobs accepted round-robin by three orchestrators ({len(accepted)})")
    PROCS["orch1"].send_signal(signal.SIGKILL)
    PROCS["orch1"].wait()
    left = wait_done(accepted, [0, 2], 120)
    check(not left, f"every accepted job finished after orch1 was killed ({len(left)} not)")
    statuses = {}
    for jid in accepted:
        status, job = call(0, "GET", f"/jobs/{jid}")
        statuses[job["status"]] = statuses.get(job["status"], 0) + 1
    check(statuses == {"completed": 1000}, f"all 1,000 completed: {statuses}")
    twice = [jid for jid in by[1] if sum(map(is_terminal, sse(2, jid, 0))) != 1]
    check(not twice, f"each of orch1's jobs has exactly one terminal state event ({len(twice)} not)")
    taken = sum(int(line.split("took over ")[1].split()[0])
                for i in (0, 2) for line in open(f"{TMP}/orch{i}.log") if "took over " in line)
    check(taken > 0, f"the survivors took over orch1's unfinished jobs ({taken} taken)")
    start_orchestrator(1)  # back under its name, for the checks below


def t_sse_across():
    """A delayed job submitted to orch2, watched live from orch0 and resumed on orch1."""
    run_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3))
    status, body = call(2, "POST", "/ai/nlp/process", {"text": "a live one", "task": "sentiment", "run_at": run_at})
    check(status == 202, f"a delayed job accepted by orch2 ({status})")
    jid = body["job_id"]
    t0 = time.time()
    events = sse(0, jid, until=is_terminal)
    check(events and is_terminal(events[-1]) and time.time() - t0 < 10,
          f"an SSE client on orch0 saw orch2's delayed job complete, live ({[e[1] for e in events]})")
    first = next((e for e in events if e[0] and e[1] == "state"), None)
    check(first is not None, "the stream's events carry ids")
    resumed = sse(1, jid, int(first[0]))
    check([e[0] for e in resumed] == [e[0] for e in events if e[0] and int(e[0]) > int(first[0])],
          "Last-Event-ID on orch1 resumes with exactly the events after it")


def t_global_keys_and_locks():
    body = {"text": "the same request twice", "task": "sentiment", "language": "en", "async": True}
    s1, a = call(0, "POST", "/ai/nlp/process", body, {"Idempotency-Key": "scale-out-1"})
    check(s1 == 202 and not wait_done([a["job_id"]], [0], 30), f"a job with an Idempotency-Key on orch0 ({s1})")
    s2, b = call(2, "POST", "/ai/nlp/process", body, {"Idempotency-Key": "scale-out-1"})
    check(s2 == 200 and b.get("job_id") == a["job_id"],
          f"the same key on orch2 replays orch0's job ({s2} {b.get('job_id')} {a['job_id']})")
    delivery = json.dumps({"type": "review.posted", "text": "What a wonderful day", "language": "en"})
    sig = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), delivery.encode(), hashlib.sha256).hexdigest()
    hook = {"X-Hub-Signature-256": sig, "Content-Type": "application/json"}
    s1, _ = call_raw(0, "/webhook", delivery, hook)
    s2, _ = call_raw(2, "/webhook", delivery, hook)
    check(s1 == 202 and s2 == 401, f"a webhook delivery accepted by orch0 is a replay on orch2 ({s1} {s2})")
    s1, _ = call(0, "POST", "/locks/scale-out", {"owner": "alpha", "ttl": 30})
    s2, held = call(2, "POST", "/locks/scale-out", {"owner": "beta", "ttl": 30})
    check(s1 == 200 and s2 == 409, f"a lock taken on orch0 is held on orch2 ({s1} {s2})")


def t_db_restart():
    accepted, stop = [], threading.Event()

    def feed():
        n = 10000
        while not stop.is_set():
            jid = submit(n % 2 * 2, n)  # orch0 and orch2
            if jid:
                accepted.append(jid)
            n += 1

    feeder = threading.Thread(target=feed)
    feeder.start()
    time.sleep(1)
    before = len(accepted)
    rc = subprocess.run(PG_RESTART, stdout=subprocess.DEVNULL).returncode
    check(rc == 0, "PostgreSQL restarted")
    time.sleep(2)
    stop.set()
    feeder.join()
    after_restart = len(accepted) - before
    check(after_restart > 0, f"submissions accepted again after the restart ({after_restart})")
    left = wait_done(accepted, [0, 2], 120)
    check(not left, f"no accepted job lost across the database restart ({len(accepted)} accepted, {len(left)} unfinished)")
    bad = [jid for jid in accepted if call(0, "GET", f"/jobs/{jid}")[1]["status"] != "completed"]
    check(not bad, f"all of them completed ({len(bad)} not)")


def main():
    try:
        start("nlp", NLP, {"NLP_LISTEN": f"127.0.0.1:{NLP_PORT}", "LOG_LEVEL": "warning"}, NLP_PORT)
        for i in range(3):
            start_orchestrator(i)
        t_takeover()
        t_sse_across()
        t_global_keys_and_locks()
        t_db_restart()
    finally:
        for p in PROCS.values():
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        if FAILURES:
            for name in sorted(os.listdir(TMP)):
                sys.stderr.write(f"--- {name}\n" + open(f"{TMP}/{name}").read()[-3000:])
        shutil.rmtree(TMP, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} failed", file=sys.stderr)
        sys.exit(1)
    print("all passed")


main()
