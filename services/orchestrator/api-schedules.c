/* SPDX-License-Identifier: MIT */
/* api-schedules.c — /schedules: a task (the fields of /dispatch) run on cron or every N
 * seconds, each run a job of the schedule's creator. Scoped like jobs: a principal sees
 * and changes its own schedules (admins any); another's is a 404. */
#include <math.h>

#include "api-internal.h"
#include "time-util.h"
#include "uuid.h"

static int reply_not_found(HttpRequest *req, const char *id) {
        return http_reply_error(req, 404, "Schedule %.64s not found", id);
}

/* The timing fields: cron | every (exactly one), start_at. */
static void read_timing(
        json_object *in,
        json_object **errs,
        double now,
        ScheduleTiming *ret,
        const char **ret_cron,
        double *ret_start) {
        const char *cron = NULL, *field = NULL;
        json_object *every = NULL;
        ScheduleTiming t = {};
        const char *start = NULL;

        *ret_start = 0;
        if (json_get_string_bounded(in, "cron", false, 1, 256, errs, &cron) > 0 &&
            cron_parse(cron, &t.cron, &field) < 0)
                (void) json_errors_add(
                        errs, "cron", "invalid %s field in \"%.64s\" (m h dom mon dow, UTC)", field, cron);
        t.cron_set = cron != NULL;
        if (json_object_object_get_ex(in, "every", &every)) {
                int r = -EINVAL;

                if (json_object_is_type(every, json_type_string))
                        r = schedule_parse_every(json_object_get_string(every), &t.every_ms);
                else if (
                        json_object_is_type(every, json_type_int) ||
                        json_object_is_type(every, json_type_double)) {
                        double v = json_object_get_double(every);

                        if (isfinite(v) && v > 0 && v < 1e12) {
                                t.every_ms = (uint64_t) llround(v * 1000.0);
                                r = 0;
                        }
                }
                if (r < 0)
                        (void) json_errors_add(
                                errs,
                                "every",
                                "must be seconds or a duration such as \"30s\", \"5m\", \"1h\"");
                else if (t.every_ms < SCHEDULE_EVERY_MIN_MS)
                        (void) json_errors_add(errs, "every", "must be at least 1 s");
        }
        if (!cron == !every)
                (void) json_errors_add(
                        errs, cron ? "every" : "cron", "exactly one of cron or every is required");
        if (json_get_string_bounded(in, "start_at", false, 1, 64, errs, &start) > 0 &&
            audit_parse_time(start, ret_start) < 0)
                (void) json_errors_add(
                        errs, "start_at", "must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z");
        /* every: runs at start_at + k * every, else from one period after now. */
        t.anchor = *ret_start > 0 ? *ret_start : t.cron_set ? now : now + (double) t.every_ms / 1000.0;
        *ret = t;
        *ret_cron = cron;
}

/* One of names (by their to_string) read from field, or def when absent. */
static void read_choice(
        json_object *in,
        json_object **errs,
        const char *field,
        int (*from_string)(const char *s, int *ret),
        const char *choices,
        int *ret) {
        const char *s = NULL;

        if (json_get_string_bounded(in, field, false, 1, 16, errs, &s) > 0 && from_string(s, ret) < 0)
                (void) json_errors_add(errs, field, "unknown %s \"%.16s\"; one of %s", field, s, choices);
}

static int overlap_from(const char *s, int *ret) {
        ScheduleOverlap o;
        int r = schedule_overlap_from_string(s, &o);

        if (r >= 0)
                *ret = (int) o;
        return r;
}

static int catch_up_from(const char *s, int *ret) {
        ScheduleCatchUp c;
        int r = schedule_catch_up_from_string(s, &c);

        if (r >= 0)
                *ret = (int) c;
        return r;
}

static int reply_schedule(HttpRequest *req, Orchestrator *o, const char *id, const char *owner, int status) {
        _cleanup_json_ json_object *s = NULL;
        int r = job_store_schedule_get_json(o->store, id, owner, &s);

        if (r == -ENOENT)
                return reply_not_found(req, id);
        if (r < 0)
                return r;
        return http_reply_json(req, status, s);
}

/* POST /schedules {service, task, payload, priority, timeout, cron | every, start_at,
 * overlap=skip, catch_up=none}: 201 with the schedule and Location. */
int api_schedules_create(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL;
        _cleanup_(api_dispatch_done) ApiDispatch d = {};
        _cleanup_free_ char *flags = NULL;
        int overlap = SCHEDULE_OVERLAP_SKIP, catch_up = SCHEDULE_CATCH_UP_NONE;
        double now = time_now_s(CLOCK_REALTIME), start_at = 0, next = 0;
        const char *cron = NULL, *payload;
        char id[37], location[64];
        ScheduleTiming timing;
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        r = api_tasks_read_dispatch(o, in, &errs, &d);
        if (r == -EAGAIN)
                return http_reply_error(
                        req,
                        503,
                        "the tasks of the %s service are not known yet",
                        upstream_service_to_string(d.service));
        if (r < 0)
                return r;
        read_timing(in, &errs, now, &timing, &cron, &start_at);
        read_choice(in, &errs, "overlap", overlap_from, "skip, queue, allow", &overlap);
        read_choice(in, &errs, "catch_up", catch_up_from, "none, one, all", &catch_up);
        if (!errs && schedule_next_at(&timing, MAX(now, start_at), &next) < 0)
                (void) json_errors_add(&errs, "cron", "never matches a day within five years");
        if (errs)
                return http_reply_validation(req, errs);
        /* The payload goes upstream as /dispatch sends it: the task named where the service
         * reads it, and through the input guardrails now rather than at each run. */
        if (d.task->task_field)
                json_object_object_add(d.body, d.task->task_field, json_object_new_string(d.task->name));
        r = api_guardrail_gate(req, o, d.body, API_SHAPE_DISPATCH, &flags);
        if (r != 0)
                return r < 0 ? r : 0;
        payload = json_object_to_json_string_ext(
                d.body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        r = uuid_v7_string(id);
        if (r < 0 || !payload)
                return r < 0 ? r : -ENOMEM;
        r = job_store_schedule_insert(
                o->store,
                &(ScheduleRow){
                        .id = id,
                        .owner = ctx->who.sub,
                        .owner_role = auth_role_to_string(ctx->who.role),
                        .service = upstream_service_to_string(d.service),
                        .task = d.task->name,
                        .priority = job_priority_to_string(d.priority),
                        .payload = payload,
                        .timeout_ms = d.timeout_ms,
                        .cron = cron,
                        .every_ms = timing.every_ms,
                        .anchor = timing.anchor,
                        .start_at = start_at,
                        .overlap = schedule_overlap_to_string((ScheduleOverlap) overlap),
                        .catch_up = schedule_catch_up_to_string((ScheduleCatchUp) catch_up),
                        .next_run_at = next,
                        .created_at = now,
                });
        if (r < 0)
                return r;
        api_context_set_target(ctx, id);
        schedule_timer_kick(o->schedules);
        snprintf(location, sizeof(location), "/schedules/%s", id);
        (void) http_reply_add_header(req, "Location", location);
        return reply_schedule(req, o, id, NULL, 201);
}

int api_schedules_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *list = NULL;
        int r = job_store_schedule_list_json(o->store, api_scope(o, ctx), &list);

        if (r < 0)
                return r;
        return http_reply_json(req, 200, list);
}

int api_schedules_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        return reply_schedule(req, o, http_request_param(req, "id"), api_scope(o, ctx), 200);
}

/* After a change of schedule id (r its result): the timer looks again, and the answer. */
static int changed(HttpRequest *req, Orchestrator *o, const char *id, int r, json_object *resp) {
        if (r == -ENOENT)
                return reply_not_found(req, id);
        if (r < 0)
                return r;
        schedule_timer_kick(o->schedules);
        return resp ? http_reply_json(req, 200, resp) : reply_schedule(req, o, id, NULL, 200);
}

int api_schedules_pause(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        const char *id = http_request_param(req, "id");
        int r;

        api_context_set_target(ctx, id);
        r = job_store_schedule_set_paused(o->store, id, api_scope(o, ctx), true, 0);
        return changed(req, o, id, r, NULL);
}

static int next_from_row(const ScheduleRow *row, void *userdata) {
        double *next = userdata, now = *next;
        ScheduleTiming t;
        int r = schedule_timing_from_row(row, &t);

        return r < 0 ? r : schedule_next_at(&t, MAX(now, row->start_at), next);
}

/* Resuming does not catch up the runs of the pause: the next one is the first from now. */
int api_schedules_resume(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        const char *id = http_request_param(req, "id"), *owner = api_scope(o, ctx);
        double next = time_now_s(CLOCK_REALTIME);
        int r;

        api_context_set_target(ctx, id);
        r = job_store_schedule_get(o->store, id, owner, next_from_row, &next);
        if (r >= 0)
                r = job_store_schedule_set_paused(o->store, id, owner, false, next);
        return changed(req, o, id, r, NULL);
}

/* The schedule goes; the jobs of its runs stay, with their schedule_id. */
int api_schedules_delete(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *resp = json_object_new_object();
        const char *id = http_request_param(req, "id");
        int r;

        if (!resp)
                return -ENOMEM;
        api_context_set_target(ctx, id);
        r = job_store_schedule_delete(o->store, id, api_scope(o, ctx));
        json_object_object_add(resp, "schedule_id", json_object_new_string(id));
        json_object_object_add(resp, "deleted", json_object_new_boolean(true));
        return changed(req, o, id, r, resp);
}
