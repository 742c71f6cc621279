# shellcheck shell=bash
# service-orchestrator.sh — the orchestrator against the real pod (sourced by run.sh
# while the pod is up; uses check, expect_*, URL, DEPLOY, pm). Every task request is a
# job: each check also reads the job back from GET /jobs/{id}.

orch_json() { # method path [body] [curl args...] -> body on stdout, "HTTP <status>" on fd 3
        local method=$1 path=$2 body=${3:-}
        shift 3 2>/dev/null || shift $#
        if [ -n "$body" ]; then
                curl -s -m 60 -X "$method" -H 'Content-Type: application/json' -d "$body" \
                        -w '\n%{http_code}' "$@" "$URL$path"
        else
                curl -s -m 60 -X "$method" -w '\n%{http_code}' "$@" "$URL$path"
        fi
}
# Splits orch_json's output: status in ORCH_STATUS, body in ORCH_BODY.
orch_call() {
        local out
        out=$(orch_json "$@") || return 1
        ORCH_STATUS=${out##*$'\n'}
        ORCH_BODY=${out%$'\n'*}
}
orch_job_field() { # id jq-filter
        curl -sf -m 10 "$URL/jobs/$1" | jq -r "$2"
}
orch_wait_job() { # id status [seconds]
        local i s
        for ((i = 0; i < ${3:-30} * 5; i++)); do
                s=$(orch_job_field "$1" .status) || s=
                [ "$s" = "$2" ] && return 0
                sleep 0.2
        done
        echo "job $1 is '$s', expected '$2'"
        return 1
}

t_orch_nlp() {
        local id
        orch_call POST /ai/nlp/process '{"text":"The pod runs five small services.","task":"tokenize"}' || return 1
        echo "$ORCH_STATUS $ORCH_BODY"
        expect_eq "status" 200 "$ORCH_STATUS" || return 1
        id=$(jq -r .job_id <<<"$ORCH_BODY")
        jq -e '.status == "completed" and .result != null' <<<"$ORCH_BODY" >/dev/null &&
                expect_eq "stored status" completed "$(orch_job_field "$id" .status)" &&
                expect_eq "stored task" tokenize "$(orch_job_field "$id" .task)"
}
check "orchestrator: /ai/nlp/process tokenize completes and the job is stored" t_orch_nlp

t_orch_data() {
        local id
        orch_call POST /data/process \
                '{"operation":"analyze","data":{"records":[{"name":"a","value":1},{"name":"b","value":3}]}}' ||
                return 1
        echo "$ORCH_STATUS $ORCH_BODY"
        expect_eq "status" 200 "$ORCH_STATUS" || return 1
        id=$(jq -r .job_id <<<"$ORCH_BODY")
        jq -e '.status == "completed" and has("result") and has("rows_processed") and has("processing_time")' \
                <<<"$ORCH_BODY" >/dev/null &&
                expect_eq "stored status" completed "$(orch_job_field "$id" .status)"
}
check "orchestrator: /data/process analyze is routed to the data service" t_orch_data

t_orch_llm() {
        local id err
        orch_call POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}' || return 1
        echo "$ORCH_STATUS $ORCH_BODY"
        id=$(jq -r .job_id <<<"$ORCH_BODY")
        if [ -z "$id" ] || [ "$id" = null ]; then
                echo "no job_id in the answer"
                return 1
        fi
        if [ "$ORCH_STATUS" = 200 ]; then
                # A backend is configured on this machine: then it must have completed.
                jq -e '.status == "completed" and (.result | type) == "string"' <<<"$ORCH_BODY" >/dev/null &&
                        expect_eq "stored status" completed "$(orch_job_field "$id" .status)"
                return
        fi
        # No backend: the llm's 503 problem passes through and the job is failed with it.
        expect_eq "status" 503 "$ORCH_STATUS" || return 1
        err=$(jq -r .detail <<<"$ORCH_BODY")
        expect_eq "stored status" failed "$(orch_job_field "$id" .status)" &&
                expect_eq "stored reason" "$err" "$(orch_job_field "$id" .error)" &&
                expect_eq "stored error_status" 503 "$(orch_job_field "$id" .error_status)"
}
check "orchestrator: /ai/llm/completion passes the llm's answer through and stores the job's outcome" t_orch_llm

t_orch_bad_input() {
        orch_call POST /ai/llm/completion '{"invalid":"payload"}' && expect_eq "invalid payload" 422 "$ORCH_STATUS" &&
                expect_match "names prompt" '"field":"prompt"' "$ORCH_BODY" || return 1
        orch_call POST /data/process '{"operation":"explode","data":{"records":[]}}' &&
                expect_eq "unknown operation" 400 "$ORCH_STATUS" || return 1
        orch_call POST /dispatch '{"service":"toaster","task":"x"}' && expect_eq "unknown service" 422 "$ORCH_STATUS" &&
                expect_match "names service" '"field":"service"' "$ORCH_BODY" || return 1
        orch_call POST /ai/nlp/process '{"text":' && expect_eq "malformed" 400 "$ORCH_STATUS" || return 1
        orch_call GET /jobs/no-such-job && expect_eq "unknown job" 404 "$ORCH_STATUS" &&
                expect_match "seed message" 'Job no-such-job not found' "$ORCH_BODY"
}
check "orchestrator: bad input gets 400/404/422 naming the field" t_orch_bad_input

t_orch_async_sse() {
        local h id ev resumed
        h=$(curl -s -m 30 -D - -o /tmp/it-orch-async.json -H 'Content-Type: application/json' \
                -H 'Prefer: respond-async' \
                -d '{"service":"nlp","task":"tokenize","payload":{"text":"async words here"}}' "$URL/dispatch") ||
                return 1
        echo "$h"
        expect_match "202" '^HTTP/1.1 202' "$h" && expect_match "Location" 'Location: /jobs/' "$h" || return 1
        id=$(jq -r .job_id /tmp/it-orch-async.json)
        ev=$(curl -s -N -m 30 -H 'Accept: text/event-stream' "$URL/jobs/$id/events") || return 1
        echo "$ev"
        expect_match "snapshot first" '^event: snapshot' "$(grep '^event:' <<<"$ev" | head -n1)" &&
                expect_match "ends completed" '"status":"completed"' "$(tail -n 3 <<<"$ev")" || return 1
        resumed=$(curl -s -N -m 30 -H 'Last-Event-ID: 1' "$URL/jobs/$id/events") || return 1
        echo "$resumed"
        ! grep -q '^event: snapshot' <<<"$resumed" && ! grep -q '^id: 1$' <<<"$resumed" &&
                grep -q '^id: 2$' <<<"$resumed" || return 1
        curl -sf -H 'Accept: application/json' "$URL/jobs/$id/events" |
                jq -e '.events | length >= 3 and .[0].id == 1' >/dev/null
}
check "orchestrator: async job (202 + Location), SSE stream with snapshot, resumed with Last-Event-ID" t_orch_async_sse

t_orch_list_cancel() {
        curl -sf "$URL/jobs?status=completed&limit=2" | jq -e '(.jobs | length) <= 2 and
                all(.jobs[]; .status == "completed")' >/dev/null || return 1
        orch_call DELETE "/jobs/$(curl -sf "$URL/jobs?status=completed&limit=1" | jq -r '.jobs[0].job_id')" &&
                expect_eq "cancel a finished job" 409 "$ORCH_STATUS"
}
check "orchestrator: GET /jobs filters by status; DELETE of a finished job is 409" t_orch_list_cancel

t_orch_breaker() {
        local i s ok=0
        pm stop -t 5 ai-semble-vision >/dev/null || return 1
        # Connect errors (each retried) until the breaker opens: then 503 naming the service.
        for i in 1 2 3 4 5 6 7 8; do
                orch_call POST /ai/vision/analyze '{"image_url":"http://127.0.0.1:1/x.png","task":"classify"}'
                echo "call $i: $ORCH_STATUS $ORCH_BODY"
                if [ "$ORCH_STATUS" = 503 ] && grep -q 'circuit breaker for service vision is open' <<<"$ORCH_BODY"; then
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
        orch_call POST /ai/nlp/process '{"text":"still fine","task":"tokenize"}'
        s=$ORCH_STATUS
        "$DEPLOY" restart vision >/dev/null || return 1
        expect_eq "nlp while vision is down" 200 "$s" || return 1
        # After ORCH_BREAKER_OPEN (10 s) a probe goes through and closes it.
        for i in $(seq 1 30); do
                sleep 1
                [ "$(curl -s "$URL/health/ready" | jq -r .services.vision.breaker)" != open ] || continue
                orch_call POST /ai/vision/analyze '{"image_base64":"aGVsbG8=","task":"classify"}'
                [ "$ORCH_STATUS" != 503 ] && break
        done
        echo "after recovery: $ORCH_STATUS $ORCH_BODY"
        curl -s "$URL/health/ready" | jq -e '.services.vision.breaker == "closed"' >/dev/null
}
check "orchestrator: a stopped service opens its breaker (503 at once), others work, it closes after recovery" t_orch_breaker

t_orch_restart_pending() {
        local ids=() i id s bad=0
        for i in $(seq 1 60); do
                id=$(curl -s -m 10 -H 'Content-Type: application/json' \
                        -d "{\"service\":\"nlp\",\"task\":\"tokenize\",\"priority\":\"low\",\"async\":true,\"payload\":{\"text\":\"job $i\"}}" \
                        "$URL/dispatch" | jq -r .job_id)
                [ -n "$id" ] && [ "$id" != null ] && ids+=("$id")
        done
        echo "submitted ${#ids[@]} async jobs"
        [ "${#ids[@]}" -eq 60 ] || return 1
        "$DEPLOY" restart orchestrator >/dev/null || return 1
        # Queued ones stayed pending in the database and run after the start: none is lost.
        for id in "${ids[@]}"; do
                orch_wait_job "$id" completed 30 || bad=$((bad + 1))
        done
        s=$(curl -s "$URL/jobs?status=pending&limit=1000" | jq '.jobs | length')
        echo "not completed: $bad; pending left: $s"
        [ "$bad" -eq 0 ]
}
check "orchestrator: async jobs submitted before a restart all complete after it" t_orch_restart_pending

t_orch_metrics() {
        local m family
        # The orchestrator may just have restarted: a labelled histogram has no series
        # until its first observation, so run one task first.
        orch_call POST /ai/nlp/process '{"text":"metrics","task":"tokenize"}' && expect_eq "task" 200 "$ORCH_STATUS" ||
                return 1
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

t_orch_workflow() {
        local out
        # nlp and data in parallel, then the llm with a $ref to nlp's answer (the seed's
        # result shape has "task"); the llm may have no backend: on_error continue.
        # shellcheck disable=SC2016 # "$ref" is JSON, not a shell expansion
        out=$(curl -s -m 120 -H 'Content-Type: application/json' "$URL/workflows" -d '{"steps":[
                {"id":"tok","service":"nlp","task":"tokenize","input":{"text":"one two three"}},
                {"id":"stats","service":"data","task":"analyze","input":{"data":{"records":[{"v":1},{"v":2}]}}},
                {"id":"say","service":"llm","task":"completion","depends_on":["tok","stats"],"on_error":"continue",
                 "input":{"prompt":{"$ref":"tok#/task"},"max_tokens":8}}]}') || return 1
        echo "$out"
        jq -e '.kind == "workflow" and .status == "completed" and
                .result.steps.tok.status == "completed" and .result.steps.stats.status == "completed" and
                (.result.steps.say.status == "completed" or .result.steps.say.status == "failed")' <<<"$out" >/dev/null ||
                return 1
        curl -sf -H 'Accept: application/json' "$URL/jobs/$(jq -r .job_id <<<"$out")/events" |
                jq -e '[.events[] | select(.event == "progress")] | length >= 6' >/dev/null &&
                expect_eq "step job stored" completed "$(orch_job_field "$(jq -r .result.steps.tok.job_id <<<"$out")" .status)"
}
check "orchestrator: a workflow across nlp, data and llm runs its steps as jobs" t_orch_workflow

t_orch_workflow_invalid() {
        orch_call POST /workflows '{"steps":[{"id":"a","service":"nlp","task":"tokenize","depends_on":["b"]},
                {"id":"b","service":"nlp","task":"tokenize","depends_on":["a"]}]}' &&
                expect_eq "cycle" 422 "$ORCH_STATUS" && expect_match "names the step" 'steps\[[01]\]\.depends_on' "$ORCH_BODY"
}
check "orchestrator: a workflow with a cycle is rejected with 422 naming the step" t_orch_workflow_invalid

t_orch_locks() {
        orch_call POST /locks/it-gpu '{"owner":"it-a","ttl":30}' && expect_eq "acquire" 200 "$ORCH_STATUS" || return 1
        orch_call POST /locks/it-gpu '{"owner":"it-b"}' && expect_eq "held" 409 "$ORCH_STATUS" || return 1
        curl -sf "$URL/locks" | jq -e 'any(.locks[]; .name == "it-gpu" and .owner == "it-a")' >/dev/null || return 1
        orch_call DELETE "/locks/it-gpu?owner=it-a" && expect_eq "release" 200 "$ORCH_STATUS" &&
                orch_call DELETE "/locks/it-gpu?owner=it-a" && expect_eq "released already" 404 "$ORCH_STATUS"
}
check "orchestrator: /locks leases (acquire, conflict 409, list, release)" t_orch_locks
