# shellcheck shell=bash
# service-schedules.sh — schedules through the published port (sourced by run.sh): an
# every-1s schedule of an nlp task runs as jobs linked to it, pause stops its runs, delete
# removes it (its jobs stay), and a bad field is a 422 naming it; a delayed job (run_at)
# waits for its time. About 10 s.

SCHED_ID=

t_schedules_runs() {
        local i runs=0 job
        api_expect 201 POST /schedules \
                '{"service":"nlp","task":"tokenize","payload":{"text":"scheduled words"},"every":"1s","overlap":"allow"}' ||
                return 1
        SCHED_ID=$(jq -r .schedule_id <<<"$API_BODY")
        expect_eq "Location" "/schedules/$SCHED_ID" "$(api_header Location)" || return 1
        for ((i = 0; i < 60; i++)); do # 3 runs take 3 s; 6 s at most
                sleep 0.1
                api_expect 200 GET "/schedules/$SCHED_ID" >/dev/null || return 1
                runs=$(jq .runs <<<"$API_BODY")
                [ "$runs" -ge 3 ] && break
        done
        [ "$runs" -ge 3 ] || { echo "only $runs runs in 6 s: $API_BODY"; return 1; }
        job=$(jq -r .last_job_id <<<"$API_BODY")
        job_wait "$job" completed 10 &&
                expect_eq "the run's schedule_id" "$SCHED_ID" "$(job_field "$job" .schedule_id)" &&
                expect_match "its run_at" '^20[0-9]{2}-' "$(job_field "$job" .run_at)"
}
check "schedules: an every-1s schedule runs at least 3 times in 6 s, as jobs linked to it" t_schedules_runs

t_schedules_pause() {
        local before after
        [ -n "$SCHED_ID" ] || return 1
        api_expect 200 POST "/schedules/$SCHED_ID/pause" '{}' &&
                expect_eq "paused" true "$(jq .paused <<<"$API_BODY")" || return 1
        sleep 0.3 # a run claimed just before the pause is counted once its job is stored
        api_expect 200 GET "/schedules/$SCHED_ID" >/dev/null || return 1
        before=$(jq .runs <<<"$API_BODY")
        sleep 2.5
        api_expect 200 GET "/schedules/$SCHED_ID" >/dev/null || return 1
        after=$(jq .runs <<<"$API_BODY")
        expect_eq "runs while paused 2.5 s" "$before" "$after"
}
check "schedules: pause stops the runs" t_schedules_pause

t_schedules_delete() {
        local job
        [ -n "$SCHED_ID" ] || return 1
        job=$(jq -r .last_job_id <<<"$API_BODY")
        api_expect 200 DELETE "/schedules/$SCHED_ID" >/dev/null &&
                api_expect 404 GET "/schedules/$SCHED_ID" >/dev/null &&
                expect_eq "its last job stays" "$SCHED_ID" "$(job_field "$job" .schedule_id)"
}
check "schedules: delete removes the schedule, not its jobs" t_schedules_delete

t_schedules_422() {
        api_expect 422 POST /schedules '{"service":"nlp","task":"tokenize","payload":{"text":"x"},"cron":"61 * * * *"}' &&
                expect_eq "the field" cron "$(jq -r '.errors[0].field' <<<"$API_BODY")" &&
                api_expect 422 POST /schedules '{"service":"nlp","task":"tokenize","every":"1s","overlap":"sometimes"}' &&
                expect_eq "the field" overlap "$(jq -r '.errors[0].field' <<<"$API_BODY")" &&
                api_expect 422 POST /schedules '{"service":"nlp","task":"tokenize","every":0.5}' &&
                expect_eq "the field" every "$(jq -r '.errors[0].field' <<<"$API_BODY")"
}
check "schedules: an invalid cron, overlap or every is a 422 naming the field" t_schedules_422

t_schedules_run_at() {
        local at job
        at=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
        api_expect 202 POST /dispatch \
                "{\"service\":\"nlp\",\"task\":\"tokenize\",\"payload\":{\"text\":\"later\"},\"run_at\":\"$at\"}" || return 1
        job=$(jq -r .job_id <<<"$API_BODY")
        expect_eq "pending before its time" pending "$(job_field "$job" .status)" &&
                job_wait "$job" completed 10 &&
                expect_eq "its run_at" "${at%Z}.000Z" "$(job_field "$job" .run_at)"
}
check "schedules: a job with run_at waits until then, then runs" t_schedules_run_at
