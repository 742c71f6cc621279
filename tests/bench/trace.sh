#!/usr/bin/env bash
# The cost of tracing on the orchestrator's added latency, host-run on loopback: the
# orchestrator in front of orch-fake-upstream (no work upstream), LOG_LEVEL=info as in the
# pod, its stderr to a file, in alternating rounds at 1 and 32 connections: TRACE=off (no
# trace), on (a trace started per request, the traceparent sent on; TRACE_SAMPLE_RATE's
# default 10 traces a second log their two span lines, the request's and its call's) and
# all (TRACE_SAMPLE_RATE=0: every request's two lines). Prints each round and the medians.
# Usage: tests/bench/trace.sh [seconds per run] [rounds]   (default 5 and 3; needs wrk)
# Ports: TRACE_BENCH_PORT (19380) for the orchestrator, +1 the fake upstream.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

secs=${1:-5}
rounds=${2:-3}
port=${TRACE_BENCH_PORT:-19380}
up_port=$((port + 1))
orch="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator"
fake="$AI_SEMBLE_BUILD/tests/unit/orch-fake-upstream"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
{ [ -x "$orch" ] && [ -x "$fake" ]; } || die "build first: $orch and $fake"

tmp=$(mktemp -d /tmp/trace-bench.XXXXXX)
fake_pid=
orch_pid=
cleanup() {
        for p in $fake_pid $orch_pid; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

wait_up() { # url
        for _ in $(seq 50); do
                curl -s -o /dev/null "$1" && return 0
                sleep 0.1
        done
        die "$1 did not come up"
}

start_orch() { # off | on (sampled, TRACE_SAMPLE_RATE's default) | all (every trace logged)
        local trace=on rate=10
        case $1 in
        off) trace=off ;;
        all) rate=0 ;;
        esac
        if [ -n "$orch_pid" ]; then
                kill "$orch_pid"
                wait "$orch_pid" 2>/dev/null || true
        fi
        rm -f "$tmp"/orchestrator.db*
        TRACE=$trace TRACE_SAMPLE_RATE=$rate LOG_LEVEL=info ORCHESTRATOR_LISTEN="127.0.0.1:$port" ORCH_DB_PATH="$tmp/orchestrator.db" \
                ORCH_AUTH=off HTTP_THREADS=64 ORCH_WORKERS=32 LLM_SERVICE_URL=$up VISION_SERVICE_URL=$up \
                NLP_SERVICE_URL=$up DATA_PROCESSOR_URL=$up "$orch" 2>>"$tmp/orchestrator-$1.log" &
        orch_pid=$!
        wait_up "http://127.0.0.1:$port/health/live"
}

cat >"$tmp/req.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"text":"benchmark text","task":"tokenize"}'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
        io.write(string.format("RESULT %.1f %.1f %.1f %d\n", latency:percentile(50), latency:percentile(99),
                summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect +
                summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

run() { # url connections -> "p50_us p99_us rps errors"
        wrk -t"$(($2 < 2 ? 1 : 2))" -c"$2" -d"${secs}s" -s "$tmp/req.lua" "$1" | awk '/^RESULT/ { print $2, $3, $4, $5 }'
}

"$fake" "127.0.0.1:$up_port" &
fake_pid=$!
up="http://127.0.0.1:$up_port"
wait_up "$up/health/live"
via="http://127.0.0.1:$port/ai/nlp/process"

echo "load before: $(uptime)"
echo "| round | trace | conns | direct p50 (µs) | via p50 (µs) | added p50 (µs) | via p99 (µs) | via req/s | errors |"
echo "|---|---|---|---|---|---|---|---|---|"
for ((r = 1; r <= rounds; r++)); do
        for mode in off on all; do
                start_orch "$mode"
                run "$via" 4 >/dev/null # warm: connections, SQLite pages
                for c in 1 32; do
                        read -r d50 _ _ derr < <(run "$up/process" "$c")
                        read -r o50 o99 orps oerr < <(run "$via" "$c")
                        printf '| %d | %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f | %d |\n' "$r" "$mode" "$c" "$d50" "$o50" \
                                "$(awk -v a="$o50" -v b="$d50" 'BEGIN { print a - b }')" "$o99" "$orps" "$((derr + oerr))" |
                                tee -a "$tmp/rows"
                done
        done
done
echo
echo "Medians over $rounds rounds (added p50 = via - direct, same round):"
median() { # column of the rows (7 = added p50, 9 = via req/s) for mode and connections
        awk -F'|' -v m=" $1 " -v c=" $2 " -v k="$3" '$3 == m && $4 == c { print $k + 0 }' "$tmp/rows" | sort -n |
                awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
for c in 1 32; do
        for mode in off on all; do
                printf '  %2d conns, trace %-3s: added p50 %s µs, %s req/s\n' "$c" "$mode" "$(median "$mode" "$c" 7)" \
                        "$(median "$mode" "$c" 9)"
        done
done
for mode in off on all; do
        echo "span lines written, trace $mode: $(grep -c '"span_name"' "$tmp/orchestrator-$mode.log" || true)"
done
echo "load after: $(uptime)"
