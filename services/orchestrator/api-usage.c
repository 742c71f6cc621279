/* SPDX-License-Identifier: MIT */
/* api-usage.c — token usage: recorded for each completed llm job (its principal, model and
 * UTC day; the answer says the tokens, usage.c reads them), counted per key in
 * orch_key_tokens_total, and served by GET /usage (one's own; admins anyone's). */
#include "api-internal.h"
#include "http-query.h"
#include "log.h"
#include "time-util.h"
#include "usage.h"

/* The principal of a job submitted with auth off. */
#define USAGE_ANONYMOUS "anonymous"

void api_usage_record(const Job *j, void *userdata) {
        Orchestrator *o = userdata;
        const char *principal = j->submitter[0] ? j->submitter : USAGE_ANONYMOUS, *name;
        double now = time_now_s(CLOCK_REALTIME);
        char day[11];
        UsageCount u, tail;
        int r;

        if (j->task->service != UPSTREAM_LLM)
                return;
        /* A stream longer than the job keeps says its usage in the tail it kept besides. */
        r = usage_from_answer(j->body_json, j->body, j->body_len, &u);
        if (j->relay_tail && usage_from_answer(NULL, j->relay_tail, j->relay_tail_len, &tail) > 0) {
                if (r <= 0)
                        u = tail;
                u.prompt = MAX(u.prompt, tail.prompt);
                u.completion = MAX(u.completion, tail.completion);
                r = 1;
        }
        if (r <= 0)
                return;
        usage_day(now, day);
        r = job_store_usage_add(
                o->store, principal, day, u.model[0] ? u.model : "unknown", u.prompt, u.completion);
        if (r < 0)
                log_warning_errno(r, "Failed to record the token usage of job %s: %m", j->id);
        name = apikey_name_of(j->submitter);
        if (!name)
                return;
        apikey_meter_add_tokens(o->key_meter, name, u.prompt + u.completion, now);
        if (o->key_tokens) {
                const char *label = apikey_meter_label(o->key_meter, name);

                (void) metrics_counter_add(
                        o->key_tokens, (const char *[]){ label, "prompt" }, (double) u.prompt);
                (void) metrics_counter_add(
                        o->key_tokens, (const char *[]){ label, "completion" }, (double) u.completion);
        }
}

static bool day_valid(const char *s) {
        struct tm tm = {};
        const char *end;

        if (strlen(s) != 10)
                return false;
        end = strptime(s, "%Y-%m-%d", &tm);
        return end && *end == '\0';
}

/* ?since=&until= (YYYY-MM-DD, UTC, inclusive), ?principal= (admins; others may name only
 * themselves). */
int api_usage_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *errs = NULL, *list = NULL, *resp = NULL, *totals = NULL;
        const char *q = http_request_query(req), *scope = api_scope(o, ctx);
        char since[16], until[16], principal[AUTH_SUB_MAX + 1];
        int64_t sum[3] = {};
        int r;

        r = http_query_get_decoded(q, "since", since, sizeof(since));
        if (r < 0 || (r > 0 && !day_valid(since)))
                (void) json_errors_add(&errs, "since", "must be a UTC day such as 2026-01-31");
        else if (r == 0)
                since[0] = '\0';
        r = http_query_get_decoded(q, "until", until, sizeof(until));
        if (r < 0 || (r > 0 && !day_valid(until)))
                (void) json_errors_add(&errs, "until", "must be a UTC day such as 2026-01-31");
        else if (r == 0)
                until[0] = '\0';
        r = http_query_get_decoded(q, "principal", principal, sizeof(principal));
        if (r < 0)
                (void) json_errors_add(
                        &errs, "principal", "must be 1-%d characters, percent-encoded", AUTH_SUB_MAX);
        else if (r == 0)
                principal[0] = '\0';
        if (errs)
                return http_reply_validation(req, errs);
        if (scope && principal[0] && !streq(principal, scope))
                return http_reply_error(req, 403, "only admins may see the usage of another principal");

        r = job_store_usage_json(
                o->store,
                scope ?: (principal[0] ? principal : NULL),
                since[0] ? since : NULL,
                until[0] ? until : NULL,
                &list);
        if (r < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(list); i++) {
                json_object *row = json_object_array_get_idx(list, i);

                sum[0] += json_object_get_int64(json_object_object_get(row, "requests"));
                sum[1] += json_object_get_int64(json_object_object_get(row, "prompt_tokens"));
                sum[2] += json_object_get_int64(json_object_object_get(row, "completion_tokens"));
        }
        resp = json_object_new_object();
        totals = json_object_new_object();
        if (!resp || !totals)
                return -ENOMEM;
        json_object_object_add(totals, "requests", json_object_new_int64(sum[0]));
        json_object_object_add(totals, "prompt_tokens", json_object_new_int64(sum[1]));
        json_object_object_add(totals, "completion_tokens", json_object_new_int64(sum[2]));
        json_object_object_add(totals, "total_tokens", json_object_new_int64(sum[1] + sum[2]));
        json_object_object_add(
                resp,
                "principal",
                scope || principal[0] ? json_object_new_string(scope ?: principal) : NULL);
        json_object_object_add(resp, "since", since[0] ? json_object_new_string(since) : NULL);
        json_object_object_add(resp, "until", until[0] ? json_object_new_string(until) : NULL);
        json_object_object_add(resp, "usage", TAKE_PTR(list));
        json_object_object_add(resp, "totals", TAKE_PTR(totals));
        return http_reply_json(req, 200, resp);
}
