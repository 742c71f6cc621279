/* SPDX-License-Identifier: MIT */
/* api.c — the orchestrator's route table. Every route goes through api_dispatch(): the
 * bearer token (or the webhook's own signature), the rate limit, the handler of its family
 * (api-tasks.c, api-v1.c, api-datasets.c, api-workflows.c, api-jobs.c, api-locks.c,
 * api-webhook.c, api-audit.c, api-keys.c, api-usage.c, api-schedules.c), the audit row of a state-changing
 * request and the request counter. Every task request becomes a job in the store; synchronous requests wait
 * for the worker, asynchronous ones get 202 + Location. */
#include "api-internal.h"
#include "http-host.h"
#include "log.h"
#include "time-util.h"

static const ApiRoute api_table[] = {
        { "POST",
          "/ai/llm/completion",
          api_tasks_submit,
          "job.submit",
          .data = &api_tasks_llm_completion,
          .metered = true },
        { "POST",
          "/ai/vision/analyze",
          api_tasks_submit,
          "job.submit",
          .data = &api_tasks_vision_analyze,
          .metered = true },
        { "POST",
          "/ai/nlp/process",
          api_tasks_submit,
          "job.submit",
          .data = &api_tasks_nlp_process,
          .metered = true },
        { "POST",
          "/data/process",
          api_tasks_submit,
          "job.submit",
          .data = &api_tasks_data_process,
          .metered = true },
        { "POST", "/dispatch", api_tasks_dispatch, "dispatch", .metered = true },
        { "GET", "/tasks", api_tasks_list },
        /* The llm's OpenAI- and Anthropic-compatible API: each call a job of the llm task
         * whose route it is. */
        { "POST", "/v1/chat/completions", api_v1_call, "job.submit", .metered = true },
        { "POST", "/v1/completions", api_v1_call, "job.submit", .metered = true },
        { "POST", "/v1/messages", api_v1_call, "job.submit", .metered = true },
        { "POST", "/v1/embeddings", api_v1_call, "job.submit", .metered = true },
        { "GET", "/v1/models", api_v1_call, "job.submit", .metered = true },
        /* The data service's datasets; an upload streams through (its caps are the data
         * service's: DATA_MAX_STREAM_BYTES). */
        { "POST",
          "/data/datasets",
          api_datasets_upload,
          "dataset.upload",
          .flags = HTTP_ROUTE_STREAM_BODY | HTTP_ROUTE_ANY_CONTENT_TYPE,
          .max_body = UINT64_C(1) << 50 },
        { "GET", "/data/datasets", api_datasets_list },
        { "GET", "/data/datasets/{name}", api_datasets_get },
        { "DELETE", "/data/datasets/{name}", api_datasets_delete, "dataset.delete" },
        { "POST", "/workflows", api_workflows_submit, "workflow.submit", .metered = true },
        { "GET", "/locks", api_locks_list },
        { "POST", "/locks/{name}", api_locks_acquire, "lock.acquire" },
        { "DELETE", "/locks/{name}", api_locks_release, "lock.release" },
        { "GET", "/jobs", api_jobs_list },
        { "GET", "/jobs/{id}", api_jobs_get },
        { "DELETE", "/jobs/{id}", api_jobs_cancel, "job.cancel" },
        { "GET", "/jobs/{id}/events", api_jobs_events },
        /* The supervisor's notices release held calls: they must not wait behind them. */
        { "POST", "/webhook", api_webhook_receive, "webhook.receive", true, .flags = HTTP_ROUTE_CONTROL },
        { "GET", "/audit", api_audit_query },
        /* API keys (admins) and token usage (everyone's own; admins any). */
        { "POST", "/keys", api_keys_create, "key.create" },
        { "GET", "/keys", api_keys_list },
        { "DELETE", "/keys/{id}", api_keys_revoke, "key.revoke" },
        { "GET", "/usage", api_usage_get },
        /* Schedules: each run a job of its creator's (api-schedules.c). */
        { "POST", "/schedules", api_schedules_create, "schedule.create" },
        { "GET", "/schedules", api_schedules_list },
        { "GET", "/schedules/{id}", api_schedules_get },
        { "POST", "/schedules/{id}/pause", api_schedules_pause, "schedule.pause" },
        { "POST", "/schedules/{id}/resume", api_schedules_resume, "schedule.resume" },
        { "DELETE", "/schedules/{id}", api_schedules_delete, "schedule.delete" },
};

static Orchestrator *api_orchestrator;
static HttpRoute http_routes[ELEMENTSOF(api_table)];

/* One token from the caller's bucket; 429 with Retry-After when empty. RateLimit-* go on
 * every answer so clients can pace themselves. -EBUSY = refused and answered. */
static int api_rate_limit(HttpRequest *req, Orchestrator *o, const AuthClaims *who) {
        RateLimitDecision d;
        char key[RATELIMIT_KEY_MAX + 1], v[64];

        if (!o->ratelimit)
                return 0;
        api_principal_key(req, who, key);
        ratelimit_take(o->ratelimit, key, time_now_s(CLOCK_MONOTONIC), &d);
        snprintf(v, sizeof(v), "%u", d.limit);
        (void) http_reply_add_header(req, "RateLimit-Limit", v);
        snprintf(v, sizeof(v), "%u", d.remaining);
        (void) http_reply_add_header(req, "RateLimit-Remaining", v);
        snprintf(v, sizeof(v), "%u", d.reset_s);
        (void) http_reply_add_header(req, "RateLimit-Reset", v);
        if (d.allowed)
                return 0;
        snprintf(v, sizeof(v), "%u", d.retry_after_s);
        (void) http_reply_add_header(req, "Retry-After", v);
        (void) http_reply_error(req, 429, "rate limit exceeded for %s; retry in %u s", key, d.retry_after_s);
        return -EBUSY;
}

/* What the pre-body check learned, handed to api_dispatch() in the request's scratch. */
typedef struct ApiChecked {
        bool done;
        AuthClaims who;
        double t_received;
} ApiChecked;
_Static_assert(sizeof(ApiChecked) <= HTTP_REQUEST_SCRATCH_SIZE, "ApiChecked fits the scratch area");

static void api_received(const ApiRoute *ar, ApiContext *ctx) {
        if (ar->action)
                ctx->t_received = time_now_s(CLOCK_REALTIME);
}

/* The Host, the bearer check, an API key's budgets and limits and the caller's rate limit: 0 to go on,
 * -EPERM / -EACCES / -EBUSY when refused and answered; *ret_gate is the bearer check's own result (for the
 * audit). */
static int api_check(HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int *ret_gate) {
        int r;

        *ret_gate = 0;
        r = http_host_check(req, o->config.allowed_hosts, "ORCH_ALLOWED_HOSTS");
        if (r < 0)
                return r;
        *ret_gate = r =
                ar->signed_body ? 0 : auth_gate(o->jwt, &o->keys, req, ar->method, ar->path, &ctx->who);
        if (ar->signed_body || !o->jwt)
                ctx->who = (AuthClaims){ .role = o->jwt ? AUTH_ROLE_NONE : AUTH_ROLE_ADMIN };
        /* A key's own limits first: a request they refuse takes nothing from the bucket. */
        if (r >= 0 && ar->metered)
                r = api_keys_check_limits(req, o, &ctx->who);
        if (r >= 0)
                r = api_rate_limit(req, o, &ctx->who);
        return r;
}

/* The audit row and the request counter, once the request is answered. */
static void api_finish(HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int gate) {
        /* A handler that failed without replying gets the server's 500. */
        int status = http_request_replied(req) ? http_reply_status(req) : 500;

        if (ar->action)
                api_audit_record(req, o, ar, ctx, gate, status);
        if (o->http_requests) {
                char s[16];

                snprintf(s, sizeof(s), "%d", status);
                (void) metrics_counter_add(o->http_requests, (const char *[]){ ar->path, ar->method, s }, 1);
        }
}

static int api_dispatch(HttpRequest *req, void *userdata) {
        const ApiRoute *ar = userdata;
        Orchestrator *o = api_orchestrator;
        ApiContext ctx = { .t0_us = time_now_usec(CLOCK_MONOTONIC), .data = ar->data };
        const ApiChecked *chk = http_request_scratch(req);
        int r, gate = 0;

        if (chk->done) {
                ctx.who = chk->who; /* checked before the body was read */
                ctx.t_received = chk->t_received;
                r = 0;
        } else {
                api_received(ar, &ctx);
                r = api_check(req, o, ar, &ctx, &gate);
        }
        if (r == -EACCES || r == -EBUSY || r == -EPERM)
                r = 0; /* refused and answered: the handler does not run */
        else if (r >= 0)
                r = ar->handler(req, o, &ctx);
        if (r == -ECONNRESET && !http_request_replied(req)) {
                /* The job store lost its database connection (PostgreSQL): this request fails
                 * cleanly, the next one reconnects. */
                log_warning_errno(
                        r, "%s %s: the job store's database is unreachable: %m", ar->method, ar->path);
                (void) http_reply_add_header(req, "Retry-After", "1");
                r = http_reply_error(req, 503, "the job store's database is unavailable; try again");
        }
        api_finish(req, o, ar, &ctx, gate);
        return r;
}

int api_pre_body(HttpRequest *req, const HttpRoute *route, void *userdata) {
        Orchestrator *o = userdata;
        const ApiRoute *ar;
        ApiContext ctx = {};
        ApiChecked *chk;
        int r, gate;

        if (route->handler != api_dispatch) /* the built-in routes: then the service's gate */
                return http_host_check(req, o->config.allowed_hosts, "ORCH_ALLOWED_HOSTS");
        ar = route->userdata;
        ctx.data = ar->data;
        api_received(ar, &ctx);
        r = api_check(req, o, ar, &ctx, &gate);
        if (r < 0) {
                api_finish(req, o, ar, &ctx, gate);
                return r;
        }
        chk = http_request_scratch(req);
        *chk = (ApiChecked){ .done = true, .who = ctx.who, .t_received = ctx.t_received };
        return 0;
}

/* ServiceDefinition.gate: /health* and /metrics need a viewer token unless exempt. */
int api_gate(HttpRequest *req, void *userdata) {
        Orchestrator *o = userdata;
        AuthClaims who;

        if (!o->jwt || auth_exempt_match(o->auth_exempt, http_request_path(req)))
                return 0;
        return auth_gate(o->jwt, &o->keys, req, "GET", http_request_path(req), &who);
}

const HttpRoute *api_routes(Orchestrator *o, size_t *ret_n) {
        api_orchestrator = o;
        for (size_t i = 0; i < ELEMENTSOF(api_table); i++)
                http_routes[i] = (HttpRoute){
                        .method = api_table[i].method,
                        .path = api_table[i].path,
                        .handler = api_dispatch,
                        .flags = api_table[i].flags,
                        .userdata = (void *) &api_table[i],
                        .max_body = api_table[i].max_body,
                };
        *ret_n = ELEMENTSOF(http_routes);
        return http_routes;
}
