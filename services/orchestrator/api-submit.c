/* SPDX-License-Identifier: MIT */
/* api-submit.c — a task request becoming a job: the input guardrails, Idempotency-Key
 * (replayed or refused), the job in the store and the runner, and the reply (202 +
 * Location for asynchronous requests, else the outcome once the worker is done). */
#include <strings.h>

#include "api-internal.h"
#include "sha256.h"
#include "time-util.h"

#define IDEMPOTENCY_KEY_MAX 255

/* A new job is owned by the caller (recorded with auth on) and is the request's target. */
static void api_context_submitted(ApiContext *ctx, Job *j) {
        job_set_submitter(j, ctx->who.sub, auth_role_to_string(ctx->who.role));
        api_context_set_target(ctx, j->id);
}

/* An Idempotency-Key is the caller's own: stored as "<length of sub>:<sub>:<key>", so that
 * another principal sending the same key and body gets a job of its own, not the first
 * one's result. ("0::<key>" with auth off, where every caller is the same anonymous.) */
static int scoped_key(const ApiContext *ctx, const char *key, char **ret) {
        return asprintf(ret, "%zu:%s:%s", strlen(ctx->who.sub), ctx->who.sub, key) < 0 ? -ENOMEM : 0;
}

static int request_hash(HttpRequest *req, char ret[static SHA256_HEX_SIZE]) {
        uint8_t md[SHA256_SIZE];
        size_t len;
        const char *body = http_request_body(req, &len);
        const struct iovec parts[] = {
                { .iov_base = (void *) http_request_path(req), .iov_len = strlen(http_request_path(req)) },
                { .iov_base = (void *) "\n", .iov_len = 1 },
                { .iov_base = (void *) body, .iov_len = body ? len : 0 },
        };
        int r = sha256_parts(parts, ELEMENTSOF(parts), md);

        if (r < 0)
                return r;
        sha256_to_hex(md, ret);
        return 0;
}

/* Whether the request asked for a fresh answer (a Cache-Control directive no-cache). */
static bool wants_fresh(HttpRequest *req) {
        const char *cc = http_request_header(req, "Cache-Control");

        for (const char *p = cc; p && *p;) {
                size_t n;

                p += strspn(p, " \t,");
                n = strcspn(p, " \t,=");
                if (n == 8 && strncasecmp(p, "no-cache", 8) == 0)
                        return true;
                p += strcspn(p, ",");
        }
        return false;
}

/* Whether the body sent to the data service names a stored dataset: the answer then
 * depends on what is stored under that name now (an upload with replace, a delete), not
 * on the input alone. */
static bool names_dataset(json_object *body) {
        json_object *data;

        return json_object_object_get_ex(body, "data", &data) &&
                json_object_is_type(data, json_type_object) &&
                json_object_object_get_ex(data, "dataset", NULL);
}

/* The result cache's part in a job: a pure task's (an idempotent vision, nlp or data task
 * that names no stored dataset; an llm call only with X-Cache-LLM: on) key over its
 * service, task, caller and the canonical form of the body sent to the service. Relayed
 * answers are never cached. */
static int
cache_setup(HttpRequest *req, Orchestrator *o, const ApiSubmission *sub, const ApiContext *ctx, Job *j) {
        const UpstreamTask *t = sub->task;
        const char *opt_in = http_request_header(req, "X-Cache-LLM");
        _cleanup_free_ char *input = NULL;
        size_t len = 0;
        int r;

        if (!o->cache || sub->relay)
                return 0;
        if (t->service == UPSTREAM_LLM ? !(opt_in && strcasecmp(opt_in, "on") == 0) : !t->idempotent)
                return 0;
        if (t->service == UPSTREAM_DATA && names_dataset(sub->body))
                return 0;
        r = json_canonical_string(sub->body, &input, &len);
        if (r >= 0)
                r = result_cache_key(
                        &(ResultCacheKeyInput){
                                .service = upstream_service_to_string(t->service),
                                .task = t->name,
                                .principal = ctx->who.sub,
                                .content_type = "application/json",
                                .input = input,
                                .input_len = len,
                        },
                        &j->cache_key);
        if (r < 0)
                return r;
        j->cache_mode = wants_fresh(req) ? JOB_CACHE_REFRESH : JOB_CACHE_USE;
        return 0;
}

/* The input guardrails on the text fields of the body sent upstream. A blocking rule
 * answers 422 naming the field and the rule (returns 1); flagged rules come back as a
 * JSON array for the job (*ret_flags, NULL when none). */
int api_guardrail_gate(
        HttpRequest *req, Orchestrator *o, json_object *body, ApiShape shape, char **ret_flags) {
        _cleanup_problem_ Problem *p = NULL;
        _cleanup_free_ char *msg = NULL;
        GuardrailResult res;
        const char *rule;
        int r;

        if (!o->guardrail)
                return 0;
        guardrail_result_init(&res);
        (void) guardrail_check_json(o->guardrail, body, shape == API_SHAPE_DISPATCH ? "payload." : "", &res);
        for (size_t i = 0; o->guardrail_hits && i < guardrail_n_rules(o->guardrail); i++)
                if (res.hit[i])
                        (void) metrics_counter_add(
                                o->guardrail_hits,
                                (const char *[]){
                                        guardrail_rule_name(o->guardrail, i),
                                        guardrail_action_to_string(guardrail_rule_action(o->guardrail, i)) },
                                1);
        if (res.blocked < 0)
                return guardrail_result_flags_json(o->guardrail, &res, ret_flags);

        rule = guardrail_rule_name(o->guardrail, (size_t) res.blocked);
        if (asprintf(&msg, "blocked by guardrail rule %s", rule) < 0)
                return -ENOMEM;
        p = problem_newf(422, NULL, "the request was blocked by guardrail rule %s", rule);
        if (!p || problem_add_error(p, res.blocked_field, msg) < 0 ||
            problem_add_extension(p, "rule", json_object_new_string(rule)) < 0)
                return -ENOMEM;
        r = http_reply_problem(req, p);
        return r < 0 ? r : 1;
}

/* The client of a relayed job went away: the job stops (its call aborts). */
static void relay_client_gone(void *userdata) {
        Job *j = userdata;

        __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
}

/* A relayed job runs to its end however long it takes (its deadline bounds it): the
 * relay writes to the request until then. The watch on the client began before it ran. */
static int wait_relayed(HttpRequest *req, Job *j, ApiShape shape, uint64_t t0_us) {
        int r;

        while (job_runner_wait(j, 60000) == -ETIMEDOUT)
                ;
        (void) http_request_watch_gone(req, NULL, NULL);
        if (!http_request_replied(req))
                return api_reply_job_outcome(req, j, shape, t0_us);
        r = http_reply_stream_end(req);
        return r == -EPIPE ? 0 : r;
}

int api_submit(HttpRequest *req, Orchestrator *o, const ApiSubmission *sub, ApiContext *ctx) {
        const uint64_t t0_us = ctx->t0_us;
        /* A relayed answer is the request's own: Prefer: respond-async is not taken. */
        const bool async = !sub->relay && (sub->async || sub->run_at > 0 || api_prefer_async(req));
        const char *svc = upstream_service_to_string(sub->task->service);
        const char *key = http_request_header(req, "Idempotency-Key");
        _cleanup_(job_unrefp) Job *j = NULL;
        _cleanup_free_ char *existing_id = NULL, *existing_hash = NULL, *flags = NULL, *scoped = NULL;
        char hash[SHA256_HEX_SIZE] = "", ra[32];
        uint64_t retry_after;
        const char *txt;
        char *payload;
        int r;

        /* The body names its task where the service reads it (a /dispatch or webhook payload
         * may leave it out; the seed's bodies have it already). */
        if (sub->task->task_field)
                json_object_object_add(
                        sub->body, sub->task->task_field, json_object_new_string(sub->task->name));
        r = api_guardrail_gate(req, o, sub->body, sub->shape, &flags);
        if (r != 0)
                return r < 0 ? r : 0;

        /* An open breaker answers a synchronous request at once, before a job exists. An
         * asynchronous one is accepted: its job waits for the service (Job.wait_ready). */
        retry_after = async
                ? 0
                : breaker_wait_ms(&o->upstreams.breakers[sub->task->service], time_now_ms(CLOCK_MONOTONIC));
        if (retry_after > 0) {
                snprintf(ra, sizeof(ra), "%" PRIu64, MAX((retry_after + 999) / 1000, (uint64_t) 1));
                (void) http_reply_add_header(req, "Retry-After", ra);
                return api_reply_problem(
                        req,
                        503,
                        NULL,
                        svc,
                        NULL,
                        "the circuit breaker for service %s is open after repeated failures",
                        svc);
        }

        if (key) {
                if (isempty(key) || strlen(key) > IDEMPOTENCY_KEY_MAX)
                        return api_reply_400_field(
                                req,
                                "Idempotency-Key",
                                "Idempotency-Key must be 1 to %d characters",
                                IDEMPOTENCY_KEY_MAX);
                r = request_hash(req, hash);
                if (r >= 0)
                        r = scoped_key(ctx, key, &scoped);
                if (r < 0)
                        return r;
                r = job_store_find_key(o->store, scoped, &existing_id, &existing_hash);
                if (r >= 0) {
                        if (!streq(existing_hash, hash)) {
                                _cleanup_problem_ Problem *p = problem_new(
                                        422, NULL, "this Idempotency-Key was used with a different request");

                                if (!p ||
                                    problem_add_error(
                                            p, "Idempotency-Key", "reused with a different payload") < 0)
                                        return -ENOMEM;
                                return http_reply_problem(req, p);
                        }
                        return api_reply_stored(req, o, existing_id, sub->shape);
                }
                if (r != -ENOENT)
                        return r;
        }

        txt = json_object_to_json_string_ext(
                sub->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        payload = txt ? strdup(txt) : NULL;
        if (!payload)
                return -ENOMEM;
        r = job_new(sub->task, sub->priority, payload, sub->timeout_ms, http_request_id(req), &j);
        if (r < 0)
                return r;
        job_set_trace(j, http_request_trace(req));
        j->guardrail_flags = TAKE_PTR(flags);
        r = cache_setup(req, o, sub, ctx, j);
        if (r < 0)
                return r;
        j->wait_ready = async;
        j->run_at = sub->run_at;
        j->relay = sub->relay;
        if (sub->relay) /* for the relayed head */
                snprintf(sub->relay->job_id, sizeof(sub->relay->job_id), "%s", j->id);
        api_context_submitted(ctx, j);
        if (sub->relay) /* a relayed job may run right here, in job_runner_submit() */
                (void) http_request_watch_gone(req, relay_client_gone, j);
        r = job_runner_submit(o->runner, j, !async, scoped, scoped ? hash : NULL);
        if (r < 0 && sub->relay)
                (void) http_request_watch_gone(req, NULL, NULL);
        if (r == -EEXIST && key)
                return api_reply_problem(
                        req,
                        409,
                        NULL,
                        NULL,
                        NULL,
                        "a request with this Idempotency-Key is still in progress");
        if (r == -EAGAIN || r == -ESHUTDOWN) {
                (void) http_reply_add_header(req, "Retry-After", "1");
                (void) http_reply_add_header(req, "X-Job-ID", j->id);
                return api_reply_problem(req, 503, j->id, svc, NULL, "%s", j->error);
        }
        if (r < 0)
                return r;
        if (sub->run_at > 0)
                schedule_timer_kick(o->schedules); /* it may be due before anything else */

        if (async) {
                _cleanup_json_ json_object *resp = json_object_new_object();
                char location[64];

                if (!resp)
                        return -ENOMEM;
                snprintf(location, sizeof(location), "/jobs/%s", j->id);
                json_object_object_add(resp, "job_id", json_object_new_string(j->id));
                /* A cache hit is done already. */
                json_object_object_add(
                        resp,
                        "status",
                        json_object_new_string(
                                job_is_done(j) ? job_status_to_string(j->status) : "pending"));
                json_object_object_add(resp, "location", json_object_new_string(location));
                {
                        char ev[80];

                        snprintf(ev, sizeof(ev), "/jobs/%s/events", j->id);
                        json_object_object_add(resp, "events", json_object_new_string(ev));
                }
                if (sub->run_at > 0) {
                        char at[32];

                        job_format_time(sub->run_at, at);
                        json_object_object_add(resp, "run_at", json_object_new_string(at));
                }
                api_add_job_annotations(resp, j->guardrail_flags, NULL);
                (void) http_reply_add_header(req, "Location", location);
                (void) http_reply_add_header(req, "X-Job-ID", j->id);
                if (job_cache_status(j))
                        (void) http_reply_add_header(req, "X-Cache", job_cache_status(j));
                api_add_overhead_header(req, t0_us, 0);
                return http_reply_json(req, 202, resp);
        }

        if (sub->relay)
                return wait_relayed(req, j, sub->shape, t0_us);
        r = job_runner_wait(j, sub->timeout_ms + SYNC_WAIT_SLACK_MS);
        if (r == -ETIMEDOUT) {
                (void) http_reply_add_header(req, "X-Job-ID", j->id);
                return api_reply_problem(
                        req,
                        504,
                        NULL,
                        svc,
                        NULL,
                        "job %s is still running; poll /jobs/%s for its result",
                        j->id,
                        j->id);
        }
        return api_reply_job_outcome(req, j, sub->shape, t0_us);
}
