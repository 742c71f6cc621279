/* SPDX-License-Identifier: MIT */
/* api-webhook.c — POST /webhook: authenticated by its HMAC signature (not a bearer token);
 * a verified delivery whose event is mapped in ORCH_WEBHOOK_EVENTS becomes an async job with
 * the JSON body as the task's payload. The event is the signed body's "type": headers are
 * not signed, so X-Event-Type / X-GitHub-Event, when sent, must name the same event (a
 * captured delivery cannot be re-aimed at another event). Unmapped events are acknowledged
 * (202, ignored) so senders don't retry. The supervisor's service notices come this way too. */
#include <time.h>

#include "api-internal.h"
#include "time-util.h"

/* The supervisor's signed notice about a service ({"service": "nlp", "state": ...}):
 * "down" opens its breaker at once, so that synchronous callers get 503 + Retry-After
 * instead of waiting on a dead upstream (asynchronous jobs wait for it); "up" (seen ready)
 * closes it and wakes the jobs that wait; "updating" (it is about to be replaced) holds
 * every call to it, synchronous ones too, until "up" or ORCH_UPDATE_HOLD; "canary" runs
 * one small job of it and answers whether it passed (api-canary.c). */
#define SERVICE_EVENT "ai-semble.service"

/* Unsigned headers that name an event: checked against the body, never used alone. */
static const char *const event_headers[] = { "X-Event-Type", "X-GitHub-Event" };

static int service_event(HttpRequest *req, Orchestrator *o, ApiContext *ctx, json_object *in) {
        _cleanup_json_ json_object *errs = NULL, *ack = NULL;
        const char *name = NULL, *state = NULL;
        UpstreamService svc = _UPSTREAM_MAX;
        Breaker *b;

        if (json_get_string_bounded(in, "service", true, 1, 32, &errs, &name) > 0 &&
            upstream_service_from_string(name, &svc) < 0)
                (void) json_errors_add(&errs, "service", "must be one of llm, vision, nlp, data");
        if (json_get_string_bounded(in, "state", true, 1, 16, &errs, &state) > 0 && !streq(state, "down") &&
            !streq(state, "up") && !streq(state, "updating") && !streq(state, "canary"))
                (void) json_errors_add(&errs, "state", "must be down, up, updating or canary");
        if (errs)
                return http_reply_validation(req, errs);
        api_context_set_target(ctx, name);
        if (streq(state, "canary"))
                return api_canary_run(req, o, svc);
        b = &o->upstreams.breakers[svc];
        if (streq(state, "down"))
                breaker_force(b, BREAKER_OPEN, time_now_ms(CLOCK_MONOTONIC));
        else if (streq(state, "up"))
                upstream_readiness_seen(&o->upstreams, svc, true);
        else
                upstream_readiness_hold(&o->upstreams, svc);
        ack = json_object_new_object();
        if (!ack)
                return -ENOMEM;
        json_object_object_add(ack, "event", json_object_new_string(SERVICE_EVENT));
        json_object_object_add(ack, "service", json_object_new_string(name));
        json_object_object_add(
                ack,
                "breaker",
                json_object_new_string(
                        breaker_state_to_string(breaker_state(b, time_now_ms(CLOCK_MONOTONIC)))));
        json_object_object_add(
                ack,
                "held",
                json_object_new_boolean(
                        upstream_readiness_held(&o->upstreams, svc, time_now_ms(CLOCK_MONOTONIC))));
        return http_reply_json(req, 200, ack);
}

int api_webhook_receive(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *body = NULL, *errs = NULL;
        const char *why = NULL, *event, *raw;
        const WebhookEvent *ev;
        const UpstreamTask *task;
        UpstreamService svc;
        WebhookResult res;
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
        if (res == WEBHOOK_BUSY) {
                (void) http_reply_add_header(req, "Retry-After", "1");
                return http_reply_error(req, 503, "%s (ORCH_WEBHOOK_REPLAY_MAX)", why);
        }
        if (res != WEBHOOK_VALID)
                return http_reply_error(req, 401, "%s", why);

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        if (!json_object_is_type(in, json_type_object))
                return api_reply_400_field(req, "body", "a webhook body must be a JSON object");
        event = NULL;
        if (json_get_string_bounded(in, "type", false, 1, 128, &errs, &event) < 0)
                return http_reply_validation(req, errs);
        for (size_t i = 0; i < ELEMENTSOF(event_headers); i++) {
                const char *h = http_request_header(req, event_headers[i]);

                if (h && !streq_ptr(h, event))
                        return api_reply_400_field(
                                req,
                                event_headers[i],
                                "%s says '%.64s' but the signed body's type is %s%.64s%s: the event is "
                                "the body's",
                                event_headers[i],
                                h,
                                event ? "'" : "",
                                event ?: "missing",
                                event ? "'" : "");
        }
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
        if (upstream_service_from_string(ev->service, &svc) < 0)
                return -EINVAL; /* checked at start */
        task = upstream_task_find(svc, ev->task);
        if (!task) {
                /* The sender retries: the service may not be up, or not have the task yet. */
                (void) http_reply_add_header(req, "Retry-After", "10");
                return api_reply_problem(
                        req,
                        503,
                        NULL,
                        ev->service,
                        NULL,
                        "the %s service has no task %s (ORCH_WEBHOOK_EVENTS) or has not said what it runs yet",
                        ev->service,
                        ev->task);
        }
        body = json_object_get(in);
        return api_submit(
                req,
                o,
                &(ApiSubmission){
                        .task = task,
                        .priority = JOB_PRIORITY_MEDIUM,
                        .body = body,
                        .timeout_ms = upstream_task_timeout(&o->config.upstream, task),
                        .async = true,
                        .shape = API_SHAPE_DISPATCH,
                },
                ctx);
}
