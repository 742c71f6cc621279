#!/bin/bash
# SPDX-License-Identifier: MIT
# Real clients: installs the official `openai` and `@anthropic-ai/sdk` npm packages from the
# npm registry into a fresh scratch directory (its own npm cache too: nothing left by an
# earlier run is used, nothing is committed), starts the fake backends and the llm service
# on the host on ephemeral 127.0.0.1 ports, and runs client.mjs against /v1 (chat, tools,
# structured output, embeddings) and anthropic.mjs against /v1/messages, each with a
# backend of every kind behind the gateway.
# Usage: tests/llm-client/run.sh [BUILD_DIR]   (default /tmp/build-llm)
# Exit 77 (skip) when node/npm are not installed or the registry cannot be reached.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${AI_SEMBLE_BUILD:-/tmp/build-llm}}
bin=$build/services/llm/ai-semble-llm
openai_version=${OPENAI_NPM_VERSION:-7}
anthropic_version=${ANTHROPIC_NPM_VERSION:-1}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node/npm not installed: skipped"
        exit 77
fi
[ -x "$bin" ] || {
        echo "no $bin: build first"
        exit 1
}

work=$(mktemp -d /tmp/llm-client.XXXXXX)
pids=()
# shellcheck disable=SC2317 # called through the trap
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/npm"
echo '{"name":"ai-semble-llm-client","private":true,"type":"module"}' >"$work/npm/package.json"
(cd "$work/npm" && npm install --no-audit --no-fund --silent --cache "$work/npm-cache" \
        "openai@$openai_version" "@anthropic-ai/sdk@$anthropic_version") || {
        echo "npm install of openai and @anthropic-ai/sdk failed (registry unreachable?): skipped"
        exit 77
}
cp "$here/client.mjs" "$here/anthropic.mjs" "$here/tap.mjs" "$work/npm/"

/usr/bin/python3 "$here/../llm/fake_backend.py" --port 0 >"$work/fake.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/fake.port" ] && break; sleep 0.1; done
fport=$(head -n1 "$work/fake.port")
echo "sk-ant-fake" >"$work/anthropic.key"
# Per kind: an echo model, one that calls tools, one that answers structured output, and
# an embeddings model where the kind has them; the fake picks its behaviour by name.
cat >"$work/backends.json" <<JSON
{"backends": [
  {"name": "fake-openai", "kind": "openai", "base_url": "http://127.0.0.1:$fport/v1",
   "models": [{"name": "echo-node", "context_window": 8192}, {"name": "fault-reset", "auto": false},
              {"name": "tool-node", "upstream_name": "tool-a", "auto": false},
              {"name": "json-node", "upstream_name": "json-a", "auto": false},
              {"name": "embed-node", "upstream_name": "embed-a", "embeddings": true}]},
  {"name": "fake-ollama", "kind": "ollama", "base_url": "http://127.0.0.1:$fport",
   "models": [{"name": "echo-ollama", "context_window": 4096},
              {"name": "tool-ollama", "upstream_name": "tool-o", "auto": false},
              {"name": "json-ollama", "upstream_name": "json-o", "auto": false},
              {"name": "embed-ollama", "upstream_name": "embed-o", "embeddings": true, "auto": false}]},
  {"name": "fake-anthropic", "kind": "anthropic", "base_url": "http://127.0.0.1:$fport",
   "api_key_file": "$work/anthropic.key",
   "models": [{"name": "echo-claude", "context_window": 200000, "auto": false},
              {"name": "tool-claude", "upstream_name": "tool-c", "auto": false},
              {"name": "json-claude", "upstream_name": "json-c", "auto": false}]}
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
version() { node -p "require('$work/npm/node_modules/$1/package.json').version"; }
echo "openai npm $(version openai), @anthropic-ai/sdk npm $(version @anthropic-ai/sdk) against 127.0.0.1:$port"
rc=0
for kind in node ollama claude; do
        echo "# openai client, models *-$kind"
        node "$work/npm/client.mjs" "http://127.0.0.1:$port/v1" "$kind" || rc=1
        echo "# anthropic client, models *-$kind"
        node "$work/npm/anthropic.mjs" "http://127.0.0.1:$port" "$kind" || rc=1
done
exit $rc
