# shellcheck shell=bash
# service-trace.sh — traces in the journal, in the real pod (sourced by run.sh): a job
# through the published port to the llm and its backend (tests/llm/fake_backend.py inside
# the pod's network, as service-backends.sh does) and back; `deploy.sh trace JOB_ID`
# rebuilds its waterfall from the journal with every hop under its caller; a client's
# traceparent is continued, an invalid one replaced, never refused. Everything is restored.

TRACE_DIR=$(mktemp -d /tmp/ai-semble-it-trace.XXXXXX)
TRACE_PORT=18992
TRACE_FAKE_PID=

trace_hex() { # bytes → 2*bytes lowercase hex digits
        od -An -tx1 -N "$1" /dev/urandom | tr -d ' \n'
}

# deploy.sh trace --json of a job, once it shows at least n spans (the journal takes the
# containers' lines a moment after the answer); the spans in $TRACE_DIR/spans.
trace_spans() { # job n
        local i
        for ((i = 0; i < 50; i++)); do
                if "$DEPLOY" trace --json "$1" >"$TRACE_DIR/spans" 2>"$TRACE_DIR/err" &&
                        [ "$(jq -s length "$TRACE_DIR/spans")" -ge "$2" ]; then
                        return 0
                fi
                sleep 0.2
        done
        echo "deploy.sh trace $1: fewer than $2 spans: $(cat "$TRACE_DIR/spans" "$TRACE_DIR/err")"
        return 1
}

t_trace_backend() {
        local r
        fake_backend_openai "$TRACE_PORT" "$TRACE_DIR/fake.log" it-trace-backends.json
        r=$?
        TRACE_FAKE_PID=$FAKE_BACKEND_PID
        return $r
}
check "trace: the llm gets an OpenAI-protocol fake backend inside the pod" t_trace_backend

# The client's trace goes door → llm → backend: four spans, one root, each the child of
# the one before, and the backend received the llm's call span as its parent.
t_trace_continued() {
        local tid sid id door call llm backend sent
        tid=$(trace_hex 16) && sid=$(trace_hex 8) || return 1
        api_expect 200 POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}' \
                -H "traceparent: 00-$tid-$sid-01" || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        expect_eq "the job's trace is the client's" "$tid" "$(job_field "$id" .trace_id)" &&
                trace_spans "$id" 4 || return 1
        cat "$TRACE_DIR/spans"
        door=$(jq -rs --arg p "$sid" '.[] | select(.depth == 0 and .parent == $p and .service == "orchestrator"
                and .kind == "server" and .name == "POST /ai/llm/completion" and .outcome == "ok") | .span' \
                "$TRACE_DIR/spans")
        call=$(jq -rs --arg p "$door" '.[] | select(.parent == $p and .service == "orchestrator"
                and .kind == "client" and .name == "POST /completion" and .outcome == "ok") | .span' "$TRACE_DIR/spans")
        llm=$(jq -rs --arg p "$call" '.[] | select(.parent == $p and .service == "llm" and .kind == "server"
                and .name == "POST /completion" and .outcome == "ok") | .span' "$TRACE_DIR/spans")
        backend=$(jq -rs --arg p "$llm" '.[] | select(.parent == $p and .service == "llm" and .kind == "client"
                and .name == "POST backend" and .outcome == "ok") | .span' "$TRACE_DIR/spans")
        expect_match "the door's span, child of the client's" '^[0-9a-f]{16}$' "$door" &&
                expect_match "the orchestrator's call under it" '^[0-9a-f]{16}$' "$call" &&
                expect_match "the llm's span under the call" '^[0-9a-f]{16}$' "$llm" &&
                expect_match "the llm's backend call under it" '^[0-9a-f]{16}$' "$backend" &&
                expect_eq "one root" 1 "$(jq -s '[.[] | select(.depth == 0)] | length' "$TRACE_DIR/spans")" &&
                expect_eq "distinct span ids" 4 "$(jq -s '[.[].span] | unique | length' "$TRACE_DIR/spans")" || return 1
        sent=$(in_pod_net curl -s -m 5 "http://127.0.0.1:$TRACE_PORT/_stats" |
                jq -r '.last.headers | to_entries[] | select(.key | ascii_downcase == "traceparent") | .value')
        expect_eq "the backend's traceparent" "00-$tid-$backend-01" "$sent" || return 1
        # The text form: each hop on its line, indented one step deeper than its caller.
        "$DEPLOY" trace "$id" >"$TRACE_DIR/text" || return 1
        cat "$TRACE_DIR/text"
        expect_match "the header" "^trace $tid: 4 spans, roots 1$" "$(head -n1 "$TRACE_DIR/text")" &&
                expect_match "the door" " ok        orchestrator: POST /ai/llm/completion \\(server\\)  span $door ← $sid$" \
                        "$(cat "$TRACE_DIR/text")" &&
                expect_match "the call" " ok          orchestrator: POST /completion \\(client\\)  span $call ← $door$" \
                        "$(cat "$TRACE_DIR/text")" &&
                expect_match "the llm" " ok            llm: POST /completion \\(server\\)  span $llm ← $call$" \
                        "$(cat "$TRACE_DIR/text")" &&
                expect_match "the backend" " ok              llm: POST backend \\(client\\)  span $backend ← $llm$" \
                        "$(cat "$TRACE_DIR/text")"
}
check "trace: a client's traceparent is continued door → llm → backend; deploy.sh trace shows every hop under its caller" \
        t_trace_continued

# No traceparent, or one that is not version 00 as written: answered all the same, in a
# new trace started at the door.
t_trace_started() {
        local bad=00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01 id tid
        for tp in "" "$bad"; do
                if [ -n "$tp" ]; then
                        api_expect 200 POST /ai/llm/completion '{"prompt":"Say hi","max_tokens":8}' \
                                -H "traceparent: $tp" || return 1
                else
                        api_expect 200 POST /ai/llm/completion '{"prompt":"Say hi","max_tokens":8}' || return 1
                fi
                id=$(jq -r .job_id <<<"$API_BODY")
                tid=$(job_field "$id" .trace_id)
                expect_match "a new trace id" '^[0-9a-f]{32}$' "$tid" &&
                        trace_spans "$id" 4 || return 1
                expect_eq "the door's span is the root, without a parent" "orchestrator POST /ai/llm/completion null" \
                        "$(jq -rs '.[] | select(.depth == 0) | "\(.service) \(.name) \(.parent)"' "$TRACE_DIR/spans")" ||
                        return 1
        done
}
check "trace: without a traceparent, or with an invalid one, the door starts a new trace (never an error)" t_trace_started

# A job run later (202) is a span of its own under the request that submitted it.
t_trace_async() {
        local id door job
        api_expect 202 POST /ai/llm/completion '{"prompt":"Say later","max_tokens":8}' \
                -H 'Prefer: respond-async' || return 1
        id=$(jq -r .job_id <<<"$API_BODY")
        job_wait "$id" completed && trace_spans "$id" 5 || return 1
        cat "$TRACE_DIR/spans"
        door=$(jq -rs '.[] | select(.depth == 0 and .kind == "server") | .span' "$TRACE_DIR/spans")
        job=$(jq -rs --arg p "$door" '.[] | select(.parent == $p and .kind == "internal"
                and .name == "job llm/completion" and .outcome == "ok") | .span' "$TRACE_DIR/spans")
        expect_match "the job's span under the request's" '^[0-9a-f]{16}$' "$job" &&
                expect_eq "the call under the job's span" 1 "$(jq -s --arg p "$job" \
                        '[.[] | select(.parent == $p and .kind == "client")] | length' "$TRACE_DIR/spans")"
}
check "trace: an asynchronous job's run is a span under the request that submitted it" t_trace_async

t_trace_restore() {
        local models
        [ -n "$TRACE_FAKE_PID" ] && kill "$TRACE_FAKE_PID" 2>/dev/null
        models=$(pm volume inspect ai-semble-models --format '{{.Mountpoint}}') && rm -f "$models/it-trace-backends.json"
        rm -rf "$TRACE_DIR"
        pod_env_pop && restart_units ai-semble-llm.service &&
                api_expect 503 POST /ai/llm/completion '{"prompt":"Say hello","max_tokens":8}'
}
check "trace: the llm back to its configuration (no backend: 503)" t_trace_restore
