#!/usr/bin/env bash
# Supervisor benchmarks against the running pod (started if needed): the time from
# SIGKILL of a service's main process to the supervisor's first sight of it (detection)
# and to the orchestrator reporting the service ready again, over N kills rotating
# through llm, vision, nlp and data; then the supervisor's idle CPU and RSS.
# Usage: tests/bench/supervisor.sh [kills] [idle-seconds]   (default 10 kills, 30 s)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"
# shellcheck source=../../scripts/lib/hostenv.sh
. "$here/../../scripts/lib/hostenv.sh"

kills=${1:-10}
idle=${2:-30}
SUP=http://127.0.0.1:8090
URL=http://127.0.0.1:8080
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ms() { echo $(($(date +%s%N) / 1000000)); }

curl -sf -m 2 "$SUP/api/status" >/dev/null 2>&1 || "$AI_SEMBLE_ROOT/scripts/deploy.sh" start >/dev/null 2>&1
services=(llm vision nlp data)
det=()
rdy=()
for ((k = 0; k < kills; k++)); do
        s=${services[k % 4]}
        # everything ready before each kill
        until curl -sf -m 1 "$URL/health/ready" | jq -e '.status == "ready"' >/dev/null 2>&1; do sleep 0.2; done
        pid=$(hostenv_exec podman inspect --format '{{.State.Pid}}' "ai-semble-$s")
        t0=$(ms)
        kill -9 "$pid"
        td=""
        while :; do
                st=$(curl -sf -m 1 "$SUP/api/status" | jq -r --arg s "$s" '.services[] | select(.name == $s) | "\(.active_state) \(.restarts)"')
                [ -z "$td" ] && [ "${st%% *}" != active ] && td=$(ms)
                if [ -n "$td" ] && curl -sf -m 1 "$URL/health/ready" | jq -e --arg s "$s" '.services[$s].status == "ready"' >/dev/null 2>&1; then
                        break
                fi
                [ $(($(ms) - t0)) -lt 60000 ] || { echo "$s not ready after 60 s" >&2; exit 1; }
                sleep 0.05
        done
        tr=$(ms)
        det+=($((td - t0)))
        rdy+=($((tr - t0)))
        printf 'kill %2d %-7s detected %5d ms  ready %5d ms\n' "$((k + 1))" "$s" "$((td - t0))" "$((tr - t0))"
done
echo
echo "| figure | median over $kills kills |"
echo "|---|---|"
echo "| kill → supervisor sees the unit leave active (ms) | $(printf '%s\n' "${det[@]}" | median) |"
echo "| kill → ready again in /health/ready (ms) | $(printf '%s\n' "${rdy[@]}" | median) |"

pid=$(hostenv_exec systemctl --user show -p MainPID --value ai-semble-supervisor.service)
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
sleep 5
a=$(ticks)
sleep "$idle"
b=$(ticks)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
echo
echo "| supervisor idle (check_interval 5 s, nobody polling the API) | value |"
echo "|---|---|"
printf '| CPU over %s s | %.3f %% |\n' "$idle" "$(awk -v t=$((b - a)) -v hz="$hz" -v s="$idle" 'BEGIN { print 100 * t / hz / s }')"
printf '| RSS | %.1f MiB |\n' "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
