#!/usr/bin/env bash
# Orchestrator benchmarks on loopback, host-run (no pod): the latency the orchestrator
# adds over calling a service directly (p50/p99 at 1 and 32 connections), the
# throughput ratio at 32 connections, and synchronous jobs per second with the SQLite
# writes included. The "service" is orch-fake-upstream (a cheap fixed JSON answer from
# the same HTTP server code every service uses), so the figures are the orchestrator's.
# Usage: tests/bench/orchestrator.sh [seconds per run]   (default 10; needs wrk)
# Ports: ORCH_BENCH_PORT (19080) for the orchestrator, +1 for the upstream.
# ORCH_BENCH_WORKERS (32) and ORCH_BENCH_HTTP_THREADS (64) size the orchestrator.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

secs=${1:-10}
port=${ORCH_BENCH_PORT:-19080}
up_port=$((port + 1))
orch="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator"
fake="$AI_SEMBLE_BUILD/tests/unit/orch-fake-upstream"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
{ [ -x "$orch" ] && [ -x "$fake" ]; } || die "build first: $orch and $fake"

tmp=$(mktemp -d /tmp/orch-bench.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

"$fake" "127.0.0.1:$up_port" &
pids+=($!)
up="http://127.0.0.1:$up_port"
ORCHESTRATOR_LISTEN="127.0.0.1:$port" ORCH_DB_PATH="$tmp/orchestrator.db" LOG_LEVEL=warning \
        HTTP_THREADS=${ORCH_BENCH_HTTP_THREADS:-64} ORCH_WORKERS=${ORCH_BENCH_WORKERS:-32} \
        LLM_SERVICE_URL=$up VISION_SERVICE_URL=$up NLP_SERVICE_URL=$up DATA_PROCESSOR_URL=$up "$orch" &
pids+=($!)
for _ in $(seq 50); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/health/live" && break
        sleep 0.1
done

body='{"text":"benchmark text","task":"tokenize"}'
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
        io.write(string.format("RESULT %.1f %.1f %.1f %d %d\n", latency:percentile(50), latency:percentile(99),
                summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect +
                summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA

run() { # url connections -> "p50_us p99_us rps errors requests"
        local threads=$(($2 < 2 ? 1 : 2))
        wrk -t"$threads" -c"$2" -d"${secs}s" -s "$tmp/post.lua" "$1" | awk '/^RESULT/ { print $2, $3, $4, $5, $6 }'
}

# Warm both paths (connections, SQLite pages).
run "$up/process" 4 >/dev/null
run "http://127.0.0.1:$port/ai/nlp/process" 4 >/dev/null

echo "## Orchestrator overhead (loopback, ${secs}s per run, wrk)"
echo
echo "| connections | direct p50 (µs) | via orchestrator p50 (µs) | added p50 (µs) | direct p99 (µs) | via p99 (µs) | added p99 (µs) | direct req/s | via req/s | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for c in 1 32; do
        read -r d50 d99 drps derr _ < <(run "$up/process" "$c")
        read -r o50 o99 orps oerr _ < <(run "http://127.0.0.1:$port/ai/nlp/process" "$c")
        awk -v c="$c" -v d50="$d50" -v d99="$d99" -v drps="$drps" -v o50="$o50" -v o99="$o99" -v orps="$orps" \
                'BEGIN { printf "| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f%% |\n",
                        c, d50, o50, o50 - d50, d99, o99, o99 - d99, drps, orps, 100 * orps / drps }'
        { [ "$derr" = 0 ] && [ "$oerr" = 0 ]; } || echo "(errors: direct $derr, orchestrator $oerr)"
done
echo
jobs=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^orch_jobs\{status="completed"\}/ { print $2 }')
echo "Synchronous jobs per second at 32 connections = the via req/s above: each request is a job"
echo "inserted, marked running and completed in SQLite (WAL, synchronous=NORMAL). Jobs stored: $jobs."
