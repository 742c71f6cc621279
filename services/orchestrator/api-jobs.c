/* SPDX-License-Identifier: MIT */
/* api-jobs.c — /jobs: list, get, cancel, and the events of a job as JSON or as a
 * server-sent event stream that follows it until it ends. Each caller sees and acts on
 * its own jobs only (api_scope(): admins, and everyone with auth off, on all): another
 * principal's job is a 404, which does not confirm that it exists. */
#include <inttypes.h>

#include "api-internal.h"
#include "http-query.h"

static int reply_job_not_found(HttpRequest *req, const char *id) {
        return http_reply_error(req, 404, "Job %.64s not found", id);
}

int api_jobs_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *job = NULL;
        const char *id = http_request_param(req, "id");
        int r;

        r = job_store_get_json(o->store, id, api_scope(o, ctx), &job);
        if (r == -ENOENT)
                return reply_job_not_found(req, id);
        if (r < 0)
                return r;
        if (!o->jwt)
                json_object_object_del(job, "submitted_by"); /* recorded while auth was on */
        return http_reply_json(req, 200, job);
}

int api_jobs_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *errs = NULL, *list = NULL;
        const char *q = http_request_query(req);
        char buf[64];
        JobStatus status = JOB_PENDING;
        int64_t limit = 50, cursor = 0;
        bool has_status = false;
        char *end;
        int r;

        if (http_query_get(q, "status", buf, sizeof(buf)) != 0 && buf[0]) {
                has_status = true;
                if (job_status_from_string(buf, &status) < 0)
                        (void) json_errors_add(
                                &errs,
                                "status",
                                "must be one of pending, running, completed, failed, cancelled");
        }
        if (http_query_get(q, "limit", buf, sizeof(buf)) != 0) {
                errno = 0;
                limit = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || limit < 1 || limit > 1000)
                        (void) json_errors_add(&errs, "limit", "must be an integer from 1 to 1000");
        }
        if (http_query_get(q, "cursor", buf, sizeof(buf)) != 0 && buf[0]) {
                errno = 0;
                cursor = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || cursor < 1)
                        (void) json_errors_add(
                                &errs, "cursor", "must be a next_cursor value from an earlier page");
        }
        if (errs)
                return http_reply_validation(req, errs);
        r = job_store_list_json(
                o->store,
                api_scope(o, ctx),
                has_status ? (int) status : -1,
                (unsigned) limit,
                cursor,
                &list);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, list);
}

int api_jobs_cancel(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *job = NULL;
        const char *id = http_request_param(req, "id");
        JobStatus st;
        int r;

        /* Operators cancel their own jobs only; admins (and everyone with auth off) any. */
        if (api_scope(o, ctx)) {
                _cleanup_free_ char *owner = NULL;

                r = job_store_get_owner(o->store, id, &owner);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (r == -ENOENT || !streq_ptr(owner, api_scope(o, ctx)))
                        return reply_job_not_found(req, id);
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
        r = job_store_get_json(o->store, id, NULL, &job);
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

/* Follows a job as a server-sent event stream until it ends or the client goes: events
 * (the job's events after `last`, read already) first, or a snapshot of the job when the
 * client does not resume. At most ORCH_SSE_PER_PRINCIPAL streams per caller at once. */
static int events_stream(
        HttpRequest *req,
        Orchestrator *o,
        ApiContext *ctx,
        const char *id,
        json_object *events,
        JobStatus status,
        int64_t last,
        bool resumed) {
        SseWatch watch = { .store = o->store };
        char key[RATELIMIT_KEY_MAX + 1];
        int r;

        api_principal_key(req, &ctx->who, key);
        r = stream_limit_take(o->streams, key);
        if (r == -EBUSY || r == -ENOSPC) {
                (void) http_reply_add_header(req, "Retry-After", "1");
                if (r == -ENOSPC)
                        return http_reply_error(req, 503, "too many callers hold event streams");
                return http_reply_error(
                        req,
                        429,
                        "%s holds %u event streams already (ORCH_SSE_PER_PRINCIPAL): close one first",
                        key,
                        stream_limit_per_key(o->streams));
        }
        if (r < 0)
                return r;
        r = http_reply_stream_begin(req, 200, "text/event-stream");
        if (r < 0) {
                stream_limit_release(o->streams, key);
                return 0; /* the client went away */
        }
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
                r = job_store_get_json(o->store, id, api_scope(o, ctx), &snap);
                if (r >= 0) {
                        json_object *v;

                        if (json_object_object_get_ex(snap, "status", &v))
                                (void) job_status_from_string(json_object_get_string(v), &status);
                        r = sse_write_event(req, last, "snapshot", snap);
                }
                events = NULL; /* the snapshot has them */
        }

        while (r >= 0) {
                _cleanup_json_ json_object *fresh = NULL;
                uint64_t gen = job_store_generation(o->store);
                size_t n;

                if (!events) {
                        r = job_store_events_json(o->store, id, api_scope(o, ctx), last, &fresh, &status);
                        if (r < 0)
                                break;
                        events = fresh;
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
                events = NULL;
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
        stream_limit_release(o->streams, key);
        return 0;
}

int api_jobs_events(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *events = NULL, *resp = NULL;
        const char *id = http_request_param(req, "id"),
                   *last_hdr = http_request_header(req, "Last-Event-ID");
        char qbuf[32];
        int64_t last = 0;
        JobStatus status;
        bool resumed = false;
        int r;

        if (last_hdr || http_query_get(http_request_query(req), "last_event_id", qbuf, sizeof(qbuf)) != 0) {
                const char *v = last_hdr ? last_hdr : qbuf;
                char *end;

                errno = 0;
                last = strtoll(v, &end, 10);
                if (errno || end == v || *end || last < 0)
                        return api_reply_400_field(
                                req, "Last-Event-ID", "Last-Event-ID must be an event id from this stream");
                resumed = true;
        }
        r = job_store_events_json(
                o->store, id, api_scope(o, ctx), accepts_event_stream(req) ? last : 0, &events, &status);
        if (r == -ENOENT)
                return reply_job_not_found(req, id);
        if (r < 0)
                return r;
        if (accepts_event_stream(req))
                return events_stream(req, o, ctx, id, events, status, last, resumed);

        resp = json_object_new_object();
        if (!resp)
                return -ENOMEM;
        json_object_object_add(resp, "job_id", json_object_new_string(id));
        json_object_object_add(resp, "status", json_object_new_string(job_status_to_string(status)));
        json_object_object_add(resp, "events", json_object_get(events));
        return http_reply_json(req, 200, resp);
}
