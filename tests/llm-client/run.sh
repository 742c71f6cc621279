#!/bin/bash
# SPDX-License-Identifier: MIT
# A real client: installs the official `openai` npm package (from the npm registry, into
# a scratch directory, never committed), starts the fake backends and the llm service on
# the host on ephemeral 127.0.0.1 ports, and runs client.mjs against /v1.
# Usage: tests/llm-client/run.sh [BUILD_DIR]   (default /tmp/build-llm)
# Exit 77 (skip) when node/npm or the registry are unavailable.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${AI_SEMBLE_BUILD:-/tmp/build-llm}}
bin=$build/services/llm/ai-semble-llm
openai_version=${OPENAI_NPM_VERSION:-7}
cache=${LLM_CLIENT_DIR:-/tmp/ai-semble-llm-client-$openai_version}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node/npm not installed: skipped"
        exit 77
fi
[ -x "$bin" ] || {
        echo "no $bin: build first"
        exit 1
}

mkdir -p "$cache"
if [ ! -d "$cache/node_modules/openai" ]; then
        (cd "$cache" && [ -f package.json ] || echo '{"name":"ai-semble-llm-client","private":true,"type":"module"}' >package.json)
        (cd "$cache" && npm install --no-audit --no-fund --silent "openai@$openai_version") || {
                echo "npm install openai failed (registry unreachable?): skipped"
                exit 77
        }
fi
cp "$here/client.mjs" "$cache/client.mjs"

work=$(mktemp -d /tmp/llm-client.XXXXXX)
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$work"
}
trap cleanup EXIT

/usr/bin/python3 "$here/../llm/fake_backend.py" --port 0 >"$work/fake.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
fport=$(head -n1 "$work/fake.port")
cat >"$work/backends.json" <<JSON
{"backends": [
  {"name": "fake-openai", "kind": "openai", "base_url": "http://127.0.0.1:$fport/v1",
   "models": [{"name": "echo-node", "context_window": 8192}, {"name": "fault-reset", "auto": false}]},
  {"name": "fake-ollama", "kind": "ollama", "base_url": "http://127.0.0.1:$fport",
   "models": [{"name": "echo-ollama", "context_window": 4096}]}
]}
JSON
LLM_LISTEN=127.0.0.1:0 LLM_BACKENDS_FILE="$work/backends.json" "$bin" 2>"$work/llm.log" &
pids+=($!)
port=
for _ in $(seq 100); do
        port=$(sed -n 's/.*"msg":"listening on 127.0.0.1:\([0-9]*\)".*/\1/p' "$work/llm.log")
        [ -n "$port" ] && break
        sleep 0.05
done
[ -n "$port" ] || {
        cat "$work/llm.log"
        exit 1
}
echo "openai npm $(node -p "require('$cache/node_modules/openai/package.json').version") against 127.0.0.1:$port"
rc=0
for model in echo-node echo-ollama; do
        echo "# model $model"
        node "$cache/client.mjs" "http://127.0.0.1:$port/v1" "$model" || rc=1
done
exit $rc
