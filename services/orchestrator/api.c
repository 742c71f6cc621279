/* SPDX-License-Identifier: MIT */
/* api.c — the orchestrator's HTTP endpoints: the seed's four task endpoints, /dispatch,
 * and /jobs (get, list, cancel, events). Every task request becomes a job in the store;
 * synchronous requests wait for the worker, asynchronous ones get 202 + Location. */
#include <ctype.h>
#include <inttypes.h>
#include <time.h>

#include <openssl/evp.h>

#include "json-util.h"
#include "log.h"
#include "orchestrator.h"
#include "workflow-run.h"

#define PROMPT_MAX (256 * 1024)
#define IDEMPOTENCY_KEY_MAX 255
#define SYNC_WAIT_SLACK_MS 5000

static uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* ---- the per-request context ----------------------------------------------------- */

/* What every handler gets besides the request: the start time, the verified caller and
 * a slot for what the request acted on (the audit row's target). */
typedef struct ApiContext {
        uint64_t t0_us;
        double t_received; /* Unix seconds: the audit row's time */
        AuthClaims who;    /* sub "" = auth off (or a signed webhook) */
        char target[192];
} ApiContext;

static void api_context_set_target(ApiContext *ctx, const char *target) {
        snprintf(ctx->target, sizeof(ctx->target), "%s", strempty(target));
}

/* A new job is owned by the caller (recorded with auth on) and is the request's target. */
static void api_context_submitted(ApiContext *ctx, Job *j) {
        job_set_submitter(j, ctx->who.sub, auth_role_to_string(ctx->who.role));
        api_context_set_target(ctx, j->id);
}

/* ---- replies -------------------------------------------------------------------- */

/* A problem with extension members (job_id, service) that problem.h does not model. */
static int reply_problem_ext(
        HttpRequest *req,
        int status,
        const char *job_id,
        const char *service,
        json_object *base,
        const char *fmt,
        ...) _printf_(6, 7);
static int reply_problem_ext(
        HttpRequest *req,
        int status,
        const char *job_id,
        const char *service,
        json_object *base,
        const char *fmt,
        ...) {
        _cleanup_json_ json_object *o = NULL;
        _cleanup_free_ char *detail = NULL;
        const char *txt;
        size_t len;
        va_list ap;
        int r;

        va_start(ap, fmt);
        if (vasprintf(&detail, fmt, ap) < 0)
                detail = NULL;
        va_end(ap);
        if (!detail)
                return -ENOMEM;
        if (base && json_object_is_type(base, json_type_object)) {
                /* The service's own problem, passed through with our members added. */
                o = json_object_get(base);
                if (!json_object_object_get_ex(o, "detail", NULL))
                        json_object_object_add(o, "detail", json_object_new_string(detail));
                json_object_object_add(o, "status", json_object_new_int(status));
        } else {
                _cleanup_problem_ Problem *p = problem_new(status, NULL, detail);

                if (!p)
                        return -ENOMEM;
                r = problem_to_json(p, http_request_id(req), &o);
                if (r < 0)
                        return r;
        }
        if (job_id) {
                json_object_object_add(o, "job_id", json_object_new_string(job_id));
                json_object_object_add(o, "job_status", json_object_new_string("failed"));
        }
        if (service)
                json_object_object_add(o, "service", json_object_new_string(service));
        txt = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!txt)
                return -ENOMEM;
        return http_reply(req, status, PROBLEM_CONTENT_TYPE, txt, len);
}

static int reply_400_field(HttpRequest *req, const char *field, const char *fmt, ...) _printf_(3, 4);
static int reply_400_field(HttpRequest *req, const char *field, const char *fmt, ...) {
        _cleanup_problem_ Problem *p = NULL;
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (!msg)
                return -ENOMEM;
        p = problem_new(400, NULL, msg);
        if (!p || problem_add_error(p, field, msg) < 0)
                return -ENOMEM;
        return http_reply_problem(req, p);
}

static void add_overhead_header(HttpRequest *req, uint64_t t0_us, double upstream_ms) {
        double total_ms = (double) (now_us() - t0_us) / 1000.0, overhead = total_ms - upstream_ms;
        char v[32];

        snprintf(v, sizeof(v), "%.3f", overhead > 0 ? overhead : 0.0);
        (void) http_reply_add_header(req, "X-Gateway-Overhead-Ms", v);
}

/* ---- the response shapes ---------------------------------------------------------- */

typedef enum Shape {
        SHAPE_LLM, /* {job_id, status, result:<text>, error, model_used, selection_reason, processing_time}
                    */
        SHAPE_GENERIC,  /* {job_id, status, result, error, processing_time} */
        SHAPE_DATA,     /* the data service's object + job_id */
        SHAPE_DISPATCH, /* generic + service, task */
} Shape;

static json_object *format_success(
        Shape shape,
        const char *job_id,
        const UpstreamTask *task,
        json_object *result,
        double processing_s) {
        json_object *o = json_object_new_object();
        json_object *v;

        if (!o)
                return NULL;
        if (shape == SHAPE_DATA && json_object_is_type(result, json_type_object)) {
                struct json_object_iterator it = json_object_iter_begin(result),
                                            end = json_object_iter_end(result);

                for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
                        json_object_object_add(
                                o,
                                json_object_iter_peek_name(&it),
                                json_object_get(json_object_iter_peek_value(&it)));
                json_object_object_add(o, "job_id", json_object_new_string(job_id));
                json_object_object_add(o, "status", json_object_new_string("completed"));
                if (!json_object_object_get_ex(o, "processing_time", NULL))
                        json_object_object_add(o, "processing_time", json_object_new_double(processing_s));
                return o;
        }
        json_object_object_add(o, "job_id", json_object_new_string(job_id));
        json_object_object_add(o, "status", json_object_new_string("completed"));
        if (shape == SHAPE_LLM) {
                const char *reason = "model chosen by the llm service";

                json_object_object_add(
                        o,
                        "result",
                        json_object_object_get_ex(result, "text", &v) ? json_object_get(v)
                                                                      : json_object_get(result));
                json_object_object_add(o, "error", NULL);
                json_object_object_add(
                        o,
                        "model_used",
                        json_object_object_get_ex(result, "model", &v) ? json_object_get(v) : NULL);
                if (json_object_object_get_ex(result, "selection_reason", &v) &&
                    json_object_is_type(v, json_type_string))
                        reason = json_object_get_string(v);
                json_object_object_add(o, "selection_reason", json_object_new_string(reason));
                if (json_object_object_get_ex(result, "tokens_used", &v))
                        json_object_object_add(o, "tokens_used", json_object_get(v));
                if (json_object_object_get_ex(result, "hybrid", &v)) /* both answers (docs/llm.md) */
                        json_object_object_add(o, "hybrid", json_object_get(v));
        } else {
                json_object_object_add(o, "result", json_object_get(result));
                json_object_object_add(o, "error", NULL);
        }
        if (shape == SHAPE_DISPATCH) {
                json_object_object_add(
                        o, "service", json_object_new_string(upstream_service_to_string(task->service)));
                json_object_object_add(o, "task", json_object_new_string(task->name));
        }
        json_object_object_add(o, "processing_time", json_object_new_double(processing_s));
        return o;
}

/* "guardrails":{"flagged":[...]} and "redactions":{kind:n} of a job, when it has them. */
static void add_job_annotations(json_object *resp, const char *flags, const char *redactions) {
        json_object *v = NULL;

        if (flags && json_parse_strict(flags, strlen(flags), &v, NULL) >= 0) {
                json_object *g = json_object_new_object();

                if (g) {
                        json_object_object_add(g, "flagged", v);
                        json_object_object_add(resp, "guardrails", g);
                } else
                        json_object_put(v);
        }
        v = NULL;
        if (redactions && json_parse_strict(redactions, strlen(redactions), &v, NULL) >= 0)
                json_object_object_add(resp, "redactions", v);
}

/* Replies with the outcome of a finished in-memory job. */
static int reply_job_outcome(HttpRequest *req, Job *j, Shape shape, uint64_t t0_us) {
        const char *svc = upstream_service_to_string(j->task->service);
        _cleanup_json_ json_object *result = NULL;
        char ra[32];

        add_overhead_header(req, t0_us, j->upstream_ms);
        (void) http_reply_add_header(req, "X-Job-ID", j->id);
        switch (j->status) {
        case JOB_COMPLETED: {
                _cleanup_json_ json_object *o = NULL;

                result = job_take_body_json(j); /* parsed once, by the worker */
                if (!result && j->body)
                        result = json_object_new_string_len(j->body, (int) j->body_len);
                o = format_success(shape, j->id, j->task, result, (double) (now_us() - t0_us) / 1e6);
                if (!o)
                        return -ENOMEM;
                add_job_annotations(o, j->guardrail_flags, j->redactions);
                return http_reply_json(req, 200, o);
        }
        case JOB_FAILED:
                if (j->http_status > 0) {
                        result = job_take_body_json(j);
                        return reply_problem_ext(
                                req,
                                (int) j->http_status,
                                j->id,
                                svc,
                                result,
                                "%s answered HTTP %ld: %s",
                                svc,
                                j->http_status,
                                j->error);
                }
                if (j->error_errno == -EBUSY || j->error_errno == 0) {
                        snprintf(
                                ra,
                                sizeof(ra),
                                "%" PRIu64,
                                MAX((j->retry_after_ms + 999) / 1000, (uint64_t) 1));
                        (void) http_reply_add_header(req, "Retry-After", ra);
                        return reply_problem_ext(req, 503, j->id, svc, NULL, "%s", j->error);
                }
                return reply_problem_ext(
                        req, j->error_errno == -ETIMEDOUT ? 504 : 502, j->id, svc, NULL, "%s", j->error);
        case JOB_CANCELLED:
                return reply_problem_ext(req, 409, j->id, svc, NULL, "job %s was cancelled", j->id);
        default:
                (void) http_reply_add_header(req, "Retry-After", "1");
                return reply_problem_ext(
                        req, 503, j->id, svc, NULL, "%s", j->error[0] ? j->error : "not run");
        }
}

/* Replays a stored job for a repeated Idempotency-Key. */
static int reply_stored(HttpRequest *req, Orchestrator *o, const char *id, Shape shape) {
        _cleanup_json_ json_object *job = NULL, *resp = NULL;
        json_object *v, *result = NULL;
        const char *status = "", *service = NULL, *task_name = NULL, *error = NULL;
        const UpstreamTask *task = NULL;
        UpstreamService svc;
        int r, error_status = 502;

        r = job_store_get_json(o->store, id, &job);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(job, "status", &v))
                status = json_object_get_string(v);
        if (json_object_object_get_ex(job, "service", &v))
                service = json_object_get_string(v);
        if (json_object_object_get_ex(job, "task", &v))
                task_name = json_object_get_string(v);
        if (json_object_object_get_ex(job, "error", &v) && v)
                error = json_object_get_string(v);
        if (json_object_object_get_ex(job, "error_status", &v))
                error_status = json_object_get_int(v);
        (void) json_object_object_get_ex(job, "result", &result);
        if (upstream_service_from_string(service, &svc) >= 0)
                task = upstream_task_find(svc, task_name);
        (void) http_reply_add_header(req, "Idempotent-Replayed", "true");
        (void) http_reply_add_header(req, "X-Job-ID", id);
        if (streq(status, "completed") && task) {
                resp = format_success(shape, id, task, result, 0);
                if (!resp)
                        return -ENOMEM;
                if (json_object_object_get_ex(job, "guardrails", &v))
                        json_object_object_add(resp, "guardrails", json_object_get(v));
                if (json_object_object_get_ex(job, "redactions", &v))
                        json_object_object_add(resp, "redactions", json_object_get(v));
                return http_reply_json(req, 200, resp);
        }
        if (streq(status, "pending") || streq(status, "running"))
                return reply_problem_ext(
                        req,
                        409,
                        NULL,
                        NULL,
                        NULL,
                        "a request with this Idempotency-Key is still in progress (job %s)",
                        id);
        if (streq(status, "cancelled"))
                return reply_problem_ext(req, 409, id, service, NULL, "job %s was cancelled", id);
        return reply_problem_ext(
                req, error_status >= 400 ? error_status : 502, id, service, NULL, "%s", strempty(error));
}

/* ---- submitting ----------------------------------------------------------------- */

static int request_hash(HttpRequest *req, char ret[static 65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        size_t len;
        const char *body = http_request_body(req, &len);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok;

        if (!ctx)
                return -ENOMEM;
        ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                EVP_DigestUpdate(ctx, http_request_path(req), strlen(http_request_path(req))) == 1 &&
                EVP_DigestUpdate(ctx, "\n", 1) == 1 && (len == 0 || EVP_DigestUpdate(ctx, body, len) == 1) &&
                EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return -EIO;
        for (unsigned i = 0; i < mdlen && i < 32; i++)
                snprintf(ret + 2 * i, 3, "%02x", md[i]);
        return 0;
}

static bool prefer_async(HttpRequest *req) {
        const char *p = http_request_header(req, "Prefer");
        return p && strcasestr(p, "respond-async");
}

typedef struct Submission {
        const UpstreamTask *task;
        JobPriority priority;
        json_object *body; /* sent upstream (borrowed) */
        uint64_t timeout_ms;
        bool async; /* "async": true in the body; Prefer: respond-async is read by submit() */
        Shape shape;
} Submission;

/* The input guardrails on the text fields of the body sent upstream. A blocking rule
 * answers 422 naming the field and the rule (returns 1); flagged rules come back as a
 * JSON array for the job (*ret_flags, NULL when none). */
static int guardrail_gate(HttpRequest *req, Orchestrator *o, const Submission *sub, char **ret_flags) {
        _cleanup_problem_ Problem *p = NULL;
        _cleanup_json_ json_object *pj = NULL;
        _cleanup_free_ char *msg = NULL;
        GuardrailResult res;
        const char *rule, *txt;
        size_t len;
        int r;

        if (!o->guardrail)
                return 0;
        guardrail_result_init(&res);
        (void) guardrail_check_json(
                o->guardrail, sub->body, sub->shape == SHAPE_DISPATCH ? "payload." : "", &res);
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
        if (!p || problem_add_error(p, res.blocked_field, msg) < 0)
                return -ENOMEM;
        r = problem_to_json(p, http_request_id(req), &pj);
        if (r < 0)
                return r;
        json_object_object_add(pj, "rule", json_object_new_string(rule));
        txt = json_object_to_json_string_length(
                pj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!txt)
                return -ENOMEM;
        r = http_reply(req, 422, PROBLEM_CONTENT_TYPE, txt, len);
        return r < 0 ? r : 1;
}

static int submit(HttpRequest *req, Orchestrator *o, const Submission *sub, ApiContext *ctx) {
        const uint64_t t0_us = ctx->t0_us;
        const bool async = sub->async || prefer_async(req);
        const char *svc = upstream_service_to_string(sub->task->service);
        const char *key = http_request_header(req, "Idempotency-Key");
        _cleanup_(job_unrefp) Job *j = NULL;
        _cleanup_free_ char *existing_id = NULL, *existing_hash = NULL, *flags = NULL;
        char hash[65] = "", ra[32];
        uint64_t retry_after = 0;
        const char *txt;
        char *payload;
        int r;

        r = guardrail_gate(req, o, sub, &flags);
        if (r != 0)
                return r < 0 ? r : 0;

        /* An open breaker answers at once, before a job exists. */
        if (breaker_state(&o->upstreams.breakers[sub->task->service], now_ms()) == BREAKER_OPEN) {
                Breaker *b = &o->upstreams.breakers[sub->task->service];

                pthread_mutex_lock(&b->lock);
                retry_after = b->opened_at_ms + b->config.open_ms -
                        MIN(now_ms(), b->opened_at_ms + b->config.open_ms);
                pthread_mutex_unlock(&b->lock);
                snprintf(ra, sizeof(ra), "%" PRIu64, MAX((retry_after + 999) / 1000, (uint64_t) 1));
                (void) http_reply_add_header(req, "Retry-After", ra);
                return reply_problem_ext(
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
                        return reply_400_field(
                                req,
                                "Idempotency-Key",
                                "Idempotency-Key must be 1 to %d characters",
                                IDEMPOTENCY_KEY_MAX);
                r = request_hash(req, hash);
                if (r < 0)
                        return r;
                r = job_store_find_key(o->store, key, &existing_id, &existing_hash);
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
                        return reply_stored(req, o, existing_id, sub->shape);
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
        j->guardrail_flags = TAKE_PTR(flags);
        api_context_submitted(ctx, j);
        r = job_runner_submit(o->runner, j, !async, key, key ? hash : NULL);
        if (r == -EEXIST && key)
                return reply_problem_ext(
                        req,
                        409,
                        NULL,
                        NULL,
                        NULL,
                        "a request with this Idempotency-Key is still in progress");
        if (r == -EAGAIN || r == -ESHUTDOWN) {
                (void) http_reply_add_header(req, "Retry-After", "1");
                (void) http_reply_add_header(req, "X-Job-ID", j->id);
                return reply_problem_ext(req, 503, j->id, svc, NULL, "%s", j->error);
        }
        if (r < 0)
                return r;

        if (async) {
                _cleanup_json_ json_object *resp = json_object_new_object();
                char location[64];

                if (!resp)
                        return -ENOMEM;
                snprintf(location, sizeof(location), "/jobs/%s", j->id);
                json_object_object_add(resp, "job_id", json_object_new_string(j->id));
                json_object_object_add(resp, "status", json_object_new_string("pending"));
                json_object_object_add(resp, "location", json_object_new_string(location));
                {
                        char ev[80];

                        snprintf(ev, sizeof(ev), "/jobs/%s/events", j->id);
                        json_object_object_add(resp, "events", json_object_new_string(ev));
                }
                add_job_annotations(resp, j->guardrail_flags, NULL);
                (void) http_reply_add_header(req, "Location", location);
                (void) http_reply_add_header(req, "X-Job-ID", j->id);
                add_overhead_header(req, t0_us, 0);
                return http_reply_json(req, 202, resp);
        }

        r = job_runner_wait(j, sub->timeout_ms + SYNC_WAIT_SLACK_MS);
        if (r == -ETIMEDOUT) {
                (void) http_reply_add_header(req, "X-Job-ID", j->id);
                return reply_problem_ext(
                        req,
                        504,
                        NULL,
                        svc,
                        NULL,
                        "job %s is still running; poll /jobs/%s for its result",
                        j->id,
                        j->id);
        }
        return reply_job_outcome(req, j, sub->shape, t0_us);
}

/* Common optional fields of every task request: priority and async. The seed's LLM
 * "priority" was a model-selection hint (balanced, speed, quality...): values other than
 * the four queue priorities are accepted and mean medium. */
static int
parse_common(json_object *in, json_object **errs, bool hint_ok, JobPriority *ret_prio, bool *ret_async) {
        const char *prio = NULL;
        int r;

        r = json_get_string_bounded(in, "priority", false, 1, 32, errs, &prio);
        if (r > 0 && job_priority_from_string(prio, ret_prio) < 0 && !hint_ok)
                (void) json_errors_add(errs, "priority", "must be one of low, medium, high, critical");
        (void) json_get_bool(in, "async", false, errs, ret_async);
        return 0;
}

static uint64_t service_timeout(Orchestrator *o, UpstreamService s) {
        return o->config.upstream.timeout_ms[s];
}

/* ---- the seed's endpoints --------------------------------------------------------- */

static int handle_llm_completion(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *body = json_object_new_object();
        const char *prompt = NULL, *model = "auto";
        json_object *hybrid = NULL;
        int64_t max_tokens = 1000;
        double temperature = 0.7, top_p = 0.9;
        bool auto_select = true, async = false;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        int r;

        if (!body)
                return -ENOMEM;
        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        (void) json_get_string_bounded(in, "prompt", true, 1, PROMPT_MAX, &errs, &prompt);
        (void) json_get_string_bounded(in, "model", false, 1, 128, &errs, &model);
        (void) json_get_int(in, "max_tokens", false, 1, 131072, &errs, &max_tokens);
        (void) json_get_double(in, "temperature", false, 0.0, 2.0, &errs, &temperature);
        (void) json_get_double(in, "top_p", false, 0.0, 1.0, &errs, &top_p);
        (void) json_get_bool(in, "auto_select", false, &errs, &auto_select);
        /* Hybrid mode is the llm service's to validate (422 naming hybrid.*): passed through. */
        (void) json_get_object(in, "hybrid", false, &errs, &hybrid);
        (void) parse_common(in, &errs, true, &prio, &async);
        if (errs)
                return http_reply_validation(req, errs);

        json_object_object_add(body, "prompt", json_object_new_string(prompt));
        json_object_object_add(body, "model", json_object_new_string(model));
        json_object_object_add(body, "max_tokens", json_object_new_int64(max_tokens));
        json_object_object_add(body, "temperature", json_object_new_double(temperature));
        json_object_object_add(body, "top_p", json_object_new_double(top_p));
        if (hybrid)
                json_object_object_add(body, "hybrid", json_object_get(hybrid));
        return submit(
                req,
                o,
                &(Submission){
                        .task = upstream_task_find(UPSTREAM_LLM, "completion"),
                        .priority = prio,
                        .body = body,
                        .timeout_ms = service_timeout(o, UPSTREAM_LLM),
                        .async = async,
                        .shape = SHAPE_LLM,
                },
                ctx);
}

static int validate_task(UpstreamService s, const char *task, json_object **errs, const UpstreamTask **ret) {
        char names[256];

        *ret = upstream_task_find(s, task);
        if (*ret)
                return 0;
        upstream_task_names(s, names, sizeof(names));
        return json_errors_add(
                errs,
                "task",
                "unknown %s task \"%.64s\"; one of %s",
                upstream_service_to_string(s),
                task,
                names);
}

static int handle_vision_analyze(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *body = json_object_new_object();
        const char *url = NULL, *b64 = NULL, *task_name = "analyze";
        json_object *options = NULL;
        const UpstreamTask *task = NULL;
        bool async = false;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        int r, has_url, has_b64;

        if (!body)
                return -ENOMEM;
        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        has_url = json_get_string_bounded(in, "image_url", false, 1, 4096, &errs, &url);
        has_b64 = json_get_string_bounded(in, "image_base64", false, 1, 0, &errs, &b64);
        if (has_url == 0 && has_b64 == 0)
                (void) json_errors_add(&errs, "image_url", "one of image_url or image_base64 is required");
        if (json_get_string_bounded(in, "task", false, 1, 64, &errs, &task_name) >= 0)
                (void) validate_task(UPSTREAM_VISION, task_name, &errs, &task);
        (void) json_get_object(in, "options", false, &errs, &options);
        (void) parse_common(in, &errs, false, &prio, &async);
        if (errs)
                return http_reply_validation(req, errs);

        if (url)
                json_object_object_add(body, "image_url", json_object_new_string(url));
        if (b64)
                json_object_object_add(body, "image_base64", json_object_new_string(b64));
        json_object_object_add(body, "task", json_object_new_string(task_name));
        json_object_object_add(
                body, "options", options ? json_object_get(options) : json_object_new_object());
        return submit(
                req,
                o,
                &(Submission){
                        .task = task,
                        .priority = prio,
                        .body = body,
                        .timeout_ms = service_timeout(o, UPSTREAM_VISION),
                        .async = async,
                        .shape = SHAPE_GENERIC,
                },
                ctx);
}

static int handle_nlp_process(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *body = json_object_new_object();
        const char *text = NULL, *task_name = "analyze", *language = "auto";
        json_object *options = NULL;
        const UpstreamTask *task = NULL;
        bool async = false;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        int r;

        if (!body)
                return -ENOMEM;
        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        (void) json_get_string_bounded(in, "text", true, 1, 0, &errs, &text);
        if (json_get_string_bounded(in, "task", false, 1, 64, &errs, &task_name) >= 0)
                (void) validate_task(UPSTREAM_NLP, task_name, &errs, &task);
        (void) json_get_string_bounded(in, "language", false, 1, 16, &errs, &language);
        (void) json_get_object(in, "options", false, &errs, &options);
        (void) parse_common(in, &errs, false, &prio, &async);
        if (errs)
                return http_reply_validation(req, errs);

        json_object_object_add(body, "text", json_object_new_string(text));
        json_object_object_add(body, "task", json_object_new_string(task_name));
        json_object_object_add(body, "language", json_object_new_string(language));
        json_object_object_add(
                body, "options", options ? json_object_get(options) : json_object_new_object());
        return submit(
                req,
                o,
                &(Submission){
                        .task = task,
                        .priority = prio,
                        .body = body,
                        .timeout_ms = service_timeout(o, UPSTREAM_NLP),
                        .async = async,
                        .shape = SHAPE_GENERIC,
                },
                ctx);
}

static int handle_data_process(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *body = json_object_new_object();
        const char *operation = NULL;
        json_object *data = NULL, *options = NULL;
        const UpstreamTask *task;
        bool async = false;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        int r;

        if (!body)
                return -ENOMEM;
        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        (void) json_get_string_bounded(in, "operation", true, 1, 64, &errs, &operation);
        (void) json_get_object(in, "data", true, &errs, &data);
        (void) json_get_object(in, "options", false, &errs, &options);
        (void) parse_common(in, &errs, false, &prio, &async);
        if (errs)
                return http_reply_validation(req, errs);
        task = upstream_task_find(UPSTREAM_DATA, operation);
        if (!task) {
                char names[128];

                /* The seed answered an unknown operation with 400; kept for its clients. */
                upstream_task_names(UPSTREAM_DATA, names, sizeof(names));
                return reply_400_field(
                        req, "operation", "unknown operation \"%.64s\"; one of %s", operation, names);
        }

        json_object_object_add(body, "operation", json_object_new_string(operation));
        json_object_object_add(body, "data", json_object_get(data));
        json_object_object_add(
                body, "options", options ? json_object_get(options) : json_object_new_object());
        return submit(
                req,
                o,
                &(Submission){
                        .task = task,
                        .priority = prio,
                        .body = body,
                        .timeout_ms = service_timeout(o, UPSTREAM_DATA),
                        .async = async,
                        .shape = SHAPE_DATA,
                },
                ctx);
}

/* POST /dispatch {service, task, payload, priority, timeout, async}: any task of any
 * service, the payload sent as the service's request body. */
static int handle_dispatch(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *body = NULL;
        const char *service = NULL, *task_name = NULL, *prio_s = NULL;
        json_object *payload = NULL, *v;
        const UpstreamTask *task = NULL;
        UpstreamService svc = UPSTREAM_LLM;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        double timeout_s = 0;
        bool async = false, svc_ok = false;
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        if (json_get_string_bounded(in, "service", true, 1, 32, &errs, &service) > 0) {
                svc_ok = upstream_service_from_string(service, &svc) >= 0;
                if (!svc_ok)
                        (void) json_errors_add(
                                &errs,
                                "service",
                                "unknown service \"%.32s\"; one of llm, vision, nlp, data",
                                service);
        }
        if (json_get_string_bounded(in, "task", true, 1, 64, &errs, &task_name) > 0 && svc_ok)
                (void) validate_task(svc, task_name, &errs, &task);
        (void) json_get_object(in, "payload", false, &errs, &payload);
        if (json_get_string_bounded(in, "priority", false, 1, 32, &errs, &prio_s) > 0 &&
            job_priority_from_string(prio_s, &prio) < 0)
                (void) json_errors_add(&errs, "priority", "must be one of low, medium, high, critical");
        (void) json_get_double(
                in, "timeout", false, 0.001, (double) o->config.max_timeout_ms / 1000.0, &errs, &timeout_s);
        (void) json_get_bool(in, "async", false, &errs, &async);
        if (task && task->task_field && payload &&
            json_object_object_get_ex(payload, task->task_field, &v) &&
            (!json_object_is_type(v, json_type_string) || !streq(json_object_get_string(v), task->name)))
                (void) json_errors_add(
                        &errs,
                        "payload",
                        "payload.%s must be \"%s\" or absent",
                        task->task_field,
                        task->name);
        if (errs)
                return http_reply_validation(req, errs);

        body = payload ? json_object_get(payload) : json_object_new_object();
        if (!body)
                return -ENOMEM;
        if (task->task_field)
                json_object_object_add(body, task->task_field, json_object_new_string(task->name));
        return submit(
                req,
                o,
                &(Submission){
                        .task = task,
                        .priority = prio,
                        .body = body,
                        .timeout_ms =
                                timeout_s > 0 ? (uint64_t) (timeout_s * 1000.0) : service_timeout(o, svc),
                        .async = async,
                        .shape = SHAPE_DISPATCH,
                },
                ctx);
}

/* ---- /workflows ------------------------------------------------------------------ */

/* POST /workflows {steps:[{id, service, task, input, depends_on, on_error}], async}:
 * validated as a whole (422 naming steps[i].field), then run as a job whose events show
 * every step. Synchronous by default: 200 with the workflow job (status completed or
 * failed, result.steps.<id>.{status, job_id, output|error}). */
static int handle_workflow(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *job = NULL;
        _cleanup_(workflow_run_unrefp) WorkflowRun *run = NULL;
        Workflow *w = NULL;
        bool async = false;
        char location[64];
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        (void) json_get_bool(in, "async", false, &errs, &async);
        r = workflow_parse(in, &w, &errs);
        if (r == -EINVAL || errs) {
                workflow_free(w);
                return http_reply_validation(req, errs);
        }
        if (r < 0)
                return r;
        r = workflow_run_start(
                o, w, http_request_id(req), ctx->who.sub, auth_role_to_string(ctx->who.role), &run);
        if (r < 0)
                return r;
        api_context_set_target(ctx, workflow_run_id(run));
        snprintf(location, sizeof(location), "/jobs/%s", workflow_run_id(run));
        (void) http_reply_add_header(req, "X-Job-ID", workflow_run_id(run));
        if (async || prefer_async(req)) {
                _cleanup_json_ json_object *resp = json_object_new_object();
                char ev[80];

                if (!resp)
                        return -ENOMEM;
                snprintf(ev, sizeof(ev), "%s/events", location);
                json_object_object_add(resp, "job_id", json_object_new_string(workflow_run_id(run)));
                json_object_object_add(resp, "status", json_object_new_string("pending"));
                json_object_object_add(resp, "location", json_object_new_string(location));
                json_object_object_add(resp, "events", json_object_new_string(ev));
                (void) http_reply_add_header(req, "Location", location);
                return http_reply_json(req, 202, resp);
        }
        r = workflow_run_wait(run, o->config.max_timeout_ms + SYNC_WAIT_SLACK_MS);
        if (r == -ETIMEDOUT)
                return http_reply_error(
                        req, 504, "workflow %s is still running; poll %s", workflow_run_id(run), location);
        r = job_store_get_json(o->store, workflow_run_id(run), &job);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, job);
}

static bool query_get(const char *query, const char *key, char *buf, size_t size);

/* ---- /locks --------------------------------------------------------------------- */

static bool lock_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return false;
        for (; *s; s++)
                if (!isalnum((unsigned char) *s) && !strchr("._:-", *s))
                        return false;
        return true;
}

static int handle_lock_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *list = NULL, *resp = json_object_new_object();
        int r;

        if (!resp)
                return -ENOMEM;
        r = job_store_lock_list(o->store, &list);
        if (r < 0)
                return r;
        json_object_object_add(resp, "locks", TAKE_PTR(list));
        return http_reply_json(req, 200, resp);
}

/* POST /locks/{name} {owner, ttl=30}: take a free or expired lease, or renew one's own;
 * 409 with the holder otherwise. */
static int handle_lock_acquire(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *lock = NULL;
        const char *name = http_request_param(req, "name"), *owner = NULL;
        double ttl = 30;
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        if (!lock_name_valid(name))
                (void) json_errors_add(&errs, "name", "must be 1-128 characters of [A-Za-z0-9._:-]");
        (void) json_get_string_bounded(in, "owner", true, 1, 128, &errs, &owner);
        (void) json_get_double(in, "ttl", false, 0.1, 86400, &errs, &ttl);
        if (errs)
                return http_reply_validation(req, errs);
        r = job_store_lock_acquire(o->store, name, owner, (uint64_t) (ttl * 1000.0), &lock);
        if (r == -EBUSY) {
                _cleanup_problem_ Problem *p = problem_newf(
                        409,
                        NULL,
                        "lock %s is held by %s",
                        name,
                        strempty(
                                lock ? json_object_get_string(json_object_object_get(lock, "owner"))
                                     : NULL));
                _cleanup_json_ json_object *pj = NULL;

                if (!p || problem_to_json(p, http_request_id(req), &pj) < 0)
                        return -ENOMEM;
                json_object_object_add(pj, "lock", TAKE_PTR(lock));
                {
                        size_t len;
                        const char *txt = json_object_to_json_string_length(
                                pj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

                        return http_reply(req, 409, PROBLEM_CONTENT_TYPE, txt, len);
                }
        }
        if (r < 0)
                return r;
        json_object_object_add(lock, "acquired", json_object_new_boolean(true));
        return http_reply_json(req, 200, lock);
}

/* DELETE /locks/{name}?owner=X */
static int handle_lock_release(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *resp = json_object_new_object();
        const char *name = http_request_param(req, "name");
        char owner[129];
        int r;

        if (!resp)
                return -ENOMEM;
        if (!query_get(http_request_query(req), "owner", owner, sizeof(owner)) || !owner[0])
                return reply_400_field(req, "owner", "the owner query parameter is required");
        r = job_store_lock_release(o->store, name, owner);
        if (r == -ENOENT)
                return http_reply_error(req, 404, "lock %.128s is not held", name);
        if (r == -EPERM)
                return http_reply_error(req, 409, "lock %.128s is held by another owner", name);
        if (r < 0)
                return r;
        json_object_object_add(resp, "name", json_object_new_string(name));
        json_object_object_add(resp, "released", json_object_new_boolean(true));
        return http_reply_json(req, 200, resp);
}

/* ---- /jobs ---------------------------------------------------------------------- */

/* The raw value of key in a query string ("a=1&b=2"), copied into buf; false if absent. */
static bool query_get(const char *query, const char *key, char *buf, size_t size) {
        size_t kl = strlen(key);

        for (const char *p = query; p && *p;) {
                const char *end = strchrnul(p, '&');

                if ((size_t) (end - p) > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
                        snprintf(buf, size, "%.*s", (int) (end - p - (ptrdiff_t) kl - 1), p + kl + 1);
                        return true;
                }
                p = *end ? end + 1 : end;
        }
        return false;
}

static int reply_job_not_found(HttpRequest *req, const char *id) {
        return http_reply_error(req, 404, "Job %.64s not found", id);
}

static int handle_job_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *job = NULL;
        const char *id = http_request_param(req, "id");
        int r;

        r = job_store_get_json(o->store, id, &job);
        if (r == -ENOENT)
                return reply_job_not_found(req, id);
        if (r < 0)
                return r;
        if (!o->jwt)
                json_object_object_del(job, "submitted_by"); /* recorded while auth was on */
        return http_reply_json(req, 200, job);
}

static int handle_job_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *errs = NULL, *list = NULL;
        const char *q = http_request_query(req);
        char buf[64];
        JobStatus status = JOB_PENDING;
        int64_t limit = 50, cursor = 0;
        bool has_status = false;
        char *end;
        int r;

        if (query_get(q, "status", buf, sizeof(buf)) && buf[0]) {
                has_status = true;
                if (job_status_from_string(buf, &status) < 0)
                        (void) json_errors_add(
                                &errs,
                                "status",
                                "must be one of pending, running, completed, failed, cancelled");
        }
        if (query_get(q, "limit", buf, sizeof(buf))) {
                errno = 0;
                limit = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || limit < 1 || limit > 1000)
                        (void) json_errors_add(&errs, "limit", "must be an integer from 1 to 1000");
        }
        if (query_get(q, "cursor", buf, sizeof(buf)) && buf[0]) {
                errno = 0;
                cursor = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || cursor < 1)
                        (void) json_errors_add(
                                &errs, "cursor", "must be a next_cursor value from an earlier page");
        }
        if (errs)
                return http_reply_validation(req, errs);
        r = job_store_list_json(o->store, has_status ? (int) status : -1, (unsigned) limit, cursor, &list);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, list);
}

static int handle_job_cancel(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *job = NULL;
        const char *id = http_request_param(req, "id");
        JobStatus st;
        int r;

        /* Operators cancel their own jobs only; admins (and everyone with auth off) any. */
        if (o->jwt && ctx->who.role < AUTH_ROLE_ADMIN) {
                _cleanup_free_ char *owner = NULL;

                r = job_store_get_owner(o->store, id, &owner);
                if (r == -ENOENT)
                        return reply_job_not_found(req, id);
                if (r < 0)
                        return r;
                if (!owner || !streq(owner, ctx->who.sub)) {
                        (void) auth_refuse(
                                req,
                                403,
                                "insufficient_scope",
                                "this job belongs to someone else: an operator may cancel only its own jobs");
                        return 0;
                }
        }
        r = job_runner_cancel(o->runner, id);
        if (r == -ENOENT)
                return reply_job_not_found(req, id);
        if (r == -ESTALE) {
                r = job_store_get_status(o->store, id, &st);
                if (r < 0)
                        return r;
                return http_reply_error(
                        req, 409, "Job %.64s already finished (%s)", id, job_status_to_string(st));
        }
        if (r < 0)
                return r;
        r = job_store_get_json(o->store, id, &job);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, job);
}

static bool accepts_event_stream(HttpRequest *req) {
        const char *a = http_request_header(req, "Accept");

        /* Event stream unless the client asks for JSON and not for the stream. */
        return !a || strcasestr(a, "text/event-stream") || !strcasestr(a, "application/json");
}

static int sse_write_event(HttpRequest *req, int64_t id, const char *type, json_object *data) {
        const char *txt = json_object_to_json_string_ext(
                data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        _cleanup_free_ char *buf = NULL;
        int n;

        /* JSON text written by json-c has no raw newlines, so one data: line is enough. */
        n = asprintf(&buf, "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", id, type, txt ? txt : "null");
        if (n < 0)
                return -ENOMEM;
        return http_reply_stream_write(req, buf, (size_t) n);
}

/* The server's watch of an SSE connection: a closed client wakes its stream at once. */
typedef struct SseWatch {
        JobStore *store;
        atomic_bool gone;
} SseWatch;

static void sse_client_gone(void *userdata) {
        SseWatch *w = userdata;

        atomic_store(&w->gone, true);
        job_store_wake(w->store);
}

static int handle_job_events(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *events = NULL;
        const char *id = http_request_param(req, "id"),
                   *last_hdr = http_request_header(req, "Last-Event-ID");
        SseWatch watch = { .store = o->store };
        char qbuf[32];
        int64_t last = 0;
        JobStatus status;
        bool resumed = false;
        int r;

        if (last_hdr || query_get(http_request_query(req), "last_event_id", qbuf, sizeof(qbuf))) {
                const char *v = last_hdr ? last_hdr : qbuf;
                char *end;

                errno = 0;
                last = strtoll(v, &end, 10);
                if (errno || end == v || *end || last < 0)
                        return reply_400_field(
                                req, "Last-Event-ID", "Last-Event-ID must be an event id from this stream");
                resumed = true;
        }
        r = job_store_events_json(o->store, id, accepts_event_stream(req) ? last : 0, &events, &status);
        if (r == -ENOENT)
                return reply_job_not_found(req, id);
        if (r < 0)
                return r;

        if (!accepts_event_stream(req)) {
                _cleanup_json_ json_object *resp = json_object_new_object();

                if (!resp)
                        return -ENOMEM;
                json_object_object_add(resp, "job_id", json_object_new_string(id));
                json_object_object_add(resp, "status", json_object_new_string(job_status_to_string(status)));
                json_object_object_add(resp, "events", json_object_get(events));
                return http_reply_json(req, 200, resp);
        }

        r = http_reply_stream_begin(req, 200, "text/event-stream");
        if (r < 0)
                return 0; /* the client went away */
        if (o->sse_active)
                (void) metrics_gauge_add(o->sse_active, NULL, 1);
        (void) http_request_watch_gone(req, sse_client_gone, &watch);
        (void) http_reply_stream_write(req, "retry: 1000\n\n", 13);

        if (!resumed) {
                _cleanup_json_ json_object *snap = NULL;
                size_t n = json_object_array_length(events);

                /* The snapshot carries the id of the newest event it includes, so a client
                 * that resumes from it gets exactly what came after. */
                if (n > 0) {
                        json_object *v;

                        if (json_object_object_get_ex(json_object_array_get_idx(events, n - 1), "id", &v))
                                last = json_object_get_int64(v);
                }
                r = job_store_get_json(o->store, id, &snap);
                if (r >= 0) {
                        json_object *v;

                        if (json_object_object_get_ex(snap, "status", &v))
                                (void) job_status_from_string(json_object_get_string(v), &status);
                        r = sse_write_event(req, last, "snapshot", snap);
                }
                json_object_put(TAKE_PTR(events));
        }

        while (r >= 0) {
                uint64_t gen = job_store_generation(o->store);
                size_t n;

                if (!events) {
                        r = job_store_events_json(o->store, id, last, &events, &status);
                        if (r < 0)
                                break;
                }
                n = json_object_array_length(events);
                for (size_t i = 0; i < n && r >= 0; i++) {
                        json_object *e = json_object_array_get_idx(events, i), *v, *type, *data;

                        if (!json_object_object_get_ex(e, "id", &v) ||
                            !json_object_object_get_ex(e, "event", &type) ||
                            !json_object_object_get_ex(e, "data", &data))
                                continue;
                        last = json_object_get_int64(v);
                        r = sse_write_event(req, last, json_object_get_string(type), data);
                }
                json_object_put(TAKE_PTR(events));
                if (r < 0 || job_status_is_terminal(status))
                        break;
                if (http_server_is_draining(http_request_server(req)))
                        break;
                job_store_wait_change(o->store, gen, o->config.sse_keepalive_ms, &watch.gone);
                if (atomic_load(&watch.gone))
                        r = -EPIPE;
                else if (job_store_generation(o->store) == gen)
                        r = http_reply_stream_write(req, ": keep-alive\n\n", 14);
        }
        (void) http_request_watch_gone(req, NULL, NULL); /* `watch` ends with this frame */
        if (r >= 0)
                (void) http_reply_stream_end(req);
        if (o->sse_active)
                (void) metrics_gauge_add(o->sse_active, NULL, -1);
        return 0;
}

/* ---- /audit ---------------------------------------------------------------------- */

static int hexval(char c) {
        return c >= '0' && c <= '9'    ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
}

/* Like query_get() but %XX-decoded ("+" stays "+": RFC 3339 offsets); false if absent.
 * *ret_bad is set when the value is not valid percent-encoding (or %00) or too long. */
static bool query_get_decoded(const char *query, const char *key, char *buf, size_t size, bool *ret_bad) {
        char raw[512];
        size_t o = 0;

        *ret_bad = false;
        if (!query_get(query, key, raw, sizeof(raw)))
                return false;
        for (const char *p = raw; *p; p++) {
                int c = (unsigned char) *p;

                if (c == '%') {
                        int h = hexval(p[1]), l = h >= 0 ? hexval(p[2]) : -1;

                        if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                                *ret_bad = true;
                                return true;
                        }
                        c = h * 16 + l;
                        p += 2;
                }
                if (o + 1 >= size) {
                        *ret_bad = true;
                        return true;
                }
                buf[o++] = (char) c;
        }
        buf[o] = '\0';
        return true;
}

/* GET /audit?actor=&action=&since=&limit=&cursor= (admins): newest first. */
static int handle_audit(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *errs = NULL, *list = NULL;
        const char *q = http_request_query(req);
        char actor[AUTH_SUB_MAX + 1], action[64], buf[64];
        AuditQuery aq = { .limit = 100 };
        bool bad;
        char *end;
        int r;

        if (!o->audit)
                return http_reply_error(req, 503, "the audit log is not open");
        if (query_get_decoded(q, "actor", actor, sizeof(actor), &bad) && actor[0]) {
                if (bad)
                        (void) json_errors_add(
                                &errs, "actor", "must be 1-%d characters, percent-encoded", AUTH_SUB_MAX);
                else
                        aq.actor = actor;
        }
        if (query_get_decoded(q, "action", action, sizeof(action), &bad) && action[0]) {
                if (bad)
                        (void) json_errors_add(&errs, "action", "must be an action such as job.submit");
                else
                        aq.action = action;
        }
        if (query_get_decoded(q, "since", buf, sizeof(buf), &bad) &&
            (bad || audit_parse_time(buf, &aq.since) < 0))
                (void) json_errors_add(
                        &errs, "since", "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z");
        if (query_get(q, "limit", buf, sizeof(buf))) {
                long long v;

                errno = 0;
                v = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || v < 1 || v > AUDIT_QUERY_LIMIT_MAX)
                        (void) json_errors_add(
                                &errs, "limit", "must be an integer from 1 to %d", AUDIT_QUERY_LIMIT_MAX);
                else
                        aq.limit = (unsigned) v;
        }
        if (query_get(q, "cursor", buf, sizeof(buf)) && buf[0]) {
                errno = 0;
                aq.cursor = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || aq.cursor < 1)
                        (void) json_errors_add(
                                &errs, "cursor", "must be a next_cursor value from an earlier page");
        }
        if (errs)
                return http_reply_validation(req, errs);
        r = audit_query_json(o->audit, &aq, &list);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, list);
}

/* ---- /webhook -------------------------------------------------------------------- */

/* POST /webhook: authenticated by its HMAC signature (not a bearer token); a verified
 * delivery whose event is mapped in ORCH_WEBHOOK_EVENTS becomes an async job with the
 * JSON body as the task's payload. The event is X-Event-Type, X-GitHub-Event or the
 * body's "type". Unmapped events are acknowledged (202, ignored) so senders don't retry. */
/* The supervisor's signed notice that a service went down or is ready again
 * ({"service": "nlp", "state": "down" | "up"}): the service's breaker opens at once, so
 * that callers get 503 + Retry-After instead of waiting on a dead upstream, and closes
 * when the supervisor has seen it ready. */
#define SERVICE_EVENT "ai-semble.service"

static int service_event(HttpRequest *req, Orchestrator *o, ApiContext *ctx, json_object *in) {
        _cleanup_json_ json_object *errs = NULL, *ack = NULL;
        const char *name = NULL, *state = NULL;
        UpstreamService svc = _UPSTREAM_MAX;
        Breaker *b;

        if (json_get_string_bounded(in, "service", true, 1, 32, &errs, &name) > 0 &&
            upstream_service_from_string(name, &svc) < 0)
                (void) json_errors_add(&errs, "service", "must be one of llm, vision, nlp, data");
        if (json_get_string_bounded(in, "state", true, 1, 8, &errs, &state) > 0 && !streq(state, "down") &&
            !streq(state, "up"))
                (void) json_errors_add(&errs, "state", "must be down or up");
        if (errs)
                return http_reply_validation(req, errs);
        api_context_set_target(ctx, name);
        b = &o->upstreams.breakers[svc];
        breaker_force(b, streq(state, "down") ? BREAKER_OPEN : BREAKER_CLOSED, now_ms());
        ack = json_object_new_object();
        if (!ack)
                return -ENOMEM;
        json_object_object_add(ack, "event", json_object_new_string(SERVICE_EVENT));
        json_object_object_add(ack, "service", json_object_new_string(name));
        json_object_object_add(
                ack, "breaker", json_object_new_string(breaker_state_to_string(breaker_state(b, now_ms()))));
        return http_reply_json(req, 200, ack);
}

static int handle_webhook(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *body = NULL;
        const char *why = NULL, *event, *raw;
        const WebhookEvent *ev;
        const UpstreamTask *task;
        UpstreamService svc;
        WebhookResult res;
        json_object *v;
        size_t len = 0;
        int r;

        if (!o->webhook)
                return http_reply_error(req, 503, "webhooks are off: set ORCH_WEBHOOK_SECRET_FILE");
        raw = http_request_body(req, &len);
        res = webhook_verify(
                o->webhook,
                http_request_header(req, "X-Hub-Signature-256"),
                http_request_header(req, "X-Signature"),
                raw ?: "",
                len,
                (int64_t) time(NULL),
                &why);
        if (o->webhook_verified)
                (void) metrics_counter_add(
                        o->webhook_verified, (const char *[]){ webhook_result_to_string(res) }, 1);
        if (res != WEBHOOK_VALID)
                return http_reply_error(req, 401, "%s", why);

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        if (!json_object_is_type(in, json_type_object))
                return reply_400_field(req, "body", "a webhook body must be a JSON object");
        event = http_request_header(req, "X-Event-Type") ?: http_request_header(req, "X-GitHub-Event");
        if (!event && json_object_object_get_ex(in, "type", &v) && json_object_is_type(v, json_type_string))
                event = json_object_get_string(v);
        if (streq_ptr(event, SERVICE_EVENT))
                return service_event(req, o, ctx, in);
        ev = webhook_events_find(o->webhook_events, o->n_webhook_events, event);
        api_context_set_target(ctx, event);
        if (!ev) {
                _cleanup_json_ json_object *ack = json_object_new_object();
                if (!ack)
                        return -ENOMEM;
                json_object_object_add(ack, "event", event ? json_object_new_string(event) : NULL);
                json_object_object_add(ack, "ignored", json_object_new_boolean(true));
                return http_reply_json(req, 202, ack);
        }
        if (upstream_service_from_string(ev->service, &svc) < 0 ||
            !(task = upstream_task_find(svc, ev->task)))
                return -EINVAL; /* checked at start */
        body = json_object_get(in);
        if (task->task_field)
                json_object_object_add(body, task->task_field, json_object_new_string(task->name));
        return submit(
                req,
                o,
                &(Submission){
                        .task = task,
                        .priority = JOB_PRIORITY_MEDIUM,
                        .body = body,
                        .timeout_ms = service_timeout(o, svc),
                        .async = true,
                        .shape = SHAPE_DISPATCH,
                },
                ctx);
}

/* ---- the route table with its own request counter -------------------------------- */

typedef int (*ApiHandler)(HttpRequest *req, Orchestrator *o, ApiContext *ctx);

typedef struct ApiRoute {
        const char *method, *path;
        ApiHandler handler;
        const char *action; /* the audit row's action; NULL = not state-changing, not audited */
        bool signed_body;   /* authenticated by its own signature, not a bearer token */
} ApiRoute;

static const ApiRoute api_table[] = {
        { "POST", "/ai/llm/completion", handle_llm_completion, "job.submit" },
        { "POST", "/ai/vision/analyze", handle_vision_analyze, "job.submit" },
        { "POST", "/ai/nlp/process", handle_nlp_process, "job.submit" },
        { "POST", "/data/process", handle_data_process, "job.submit" },
        { "POST", "/dispatch", handle_dispatch, "dispatch" },
        { "POST", "/workflows", handle_workflow, "workflow.submit" },
        { "GET", "/locks", handle_lock_list },
        { "POST", "/locks/{name}", handle_lock_acquire, "lock.acquire" },
        { "DELETE", "/locks/{name}", handle_lock_release, "lock.release" },
        { "GET", "/jobs", handle_job_list },
        { "GET", "/jobs/{id}", handle_job_get },
        { "DELETE", "/jobs/{id}", handle_job_cancel, "job.cancel" },
        { "GET", "/jobs/{id}/events", handle_job_events },
        { "POST", "/webhook", handle_webhook, "webhook.receive", true },
        { "GET", "/audit", handle_audit },
};

static Orchestrator *api_orchestrator;

/* One token from the caller's bucket; 429 with Retry-After when empty. RateLimit-* go on
 * every answer so clients can pace themselves. -EBUSY = refused and answered. */
static int api_rate_limit(HttpRequest *req, Orchestrator *o, const AuthClaims *who) {
        RateLimitDecision d;
        struct timespec ts;
        char key[RATELIMIT_KEY_MAX + 1], v[64];

        if (!o->ratelimit)
                return 0;
        if (who && who->sub[0])
                snprintf(key, sizeof(key), "sub:%s", who->sub);
        else
                snprintf(key, sizeof(key), "addr:%s", http_request_remote_addr(req));
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ratelimit_take(o->ratelimit, key, (double) ts.tv_sec + (double) ts.tv_nsec / 1e9, &d);
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
static HttpRoute http_routes[ELEMENTSOF(api_table)];

/* The audit row of a state-changing request, written here after the handler (or the
 * refusal) so that no handler can forget it. */
static void
api_audit(HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int gate, int status) {
        const char *addr = http_request_remote_addr(req), *actor, *role = "none";
        AuditRecord rec;
        int r;

        if (ar->signed_body)
                actor = "webhook"; /* authenticated (or not) by its signature */
        else if (!o->jwt)
                actor = addr; /* auth off: the client address is all we know */
        else if (gate == -EACCES && status == 401)
                actor = "anonymous";
        else {
                actor = ctx->who.sub;
                role = auth_role_to_string(ctx->who.role);
        }
        if (!ctx->target[0])
                api_context_set_target(
                        ctx, http_request_param(req, "id") ?: http_request_param(req, "name"));
        rec = (AuditRecord){
                .time = ctx->t_received,
                .actor = actor && *actor ? actor : "anonymous",
                .role = role,
                .action = ar->action,
                .target = ctx->target,
                .result = status,
                .request_id = http_request_id(req),
                .remote_addr = addr,
        };
        audit_journal(&rec);
        if (o->audit) {
                r = audit_write(o->audit, &rec);
                if (r < 0)
                        log_warning_errno(
                                r, "Failed to write the audit row of %s %s: %m", ar->method, ar->path);
        }
}

/* What the pre-body check learned, handed to api_dispatch() in the request's scratch. */
typedef struct ApiChecked {
        bool done;
        AuthClaims who;
        double t_received;
} ApiChecked;
_Static_assert(sizeof(ApiChecked) <= HTTP_REQUEST_SCRATCH_SIZE, "ApiChecked fits the scratch area");

static void api_received(const ApiRoute *ar, ApiContext *ctx) {
        if (ar->action) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                ctx->t_received = (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
        }
}

/* The bearer check and the caller's rate limit: 0 to go on, -EACCES / -EBUSY when
 * refused and answered; *ret_gate is the bearer check's own result (for the audit). */
static int api_check(HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int *ret_gate) {
        int r;

        *ret_gate = r = ar->signed_body ? 0 : auth_gate(o->jwt, req, ar->method, ar->path, &ctx->who);
        if (ar->signed_body || !o->jwt)
                ctx->who = (AuthClaims){ .role = o->jwt ? AUTH_ROLE_NONE : AUTH_ROLE_ADMIN };
        if (r >= 0)
                r = api_rate_limit(req, o, &ctx->who);
        return r;
}

/* The audit row and the request counter, once the request is answered. */
static void api_finish(HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int gate) {
        /* A handler that failed without replying gets the server's 500. */
        int status = http_request_replied(req) ? http_reply_status(req) : 500;

        if (ar->action)
                api_audit(req, o, ar, ctx, gate, status);
        if (o->http_requests) {
                char s[16];

                snprintf(s, sizeof(s), "%d", status);
                (void) metrics_counter_add(o->http_requests, (const char *[]){ ar->path, ar->method, s }, 1);
        }
}

static int api_dispatch(HttpRequest *req, void *userdata) {
        const ApiRoute *ar = userdata;
        Orchestrator *o = api_orchestrator;
        ApiContext ctx = { .t0_us = now_us() };
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
        if (r == -EACCES || r == -EBUSY)
                r = 0; /* refused and answered: the handler does not run */
        else if (r >= 0)
                r = ar->handler(req, o, &ctx);
        api_finish(req, o, ar, &ctx, gate);
        return r;
}

int api_pre_body(HttpRequest *req, const HttpRoute *route, void *userdata) {
        Orchestrator *o = userdata;
        const ApiRoute *ar;
        ApiContext ctx = {};
        ApiChecked *chk;
        int r, gate;

        if (route->handler != api_dispatch)
                return 0; /* the built-in routes: the service's gate */
        ar = route->userdata;
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
        return auth_gate(o->jwt, req, "GET", http_request_path(req), &who);
}

const HttpRoute *api_routes(Orchestrator *o, size_t *ret_n) {
        api_orchestrator = o;
        for (size_t i = 0; i < ELEMENTSOF(api_table); i++)
                http_routes[i] = (HttpRoute){
                        .method = api_table[i].method,
                        .path = api_table[i].path,
                        .handler = api_dispatch,
                        .userdata = (void *) &api_table[i],
                };
        *ret_n = ELEMENTSOF(http_routes);
        return http_routes;
}

static int collect(FILE *f, void *userdata) {
        Orchestrator *o = userdata;
        uint64_t counts[_JOB_STATUS_MAX];

        if (job_store_count_by_status(o->store, counts) >= 0) {
                metrics_write_header(f, "orch_jobs", "Jobs in the store, by status.", "gauge");
                for (int i = 0; i < _JOB_STATUS_MAX; i++) {
                        fprintf(f, "orch_jobs{status=\"%s\"} ", job_status_to_string((JobStatus) i));
                        metrics_write_value(f, (double) counts[i]);
                        fputc('\n', f);
                }
        }
        metrics_write_header(f, "orch_queue_depth", "Jobs waiting for a worker.", "gauge");
        fputs("orch_queue_depth ", f);
        metrics_write_value(f, (double) job_runner_queue_depth(o->runner));
        fputc('\n', f);
        metrics_write_header(f, "orch_workers_busy", "Workers running a job now.", "gauge");
        fputs("orch_workers_busy ", f);
        metrics_write_value(f, (double) job_runner_busy(o->runner));
        fputc('\n', f);
        return upstream_write_breaker_metrics(f, &o->upstreams);
}

int api_setup_metrics(Orchestrator *o, MetricsRegistry *registry) {
        static const char *const labels[] = { "route", "method", "status", NULL };
        int r;

        r = metrics_counter_new(
                registry,
                "orch_http_requests_total",
                "Requests to the orchestrator's own endpoints, by route, method and status.",
                labels,
                &o->http_requests);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_webhook_signatures_verified_total",
                        "Webhook signature checks by result (valid, missing, malformed, invalid, stale, replay).",
                        (const char *const[]){ "result", NULL },
                        &o->webhook_verified);
        if (r >= 0)
                r = metrics_gauge_new(
                        registry,
                        "orch_sse_connections_active",
                        "Open GET /jobs/{id}/events streams.",
                        NULL,
                        &o->sse_active);
        if (r >= 0)
                r = metrics_gauge_set(o->sse_active, NULL, 0);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "orch_guardrail_hits_total",
                        "Requests on which an input guardrail rule fired, by rule and action (block, flag).",
                        (const char *const[]){ "rule", "action", NULL },
                        &o->guardrail_hits);
        if (r >= 0)
                r = metrics_registry_add_collector(registry, collect, o);
        return r;
}
