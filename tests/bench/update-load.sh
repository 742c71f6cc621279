#!/usr/bin/env bash
# An update under load (issue 23): wrk on a synchronous nlp task through the published port
# while `deploy.sh update --all` replaces every service, one at a time. Prints wrk's
# totals (requests, non-2xx, socket errors, over wrk's timeout), how long each service's
# replacement took (the supervisor's journal) and the update's own summary; exits 1 when
# any request failed.
# Usage (root, the pod from ./scripts/deploy.sh start):
#   tests/bench/update-load.sh [seconds] [connections]     (default 150 s, 16)
# Environment: AT (seconds into the load when the update starts, 3), TIMEOUT (wrk's
# per-request timeout, 2s), TOKEN (else an operator token from deploy.sh token), ACTION
# (the deploy.sh verb run under the load instead: 'restart orchestrator', say).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

secs=${1:-150}
conns=${2:-16}
url=http://127.0.0.1:8080
deploy=$AI_SEMBLE_ROOT/scripts/deploy.sh
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
token=${TOKEN:-$("$deploy" token --role operator --sub bench --ttl 1h)} ||
        die "no token: is the pod installed (./scripts/deploy.sh start)?"
curl -sf -m 5 "$url/health/ready" | jq -e '.status == "ready"' >/dev/null || die "the pod is not ready on $url"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/req.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"The quick brown fox is happy today.","task":"sentiment"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Cache-Control"] = "no-cache" -- every request reaches nlp, none is a cache hit
local codes = {}
response = function(status, headers, body)
  if status >= 300 then codes[status] = (codes[status] or 0) + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d, non-2xx %d, connect %d, read %d, write %d, over the timeout %d\n",
    summary.requests, e.status, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
since=$(date '+%Y-%m-%d %H:%M:%S')
read -ra action <<<"${ACTION:-update --all}"
echo "POST /ai/nlp/process (sentiment), $conns connections, $secs s, ${action[*]} at ${AT:-3} s, load $(cut -d' ' -f1 /proc/loadavg)"
wrk -t2 -c"$conns" -d"${secs}s" --timeout "${TIMEOUT:-2s}" -s "$work/req.lua" "$url/ai/nlp/process" >"$work/wrk" 2>&1 &
wrk_pid=$!
sleep "${AT:-3}"
t0=$(date +%s.%N)
"$deploy" "${action[@]}" >"$work/update" 2>&1
update_rc=$?
t1=$(date +%s.%N)
wait "$wrk_pid"
grep -E '^(requests|latency) ' "$work/wrk"
awk -v a="$t0" -v b="$t1" -v rc="$update_rc" -v what="${action[*]}" 'BEGIN { printf "%s: %.1f s, exit %d\n", what, b - a, rc }'
sed 's/^/  /' "$work/update" | grep -E '^  [a-z]+: ' || true
# Each replacement, from the supervisor's "Update: X from" to its "X updated" line.
hostenv_exec journalctl --user -u ai-semble-supervisor.service --since "$since" -o short-unix --no-pager |
        awk '/Update: [a-z]+ from/ { for (i = 1; i <= NF; i++) if ($i == "Update:") s = $(i + 1); t[s] = $1 }
             /\] [a-z]+ updated to image/ { for (i = 1; i <= NF; i++) if ($i == "updated") n = $(i - 1)
                                             if (n in t) printf "  %s replaced in %.1f s\n", n, $1 - t[n] }'
awk '/^requests/ { gsub(",", ""); bad = $4 + $6 + $8 + $10 + $14 } END { exit bad > 0 }' "$work/wrk"
