#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# LLM gateway benchmark on the host: the fake backend (tests/llm/fake_backend.py) and
# the service binary on 127.0.0.1; prints added latency p50/p99, added time to first
# token, and RSS with 256 concurrent streams (HTTP_THREADS=256, the configured maximum:
# a running stream holds a handler thread).
# Usage: tests/bench/llm.sh [BUILD_DIR] [N]   (default /tmp/build-llm, 1000 requests)
# Ports: LLM_BENCH_PORT (19481) for the service, LLM_BENCH_FAKE_PORT (19490) for the fake.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-/tmp/build-llm}
n=${2:-1000}
port=${LLM_BENCH_PORT:-19481}
fport=${LLM_BENCH_FAKE_PORT:-19490}
work=$(mktemp -d /tmp/llm-bench.XXXXXX)
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$here/../llm/fake_backend.py" --port "$fport" >/dev/null &
pids+=($!)
cat >"$work/backends.json" <<JSON
{"backends": [{"name": "fake", "kind": "openai", "base_url": "http://127.0.0.1:$fport/v1",
  "models": [{"name": "echo-a", "context_window": 8192}, {"name": "long-drip", "context_window": 8192},
             {"name": "tool-a", "context_window": 8192}]}]}
JSON
LOG_LEVEL=warning HTTP_THREADS=256 LLM_LISTEN=127.0.0.1:$port LLM_BACKENDS_FILE="$work/backends.json" \
        "$build/services/llm/ai-semble-llm" 2>"$work/llm.log" &
svc=$!
pids+=("$svc")
for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && curl -sf -o /dev/null -X POST \
                "http://127.0.0.1:$fport/_reset" -d '{}' && break
        sleep 0.05
done
echo "# $(date -u +%F) $(nproc) cores, $(uname -r); build $build"
/usr/bin/python3 "$here/llm_bench.py" "$port" "$fport" "$svc" "$n"
