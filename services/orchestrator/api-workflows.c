/* SPDX-License-Identifier: MIT */
/* api-workflows.c — POST /workflows: a validated workflow run as a job with child jobs. */
#include "api-internal.h"
#include "workflow-run.h"

/* POST /workflows {steps:[{id, service, task, input, depends_on, on_error}], async}:
 * validated as a whole (422 naming steps[i].field), then run as a job whose events show
 * every step. Synchronous by default: 200 with the workflow job (status completed or
 * failed, result.steps.<id>.{status, job_id, output|error}). */
int api_workflows_submit(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
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
                &o->workflows,
                w,
                http_request_id(req),
                ctx->who.sub,
                auth_role_to_string(ctx->who.role),
                &run);
        if (r < 0)
                return r;
        api_context_set_target(ctx, workflow_run_id(run));
        snprintf(location, sizeof(location), "/jobs/%s", workflow_run_id(run));
        (void) http_reply_add_header(req, "X-Job-ID", workflow_run_id(run));
        if (async || api_prefer_async(req)) {
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
        r = job_store_get_json(o->store, workflow_run_id(run), NULL, &job);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, job);
}
