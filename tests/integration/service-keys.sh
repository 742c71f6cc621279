# shellcheck shell=bash
# service-keys.sh — API keys, usage and budgets in the real pod (sourced by run.sh): keys
# made with `deploy.sh key create` and revoked with `deploy.sh key revoke`, used through
# the published port against the llm with tests/llm/fake_backend.py as its backend (inside
# the pod's network, as service-backends.sh does); the usage GET /usage reports is the sum
# of what the answers said; a spent budget and a revoked key are refused before any job.
# Everything is restored afterwards.

KEYS_DIR=$(mktemp -d /tmp/ai-semble-it-keys.XXXXXX)
KEYS_PORT=18991
KEYS_FAKE_PID=
KEYS_RUN=$$ # key names are unique forever (revoked ones included): one set per run
KEYS_CHAT='{"model":"echo-openai","messages":[{"role":"user","content":"Say hello"}]}'

keys_code() { # key method path [body] → HTTP status (headers in $KEYS_DIR/head, body in $KEYS_DIR/body)
        local args=(-s -m 30 -o "$KEYS_DIR/body" -D "$KEYS_DIR/head" -w '%{http_code}' -X "$2"
                -H "Authorization: Bearer $1")
        [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
        curl "${args[@]}" "$URL$3"
}

keys_newest_job() { # the id of the newest job in the store (the admin sees every job)
        api_expect 200 GET '/jobs?limit=1' >/dev/null && jq -r '.jobs[0].job_id' <<<"$API_BODY"
}

t_keys_backend() {
        local r
        fake_backend_openai "$KEYS_PORT" "$KEYS_DIR/fake.log" it-keys-backends.json
        r=$?
        KEYS_FAKE_PID=$FAKE_BACKEND_PID
        return $r
}
check "keys: the llm gets an OpenAI-protocol fake backend inside the pod" t_keys_backend

t_keys_create_list() {
        local out key
        out=$("$DEPLOY" key create --name "it-keys-$KEYS_RUN" --budget-month 1000000 --rpm 100) || return 1
        jq -r .key <<<"$out" >"$KEYS_DIR/key" && jq -r .id <<<"$out" >"$KEYS_DIR/id" || return 1
        key=$(cat "$KEYS_DIR/key")
        expect_match "the key's form" '^ais_[A-Za-z0-9_-]{43}$' "$key" &&
                expect_eq "its principal" "key:it-keys-$KEYS_RUN" "$(jq -r .principal <<<"$out")" &&
                api_expect 200 GET /keys || return 1
        jq -e --arg n "it-keys-$KEYS_RUN" '.keys[] | select(.name == $n) | .role == "operator" and .rpm == 100
                and .revoked == false' <<<"$API_BODY" >/dev/null || { echo "not listed: $API_BODY"; return 1; }
        if grep -qF -- "${key#ais_}" <<<"$API_BODY$("$DEPLOY" key list)"; then
                echo "GET /keys shows the key"
                return 1
        fi
}
check "keys: deploy.sh key create shows the key once; GET /keys and key list never do" t_keys_create_list

t_keys_usage() {
        local key used streamed
        key=$(cat "$KEYS_DIR/key") || return 1
        expect_eq "a chat with the key" 200 "$(keys_code "$key" POST /v1/chat/completions "$KEYS_CHAT")" || return 1
        used=$(jq -e '.usage.prompt_tokens + .usage.completion_tokens' "$KEYS_DIR/body") || return 1
        expect_eq "streamed" 200 "$(keys_code "$key" POST /v1/chat/completions \
                '{"model":"echo-openai","stream":true,"messages":[{"role":"user","content":"Say hi"}]}')" || return 1
        streamed=$(sed -n 's/^data: //p' "$KEYS_DIR/body" | grep -v '^\[DONE\]' |
                jq -s '[.[] | select(.usage) | .usage.prompt_tokens + .usage.completion_tokens] | last') || return 1
        echo "answers said $used and $streamed tokens"
        expect_eq "GET /usage" 200 "$(keys_code "$key" GET /usage)" &&
                expect_eq "usage is what the answers said" "$((used + streamed))" \
                        "$(jq .totals.total_tokens "$KEYS_DIR/body")" &&
                expect_eq "as the key's principal" "key:it-keys-$KEYS_RUN" "$(jq -r .principal "$KEYS_DIR/body")" &&
                expect_match "counted per key in /metrics" \
                        "orch_key_tokens_total\\{key=\"it-keys-$KEYS_RUN\",kind=\"completion\"\\} [1-9]" \
                        "$(curl -s -m 10 -H "Authorization: Bearer $IT_TOKEN" "$URL/metrics")"
}
check "keys: a key's chats (JSON and streamed) show in GET /usage as the answers reported them, and in /metrics" t_keys_usage

t_keys_budget() {
        local out key before
        out=$("$DEPLOY" key create --name "it-keys-budget-$KEYS_RUN" --budget-day 1) || return 1
        key=$(jq -r .key <<<"$out")
        expect_eq "the first chat" 200 "$(keys_code "$key" POST /v1/chat/completions "$KEYS_CHAT")" || return 1
        before=$(keys_newest_job) || return 1
        expect_eq "the budget is spent" 429 "$(keys_code "$key" POST /v1/chat/completions "$KEYS_CHAT")" &&
                expect_eq "the limit named" budget_tokens_day "$(jq -r .limit "$KEYS_DIR/body")" &&
                expect_match "Retry-After" '^[Rr]etry-[Aa]fter: [1-9]' "$(cat "$KEYS_DIR/head")" &&
                expect_match "RateLimit-Limit" '^[Rr]ate[Ll]imit-[Ll]imit: 1' "$(cat "$KEYS_DIR/head")" &&
                expect_match "RateLimit-Remaining" '^[Rr]ate[Ll]imit-[Rr]emaining: 0' "$(cat "$KEYS_DIR/head")" &&
                expect_match "RateLimit-Reset" '^[Rr]ate[Ll]imit-[Rr]eset: [1-9]' "$(cat "$KEYS_DIR/head")" &&
                expect_eq "no job was stored" "$before" "$(keys_newest_job)"
}
check "keys: a spent day budget is 429 with Retry-After and RateLimit-*, and stores no job" t_keys_budget

t_keys_viewer() {
        local key
        key=$("$DEPLOY" key create --name "it-keys-viewer-$KEYS_RUN" --role viewer | jq -r .key) || return 1
        expect_eq "a viewer key may not chat" 403 "$(keys_code "$key" POST /v1/chat/completions "$KEYS_CHAT")" &&
                expect_eq "but reads its usage" 200 "$(keys_code "$key" GET /usage)" &&
                expect_eq "and may not make keys" 403 "$(keys_code "$key" POST /keys '{"name":"x"}')"
}
check "keys: a viewer key reads but cannot submit or manage keys" t_keys_viewer

t_keys_revoke() {
        local key id before
        key=$(cat "$KEYS_DIR/key") && id=$(cat "$KEYS_DIR/id") || return 1
        "$DEPLOY" key revoke "$id" | jq -e '.revoked == true' >/dev/null || return 1
        before=$(keys_newest_job) || return 1
        expect_eq "revoked: 401" 401 "$(keys_code "$key" POST /v1/chat/completions "$KEYS_CHAT")" &&
                expect_eq "no job was stored" "$before" "$(keys_newest_job)" &&
                expect_eq "an unknown key: 401" 401 "$(keys_code "ais_$(head -c 32 /dev/urandom | base64 -w0 |
                        tr '+/' '-_' | tr -d = | cut -c1-43)" GET /usage)" &&
                api_expect 200 GET /keys &&
                jq -e --arg id "$id" '.keys[] | select(.id == $id) | .revoked' <<<"$API_BODY" >/dev/null
}
check "keys: deploy.sh key revoke refuses the key at once (401, no job)" t_keys_revoke

t_keys_restore() {
        local models
        [ -n "$KEYS_FAKE_PID" ] && kill "$KEYS_FAKE_PID" 2>/dev/null
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') && rm -f "$models/it-keys-backends.json"
        rm -rf "$KEYS_DIR"
        pod_env_pop && restart_units ai-semble-llm.service &&
                api_expect 503 POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}'
}
check "keys: the llm back to its configuration (no backend: 503)" t_keys_restore
