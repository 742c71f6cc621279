# shellcheck shell=bash
# service-guardrail.sh — the orchestrator's input guardrails against the real pod (sourced
# by run.sh; uses check, expect_*, URL). The pod runs the defaults: pattern sets flag,
# oversized repetition blocks, redaction off.

# POST a JSON body through the door: status in GUARD_STATUS, body in GUARD_BODY.
guard_call() { # path body
        api POST "$1" "$2" || return 1
        GUARD_STATUS=$API_STATUS
        GUARD_BODY=$API_BODY
}

t_guard_flag() {
        local id
        guard_call /ai/nlp/process '{"text":"1 UNION SELECT password FROM users","task":"tokenize"}' ||
                return 1
        echo "$GUARD_STATUS $GUARD_BODY"
        expect_eq "status" 200 "$GUARD_STATUS" || return 1
        jq -e '.guardrails.flagged == ["sql_union"]' <<<"$GUARD_BODY" >/dev/null || return 1
        id=$(jq -r .job_id <<<"$GUARD_BODY")
        expect_eq "stored flags" '["sql_union"]' "$(job_field "$id" '.guardrails.flagged | tojson')"
}
check "guardrail: a flagged prompt runs and its job records the rule" t_guard_flag

t_guard_block() {
        local body
        body=$(jq -cn --arg t "$(printf 'ab%.0s' {1..600})" '{text: $t, task: "tokenize"}')
        guard_call /ai/nlp/process "$body" || return 1
        echo "$GUARD_STATUS $GUARD_BODY"
        expect_eq "status" 422 "$GUARD_STATUS" &&
                expect_eq "rule" repetition_oversized "$(jq -r .rule <<<"$GUARD_BODY")" &&
                expect_eq "field" text "$(jq -r '.errors[0].field' <<<"$GUARD_BODY")"
}
check "guardrail: oversized repetition is refused with 422 naming the rule" t_guard_block

t_guard_clean() {
        guard_call /ai/nlp/process '{"text":"A quiet afternoon in the park.","task":"tokenize"}' || return 1
        expect_eq "status" 200 "$GUARD_STATUS" &&
                jq -e 'has("guardrails") | not' <<<"$GUARD_BODY" >/dev/null
}
check "guardrail: a clean prompt carries no guardrails member" t_guard_clean

t_guard_metrics() {
        curl -sf -m 10 "$URL/metrics" | grep -E '^orch_guardrail_hits_total\{rule="repetition_oversized",action="block"\} [1-9]'
}
check "guardrail: orch_guardrail_hits_total counts hits by rule and action" t_guard_metrics
