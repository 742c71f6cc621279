/* SPDX-License-Identifier: MIT */
/* api-v1.c — the llm service's OpenAI-compatible API (/v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models) and Anthropic's /v1/messages on the published port: each call
 * is a job of the llm task whose route it is (the llm's GET /tasks says which), behind the
 * token, the rate limit and the guardrails of every task. The answer is the llm's own; with
 * "stream": true it is relayed chunk by chunk as it arrives, and a client that leaves
 * cancels the call. */
#include <strings.h>

#include "api-internal.h"

typedef struct V1Relay {
        JobRelay relay;
        HttpRequest *req;
        char content_type[128];
} V1Relay;

/* The llm's headers worth passing on: its content type (SSE, or a JSON error) and which
 * backend and model answered. */
static int v1_header(const char *name, const char *value, void *userdata) {
        V1Relay *x = userdata;

        if (strcasecmp(name, "Content-Type") == 0)
                snprintf(x->content_type, sizeof(x->content_type), "%s", value);
        else if (strncasecmp(name, "X-LLM-", 6) == 0)
                (void) http_reply_add_header(x->req, name, value);
        return 0;
}

static int v1_data(long status, const char *buf, size_t len, void *userdata) {
        V1Relay *x = userdata;
        int r;

        if (!http_request_replied(x->req)) {
                (void) http_reply_add_header(x->req, "X-Job-ID", x->relay.job_id);
                r = http_reply_stream_begin(
                        x->req, (int) status, x->content_type[0] ? x->content_type : "text/event-stream");
                if (r < 0)
                        return r;
        }
        return http_reply_stream_write(x->req, buf, len);
}

int api_v1_call(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        const char *method = http_request_method(req), *path = http_request_path(req);
        _cleanup_json_ json_object *body = NULL;
        const UpstreamTask *task;
        V1Relay x = { .req = req, .relay = { .on_header = v1_header, .on_data = v1_data, .userdata = &x } };
        json_object *v;
        bool stream = false;
        int r;

        task = upstream_task_find_route(UPSTREAM_LLM, method, path);
        if (!task) {
                char why[192];

                if (upstream_tasks_known(UPSTREAM_LLM, why, sizeof(why)))
                        return api_reply_problem(
                                req,
                                404,
                                NULL,
                                "llm",
                                NULL,
                                "the llm service has no route %s %s",
                                method,
                                path);
                (void) http_reply_add_header(req, "Retry-After", "1");
                return api_reply_problem(
                        req,
                        503,
                        NULL,
                        "llm",
                        NULL,
                        "the tasks of the llm service are not known yet: %s",
                        why);
        }
        if (streq(method, "POST")) {
                r = http_request_parse_json(req, &body);
                if (r < 0)
                        return r == -EBADMSG ? 0 : r;
                if (!json_object_is_type(body, json_type_object))
                        return api_reply_400_field(req, "", "the body must be a JSON object");
                if (json_object_object_get_ex(body, "stream", &v)) {
                        if (!json_object_is_type(v, json_type_boolean))
                                return api_reply_400_field(req, "stream", "stream must be true or false");
                        stream = json_object_get_boolean(v) && task->stream;
                }
        } else {
                body = json_object_new_object();
                if (!body)
                        return -ENOMEM;
        }
        if (stream && o->config.redact_output) {
                _cleanup_problem_ Problem *p = NULL;

                r = problem_for_field(
                        &p,
                        422,
                        "stream",
                        "streamed answers are not relayed while ORCH_REDACT_OUTPUT is on (a secret may span "
                        "chunks): ask without stream");
                return r < 0 ? r : http_reply_problem(req, p);
        }
        if (stream && http_request_header(req, "Idempotency-Key"))
                return api_reply_400_field(
                        req,
                        "Idempotency-Key",
                        "a streamed answer cannot be replayed: no Idempotency-Key with stream");
        return api_submit(
                req,
                o,
                &(ApiSubmission){
                        .task = task,
                        .priority = JOB_PRIORITY_MEDIUM,
                        .body = body,
                        .timeout_ms = upstream_task_timeout(&o->config.upstream, task),
                        .shape = API_SHAPE_RAW,
                        .relay = stream ? &x.relay : NULL,
                },
                ctx);
}
