/* SPDX-License-Identifier: MIT */
/* api-canary.c — the supervisor's canary job (a signed "ai-semble.service" notice with
 * state "canary"): after an update replaced a service, one small real job of that service
 * runs through the door — stored, queued, sent upstream like any other — and the answer
 * says whether it passed. The supervisor rolls the service back when it did not. */
#include "api-internal.h"

/* One cheap task per service, with a body the service accepts as it is. */
static const struct {
        UpstreamService service;
        const char *task;
        const char *body;
} canaries[] = {
        { UPSTREAM_NLP, "tokenize", "{\"text\":\"canary\",\"task\":\"tokenize\"}" },
        { UPSTREAM_DATA, "analyze", "{\"operation\":\"analyze\",\"data\":{\"records\":[{\"canary\":1}]}}" },
        /* an 8×8 PNG */
        { UPSTREAM_VISION,
          "analyze",
          "{\"task\":\"analyze\",\"image_base64\":\"iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGM4"
          "UaGBFTEMLQkAUtVaAV8W4QQAAAAASUVORK5CYII=\"}" },
        { UPSTREAM_LLM, "completion", "{\"prompt\":\"canary\",\"max_tokens\":1}" },
};

/* Passed: the job completed. The llm may have no backend configured; then its own answer
 * (any status but a gateway's 500/502/504) shows the new binary serves. */
static bool canary_passed(const Job *j) {
        if (j->status == JOB_COMPLETED)
                return true;
        return j->task->service == UPSTREAM_LLM && j->status == JOB_FAILED && j->http_status > 0 &&
                j->http_status != 500 && j->http_status != 502 && j->http_status != 504;
}

int api_canary_run(HttpRequest *req, Orchestrator *o, UpstreamService svc) {
        _cleanup_(job_unrefp) Job *j = NULL;
        _cleanup_json_ json_object *ack = NULL;
        const UpstreamTask *task = NULL;
        const char *body = NULL;
        char *payload;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(canaries); i++)
                if (canaries[i].service == svc) {
                        task = upstream_task_find(svc, canaries[i].task);
                        body = canaries[i].body;
                }
        if (!task)
                return -EINVAL;
        payload = strdup(body);
        if (!payload)
                return -ENOMEM;
        r = job_new(
                task, JOB_PRIORITY_CRITICAL, payload, api_service_timeout(o, svc), http_request_id(req), &j);
        if (r < 0)
                return r;
        job_set_submitter(j, "ai-semble-supervisor", "operator");
        job_set_trace(j, http_request_trace(req));
        r = job_runner_submit(o->runner, j, true, NULL, NULL);
        if (r >= 0)
                r = job_runner_wait(j, j->timeout_ms + SYNC_WAIT_SLACK_MS);
        ack = json_object_new_object();
        if (!ack)
                return -ENOMEM;
        json_object_object_add(ack, "event", json_object_new_string("ai-semble.service"));
        json_object_object_add(ack, "service", json_object_new_string(upstream_service_to_string(svc)));
        json_object_object_add(ack, "job_id", json_object_new_string(j->id));
        json_object_object_add(
                ack, "canary", json_object_new_string(r >= 0 && canary_passed(j) ? "passed" : "failed"));
        json_object_object_add(
                ack, "status", json_object_new_string(r >= 0 ? job_status_to_string(j->status) : "unknown"));
        if (j->http_status > 0)
                json_object_object_add(ack, "http_status", json_object_new_int((int) j->http_status));
        if (r < 0 || j->status != JOB_COMPLETED)
                json_object_object_add(
                        ack, "error", json_object_new_string(r < 0 ? strerror(-r) : j->error));
        return http_reply_json(req, 200, ack);
}
