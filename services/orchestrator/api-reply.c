/* SPDX-License-Identifier: MIT */
/* api-reply.c — the orchestrator's answers: problems with job members, the response
 * shapes of the seed's endpoints, a finished job's outcome and a replayed stored job. */
#include <inttypes.h>

#include "api-internal.h"
#include "time-util.h"

int api_reply_problem(
        HttpRequest *req,
        int status,
        const char *job_id,
        const char *service,
        json_object *base,
        const char *fmt,
        ...) {
        _cleanup_problem_ Problem *p = NULL;
        va_list ap;

        va_start(ap, fmt);
        p = problem_newv(status, NULL, fmt, ap);
        va_end(ap);
        if (!p)
                return -ENOMEM;
        if (base && json_object_is_type(base, json_type_object))
                problem_relay(p, base);
        if (job_id &&
            (problem_add_extension(p, "job_id", json_object_new_string(job_id)) < 0 ||
             problem_add_extension(p, "job_status", json_object_new_string("failed")) < 0))
                return -ENOMEM;
        if (service && problem_add_extension(p, "service", json_object_new_string(service)) < 0)
                return -ENOMEM;
        return http_reply_problem(req, p);
}

int api_reply_400_field(HttpRequest *req, const char *field, const char *fmt, ...) {
        _cleanup_problem_ Problem *p = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = problem_for_fieldv(&p, 400, field, fmt, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return http_reply_problem(req, p);
}

void api_add_overhead_header(HttpRequest *req, uint64_t t0_us, double upstream_ms) {
        double total_ms = (double) (time_now_usec(CLOCK_MONOTONIC) - t0_us) / 1000.0,
               overhead = total_ms - upstream_ms;
        char v[32];

        snprintf(v, sizeof(v), "%.3f", overhead > 0 ? overhead : 0.0);
        (void) http_reply_add_header(req, "X-Gateway-Overhead-Ms", v);
}

static json_object *format_success(
        ApiShape shape,
        const char *job_id,
        const UpstreamTask *task,
        json_object *result,
        double processing_s) {
        json_object *o = json_object_new_object();
        json_object *v;

        if (!o)
                return NULL;
        if (shape == API_SHAPE_RAW) {
                json_object_put(o);
                return json_object_get(result);
        }
        if (shape == API_SHAPE_DATA && json_object_is_type(result, json_type_object)) {
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
        if (shape == API_SHAPE_LLM) {
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
        if (shape == API_SHAPE_DISPATCH) {
                json_object_object_add(
                        o, "service", json_object_new_string(upstream_service_to_string(task->service)));
                json_object_object_add(o, "task", json_object_new_string(task->name));
        }
        json_object_object_add(o, "processing_time", json_object_new_double(processing_s));
        return o;
}

/* "guardrails":{"flagged":[...]} and "redactions":{kind:n} of a job, when it has them. */
void api_add_job_annotations(json_object *resp, const char *flags, const char *redactions) {
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
int api_reply_job_outcome(HttpRequest *req, Job *j, ApiShape shape, uint64_t t0_us) {
        const char *svc = upstream_service_to_string(j->task->service);
        _cleanup_json_ json_object *result = NULL;
        char ra[32];

        api_add_overhead_header(req, t0_us, j->upstream_ms);
        (void) http_reply_add_header(req, "X-Job-ID", j->id);
        if (job_cache_status(j))
                (void) http_reply_add_header(req, "X-Cache", job_cache_status(j));
        /* The service's own answer, as it is: what an OpenAI client parses. */
        if (shape == API_SHAPE_RAW && j->body && j->http_status > 0 &&
            (j->status == JOB_COMPLETED || j->status == JOB_FAILED))
                return http_reply(req, (int) j->http_status, "application/json", j->body, j->body_len);
        switch (j->status) {
        case JOB_COMPLETED: {
                _cleanup_json_ json_object *o = NULL;

                result = job_take_body_json(j); /* parsed once, by the worker */
                if (!result && j->body)
                        result = json_object_new_string_len(j->body, (int) j->body_len);
                o = format_success(
                        shape,
                        j->id,
                        j->task,
                        result,
                        (double) (time_now_usec(CLOCK_MONOTONIC) - t0_us) / 1e6);
                if (!o)
                        return -ENOMEM;
                api_add_job_annotations(o, j->guardrail_flags, j->redactions);
                return http_reply_json(req, 200, o);
        }
        case JOB_FAILED:
                if (j->http_status > 0) {
                        result = job_take_body_json(j);
                        return api_reply_problem(
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
                        return api_reply_problem(req, 503, j->id, svc, NULL, "%s", j->error);
                }
                return api_reply_problem(
                        req, j->error_errno == -ETIMEDOUT ? 504 : 502, j->id, svc, NULL, "%s", j->error);
        case JOB_CANCELLED:
                return api_reply_problem(req, 409, j->id, svc, NULL, "job %s was cancelled", j->id);
        default:
                (void) http_reply_add_header(req, "Retry-After", "1");
                return api_reply_problem(
                        req, 503, j->id, svc, NULL, "%s", j->error[0] ? j->error : "not run");
        }
}

/* Replays a stored job for a repeated Idempotency-Key (keys are per principal: the job is
 * the caller's own). */
int api_reply_stored(HttpRequest *req, Orchestrator *o, const char *id, ApiShape shape) {
        _cleanup_json_ json_object *job = NULL, *resp = NULL;
        json_object *v, *result = NULL;
        const char *status = "", *service = NULL, *task_name = NULL, *error = NULL;
        const UpstreamTask *task = NULL;
        UpstreamService svc;
        int r, error_status = 502;

        r = job_store_get_json(o->store, id, NULL, &job);
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
                if (shape == API_SHAPE_RAW)
                        return http_reply_json(req, 200, resp);
                if (json_object_object_get_ex(job, "guardrails", &v))
                        json_object_object_add(resp, "guardrails", json_object_get(v));
                if (json_object_object_get_ex(job, "redactions", &v))
                        json_object_object_add(resp, "redactions", json_object_get(v));
                return http_reply_json(req, 200, resp);
        }
        if (streq(status, "pending") || streq(status, "running"))
                return api_reply_problem(
                        req,
                        409,
                        NULL,
                        NULL,
                        NULL,
                        "a request with this Idempotency-Key is still in progress (job %s)",
                        id);
        if (streq(status, "cancelled"))
                return api_reply_problem(req, 409, id, service, NULL, "job %s was cancelled", id);
        return api_reply_problem(
                req, error_status >= 400 ? error_status : 502, id, service, NULL, "%s", strempty(error));
}

bool api_prefer_async(HttpRequest *req) {
        const char *p = http_request_header(req, "Prefer");
        return p && strcasestr(p, "respond-async");
}
