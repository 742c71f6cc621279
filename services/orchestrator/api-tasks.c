/* SPDX-License-Identifier: MIT */
/* api-tasks.c — the seed's four task endpoints (/ai/llm/completion, /ai/vision/analyze,
 * /ai/nlp/process, /data/process), one handler reading each endpoint's own fields through
 * its ApiTaskEndpoint, and POST /dispatch for any task of any service. Which tasks there
 * are is each service's to say (a schedule's task is read as /dispatch's: api-schedules.c) (GET /tasks,
 * upstream-tasks.c): an unknown one is refused naming the service's real tasks, and a service whose tasks
 * are not known yet gets 503. */
#include "api-internal.h"

#define PROMPT_MAX (256 * 1024)

struct ApiTaskEndpoint {
        UpstreamService service;
        ApiShape shape;
        bool priority_hint_ok; /* the seed's LLM "priority" was a model-selection hint */
        /* When the named task is unknown and not already a validation error, the field
         * that names it: 400 after validation (the seed's /data/process did so). */
        const char *unknown_task_field;
        /* Checks the endpoint's own fields of in, in order (errors into *errs); when they
         * are all valid, copies them into body, the request sent upstream, and finds the
         * task. -EAGAIN when the service's tasks are not known. */
        int (*read)(json_object *in, json_object **errs, json_object *body, const UpstreamTask **ret_task);
};

/* Common optional fields of every task request: priority and async. The seed's LLM
 * "priority" was a model-selection hint (balanced, speed, quality...): values other than
 * the four queue priorities are accepted and mean medium. */
static void parse_run_at(json_object *in, json_object **errs, double *ret);

static int parse_common(
        json_object *in,
        json_object **errs,
        bool hint_ok,
        JobPriority *ret_prio,
        bool *ret_async,
        double *ret_run_at) {
        const char *prio = NULL;
        int r;

        r = json_get_string_bounded(in, "priority", false, 1, 32, errs, &prio);
        if (r > 0 && job_priority_from_string(prio, ret_prio) < 0 && !hint_ok)
                (void) json_errors_add(errs, "priority", "must be one of low, medium, high, critical");
        (void) json_get_bool(in, "async", false, errs, ret_async);
        parse_run_at(in, errs, ret_run_at);
        return 0;
}

/* The task of s named task, or an error naming s's real tasks in *errs; -EAGAIN when s's
 * tasks are not known at all (its GET /tasks never answered). */
static int validate_task(UpstreamService s, const char *task, json_object **errs, const UpstreamTask **ret) {
        char names[1024];

        *ret = upstream_task_find(s, task);
        if (*ret)
                return 0;
        if (!upstream_tasks_known(s, NULL, 0))
                return -EAGAIN;
        upstream_task_names(s, names, sizeof(names));
        return json_errors_add(
                errs,
                "task",
                "unknown %s task \"%.64s\"; one of %s",
                upstream_service_to_string(s),
                task,
                names);
}

/* 503 for a service whose tasks are not known (it has not answered GET /tasks yet). */
int api_tasks_reply_unknown(HttpRequest *req, UpstreamService s) {
        char why[192];
        const char *svc = upstream_service_to_string(s);

        (void) upstream_tasks_known(s, why, sizeof(why));
        (void) http_reply_add_header(req, "Retry-After", "1");
        return api_reply_problem(
                req, 503, NULL, svc, NULL, "the tasks of the %s service are not known yet: %s", svc, why);
}

/* Options are an object, passed through ({} when absent). */
static void add_options(json_object *body, json_object *options) {
        json_object_object_add(
                body, "options", options ? json_object_get(options) : json_object_new_object());
}

static int
read_llm_completion(json_object *in, json_object **errs, json_object *body, const UpstreamTask **ret_task) {
        const char *prompt = NULL, *model = "auto";
        json_object *hybrid = NULL;
        int64_t max_tokens = 1000;
        double temperature = 0.7, top_p = 0.9;
        bool auto_select = true;

        (void) json_get_string_bounded(in, "prompt", true, 1, PROMPT_MAX, errs, &prompt);
        (void) json_get_string_bounded(in, "model", false, 1, 128, errs, &model);
        (void) json_get_int(in, "max_tokens", false, 1, 131072, errs, &max_tokens);
        (void) json_get_double(in, "temperature", false, 0.0, 2.0, errs, &temperature);
        (void) json_get_double(in, "top_p", false, 0.0, 1.0, errs, &top_p);
        (void) json_get_bool(in, "auto_select", false, errs, &auto_select);
        /* Hybrid mode is the llm service's to validate (422 naming hybrid.*): passed through. */
        (void) json_get_object(in, "hybrid", false, errs, &hybrid);
        if (*errs)
                return 0;
        json_object_object_add(body, "prompt", json_object_new_string(prompt));
        json_object_object_add(body, "model", json_object_new_string(model));
        json_object_object_add(body, "max_tokens", json_object_new_int64(max_tokens));
        json_object_object_add(body, "temperature", json_object_new_double(temperature));
        json_object_object_add(body, "top_p", json_object_new_double(top_p));
        if (hybrid)
                json_object_object_add(body, "hybrid", json_object_get(hybrid));
        *ret_task = upstream_task_find(UPSTREAM_LLM, "completion");
        return *ret_task ? 0 : -EAGAIN;
}

static int
read_vision_analyze(json_object *in, json_object **errs, json_object *body, const UpstreamTask **ret_task) {
        const char *url = NULL, *b64 = NULL, *task_name = "analyze";
        json_object *options = NULL;
        int has_url, has_b64;

        has_url = json_get_string_bounded(in, "image_url", false, 1, 4096, errs, &url);
        has_b64 = json_get_string_bounded(in, "image_base64", false, 1, 0, errs, &b64);
        if (has_url == 0 && has_b64 == 0)
                (void) json_errors_add(errs, "image_url", "one of image_url or image_base64 is required");
        if (json_get_string_bounded(in, "task", false, 1, 64, errs, &task_name) >= 0 &&
            validate_task(UPSTREAM_VISION, task_name, errs, ret_task) == -EAGAIN)
                return -EAGAIN;
        (void) json_get_object(in, "options", false, errs, &options);
        if (*errs)
                return 0;
        if (url)
                json_object_object_add(body, "image_url", json_object_new_string(url));
        if (b64)
                json_object_object_add(body, "image_base64", json_object_new_string(b64));
        json_object_object_add(body, "task", json_object_new_string(task_name));
        add_options(body, options);
        return 0;
}

static int
read_nlp_process(json_object *in, json_object **errs, json_object *body, const UpstreamTask **ret_task) {
        const char *text = NULL, *task_name = "analyze", *language = "auto";
        json_object *options = NULL;

        (void) json_get_string_bounded(in, "text", true, 1, 0, errs, &text);
        if (json_get_string_bounded(in, "task", false, 1, 64, errs, &task_name) >= 0 &&
            validate_task(UPSTREAM_NLP, task_name, errs, ret_task) == -EAGAIN)
                return -EAGAIN;
        (void) json_get_string_bounded(in, "language", false, 1, 16, errs, &language);
        (void) json_get_object(in, "options", false, errs, &options);
        if (*errs)
                return 0;
        json_object_object_add(body, "text", json_object_new_string(text));
        json_object_object_add(body, "task", json_object_new_string(task_name));
        json_object_object_add(body, "language", json_object_new_string(language));
        add_options(body, options);
        return 0;
}

static int
read_data_process(json_object *in, json_object **errs, json_object *body, const UpstreamTask **ret_task) {
        const char *operation = NULL;
        json_object *data = NULL, *options = NULL;

        (void) json_get_string_bounded(in, "operation", true, 1, 64, errs, &operation);
        (void) json_get_object(in, "data", true, errs, &data);
        (void) json_get_object(in, "options", false, errs, &options);
        if (*errs)
                return 0;
        json_object_object_add(body, "operation", json_object_new_string(operation));
        json_object_object_add(body, "data", json_object_get(data));
        add_options(body, options);
        *ret_task = upstream_task_find(UPSTREAM_DATA, operation);
        return *ret_task || upstream_tasks_known(UPSTREAM_DATA, NULL, 0) ? 0 : -EAGAIN;
}

const ApiTaskEndpoint api_tasks_llm_completion = {
        UPSTREAM_LLM, API_SHAPE_LLM, true, NULL, read_llm_completion
};
const ApiTaskEndpoint api_tasks_vision_analyze = {
        UPSTREAM_VISION, API_SHAPE_GENERIC, false, NULL, read_vision_analyze
};
const ApiTaskEndpoint api_tasks_nlp_process = {
        UPSTREAM_NLP, API_SHAPE_GENERIC, false, NULL, read_nlp_process
};
const ApiTaskEndpoint api_tasks_data_process = {
        UPSTREAM_DATA, API_SHAPE_DATA, false, "operation", read_data_process
};

int api_tasks_submit(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        const ApiTaskEndpoint *e = ctx->data;
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *body = json_object_new_object();
        const UpstreamTask *task = NULL;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        double run_at = 0;
        bool async = false;
        int r;

        if (!body)
                return -ENOMEM;
        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        r = e->read(in, &errs, body, &task);
        if (r == -EAGAIN)
                return api_tasks_reply_unknown(req, e->service);
        if (r < 0)
                return r;
        (void) parse_common(in, &errs, e->priority_hint_ok, &prio, &async, &run_at);
        if (errs)
                return http_reply_validation(req, errs);
        if (!task) {
                char names[1024];

                upstream_task_names(e->service, names, sizeof(names));
                return api_reply_400_field(
                        req,
                        e->unknown_task_field,
                        "unknown %s \"%.64s\"; one of %s",
                        e->unknown_task_field,
                        json_object_get_string(json_object_object_get(in, e->unknown_task_field)),
                        names);
        }
        return api_submit(
                req,
                o,
                &(ApiSubmission){
                        .task = task,
                        .priority = prio,
                        .body = body,
                        .timeout_ms = upstream_task_timeout(&o->config.upstream, task),
                        .async = async,
                        .run_at = run_at,
                        .shape = e->shape,
                },
                ctx);
}

int api_tasks_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *tasks = NULL;
        int r;

        r = upstream_tasks_to_json(&tasks);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, tasks);
}

/* run_at (RFC 3339): the job waits in the store until then (delayed), and the request is
 * answered 202 at once. */
static void parse_run_at(json_object *in, json_object **errs, double *ret) {
        const char *s = NULL;

        if (json_get_string_bounded(in, "run_at", false, 1, 64, errs, &s) > 0 &&
            audit_parse_time(s, ret) < 0)
                (void) json_errors_add(
                        errs, "run_at", "must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z");
}

int api_tasks_read_dispatch(Orchestrator *o, json_object *in, json_object **errs, ApiDispatch *ret) {
        const char *service = NULL, *task_name = NULL, *prio_s = NULL;
        json_object *payload = NULL, *v;
        UpstreamService svc = UPSTREAM_LLM;
        double timeout_s = 0;
        bool svc_ok = false;

        *ret = (ApiDispatch){ .priority = JOB_PRIORITY_MEDIUM };
        if (json_get_string_bounded(in, "service", true, 1, 32, errs, &service) > 0) {
                svc_ok = upstream_service_from_string(service, &svc) >= 0;
                if (!svc_ok)
                        (void) json_errors_add(
                                errs,
                                "service",
                                "unknown service \"%.32s\"; one of llm, vision, nlp, data",
                                service);
        }
        ret->service = svc;
        if (json_get_string_bounded(in, "task", true, 1, 64, errs, &task_name) > 0 && svc_ok &&
            validate_task(svc, task_name, errs, &ret->task) == -EAGAIN)
                return -EAGAIN;
        (void) json_get_object(in, "payload", false, errs, &payload);
        if (json_get_string_bounded(in, "priority", false, 1, 32, errs, &prio_s) > 0 &&
            job_priority_from_string(prio_s, &ret->priority) < 0)
                (void) json_errors_add(errs, "priority", "must be one of low, medium, high, critical");
        (void) json_get_double(
                in, "timeout", false, 0.001, (double) o->config.max_timeout_ms / 1000.0, errs, &timeout_s);
        if (ret->task && ret->task->task_field && payload &&
            json_object_object_get_ex(payload, ret->task->task_field, &v) &&
            (!json_object_is_type(v, json_type_string) ||
             !streq(json_object_get_string(v), ret->task->name)))
                (void) json_errors_add(
                        errs,
                        "payload",
                        "payload.%s must be \"%s\" or absent",
                        ret->task->task_field,
                        ret->task->name);
        if (*errs)
                return 0;
        ret->body = payload ? json_object_get(payload) : json_object_new_object();
        if (!ret->body)
                return -ENOMEM;
        ret->timeout_ms = timeout_s > 0 ? (uint64_t) (timeout_s * 1000.0)
                                        : upstream_task_timeout(&o->config.upstream, ret->task);
        return 0;
}

/* POST /dispatch {service, task, payload, priority, timeout, async, run_at}: any task of
 * any service, the payload sent as the service's request body. */
int api_tasks_dispatch(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL;
        _cleanup_(api_dispatch_done) ApiDispatch d = {};
        double run_at = 0;
        bool async = false;
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        r = api_tasks_read_dispatch(o, in, &errs, &d);
        if (r == -EAGAIN)
                return api_tasks_reply_unknown(req, d.service);
        if (r < 0)
                return r;
        (void) json_get_bool(in, "async", false, &errs, &async);
        parse_run_at(in, &errs, &run_at);
        if (errs)
                return http_reply_validation(req, errs);
        return api_submit(
                req,
                o,
                &(ApiSubmission){
                        .task = d.task,
                        .priority = d.priority,
                        .body = d.body,
                        .timeout_ms = d.timeout_ms,
                        .async = async,
                        .run_at = run_at,
                        .shape = API_SHAPE_DISPATCH,
                },
                ctx);
}
