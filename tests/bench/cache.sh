#!/usr/bin/env bash
# The result cache on loopback, host-run (no pod): requests per second of one repeated OCR
# request (vision extract_text on a small rendered line of text) through the orchestrator
# with the cache (ORCH_CACHE_MAX_BYTES=64M: after the first, every answer is a hit) and
# without it (ORCH_CACHE_MAX_BYTES=0: every request is an OCR by the real vision service).
# Both orchestrators run at once in front of one vision service; the runs alternate, ROUNDS
# of each, and the medians are printed side by side with the load they were measured under.
# Usage: tests/bench/cache.sh [seconds per run] [rounds]   (default 5 and 5; needs wrk and
# ImageMagick's convert; AI_SEMBLE_BUILD = a release build). Ports: CACHE_BENCH_PORT (19100)
# and the next two.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/common.sh
. "$here/../../scripts/lib/common.sh"

secs=${1:-5}
rounds=${2:-5}
conns=${CACHE_BENCH_CONNS:-4}
port=${CACHE_BENCH_PORT:-19100}
orch="$AI_SEMBLE_BUILD/services/orchestrator/ai-semble-orchestrator"
vision="$AI_SEMBLE_BUILD/services/vision/ai-semble-vision"
for t in wrk convert curl; do
        command -v "$t" >/dev/null || die "$t is missing"
done
{ [ -x "$orch" ] && [ -x "$vision" ]; } || die "build first: $orch and $vision"

tmp=$(mktemp -d /tmp/cache-bench.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$tmp"
}
trap cleanup EXIT

wait_up() { # url
        for _ in $(seq 100); do
                curl -sf -o /dev/null "$1" && return 0
                sleep 0.1
        done
        die "$1 did not come up"
}

VISION_LISTEN="127.0.0.1:$((port + 2))" LOG_LEVEL=warning "$vision" 2>>"$tmp/vision.log" &
pids+=($!)
wait_up "http://127.0.0.1:$((port + 2))/health/live"
start_orch() { # port cache-bytes
        ORCHESTRATOR_LISTEN="127.0.0.1:$1" ORCH_DB_PATH="$tmp/orch-$1.db" LOG_LEVEL=warning ORCH_AUTH=off \
                ORCH_CACHE_MAX_BYTES=$2 ORCH_CACHE_TTL=10m VISION_SERVICE_URL="http://127.0.0.1:$((port + 2))" \
                LLM_SERVICE_URL=http://127.0.0.1:1 NLP_SERVICE_URL=http://127.0.0.1:1 \
                DATA_PROCESSOR_URL=http://127.0.0.1:1 "$orch" 2>>"$tmp/orch-$1.log" &
        pids+=($!)
        wait_up "http://127.0.0.1:$1/health/live"
}
start_orch "$port" 64M
start_orch "$((port + 1))" 0

convert -size 640x80 xc:white -font DejaVu-Sans -pointsize 32 -fill black \
        -annotate +20+52 "The cache answers this once." "$tmp/line.png"
printf '{"task":"extract_text","image_base64":"%s"}' "$(base64 -w0 "$tmp/line.png")" >"$tmp/body.json"
cat >"$tmp/req.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$tmp/body.json", "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %d %d\n", summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout,
    latency:percentile(50)))
end
LUA
# Each answers once before the runs (the cached one then holds the entry).
for p in "$port" "$((port + 1))"; do
        curl -sf -o /dev/null -H 'Content-Type: application/json' --data-binary @"$tmp/body.json" \
                "http://127.0.0.1:$p/ai/vision/analyze" || die "the OCR request failed on port $p"
done

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
run() { # port → "req/s errors p50_us"
        wrk -t2 -c"$conns" -d"${secs}s" -s "$tmp/req.lua" "http://127.0.0.1:$1/ai/vision/analyze" |
                awk '/^RESULT/ { print $2, $3, $4 }'
}

echo "POST /ai/vision/analyze extract_text (a 640x80 line of text), $conns connections, ${secs} s a run," \
        "$rounds rounds alternated; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) before"
with=() without=() with_p50=() without_p50=() errors=0
for i in $(seq "$rounds"); do
        read -r rps err p50 <<<"$(run "$port")"
        with+=("$rps") with_p50+=("$p50") errors=$((errors + err))
        read -r rps err p50 <<<"$(run "$((port + 1))")"
        without+=("$rps") without_p50+=("$p50") errors=$((errors + err))
        echo "round $i: with cache ${with[-1]} req/s, without ${without[-1]} req/s" >&2
done
m_with=$(printf '%s\n' "${with[@]}" | median)
m_without=$(printf '%s\n' "${without[@]}" | median)
echo
echo "| | req/s (median) | p50 latency (median) |"
echo "|---|---|---|"
echo "| without cache (ORCH_CACHE_MAX_BYTES=0) | $m_without | $(printf '%s\n' "${without_p50[@]}" | median) µs |"
echo "| with cache (every answer a hit) | $m_with | $(printf '%s\n' "${with_p50[@]}" | median) µs |"
echo
echo "speed-up $(awk -v a="$m_with" -v b="$m_without" 'BEGIN { printf "%.1f", a / b }')x;" \
        "errors $errors; load $(cut -d' ' -f1-3 /proc/loadavg) after"
hits=$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1 == "orch_cache_hits_total" { print $2 }')
echo "the cached orchestrator answered ${hits:-0} hits"
[ "$errors" -eq 0 ] || die "$errors requests failed"
