/* SPDX-License-Identifier: MIT */
/* api-internal.h — what the orchestrator's route families (api-*.c) share: the per-request
 * context, the route row, the replies and the submission of a job. */
#pragma once

#include "json-util.h"
#include "orchestrator.h"

#define SYNC_WAIT_SLACK_MS 5000

/* What every handler gets besides the request: the start time, the verified caller, its
 * route's data and a slot for what the request acted on (the audit row's target). */
typedef struct ApiContext {
        uint64_t t0_us;
        double t_received; /* Unix seconds: the audit row's time */
        AuthClaims who;    /* sub "" = auth off (or a signed webhook) */
        const void *data;  /* ApiRoute.data */
        char target[192];
} ApiContext;

/* The principal whose jobs the caller may see, act on and replay: NULL = every job (an
 * admin, or auth off). Another principal's job is answered as if it did not exist. */
static inline const char *api_scope(const Orchestrator *o, const ApiContext *ctx) {
        return o->jwt && ctx->who.role < AUTH_ROLE_ADMIN ? ctx->who.sub : NULL;
}

/* Who the caller is for its limits (rate, open streams): "sub:<JWT sub>" when a token was
 * verified, else "addr:<client address>". */
static inline void
api_principal_key(HttpRequest *req, const AuthClaims *who, char buf[static RATELIMIT_KEY_MAX + 1]) {
        if (who && who->sub[0])
                snprintf(buf, RATELIMIT_KEY_MAX + 1, "sub:%s", who->sub);
        else
                snprintf(buf, RATELIMIT_KEY_MAX + 1, "addr:%s", http_request_remote_addr(req));
}

static inline void api_context_set_target(ApiContext *ctx, const char *target) {
        snprintf(ctx->target, sizeof(ctx->target), "%s", strempty(target));
}

typedef int (*ApiHandler)(HttpRequest *req, Orchestrator *o, ApiContext *ctx);

typedef struct ApiRoute {
        const char *method, *path;
        ApiHandler handler;
        const char *action; /* the audit row's action; NULL = not state-changing, not audited */
        bool signed_body;   /* authenticated by its own signature, not a bearer token */
        const void *data;   /* for the handler (ApiContext.data) */
        unsigned flags;     /* HttpRouteFlags: a streamed body (dataset uploads) */
        bool metered;       /* work for a backend: an API key's budgets and RPM/TPM apply */
        uint64_t max_body;  /* with HTTP_ROUTE_STREAM_BODY: the bytes the handler may pull */
} ApiRoute;

/* ---- replies (api-reply.c) ---------------------------------------------------------- */

typedef enum ApiShape {
        API_SHAPE_LLM,      /* {job_id, status, result:<text>, error, model_used, selection_reason,
                             * processing_time} */
        API_SHAPE_GENERIC,  /* {job_id, status, result, error, processing_time} */
        API_SHAPE_DATA,     /* the data service's object + job_id */
        API_SHAPE_DISPATCH, /* generic + service, task */
        API_SHAPE_RAW,      /* the service's answer as it is (the /v1 API) */
} ApiShape;

/* A problem with the members job_id (and job_status "failed") and service, each when not
 * NULL; base, when an object, is the upstream service's own problem, relayed. */
int api_reply_problem(
        HttpRequest *req,
        int status,
        const char *job_id,
        const char *service,
        json_object *base,
        const char *fmt,
        ...) _printf_(6, 7);
/* 400 naming field. */
int api_reply_400_field(HttpRequest *req, const char *field, const char *fmt, ...) _printf_(3, 4);
void api_add_overhead_header(HttpRequest *req, uint64_t t0_us, double upstream_ms);
/* "guardrails":{"flagged":[...]} and "redactions":{kind:n} of a job, when it has them. */
void api_add_job_annotations(json_object *resp, const char *flags, const char *redactions);
/* Replies with the outcome of a finished in-memory job. */
int api_reply_job_outcome(HttpRequest *req, Job *j, ApiShape shape, uint64_t t0_us);
/* Replays a stored job for a repeated Idempotency-Key. */
int api_reply_stored(HttpRequest *req, Orchestrator *o, const char *id, ApiShape shape);
/* Prefer: respond-async. */
bool api_prefer_async(HttpRequest *req);

/* ---- submitting a job (api-submit.c) ------------------------------------------------ */

typedef struct ApiSubmission {
        const UpstreamTask *task;
        JobPriority priority;
        json_object *body; /* sent upstream (borrowed) */
        uint64_t timeout_ms;
        bool async;    /* "async": true in the body; Prefer: respond-async is read by api_submit() */
        double run_at; /* Unix seconds: a delayed job (answered 202 like async); 0 = now */
        ApiShape shape;
        /* The answer relayed to the client as it arrives (a /v1 stream): the job runs
         * synchronously, a client that leaves cancels it, and the reply is the stream the
         * relay began, or the failure's when it began none. */
        JobRelay *relay;
} ApiSubmission;

/* The task's name in the body (UpstreamTask.task_field), guardrails, Idempotency-Key, the
 * job, and the reply: 202 + Location, or the outcome. */
int api_submit(HttpRequest *req, Orchestrator *o, const ApiSubmission *sub, ApiContext *ctx);

/* The supervisor's canary after an update (api-canary.c): one small job of svc through
 * the runner; 200 {service, job_id, canary: passed|failed, status, http_status?, error?}. */
int api_canary_run(HttpRequest *req, Orchestrator *o, UpstreamService svc);

static inline uint64_t api_service_timeout(Orchestrator *o, UpstreamService s) {
        return o->config.upstream.timeout_ms[s];
}

/* ---- the route families ------------------------------------------------------------- */

/* api-tasks.c: the seed's four task endpoints (ApiRoute.data = their ApiTaskEndpoint) and
 * POST /dispatch. */
typedef struct ApiTaskEndpoint ApiTaskEndpoint;
extern const ApiTaskEndpoint api_tasks_llm_completion, api_tasks_vision_analyze, api_tasks_nlp_process,
        api_tasks_data_process;
int api_tasks_submit(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_tasks_dispatch(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* /dispatch's task fields (service, task, payload, priority, timeout), for a schedule too:
 * errors into *errs; -EAGAIN when the service's tasks are not known yet. */
typedef struct ApiDispatch {
        UpstreamService service;
        const UpstreamTask *task;
        JobPriority priority;
        json_object *body; /* the payload, owned */
        uint64_t timeout_ms;
} ApiDispatch;
int api_tasks_read_dispatch(Orchestrator *o, json_object *in, json_object **errs, ApiDispatch *ret);
/* 503 + Retry-After for a service whose tasks are not known yet (its GET /tasks never answered). */
int api_tasks_reply_unknown(HttpRequest *req, UpstreamService s);
static inline void api_dispatch_done(ApiDispatch *d) {
        json_object_put(d->body);
}
/* The input guardrails on a body (api-submit.c): 1 = blocked and answered (422); flagged
 * rules as a JSON array in *ret_flags (NULL when none). */
int api_guardrail_gate(
        HttpRequest *req, Orchestrator *o, json_object *body, ApiShape shape, char **ret_flags);
/* api-schedules.c */
int api_schedules_create(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_schedules_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_schedules_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_schedules_pause(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_schedules_resume(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_schedules_delete(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-workflows.c */
int api_workflows_submit(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-jobs.c */
int api_jobs_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_jobs_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_jobs_cancel(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_jobs_events(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-locks.c */
int api_locks_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_locks_acquire(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_locks_release(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-audit.c: GET /audit, and the audit row of every state-changing request. */
int api_audit_query(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
void api_audit_record(
        HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int gate, int status);
/* GET /tasks: what the services said they run. */
int api_tasks_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-v1.c: the llm's OpenAI- and Anthropic-compatible API (ApiRoute.data unused). */
int api_v1_call(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-datasets.c: the data service's datasets. */
int api_datasets_upload(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_datasets_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_datasets_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_datasets_delete(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-keys.c: POST/GET /keys, DELETE /keys/{id}; the check of its budgets and RPM/TPM before a metered route
 * runs
 * (-EBUSY = refused with 429 and answered). */
int api_keys_create(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_keys_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_keys_revoke(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
int api_keys_check_limits(HttpRequest *req, Orchestrator *o, const AuthClaims *who);
/* api-usage.c: GET /usage. */
int api_usage_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
/* api-webhook.c */
int api_webhook_receive(HttpRequest *req, Orchestrator *o, ApiContext *ctx);
