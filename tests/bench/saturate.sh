#!/usr/bin/env bash
# Both cores saturated by a load on the same host (issue 23): wrk at 64 connections on a
# synchronous nlp task through the published port, with a 10 s client timeout, for five
# minutes. Before and after, every ai-semble unit's InvocationID and every container's
# ID. Prints wrk's totals, the load average, what restarted (a unit with a new
# InvocationID, a container with a new ID) and the supervisor's lines about restarts and
# health meanwhile; exits 1 if a request failed or anything restarted.
# Usage (root, the pod from ./scripts/deploy.sh start):
#   tests/bench/saturate.sh [seconds] [connections]     (default 300 s, 64)
# Environment: TOKEN (else an operator token from deploy.sh token).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

secs=${1:-300}
conns=${2:-64}
url=http://127.0.0.1:8080
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
token=${TOKEN:-$("$AI_SEMBLE_ROOT/scripts/deploy.sh" token --role operator --sub bench --ttl 1h)} ||
        die "no token: is the pod installed (./scripts/deploy.sh start)?"
curl -sf -m 5 "$url/health/ready" | jq -e '.status == "ready"' >/dev/null || die "the pod is not ready on $url"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "unit InvocationID" for every loaded ai-semble unit, then "container ID" for each one.
snapshot() {
        local u
        for u in $(hostenv_exec systemctl --user list-units --all --plain --no-legend 'ai-semble*' |
                awk '{ print $1 }' | sort -u); do
                echo "$u $(hostenv_exec systemctl --user show -p InvocationID --value "$u")"
        done
        hostenv_exec podman ps --format '{{.Names}} {{.ID}}' | sort
}

cat >"$work/req.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"The quick brown fox is happy today.","task":"sentiment"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Cache-Control"] = "no-cache" -- every request reaches nlp, none is a cache hit
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d (%.0f/s), non-2xx %d, connect %d, read %d, write %d, over the timeout %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), e.status, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

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
awk '/^requests/ { gsub(",", ""); bad = $5 + $7 + $9 + $11 + $15 } END { exit bad > 0 }' "$work/wrk" &&
        [ -z "$restarted" ]
