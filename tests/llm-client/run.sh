#!/bin/bash
# SPDX-License-Identifier: MIT
# Real clients: installs the official `openai` and `@anthropic-ai/sdk` npm packages from the
# npm registry into a fresh scratch directory (its own npm cache too: nothing left by an
# earlier run is used, nothing is committed), starts the fake backends and the llm service
# on the host on ephemeral 127.0.0.1 ports, and runs client.mjs against /v1 (chat, tools,
# structured output, embeddings) and anthropic.mjs against /v1/messages, each with a
# backend of every kind behind the gateway; then both again through the orchestrator's
# /v1 (its bearer auth on, an operator token as the API key), streamed and not.
# Usage: tests/llm-client/run.sh [BUILD_DIR]   (default /tmp/build-llm)
# Exit 77 (skip) when node/npm are not installed or the registry cannot be reached.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${AI_SEMBLE_BUILD:-/tmp/build-llm}}
bin=$build/services/llm/ai-semble-llm
orch=$build/services/orchestrator/ai-semble-orchestrator
mint=$build/services/orchestrator/ai-semble-token
openai_version=${OPENAI_NPM_VERSION:-7}
anthropic_version=${ANTHROPIC_NPM_VERSION:-1}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "node/npm not installed: skipped"
        exit 77
fi
for b in "$bin" "$orch" "$mint"; do
        [ -x "$b" ] || {
                echo "no $b: build first"
                exit 1
        }
done

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
# an embeddings model where the kind has them; the fake picks its behaviour by name. Six
# runs call fault-reset: the backend's breaker must not open on them.
cat >"$work/backends.json" <<JSON
{"backends": [
  {"name": "fake-openai", "kind": "openai", "base_url": "http://127.0.0.1:$fport/v1", "allowed_fails": 100,
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
# listening_port LOG: the port a service said it listens on (it was given port 0).
listening_port() {
        local p=
        for _ in $(seq 100); do
                p=$(sed -n 's/.*"msg":"listening on 127.0.0.1:\([0-9]*\)".*/\1/p' "$1")
                [ -n "$p" ] && break
                sleep 0.05
        done
        [ -n "$p" ] || {
                cat "$1"
                exit 1
        }
        echo "$p"
}
port=$(listening_port "$work/llm.log")

# The orchestrator in front of it, with bearer auth: the other services are not there.
head -c 48 /dev/urandom | base64 >"$work/jwt.secret"
ORCHESTRATOR_LISTEN=127.0.0.1:0 ORCH_DB_PATH="$work/orch.db" ORCH_JWT_SECRET_FILE="$work/jwt.secret" \
        LLM_SERVICE_URL="http://127.0.0.1:$port" VISION_SERVICE_URL=http://127.0.0.1:1 \
        NLP_SERVICE_URL=http://127.0.0.1:1 DATA_PROCESSOR_URL=http://127.0.0.1:1 "$orch" 2>"$work/orch.log" &
pids+=($!)
oport=$(listening_port "$work/orch.log")
token=$("$mint" --role operator --sub npm-client --ttl 1h --secret-file "$work/jwt.secret")

version() { node -p "require('$work/npm/node_modules/$1/package.json').version"; }
echo "openai npm $(version openai), @anthropic-ai/sdk npm $(version @anthropic-ai/sdk) against the llm on" \
        "127.0.0.1:$port and the orchestrator on 127.0.0.1:$oport"
rc=0
for kind in node ollama claude; do
        echo "# openai client, models *-$kind"
        node "$work/npm/client.mjs" "http://127.0.0.1:$port/v1" "$kind" || rc=1
        echo "# anthropic client, models *-$kind"
        node "$work/npm/anthropic.mjs" "http://127.0.0.1:$port" "$kind" || rc=1
        echo "# openai client through the orchestrator, models *-$kind"
        node "$work/npm/client.mjs" "http://127.0.0.1:$oport/v1" "$kind" "$token" orchestrator || rc=1
        echo "# anthropic client through the orchestrator, models *-$kind"
        node "$work/npm/anthropic.mjs" "http://127.0.0.1:$oport" "$kind" "$token" orchestrator || rc=1
done
exit $rc
