#!/usr/bin/env bash
# Chaos against the running pod (issue 23): N asynchronous jobs (nlp sentiment and data
# analyze, both idempotent) submitted through the published port while KILLS random
# SIGKILLs hit every service and the orchestrator; then every job is followed to its end.
# Prints submitted, accepted, refused (any answer but 202 or a replay of the same key, or
# none within 30 s of resending what got no answer), lost (an accepted
# job the orchestrator no longer knows), stuck (not finished within WAIT seconds) and
# failed counts, and the kills; exits 1 unless refused, lost, stuck and failed are all 0.
# Usage (root, the pod from ./scripts/deploy.sh start):
#   tests/bench/chaos.sh [N] [KILLS]        (default 300 jobs, 12 kills)
# Environment: WAIT (seconds to wait for the jobs, 240), TOKEN (else an admin token from
# deploy.sh token), SEED (for the kills' order and timing).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

n=${1:-300}
kills=${2:-12}
url=http://127.0.0.1:8080
token=${TOKEN:-$("$AI_SEMBLE_ROOT/scripts/deploy.sh" token --role admin --sub chaos --ttl 1h)} ||
        die "no token: is the pod installed (./scripts/deploy.sh start)?"
curl -sf -m 5 "$url/health/ready" | jq -e '.status == "ready"' >/dev/null || die "the pod is not ready on $url"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
RANDOM=${SEED:-$$}

# The kills: spread over the submissions (about 20 ms each), the orchestrator first, then
# a random service each time;
# after each, wait for the service to be ready again so that every kill is a restart.
killer() {
        local i s pid victims
        read -ra victims <<<"$AI_SEMBLE_SERVICES"
        for ((i = 0; i < kills; i++)); do
                sleep "0.$((RANDOM % 9 + 1))"
                s=${victims[RANDOM % ${#victims[@]}]}
                [ "$i" -gt 0 ] || s=orchestrator # the door itself, every run
                pid=$(hostenv_exec podman inspect --format '{{.State.Pid}}' "ai-semble-$s" 2>/dev/null)
                if [ -n "$pid" ] && [ "$pid" != 0 ] && kill -9 "$pid" 2>/dev/null; then
                        echo "$(date +%s.%N) $s" >>"$work/kills"
                fi
                # the next kill only once the pod is whole again (at most 60 s)
                for _ in $(seq 300); do
                        curl -sf -m 1 "$url/health/ready" | jq -e '.status == "ready"' >/dev/null 2>&1 && break
                        sleep 0.2
                done
        done
}
killer &
killer_pid=$!

python3 - "$url" "$token" "$n" "${WAIT:-240}" "$killer_pid" "$work/report" <<'PY'
import json, os, sys, threading, time, urllib.request, urllib.error

url, token, n, wait, killer, report = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
auth = {"Authorization": "Bearer " + token}

def call(method, path, body=None, timeout=60, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    hdrs = dict(auth, **({"Content-Type": "application/json"} if data else {}), **(headers or {}))
    req = urllib.request.Request(url + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null"), r.headers
    except urllib.error.HTTPError as e:
        return e.code, None, e.headers
    except Exception as e:  # no answer at all: refused, reset, timed out
        return 0, str(e), {}

jobs, refused, resent, lock = [], [], [0], threading.Lock()
run = "%x" % int(time.time() * 1000)

# As a client should: an Idempotency-Key on each submission, and the same submission sent
# again when it got no answer at all (the orchestrator was killed while it was in flight;
# for 30 s at most). The key makes the resend the same job: 202 if the first never got in,
# else 409 (still running) or the stored outcome, both naming the job (X-Job-ID). Any
# answer other than these is a refusal.
def submit(i):
    if i % 2:
        body = {"service": "nlp", "task": "sentiment", "async": True,
                "payload": {"text": "chaos job %d: what a wonderful, reliable day" % i}}
    else:
        body = {"service": "data", "task": "analyze", "async": True,
                "payload": {"data": {"records": [{"x": k, "y": k * i % 7} for k in range(50)]}}}
    key, deadline = {"Idempotency-Key": "chaos-%s-%d" % (run, i)}, time.time() + 30
    while True:
        st, out, hdrs = call("POST", "/dispatch", body, headers=key)
        if st != 0 or time.time() > deadline:
            break
        with lock:
            resent[0] += 1
        time.sleep(0.2)
    job = None
    if st == 202 and isinstance(out, dict):
        job = out.get("job_id")
    elif st in (200, 409) and hdrs.get("Idempotent-Replayed") == "true":
        job = hdrs.get("X-Job-ID")
    with lock:
        if job:
            jobs.append(job)
        else:
            refused.append((i, st, out))

# Four clients, a job each about every 20 ms, so the kills land among the submissions.
def client(k):
    for i in range(k, n, 4):
        submit(i)
        time.sleep(0.08)

t0 = time.time()
threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
# the kills end before the jobs are judged
while True:
    try:
        os.kill(killer, 0)
    except ProcessLookupError:
        break
    time.sleep(0.2)

pending, final = set(jobs), {}
deadline = time.time() + wait
while pending and time.time() < deadline:
    for j in list(pending):
        st, out, _ = call("GET", "/jobs/" + j, timeout=10)
        if st == 404:
            final[j] = "lost"
            pending.discard(j)
        elif st == 200 and out.get("status") in ("completed", "failed", "cancelled"):
            final[j] = out["status"] if out["status"] != "failed" else "failed: " + str(out.get("error"))
            pending.discard(j)
    if pending:
        time.sleep(0.5)
for j in pending:
    final[j] = "stuck"

count = lambda pred: sum(1 for v in final.values() if pred(v))
res = {
    "submitted": n, "accepted": len(jobs), "refused": len(refused), "resent": resent[0],
    "completed": count(lambda v: v == "completed"), "failed": count(lambda v: v.startswith("failed")),
    "lost": count(lambda v: v == "lost"), "stuck": count(lambda v: v == "stuck"),
    "seconds": round(time.time() - t0, 1),
}
with open(report, "w") as f:
    json.dump(res, f)
for i, st, out in refused[:5]:
    print("refused: job %d: %s %s" % (i, st, out))
for j, v in list(final.items()):
    if v != "completed":
        print("%s: %s" % (j, v))
PY
wait "$killer_pid" 2>/dev/null
[ -s "$work/report" ] || die "the chaos run did not finish"
echo "kills: $(awk '{print $2}' "$work/kills" 2>/dev/null | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')"
jq -r '"jobs: \(.submitted) submitted, \(.accepted) accepted (\(.resent) resends of a submission that got no answer), \(.refused) refused; \(.completed) completed, \(.failed) failed, \(.lost) lost, \(.stuck) stuck (\(.seconds) s)"' "$work/report"
jq -e '.refused == 0 and .failed == 0 and .lost == 0 and .stuck == 0' "$work/report" >/dev/null
