#!/usr/bin/env bash
# tests/hosts/smoke.sh — one job through the published port of a pod started by
# deploy.sh, then the same job read back from the store: what a user tries first. Run from
# the repository's top directory; with auth on it mints a token with deploy.sh token.
set -euo pipefail
url=${AI_SEMBLE_URL:-http://127.0.0.1:8080}
auth=()
if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$url/jobs?limit=1")" = 401 ]; then
        auth=(-H "Authorization: Bearer $(./scripts/deploy.sh token --role operator --sub smoke --ttl 10m)")
fi
reply=$(curl -sS -f -m 30 "${auth[@]}" -X POST "$url/ai/nlp/process" -H 'Content-Type: application/json' \
        -d '{"text": "I love this pod, it works wonderfully.", "task": "sentiment"}')
echo "$reply"
id=$(jq -er 'select(.status == "completed" and .result.results.label == "positive") | .job_id' <<<"$reply")
stored=$(curl -sS -f -m 10 "${auth[@]}" "$url/jobs/$id")
echo "$stored"
jq -e --arg id "$id" '.job_id == $id and .status == "completed"' <<<"$stored" >/dev/null
