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
deploy=$AI_SEMBLE_ROOT/scripts/deploy.sh
# shellcheck source=lib-pod.sh
. "$here/lib-pod.sh"

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
pod_wrk_ok "$work/wrk"
