# shellcheck shell=bash
# service-orchestrator.sh — the orchestrator against the real pod (sourced by run.sh
# while the pod is up; uses check, api, job_*, pod_env_*, URL, DEPLOY, pm). Every task
# request is a job: each check also reads the job back from GET /jobs/{id}. The pod runs
# as deployed here: no LLM backend (the backends area brings one in later).

t_orch_nlp() {
        local id
        api_expect 200 POST /ai/nlp/process '{"text":"The pod runs five small services.","task":"tokenize"}' || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        jq -e '.status == "completed" and .result != null' <<<"$API_BODY" >/dev/null &&
                expect_eq "stored status" completed "$(job_field "$id" .status)" &&
                expect_eq "stored task" tokenize "$(job_field "$id" .task)"
}
check "orchestrator: /ai/nlp/process tokenize completes and the job is stored" t_orch_nlp

t_orch_data() {
        local id
        api_expect 200 POST /data/process \
                '{"operation":"analyze","data":{"records":[{"name":"a","value":1},{"name":"b","value":3}]}}' || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        jq -e '.status == "completed" and .rows_processed == 2 and .result.columns.value.mean == 2 and
                has("processing_time")' <<<"$API_BODY" >/dev/null &&
                expect_eq "stored status" completed "$(job_field "$id" .status)"
}
check "orchestrator: /data/process analyze (records) is routed to the data service" t_orch_data

t_orch_data_csv() {
        api_expect 200 POST /data/process \
                '{"operation":"aggregate","data":{"csv":"team,points\na,3\nb,4\na,5\n"},"options":{"group_by":["team"],"aggregations":{"points":"sum"}}}' ||
                return 1
        echo "$API_BODY"
        jq -e '.status == "completed" and .rows_processed == 3 and
                ([.result.records[] | {(.team): .points_sum}] | add) == {"a": 8, "b": 4}' <<<"$API_BODY" >/dev/null
}
check "orchestrator: /data/process aggregate on a CSV body through the door" t_orch_data_csv

# No backend is configured in the pod as deployed: the llm's 503 passes through the door
# and the job is stored as failed with it (the backends area checks the 200).
t_orch_llm_unconfigured() {
        local id err
        api_expect 503 POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}' || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        err=$(jq -r .detail <<<"$API_BODY")
        expect_match "names the setting" LLM_BACKENDS_FILE "$err" &&
                expect_eq "stored status" failed "$(job_field "$id" .status)" &&
                expect_eq "stored reason" "$err" "$(job_field "$id" .error)" &&
                expect_eq "stored error_status" 503 "$(job_field "$id" .error_status)"
}
check "orchestrator: /ai/llm/completion without a backend: the llm's 503 naming LLM_BACKENDS_FILE, the job failed with it" t_orch_llm_unconfigured

t_orch_bad_input() {
        api_expect 422 POST /ai/llm/completion '{"invalid":"payload"}' &&
                expect_match "names prompt" '"field":"prompt"' "$API_BODY" || return 1
        api_expect 400 POST /data/process '{"operation":"explode","data":{"records":[]}}' || return 1
        api_expect 422 POST /dispatch '{"service":"toaster","task":"x"}' &&
                expect_match "names service" '"field":"service"' "$API_BODY" || return 1
        api_expect 400 POST /ai/nlp/process '{"text":' || return 1
        api_expect 404 GET /jobs/no-such-job && expect_match "seed message" 'Job no-such-job not found' "$API_BODY"
}
check "orchestrator: bad input gets 400/404/422 naming the field" t_orch_bad_input

# The HTTP limits through the published port: a body past HTTP_MAX_BODY (1M) is 413,
# a body that is not JSON 415, both as problem+json.
t_orch_limits() {
        local big
        big=$(mktemp)
        head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"text":"/; s/$/","task":"tokenize"}/' >"$big"
        api_expect 413 POST /ai/nlp/process "" -H 'Content-Type: application/json' --data-binary "@$big"
        local r=$?
        rm -f "$big"
        [ $r = 0 ] && expect_match "413 type" '^application/problem\+json' "$(api_header Content-Type)" || return 1
        api_expect 415 POST /ai/nlp/process "" -H 'Content-Type: text/plain' --data-binary 'text=hello' &&
                jq -e '.status == 415' <<<"$API_BODY" >/dev/null
}
check "orchestrator: 413 past the body cap and 415 for a body that is not JSON, through 8080" t_orch_limits

t_orch_async_sse() {
        local id ev resumed
        api_expect 202 POST /dispatch '{"service":"nlp","task":"tokenize","payload":{"text":"async words here"}}' \
                -H 'Prefer: respond-async' || return 1
        expect_match "Location" '^/jobs/' "$(api_header Location)" || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        ev=$(curl -s -N -m 30 -H 'Accept: text/event-stream' ${IT_TOKEN:+-H "Authorization: Bearer $IT_TOKEN"} \
                "$URL/jobs/$id/events") || return 1
        echo "$ev"
        expect_match "snapshot first" '^event: snapshot' "$(grep '^event:' <<<"$ev" | head -n1)" &&
                expect_match "ends completed" '"status":"completed"' "$(tail -n 3 <<<"$ev")" || return 1
        resumed=$(curl -s -N -m 30 -H 'Last-Event-ID: 1' ${IT_TOKEN:+-H "Authorization: Bearer $IT_TOKEN"} \
                "$URL/jobs/$id/events") || return 1
        echo "$resumed"
        ! grep -q '^event: snapshot' <<<"$resumed" && ! grep -q '^id: 1$' <<<"$resumed" &&
                grep -q '^id: 2$' <<<"$resumed" || return 1
        api_expect 200 GET "/jobs/$id/events" "" -H 'Accept: application/json' &&
                jq -e '.events | length >= 3 and .[0].id == 1' <<<"$API_BODY" >/dev/null
}
check "orchestrator: async job (202 + Location), SSE stream with snapshot, resumed with Last-Event-ID" t_orch_async_sse

# Three jobs of this check's own, then: the status filter, a 409 for cancelling one of
# them (finished), and cursor pagination that walks exactly them in order.
t_orch_list_page_cancel() {
        local ids=() i seen="" cursor="" page
        for i in 1 2 3; do
                api_expect 200 POST /ai/nlp/process "{\"text\":\"page $i\",\"task\":\"tokenize\"}" || return 1
                ids+=("$(jq -r .job_id <<<"$API_BODY")")
        done
        api_expect 200 GET '/jobs?status=completed&limit=2' &&
                jq -e '(.jobs | length) == 2 and all(.jobs[]; .status == "completed") and (.next_cursor | length > 0)' \
                        <<<"$API_BODY" >/dev/null || return 1
        api_expect 409 DELETE "/jobs/${ids[0]}" || return 1
        # newest first, one per page: the first three pages are this check's jobs
        for i in 1 2 3; do
                api_expect 200 GET "/jobs?limit=1${cursor:+&cursor=$cursor}" || return 1
                page=$(jq -r '.jobs[0].job_id' <<<"$API_BODY")
                seen="$seen $page"
                cursor=$(jq -r '.next_cursor // empty' <<<"$API_BODY")
                [ -n "$cursor" ] || { echo "no next_cursor after page $i"; return 1; }
        done
        expect_eq "pages" " ${ids[2]} ${ids[1]} ${ids[0]}" "$seen" || return 1
        api_expect 422 GET '/jobs?cursor=not-a-cursor' && expect_match "names cursor" '"field":"cursor"' "$API_BODY"
}
check "orchestrator: GET /jobs filters by status and pages with next_cursor; DELETE of a finished job is 409" t_orch_list_page_cancel

# A service frozen with SIGSTOP: its socket still takes connections, nothing answers.
# (podman pause needs the freezer of cgroup v2, which rootless cgroup v1 hosts lack.)
freeze() { pm kill --signal STOP "ai-semble-$1" >/dev/null; }
thaw() { pm kill --signal CONT "ai-semble-$1" >/dev/null; }

# A job that is running (nlp frozen, so its call waits) is cancelled:
# 200 with status cancelled, the stored job says so, nlp works again afterwards.
t_orch_cancel_running() {
        local id i st
        freeze nlp || return 1
        api_expect 202 POST /ai/nlp/process '{"text":"wait for me","task":"tokenize","async":true}'
        local r=$?
        id=$(jq -r .job_id <<<"$API_BODY")
        for ((i = 0; r == 0 && i < 50; i++)); do
                st=$(job_field "$id" .status)
                [ "$st" = running ] && break
                sleep 0.1
        done
        expect_eq "status before the cancel" running "$st" || r=1
        [ $r = 0 ] && { api_expect 200 DELETE "/jobs/$id" || r=1; }
        thaw nlp || return 1
        [ $r = 0 ] || return 1
        expect_eq "answer" cancelled "$(jq -r .status <<<"$API_BODY")" &&
                expect_eq "stored" cancelled "$(job_field "$id" .status)" &&
                api_expect 409 DELETE "/jobs/$id" &&
                api_expect 200 POST /ai/nlp/process '{"text":"awake again","task":"tokenize"}'
}
check "orchestrator: DELETE of a running job cancels it (200, stored cancelled, then 409)" t_orch_cancel_running

# Idempotency-Key through the door: the same key and body give the same job and result,
# the same key with another body is refused.
t_orch_idempotency() {
        local first second key
        key=it-idem-$RANDOM$RANDOM
        api_expect 200 POST /ai/nlp/process '{"text":"once only","task":"tokenize"}' -H "Idempotency-Key: $key" || return 1
        first=$API_BODY
        api_expect 200 POST /ai/nlp/process '{"text":"once only","task":"tokenize"}' -H "Idempotency-Key: $key" || return 1
        second=$API_BODY
        expect_eq "same job" "$(jq -r .job_id <<<"$first")" "$(jq -r .job_id <<<"$second")" &&
                expect_eq "same result" "$(jq -cS .result <<<"$first")" "$(jq -cS .result <<<"$second")" &&
                api_expect 422 POST /ai/nlp/process '{"text":"another body","task":"tokenize"}' -H "Idempotency-Key: $key" &&
                expect_match "names the header" 'Idempotency-Key' "$API_BODY"
}
check "orchestrator: Idempotency-Key replays the stored job; the same key with another body is 422" t_orch_idempotency

t_orch_breaker() {
        local i s ok=0
        pm stop -t 5 ai-semble-vision >/dev/null || return 1
        # Connect errors (each retried) until the breaker opens: then 503 naming the service.
        for i in 1 2 3 4 5 6 7 8; do
                api POST /ai/vision/analyze '{"image_url":"http://127.0.0.1:1/x.png","task":"classify"}'
                echo "call $i: $API_STATUS $API_BODY"
                if [ "$API_STATUS" = 503 ] && grep -q 'circuit breaker for service vision is open' <<<"$API_BODY"; then
                        ok=1
                        break
                fi
        done
        [ "$ok" = 1 ] || {
                "$DEPLOY" restart vision >/dev/null 2>&1
                echo "the breaker never opened"
                return 1
        }
        if ! curl -s "$URL/health/ready" | jq -e '.services.vision.breaker == "open"' >/dev/null ||
                ! curl -s "$URL/metrics" | grep -q '^orch_breaker_state{service="vision"} 1'; then
                "$DEPLOY" restart vision >/dev/null 2>&1
                echo "breaker state not in /health/ready or /metrics"
                return 1
        fi
        # Other services keep working meanwhile.
        api POST /ai/nlp/process '{"text":"still fine","task":"tokenize"}'
        s=$API_STATUS
        "$DEPLOY" restart vision >/dev/null || return 1
        expect_eq "nlp while vision is down" 200 "$s" || return 1
        # After ORCH_BREAKER_OPEN (10 s) a probe goes through and closes it.
        for i in $(seq 1 30); do
                sleep 1
                [ "$(curl -s "$URL/health/ready" | jq -r .services.vision.breaker)" != open ] || continue
                api POST /ai/vision/analyze '{"image_base64":"aGVsbG8=","task":"classify"}'
                [ "$API_STATUS" != 503 ] && break
        done
        echo "after recovery: $API_STATUS $API_BODY"
        curl -s "$URL/health/ready" | jq -e '.services.vision.breaker == "closed"' >/dev/null
}
check "orchestrator: a stopped service opens its breaker (503 at once), others work, it closes after recovery" t_orch_breaker

# Jobs waiting for a worker when the orchestrator restarts run after it. With one worker,
# held by a job whose nlp is frozen (SIGSTOP), the 20 submitted after it are provably pending at
# the restart; all 21 complete once nlp runs again.
t_orch_restart_pending() {
        local ids=() i id pending bad=0 r=0
        pod_env_push ORCH_WORKERS=1 && restart_units ai-semble-orchestrator.service || return 1
        freeze nlp || r=1
        for i in $(seq 0 20); do
                [ $r = 0 ] || break
                api_expect 202 POST /dispatch "{\"service\":\"nlp\",\"task\":\"tokenize\",\"async\":true,\"payload\":{\"text\":\"job $i\"}}" || r=1
                ids+=("$(jq -r .job_id <<<"$API_BODY")")
        done
        if [ $r = 0 ]; then
                pending=$(api GET '/jobs?status=pending&limit=100' && jq --argjson want "$(printf '%s\n' "${ids[@]:1}" | jq -R . | jq -s .)" \
                        '[.jobs[].job_id | select(IN($want[]))] | length' <<<"$API_BODY")
                expect_eq "jobs pending when the orchestrator restarts" 20 "$pending" || r=1
        fi
        [ $r = 0 ] && { hostenv_exec systemctl --user restart ai-semble-orchestrator.service || r=1; }
        thaw nlp
        pod_env_pop && restart_units ai-semble-orchestrator.service || return 1
        [ $r = 0 ] || return 1
        for id in "${ids[@]}"; do
                job_wait "$id" completed 60 || bad=$((bad + 1))
        done
        echo "not completed: $bad of ${#ids[@]}"
        [ "$bad" -eq 0 ]
}
check "orchestrator: jobs proven pending at a restart all complete after it" t_orch_restart_pending

t_orch_metrics() {
        local m family
        # The orchestrator may just have restarted: a labelled histogram has no series
        # until its first observation, so run one task first.
        api_expect 200 POST /ai/nlp/process '{"text":"metrics","task":"tokenize"}' || return 1
        m=$(curl -sf "$URL/metrics") || return 1
        for family in orch_http_requests_total orch_task_duration_seconds_bucket orch_jobs orch_queue_depth \
                orch_breaker_state orch_sse_connections_active orch_upstream_latency_seconds_bucket; do
                grep -q "^$family" <<<"$m" || {
                        echo "missing $family"
                        return 1
                }
        done
}
check "orchestrator: /metrics has the orch_* families" t_orch_metrics

# nlp and data in parallel, then the llm with a $ref to nlp's answer; the pod has no
# backend yet, so the llm step fails with the llm's 503 and on_error continue lets the
# workflow complete (the backends area runs a workflow whose llm step completes).
t_orch_workflow() {
        local out
        # shellcheck disable=SC2016 # "$ref" is JSON, not a shell expansion
        api_expect 200 POST /workflows '{"steps":[
                {"id":"tok","service":"nlp","task":"tokenize","input":{"text":"one two three"}},
                {"id":"stats","service":"data","task":"analyze","input":{"data":{"records":[{"v":1},{"v":2}]}}},
                {"id":"say","service":"llm","task":"completion","depends_on":["tok","stats"],"on_error":"continue",
                 "input":{"prompt":{"$ref":"tok#/task"},"max_tokens":8}}]}' || return 1
        out=$API_BODY
        echo "$out"
        jq -e '.kind == "workflow" and .status == "completed" and
                .result.steps.tok.status == "completed" and .result.steps.stats.status == "completed" and
                .result.steps.say.status == "failed"' <<<"$out" >/dev/null || return 1
        api_expect 200 GET "/jobs/$(jq -r .job_id <<<"$out")/events" "" -H 'Accept: application/json' &&
                jq -e '[.events[] | select(.event == "progress")] | length >= 6' <<<"$API_BODY" >/dev/null &&
                expect_eq "step job stored" completed "$(job_field "$(jq -r .result.steps.tok.job_id <<<"$out")" .status)" &&
                expect_eq "failed step stored" failed "$(job_field "$(jq -r .result.steps.say.job_id <<<"$out")" .status)"
}
check "orchestrator: a workflow across nlp, data and llm runs its steps as jobs (llm step failed: no backend)" t_orch_workflow

t_orch_workflow_invalid() {
        api_expect 422 POST /workflows '{"steps":[{"id":"a","service":"nlp","task":"tokenize","depends_on":["b"]},
                {"id":"b","service":"nlp","task":"tokenize","depends_on":["a"]}]}' &&
                expect_match "names the step" 'steps\[[01]\]\.depends_on' "$API_BODY"
}
check "orchestrator: a workflow with a cycle is rejected with 422 naming the step" t_orch_workflow_invalid

t_orch_locks() {
        api_expect 200 POST /locks/it-gpu '{"owner":"it-a","ttl":30}' &&
                api_expect 409 POST /locks/it-gpu '{"owner":"it-b"}' &&
                api_expect 200 GET /locks &&
                jq -e 'any(.locks[]; .name == "it-gpu" and .owner == "it-a")' <<<"$API_BODY" >/dev/null &&
                api_expect 200 DELETE "/locks/it-gpu?owner=it-a" &&
                api_expect 404 DELETE "/locks/it-gpu?owner=it-a"
}
check "orchestrator: /locks leases (acquire, conflict 409, list, release)" t_orch_locks

# Redaction on: a result carrying an e-mail address comes back, and is stored, redacted.
t_orch_redaction() {
        local id r=0
        pod_env_push ORCH_REDACT_OUTPUT=on && restart_units ai-semble-orchestrator.service || return 1
        api_expect 200 POST /data/process '{"operation":"aggregate","data":{"records":[{"contact":"alice@example.com","n":2}]},"options":{"group_by":["contact"],"aggregations":{"n":"sum"}}}' || r=1
        if [ $r = 0 ]; then
                echo "$API_BODY" | head -c 600
                id=$(jq -r .job_id <<<"$API_BODY")
                jq -e '(.result | tostring | contains("alice@example.com") | not) and
                        (.result | tostring | contains("[REDACTED:email]")) and .redactions.email >= 1' <<<"$API_BODY" >/dev/null || r=1
                [ $r = 0 ] && { job_field "$id" '.result | tostring' | grep -q 'REDACTED:email' || r=1; }
        fi
        pod_env_pop && restart_units ai-semble-orchestrator.service || return 1
        return $r
}
check "orchestrator: ORCH_REDACT_OUTPUT=on redacts an e-mail address in the answer and the stored job" t_orch_redaction

# Rate limits over HTTP: a burst of 3 at 1 request/s; the 4th at once is 429 with
# Retry-After and RateLimit-* headers.
t_orch_rate_limit() {
        local i codes="" r=0
        pod_env_push ORCH_RATE_LIMIT_RPS=1 ORCH_RATE_LIMIT_BURST=3 && restart_units ai-semble-orchestrator.service || return 1
        for i in 1 2 3 4; do
                api GET '/jobs?limit=1'
                codes="$codes $API_STATUS"
        done
        expect_eq "statuses" " 200 200 200 429" "$codes" || r=1
        [ $r = 0 ] && { [ -n "$(api_header Retry-After)" ] && expect_eq "RateLimit-Limit" 3 "$(api_header RateLimit-Limit)" &&
                expect_eq "RateLimit-Remaining" 0 "$(api_header RateLimit-Remaining)" || r=1; }
        pod_env_pop && restart_units ai-semble-orchestrator.service || return 1
        return $r
}
check "orchestrator: ORCH_RATE_LIMIT_RPS: 429 with Retry-After and RateLimit-* past the burst" t_orch_rate_limit
