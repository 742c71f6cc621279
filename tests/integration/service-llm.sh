# shellcheck shell=bash
# The llm service inside the running pod (sourced by run.sh; uses check, in_pod_net,
# expect_match). The pod has its own network namespace, so no fake backend on the host
# can reach it: the deployed pod runs unconfigured, and these checks pin down what that
# means — an honest 503 naming the variable, the OpenAI model list, the routes and their
# validation. Backend traffic is tested on the host (tests/llm/test_gateway.py).
LLM_POD_URL=http://127.0.0.1:8081

t_llm_unconfigured_503() {
        local h body
        body=$(mktemp)
        h=$(in_pod_net curl -s -D - -o "$body" -H 'Content-Type: application/json' \
                -d '{"prompt":"hello","model":"auto"}' "$LLM_POD_URL/completion") || return 1
        expect_match "status" '^HTTP/1.1 503' "$h" || return 1
        expect_match "type" 'Content-Type: application/problem\+json' "$h" || return 1
        jq -e '.status == 503 and (.detail | contains("LLM_BACKENDS_FILE"))' "$body" >/dev/null || {
                cat "$body"
                return 1
        }
        h=$(in_pod_net curl -s -D - -o "$body" -H 'Content-Type: application/json' \
                -d '{"model":"auto","messages":[{"role":"user","content":"hi"}],"stream":true}' \
                "$LLM_POD_URL/v1/chat/completions") || return 1
        expect_match "streaming request, unconfigured" '^HTTP/1.1 503' "$h"
}
check "llm: unconfigured, /completion and /v1/chat/completions answer 503 naming LLM_BACKENDS_FILE" \
        t_llm_unconfigured_503

t_llm_models() {
        local out
        out=$(in_pod_net curl -sf "$LLM_POD_URL/v1/models") || return 1
        jq -e '.object == "list" and (.data | type == "array")' <<<"$out" >/dev/null || {
                echo "$out"
                return 1
        }
}
check "llm: GET /v1/models answers an OpenAI model list" t_llm_models

t_llm_validation() {
        local code
        code=$(in_pod_net curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -d '{"invalid":"payload"}' "$LLM_POD_URL/completion") || return 1
        expect_match "invalid payload" '^422$' "$code" || return 1
        code=$(in_pod_net curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -d '{"prompt":' "$LLM_POD_URL/chat") || return 1
        expect_match "malformed JSON" '^400$' "$code"
}
check "llm: invalid payloads get 422/400 before any backend question" t_llm_validation

t_llm_metrics() {
        local m
        m=$(in_pod_net curl -sf "$LLM_POD_URL/metrics") || return 1
        for f in ai_semble_llm_requests_total ai_semble_llm_tokens_total ai_semble_llm_time_to_first_token_seconds \
                ai_semble_llm_request_duration_seconds ai_semble_llm_backend_up ai_semble_llm_fallbacks_total; do
                grep -q "^# TYPE $f " <<<"$m" || {
                        echo "$f missing"
                        return 1
                }
        done
}
check "llm: /metrics declares the ai_semble_llm_* families" t_llm_metrics
