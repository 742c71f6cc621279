#!/usr/bin/env bash
# Orchestrator benchmarks on loopback, host-run (no pod): the latency the orchestrator
# adds over calling a service directly (p50/p99 at 1 and 32 connections), the
# throughput ratio at 32 connections, and synchronous jobs per second with the SQLite
# writes included. Two services behind it, the same wrk parameters direct and via:
#   1. orch-fake-upstream: a fixed JSON answer from the same HTTP server code every
#      service uses, no work at all, so the figures are the orchestrator's own;
#   2. the real nlp service (ai-semble-nlp, when built) doing VADER `sentiment` on a
#      tweet-length English text: a cheap real task.
# Usage: tests/bench/orchestrator.sh [seconds per run]   (default 10; needs wrk)
# Ports: ORCH_BENCH_PORT (19080) for the orchestrator, +1 the fake upstream, +2 nlp.
# ORCH_BENCH_WORKERS (32) and ORCH_BENCH_HTTP_THREADS (64) size the orchestrator.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

secs=${1:-10}
port=${ORCH_BENCH_PORT:-19080}
up_port=$((port + 1))
nlp_port=$((port + 2))
orch="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator"
fake="$AI_SEMBLE_BUILD/tests/unit/orch-fake-upstream"
nlp="$AI_SEMBLE_BUILD/services/nlp/ai-semble-nlp"
nlp_data="$root/containers/nlp/data/usr/share/ai-semble/nlp"
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
{ [ -x "$orch" ] && [ -x "$fake" ]; } || die "build first: $orch and $fake"

tmp=$(mktemp -d /tmp/orch-bench.XXXXXX)
pids=()
orch_pid=
cleanup() {
        for p in "${pids[@]}" $orch_pid; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

wait_up() { # url: answers at all (the fake upstream has no health route)
        for _ in $(seq 50); do
                curl -s -o /dev/null "$1" && return 0
                sleep 0.1
        done
        die "$1 did not come up"
}

# start_orch NLP_URL: the orchestrator with every service on the fake upstream but nlp.
start_orch() {
        if [ -n "$orch_pid" ]; then
                kill "$orch_pid"
                wait "$orch_pid" 2>/dev/null || true
        fi
        # No result cache: every request is the same, and each must reach the service.
        ORCHESTRATOR_LISTEN="127.0.0.1:$port" ORCH_DB_PATH="$tmp/orchestrator.db" LOG_LEVEL=warning ORCH_AUTH=off \
                ORCH_CACHE_MAX_BYTES=0 \
                HTTP_THREADS=${ORCH_BENCH_HTTP_THREADS:-64} ORCH_WORKERS=${ORCH_BENCH_WORKERS:-32} \
                LLM_SERVICE_URL=$up VISION_SERVICE_URL=$up NLP_SERVICE_URL=$1 DATA_PROCESSOR_URL=$up "$orch" &
        orch_pid=$!
        wait_up "http://127.0.0.1:$port/health/live"
}

"$fake" "127.0.0.1:$up_port" &
pids+=($!)
up="http://127.0.0.1:$up_port"
wait_up "$up/health/live"
start_orch "$up"

write_lua() { # file body
        cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
        io.write(string.format("RESULT %.1f %.1f %.1f %d %d\n", latency:percentile(50), latency:percentile(99),
                summary.requests / (summary.duration / 1e6), summary.errors.status + summary.errors.connect +
                summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end
LUA
}

run() { # lua url connections -> "p50_us p99_us rps errors requests"
        local threads=$(($3 < 2 ? 1 : 2))
        wrk -t"$threads" -c"$3" -d"${secs}s" -s "$1" "$2" | awk '/^RESULT/ { print $2, $3, $4, $5, $6 }'
}

cpu_ticks() { # the orchestrator's user + system CPU so far, in clock ticks
        awk '{ print $14 + $15 }' "/proc/$orch_pid/stat"
}

switches() { # the context switches of the orchestrator's threads so far
        cat "/proc/$orch_pid/task/"*/status 2>/dev/null | awk '/ctxt_switches/ { n += $2 } END { print n }'
}

# table LUA DIRECT_URL: the rows for 1 and 32 connections, direct vs via /ai/nlp/process,
# then the orchestrator's CPU and context switches per request in the via runs (which no
# load elsewhere inflates the way it does wall-clock latency).
table() {
        local via="http://127.0.0.1:$port/ai/nlp/process" cpu="" t0 t1 s0 s1

        # Warm both paths (connections, SQLite pages).
        run "$1" "$2" 4 >/dev/null
        run "$1" "$via" 4 >/dev/null
        echo "| connections | direct p50 (µs) | via orchestrator p50 (µs) | added p50 (µs) | direct p99 (µs) | via p99 (µs) | added p99 (µs) | direct req/s | via req/s | ratio |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        for c in 1 32; do
                read -r d50 d99 drps derr _ < <(run "$1" "$2" "$c")
                t0=$(cpu_ticks) s0=$(switches)
                read -r o50 o99 orps oerr on < <(run "$1" "$via" "$c")
                t1=$(cpu_ticks) s1=$(switches)
                cpu="$cpu${cpu:+, }$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$on" -v c="$c" \
                        -v s="$((s1 - s0))" 'BEGIN { printf "%.0f µs and %.1f context switches at %d connection%s",
                                t * 1e6 / hz / n, s / n, c, (c > 1 ? "s" : "") }')"
                awk -v c="$c" -v d50="$d50" -v d99="$d99" -v drps="$drps" -v o50="$o50" -v o99="$o99" -v orps="$orps" \
                        'BEGIN { printf "| %d | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f%% |\n",
                                c, d50, o50, o50 - d50, d99, o99, o99 - d99, drps, orps, 100 * orps / drps }'
                { [ "$derr" = 0 ] && [ "$oerr" = 0 ]; } || echo "(errors: direct $derr, orchestrator $oerr)"
        done
        echo
        echo "Orchestrator per request (CPU: user + system; context switches of all its threads; /proc): $cpu."
}

stored() { # the completed jobs the orchestrator has stored
        curl -s "http://127.0.0.1:$port/metrics" | awk '/^orch_jobs\{status="completed"\}/ { print $2 }'
}

echo "load before: $(uptime)"
echo
echo "## 1. Orchestrator overhead: fake upstream, no work (loopback, ${secs}s per run, wrk)"
echo
write_lua "$tmp/fake.lua" '{"text":"benchmark text","task":"tokenize"}'
table "$tmp/fake.lua" "$up/process"
echo
echo "Jobs stored (completed) so far: $(stored)."

if [ -x "$nlp" ]; then
        NLP_LISTEN="127.0.0.1:$nlp_port" NLP_VADER_LEXICON="$nlp_data/vader_lexicon.txt" \
                NLP_TEXTCAT_CONF="$nlp_data/fpdb.conf" LOG_LEVEL=warning HTTP_THREADS=64 "$nlp" &
        pids+=($!)
        wait_up "http://127.0.0.1:$nlp_port/health/live"
        start_orch "http://127.0.0.1:$nlp_port"
        echo
        echo "## 2. A cheap real task: nlp sentiment (VADER, language auto) on a 90-byte text"
        echo
        write_lua "$tmp/nlp.lua" \
                '{"text":"The food was absolutely GREAT, but the service was slow!! Still, I would go back tomorrow.","task":"sentiment"}'
        table "$tmp/nlp.lua" "http://127.0.0.1:$nlp_port/process"
        echo
        echo "Jobs stored (completed) so far: $(stored)."
else
        echo
        echo "(nlp service not built at $nlp: the real-task table is skipped)"
fi
echo
echo "Synchronous jobs per second at 32 connections = the via req/s above: each request is a job"
echo "stored in SQLite (WAL, synchronous=NORMAL) with its outcome before the answer is sent."
echo "load after: $(uptime)"
