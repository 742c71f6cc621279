#!/usr/bin/env bash
# The users' path against the pod's own (issue 23): the same request, the same wrk
# parameters, through the published address on the host (the orchestrator's socket unit)
# and inside the pod's network namespace (the orchestrator's own listener), alternated
# ROUNDS times. Prints each round's req/s and the medians' ratio (published / in-pod).
# Usage (root, the pod from ./scripts/deploy.sh start):
#   tests/bench/published.sh [seconds per run] [connections]     (default 10 s, 32)
# Environment: ROUNDS (3), TOKEN (else an operator token from deploy.sh token).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

secs=${1:-10}
conns=${2:-32}
url=http://127.0.0.1:8080
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
token=${TOKEN:-$("$AI_SEMBLE_ROOT/scripts/deploy.sh" token --role operator --sub bench --ttl 1h)}
pid=$(hostenv_exec podman inspect --format '{{.State.Pid}}' ai-semble-infra) || die "the pod is not running"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/req.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"The quick brown fox is happy today.","task":"sentiment"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
-- the same body every time: past the result cache, to the nlp service, as before it existed
wrk.headers["Cache-Control"] = "no-cache"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %d\n", summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
run() { # published|pod → "req/s errors"
        local cmd=(wrk -t2 -c"$conns" -d"${secs}s" -s "$work/req.lua" "$url/ai/nlp/process")
        if [ "$1" = pod ]; then nsenter --target "$pid" --net -- "${cmd[@]}"; else "${cmd[@]}"; fi |
                awk '/^RESULT/ { print $2, $3 }'
}
echo "POST /ai/nlp/process (sentiment), ${conns} connections, ${secs} s a run, load $(cut -d' ' -f1 /proc/loadavg)"
for ((i = 1; i <= ${ROUNDS:-3}; i++)); do
        for where in published pod; do
                read -r rps errs < <(run "$where")
                printf '%-10s round %d: %6s req/s, %s errors\n' "$where" "$i" "$rps" "$errs"
                echo "$rps" >>"$work/$where"
        done
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p=$(median "$work/published")
q=$(median "$work/pod")
echo "median: published $p req/s, in the pod $q req/s, ratio $(awk -v p="$p" -v q="$q" 'BEGIN { printf "%.2f", p / q }')"
