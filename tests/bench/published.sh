#!/usr/bin/env bash
# The users' path against the pod's own (issue 23) and against the service behind the door
# (issue 21): the same sentiment request with the same wrk parameters, alternated ROUNDS
# times, through the published address on the host (the orchestrator's socket unit), inside
# the pod's network namespace (the orchestrator's own listener), and there to the nlp
# service directly (POST :8083/process, no door: no job stored). Prints each round's req/s
# and p50, the medians' ratio published / in-pod, and what the door adds: published p50 -
# direct p50 (issue 21 asks it at 1 connection), published req/s / direct req/s.
# Usage (root, the pod from ./scripts/deploy.sh start):
#   tests/bench/published.sh [seconds per run] [connections]     (default 10 s, 32)
# Environment: ROUNDS (3), TOKEN (else an operator token from deploy.sh token: lib-pod.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

secs=${1:-10}
conns=${2:-32}
# shellcheck source=lib-pod.sh
. "$here/lib-pod.sh"
pid=$(hostenv_exec podman inspect --format '{{.State.Pid}}' ai-semble-infra) || die "the pod is not running"

cat "$work/request.lua" - >"$work/result.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.0f %d %.0f\n", summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50)))
end
LUA
run() { # published|pod|direct → "req/s errors p50_us"
        local target=$url/ai/nlp/process
        [ "$1" = direct ] && target=http://127.0.0.1:8083/process
        local cmd=(wrk -t"$((conns < 2 ? 1 : 2))" -c"$conns" -d"${secs}s" -s "$work/result.lua" "$target")
        if [ "$1" = published ]; then "${cmd[@]}"; else nsenter --target "$pid" --net -- "${cmd[@]}"; fi |
                awk '/^RESULT/ { print $2, $3, $4 }'
}
echo "POST /ai/nlp/process (sentiment), ${conns} connections, ${secs} s a run, load $(cut -d' ' -f1 /proc/loadavg)"
for ((i = 1; i <= ${ROUNDS:-3}; i++)); do
        for where in published pod direct; do
                read -r rps errs p50 < <(run "$where")
                printf '%-10s round %d: %6s req/s, p50 %6s µs, %s errors\n' "$where" "$i" "$rps" "$p50" "$errs"
                echo "$rps" >>"$work/$where"
                echo "$p50" >>"$work/$where.p50"
        done
done
median() { sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
p=$(median "$work/published")
q=$(median "$work/pod")
d=$(median "$work/direct")
echo "median: published $p req/s, in the pod $q req/s, ratio $(awk -v p="$p" -v q="$q" 'BEGIN { printf "%.2f", p / q }')"
echo "the door: p50 published $(median "$work/published.p50") µs, nlp direct $(median "$work/direct.p50") µs," \
        "added $(awk -v a="$(median "$work/published.p50")" -v b="$(median "$work/direct.p50")" 'BEGIN { print a - b }') µs;" \
        "req/s published / direct $(awk -v p="$p" -v d="$d" 'BEGIN { printf "%.2f", p / d }')"
