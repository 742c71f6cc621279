# shellcheck shell=bash
# service-auth.sh — bearer auth and signed webhooks in the real pod (sourced by run.sh):
# the pod as deployed requires a token (the orchestrator reads the Podman secrets that
# deploy.sh created); checked through the published port with tokens from
# `deploy.sh token`. The block maps a webhook event to a task and restores the
# configuration as deployed afterwards.

AUTH_SECRETS=$(it_home)/.config/ai-semble/secrets

auth_token() { # role sub
        "$DEPLOY" token --role "$1" --sub "$2" --ttl 10m
}

auth_code() { # token method path [body] → HTTP status
        local t=$1 m=$2 p=$3 b=${4:-}
        local args=(-s -o /dev/null -w '%{http_code}' -m 10 -X "$m")
        [ -n "$t" ] && args+=(-H "Authorization: Bearer $t")
        [ -n "$b" ] && args+=(-H 'Content-Type: application/json' -d "$b")
        curl "${args[@]}" "$URL$p"
}

t_auth_on() {
        if ! [ -s "$AUTH_SECRETS/jwt" ] || ! [ -s "$AUTH_SECRETS/webhook" ]; then
                echo "deploy.sh did not create the secrets in $AUTH_SECRETS"
                return 1
        fi
        pod_env_push ORCH_WEBHOOK_EVENTS=review.posted=nlp/sentiment &&
                restart_units ai-semble-orchestrator.service &&
                expect_eq "a token is required" 401 "$(auth_code "" GET '/jobs?limit=1')" &&
                expect_eq "/health/ready says so" required "$(curl -s -m 10 "$URL/health/ready" | jq -r .auth)"
}
check "auth: the orchestrator as deployed requires a token; a webhook event is mapped to a task" t_auth_on

t_auth_roles() {
        local viewer operator hdr body='{"text":"I love this","task":"sentiment"}'
        viewer=$(auth_token viewer vera) && operator=$(auth_token operator otto) || return 1
        hdr=$(curl -s -D - -o /dev/null "$URL/jobs")
        expect_match "401 without a token" '^HTTP/1.1 401' "$hdr" &&
                expect_match "WWW-Authenticate" 'WWW-Authenticate: Bearer realm="ai-semble"' "$hdr" &&
                expect_eq "tampered token" 401 "$(auth_code "${viewer%?}x" GET /jobs)" &&
                expect_eq "viewer reads" 200 "$(auth_code "$viewer" GET '/jobs?limit=1')" &&
                expect_eq "viewer may not submit" 403 "$(auth_code "$viewer" POST /ai/nlp/process "$body")" &&
                expect_eq "operator submits" 200 "$(auth_code "$operator" POST /ai/nlp/process "$body")" &&
                expect_eq "operator may not manage locks" 403 "$(auth_code "$operator" GET /locks)" &&
                expect_eq "/health/ready stays open" 200 "$(auth_code "" GET /health/ready)" &&
                expect_eq "/metrics stays open" 200 "$(auth_code "" GET /metrics)"
}
check "auth: 401 without or with a bad token, viewer reads, operator submits, 403 past the role" t_auth_roles

t_auth_owner_audit() {
        local otto bob admin id body='{"text":"ownership check","task":"tokenize"}'
        otto=$(auth_token operator otto) && bob=$(auth_token operator bob) && admin=$(auth_token admin ada) || return 1
        id=$(curl -sf -H "Authorization: Bearer $otto" -H 'Content-Type: application/json' -d "$body" \
                "$URL/ai/nlp/process" | jq -r .job_id) || return 1
        # ownership is checked before the job's state: to another operator the job does not
        # exist, the owner and an admin get through to the state (409: it already completed)
        expect_eq "another operator reads" 404 "$(auth_code "$bob" GET "/jobs/$id")" &&
                expect_eq "another operator cancels" 404 "$(auth_code "$bob" DELETE "/jobs/$id")" &&
                expect_eq "the owner cancels" 409 "$(auth_code "$otto" DELETE "/jobs/$id")" &&
                expect_eq "an admin cancels" 409 "$(auth_code "$admin" DELETE "/jobs/$id")" &&
                expect_eq "an operator reads the audit log" 403 "$(auth_code "$otto" GET /audit)" || return 1
        curl -sf -H "Authorization: Bearer $admin" "$URL/jobs/$id" | jq -e '.submitted_by.sub == "otto"' >/dev/null ||
                { echo "job $id does not name its submitter"; return 1; }
        local i rows
        for ((i = 0; i < 50; i++)); do # rows are written in batches, just after the answer
                rows=$(curl -sf -H "Authorization: Bearer $admin" "$URL/audit?actor=bob&action=job.cancel")
                jq -e --arg id "$id" '[.records[] | select(.target == $id and .result == 404)] | length == 1' <<<"$rows" >/dev/null &&
                        break
                sleep 0.1
        done
        jq -e --arg id "$id" '[.records[] | select(.target == $id and .result == 404 and .role == "operator")] | length == 1' <<<"$rows" >/dev/null ||
                { echo "no audit row for bob's refused cancel: $rows"; return 1; }
        # in the pod the fields travel inside the JSON line of Podman's journald log driver
        hostenv_exec journalctl --user -u ai-semble-orchestrator.service --no-pager -o cat --since "-2min" |
                grep -F '"message_id":"5d1c0e6f3a8b4e27b9a4c2f18d7e6a31"' | grep -F '"audit_actor":"bob"' |
                grep -qF "\"audit_target\":\"$id\"" ||
                { echo "no journal record of bob's refused cancel"; return 1; }
}
check "auth: operators see and cancel only their own jobs; the refusal is in GET /audit (admin only) and the journal" t_auth_owner_audit

t_auth_webhook() {
        local key body sig code out
        key=$(cat "$AUTH_SECRETS/webhook")
        body='{"type":"review.posted","text":"What a wonderful day"}'
        sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$key" -r | cut -d' ' -f1)
        out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' \
                -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "$URL/webhook")
        code=${out##*$'\n'}
        expect_eq "signed webhook" 202 "$code" || { echo "$out"; return 1; }
        jq -e '.job_id | length > 0' <<<"${out%$'\n'*}" >/dev/null || return 1
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -H "X-Hub-Signature-256: sha256=$sig" -d "$body" "$URL/webhook")
        expect_eq "replay" 401 "$code" || return 1
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -H "X-Hub-Signature-256: sha256=$sig" -d "${body/day/dax}" "$URL/webhook")
        expect_eq "one byte changed" 401 "$code"
}
check "auth: a webhook signed with the pod's secret starts a job; replay and a changed byte get 401" t_auth_webhook

# The X-Signature form (t=<unix time>,v1=<HMAC of "t.body">): a fresh one is accepted, one
# more than 300 s old is refused even with a correct MAC.
t_auth_webhook_timestamped() {
        local key body now sig code
        key=$(cat "$AUTH_SECRETS/webhook")
        body='{"type":"review.posted","text":"Signed with a timestamp"}'
        now=$(date +%s)
        sig=$(printf '%s.%s' "$now" "$body" | openssl dgst -sha256 -hmac "$key" -r | cut -d' ' -f1)
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -H "X-Signature: t=$now,v1=$sig" -d "$body" "$URL/webhook")
        expect_eq "fresh X-Signature" 202 "$code" || return 1
        now=$((now - 600))
        body='{"type":"review.posted","text":"Signed ten minutes ago"}'
        sig=$(printf '%s.%s' "$now" "$body" | openssl dgst -sha256 -hmac "$key" -r | cut -d' ' -f1)
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
                -H "X-Signature: t=$now,v1=$sig" -d "$body" "$URL/webhook")
        expect_eq "X-Signature 600 s old" 401 "$code"
}
check "auth: an X-Signature webhook (t=,v1=) is accepted fresh and refused when stale" t_auth_webhook_timestamped

# The supervisor's signed service notice (webhooks are on in this block): a killed nlp
# opens the orchestrator's nlp breaker at once, without a single failed call, and the
# breaker closes when the supervisor has seen nlp ready again.
t_auth_breaker_notice() {
        local pid i st opened="" closed="" since
        since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
        pid=$(pm inspect --format '{{.State.Pid}}' ai-semble-nlp) || return 1
        kill -9 "$pid"
        for ((i = 0; i < 400; i++)); do
                st=$(curl -s -m 1 "$URL/health/ready" | jq -r '.services.nlp.breaker // empty')
                [ -z "$opened" ] && [ "$st" = open ] && opened=$i
                if [ -n "$opened" ] && [ "$st" = closed ]; then
                        closed=$i
                        break
                fi
                sleep 0.1
        done
        echo "breaker open after ~$((${opened:-0} / 10)) s, closed again after ~$((${closed:-0} / 10)) s"
        [ -n "$opened" ] || { echo "the nlp breaker never opened"; return 1; }
        [ -n "$closed" ] || { echo "the nlp breaker did not close within 40 s"; return 1; }
        # it was the supervisor's notices that did it: two signed webhooks about nlp
        local admin rows
        admin=$(auth_token admin ada) || return 1
        # the probe may close the breaker before the "up" notice is in: wait for both
        for ((i = 0; i < 50; i++)); do
                rows=$(curl -sf -H "Authorization: Bearer $admin" "$URL/audit?action=webhook.receive&since=$since&limit=50")
                jq -e '[.records[] | select(.target == "nlp" and .result == 200)] | length >= 2' <<<"$rows" >/dev/null && return 0
                sleep 0.2
        done
        echo "fewer than two audited service notices about nlp: $rows"
        return 1
}
check "supervisor → orchestrator: a killed nlp opens its breaker at once by a signed notice; it closes once nlp is ready" t_auth_breaker_notice

t_auth_off() {
        pod_env_pop && restart_units ai-semble-orchestrator.service &&
                expect_eq "still a token required" 401 "$(auth_code "" GET '/jobs?limit=1')" &&
                api_expect 200 GET '/jobs?limit=1'
}
check "auth: back to the configuration as deployed" t_auth_off
