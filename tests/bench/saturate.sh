#!/usr/bin/env bash
# Both cores saturated by a load on the same host (issue 23): wrk at 64 connections on a
# synchronous nlp task through the published port, with a 10 s client timeout, for five
# minutes. Before and after, every ai-semble unit's InvocationID and every container's
# ID. Prints wrk's totals, the load average, what restarted (a unit with a new
# InvocationID, a container with a new ID) and the supervisor's lines about restarts and
# health meanwhile; exits 1 if a request failed or anything restarted.
# Usage (root, the pod from ./scripts/deploy.sh start):
#   tests/bench/saturate.sh [seconds] [connections]     (default 300 s, 64)
# Environment: TOKEN (else an operator token from deploy.sh token; tests/bench/lib-pod.sh).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

secs=${1:-300}
conns=${2:-64}
# shellcheck source=lib-pod.sh
. "$here/lib-pod.sh"

# "unit InvocationID" for every loaded ai-semble unit, then "container ID" for each one.
snapshot() {
        local u
        for u in $(hostenv_exec systemctl --user list-units --all --plain --no-legend 'ai-semble*' |
                awk '{ print $1 }' | sort -u); do
                echo "$u $(hostenv_exec systemctl --user show -p InvocationID --value "$u")"
        done
        hostenv_exec podman ps --format '{{.Names}} {{.ID}}' | sort
}

snapshot >"$work/before"
since=$(date '+%Y-%m-%d %H:%M:%S')
echo "POST /ai/nlp/process (sentiment), $conns connections, $secs s, wrk timeout 10 s, load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t2 -c"$conns" -d"${secs}s" --timeout 10s -s "$work/req.lua" "$url/ai/nlp/process" >"$work/wrk" 2>&1
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -E '^(requests|latency) ' "$work/wrk"
snapshot >"$work/after"
restarted=$(diff "$work/before" "$work/after" | sed -n 's/^> /  now: /p')
echo "units and containers restarted: ${restarted:-none}"
echo "the supervisor meanwhile (restarts, health, heal):"
hostenv_exec journalctl --user -u ai-semble-supervisor.service --since "$since" -o cat --no-pager |
        grep -iE 'restart|unhealthy|heal|kill|escalat' | sed 's/^/  /' | head -20
pod_wrk_ok "$work/wrk" && [ -z "$restarted" ]
