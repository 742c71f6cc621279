# shellcheck shell=bash
# service-cache.sh — the orchestrator's result cache in the real pod (sourced by run.sh),
# through the published port with the pod's default ORCH_CACHE_MAX_BYTES and ORCH_CACHE_TTL:
# a pure task repeated is a miss then a hit (the hit a stored job marked cached, no second
# call to the service), Cache-Control: no-cache bypasses it, an asynchronous repeat is done
# at once, an llm call is never cached, and the orch_cache_* metrics move with each. Every
# input carries this run's nonce: nothing depends on what an earlier run left in the cache.

CACHE_NONCE="$$-$(date +%s%N)"
CACHE_BODY="{\"task\":\"sentiment\",\"text\":\"What a splendid cache $CACHE_NONCE\"}"

cache_metric() { # name → its value in /metrics (0 when absent)
        api_expect 200 GET /metrics >/dev/null || return 1
        awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' <<<"$API_BODY"
}
cache_nlp_calls() { # calls of the nlp service the orchestrator made (one per attempt)
        api_expect 200 GET /metrics >/dev/null || return 1
        awk '$1 == "orch_upstream_latency_seconds_count{service=\"nlp\"}" { v = $2 } END { print v + 0 }' \
                <<<"$API_BODY"
}

t_cache_miss_hit() {
        local misses hits calls miss_id hit_id
        misses=$(cache_metric orch_cache_misses_total) && hits=$(cache_metric orch_cache_hits_total) &&
                calls=$(cache_nlp_calls) || return 1
        api_expect 200 POST /ai/nlp/process "$CACHE_BODY" &&
                expect_eq "the first answer" miss "$(api_header X-Cache)" || return 1
        miss_id=$(jq -r .job_id <<<"$API_BODY")
        api_expect 200 POST /ai/nlp/process "$CACHE_BODY" &&
                expect_eq "the repeat" hit "$(api_header X-Cache)" || return 1
        hit_id=$(jq -r .job_id <<<"$API_BODY")
        echo "miss $miss_id, hit $hit_id"
        printf '%s\n%s\n' "$miss_id" "$hit_id" >"$LOG_DIR/cache-jobs"
        [ "$miss_id" != "$hit_id" ] || { echo "the hit is not a job of its own"; return 1; }
        expect_eq "nlp was called once" "$((calls + 1))" "$(cache_nlp_calls)" &&
                expect_eq "orch_cache_misses_total" "$((misses + 1))" "$(cache_metric orch_cache_misses_total)" &&
                expect_eq "orch_cache_hits_total" "$((hits + 1))" "$(cache_metric orch_cache_hits_total)"
}
check "cache: a repeated nlp sentiment is X-Cache miss then hit, one call to nlp, the counters move" t_cache_miss_hit

t_cache_job() {
        local miss_id hit_id
        { read -r miss_id && read -r hit_id; } <"$LOG_DIR/cache-jobs" || return 1
        expect_eq "the hit's job" "completed true" "$(job_field "$hit_id" '"\(.status) \(.cached)"')" &&
                expect_eq "the miss's job" "completed null" "$(job_field "$miss_id" '"\(.status) \(.cached)"')" &&
                expect_eq "the same result" "$(job_field "$miss_id" '.result | tojson')" \
                        "$(job_field "$hit_id" '.result | tojson')"
}
check "cache: GET /jobs/{id} of the hit says cached: true with the miss's result" t_cache_job

t_cache_bypass() {
        local calls bypasses
        calls=$(cache_nlp_calls) && bypasses=$(cache_metric orch_cache_bypasses_total) || return 1
        api_expect 200 POST /ai/nlp/process "$CACHE_BODY" -H 'Cache-Control: no-cache' &&
                expect_eq "X-Cache" bypass "$(api_header X-Cache)" &&
                expect_eq "nlp was called" "$((calls + 1))" "$(cache_nlp_calls)" &&
                expect_eq "orch_cache_bypasses_total" "$((bypasses + 1))" "$(cache_metric orch_cache_bypasses_total)" &&
                expect_eq "not cached" null "$(job_field "$(jq -r .job_id <<<"$API_BODY")" .cached)"
}
check "cache: Cache-Control: no-cache bypasses the lookup (X-Cache: bypass) and calls nlp" t_cache_bypass

t_cache_async() {
        local id
        api_expect 202 POST /ai/nlp/process "${CACHE_BODY%\}},\"async\":true}" &&
                expect_eq "X-Cache" hit "$(api_header X-Cache)" &&
                expect_eq "done at once" completed "$(jq -r .status <<<"$API_BODY")" || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        expect_eq "the stored job" "completed true" "$(job_field "$id" '"\(.status) \(.cached)"')"
}
check "cache: an asynchronous repeat is a hit, 202 with the job completed and cached" t_cache_async

t_cache_gauges() {
        local entries bytes
        entries=$(cache_metric orch_cache_entries) && bytes=$(cache_metric orch_cache_bytes) || return 1
        echo "entries $entries, bytes $bytes"
        if [ "$entries" -lt 1 ] || [ "$bytes" -le 0 ]; then
                echo "the gauges do not show the entry"
                return 1
        fi
}
check "cache: orch_cache_entries and orch_cache_bytes show what is kept" t_cache_gauges

t_cache_llm() {
        api POST /ai/llm/completion "{\"prompt\":\"cache $CACHE_NONCE\"}" || return 1
        expect_eq "an llm answer says nothing of the cache" "" "$(api_header X-Cache)"
}
check "cache: an llm call without X-Cache-LLM: on is not cached (no X-Cache)" t_cache_llm
