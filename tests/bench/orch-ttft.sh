#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Time to first token the orchestrator adds on its /v1 API, host-run: the fake backend
# (tests/llm/fake_backend.py, OpenAI SSE), the real llm binary in front of it and the real
# orchestrator in front of that (bearer auth on, an operator token), all on 127.0.0.1;
# the same streamed request direct to the llm and through the orchestrator, in turn
# (tests/bench/orch_ttft.py). Target: <= 1 ms added at p50.
# Usage: tests/bench/orch-ttft.sh [BUILD_DIR] [N]   (default $AI_SEMBLE_BUILD or build, 1000)
# Ports: ORCH_TTFT_PORT (18740) for the orchestrator, +1 the llm, +2 the fake backend.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${AI_SEMBLE_BUILD:-build}}
n=${2:-1000}
port=${ORCH_TTFT_PORT:-18740}
lport=$((port + 1))
fport=$((port + 2))
work=$(mktemp -d /tmp/orch-ttft.XXXXXX)
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
        rm -rf "$work"
}
trap cleanup EXIT
for b in services/llm/ai-semble-llm services/orchestrator/ai-semble-orchestrator services/orchestrator/ai-semble-token; do
        [ -x "$build/$b" ] || {
                echo "no $build/$b: build first" >&2
                exit 1
        }
done

/usr/bin/python3 "$here/../llm/fake_backend.py" --port "$fport" >/dev/null &
pids+=($!)
cat >"$work/backends.json" <<JSON
{"backends": [{"name": "fake", "kind": "openai", "base_url": "http://127.0.0.1:$fport/v1",
  "models": [{"name": "echo-a", "context_window": 8192}]}]}
JSON
LOG_LEVEL=warning LLM_LISTEN=127.0.0.1:$lport LLM_BACKENDS_FILE="$work/backends.json" \
        "$build/services/llm/ai-semble-llm" 2>"$work/llm.log" &
pids+=($!)
head -c 48 /dev/urandom | base64 >"$work/jwt.secret"
LOG_LEVEL=warning ORCHESTRATOR_LISTEN=127.0.0.1:$port ORCH_DB_PATH="$work/orch.db" \
        ORCH_JWT_SECRET_FILE="$work/jwt.secret" LLM_SERVICE_URL="http://127.0.0.1:$lport" \
        VISION_SERVICE_URL=http://127.0.0.1:1 NLP_SERVICE_URL=http://127.0.0.1:1 DATA_PROCESSOR_URL=http://127.0.0.1:1 \
        "$build/services/orchestrator/ai-semble-orchestrator" 2>"$work/orch.log" &
pids+=($!)
for u in "http://127.0.0.1:$lport/health/live" "http://127.0.0.1:$port/health/live"; do
        for _ in $(seq 100); do
                curl -sf -o /dev/null "$u" && break
                sleep 0.05
        done
done
token=$("$build/services/orchestrator/ai-semble-token" --role operator --sub bench --secret-file "$work/jwt.secret")
echo "# $(date -u +%F) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); build $build"
/usr/bin/python3 "$here/orch_ttft.py" "$lport" "$port" "$token" "$n"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
