/* SPDX-License-Identifier: MIT */
/* llm-api.c — the one flow every generation endpoint follows (validate, route, run the
 * gateway, answer in the client's format), the sink between the gateway and the client,
 * the replies to failures, and GET /v1/models. */
#include <inttypes.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

const char llm_api_unconfigured_detail[] =
        "no LLM backend is configured: set LLM_BACKENDS_FILE to a JSON file listing the backends "
        "(name, kind ollama|openai|anthropic, base_url, models; API keys through api_key_file, "
        "e.g. /run/secrets/<name>); see docs/llm.md";

int llm_api_write_json(ApiReply *x, const char *prefix, json_object *o, const char *suffix) {
        size_t len;
        const char *s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        _cleanup_free_ char *buf = NULL;
        int k;

        if (!s)
                return -ENOMEM;
        k = asprintf(&buf, "%s%s%s", prefix, s, suffix);
        if (k < 0)
                return -ENOMEM;
        return http_reply_stream_write(x->req, buf, (size_t) k);
}

int llm_api_add_llm_headers(
        HttpRequest *req, const LlmCandidate *c, bool fallback, const char *fallback_from) {
        int r;

        r = http_reply_add_header(req, "X-LLM-Backend", c->backend->name);
        if (r >= 0)
                r = http_reply_add_header(req, "X-LLM-Model", c->model->name);
        if (r >= 0)
                r = http_reply_add_header(req, "X-LLM-Fallback", fallback ? "true" : "false");
        if (r >= 0 && fallback)
                r = http_reply_add_header(req, "X-LLM-Fallback-From", fallback_from);
        return r;
}

/* ---- the sink: the gateway's output to the client ---------------------------------- */

static int sink_begin(void *userdata, const LlmCandidate *c, bool fallback, const char *fallback_from) {
        ApiReply *x = userdata;
        int r;

        x->c = c;
        if (!x->a->stream)
                return 0; /* headers go out with the whole answer */
        r = llm_api_add_llm_headers(x->req, c, fallback, fallback_from);
        if (r >= 0)
                r = llm_api_hybrid_headers(x, c);
        if (r < 0)
                return r;
        r = http_reply_stream_begin(x->req, 200, x->format->stream_type);
        if (r >= 0 && x->format->stream_open)
                r = x->format->stream_open(x);
        return r;
}

static int sink_text(void *userdata, const char *text, size_t len) {
        ApiReply *x = userdata;

        if (x->a->stream)
                return x->format->stream_text(x, text, len);
        return llm_text_append(&x->text, text, len, 0);
}

static int sink_tool(void *userdata, const LlmToolDelta *d) {
        ApiReply *x = userdata;

        /* Buffered answers take the assembled calls from the outcome. */
        return x->a->stream && x->format->stream_tool ? x->format->stream_tool(x, d) : 0;
}

static int sink_embeddings(void *userdata, json_object *vectors) {
        ApiReply *x = userdata;

        json_object_put(x->vectors);
        x->vectors = json_object_get(vectors);
        return 0;
}

static int sink_idle(void *userdata) {
        ApiReply *x = userdata;

        if (x->a->stream && x->format->stream_idle)
                return x->format->stream_idle(x);
        return 0;
}

static int sink_reset(void *userdata) {
        ApiReply *x = userdata;

        llm_text_clear(&x->text);
        return 0;
}

void llm_api_sink(ApiReply *x, LlmSink *ret) {
        *ret = (LlmSink){
                .begin = sink_begin,
                .text = sink_text,
                .tool = sink_tool,
                .embeddings = sink_embeddings,
                .idle = sink_idle,
                .reset = x->a->stream ? NULL : sink_reset,
                .userdata = x,
        };
}

/* ---- the end of a request ---------------------------------------------------------- */

json_object *llm_api_usage_json(const LlmOutcome *o) {
        json_object *u = json_object_new_object();

        if (!u)
                return NULL;
        json_object_object_add(u, "prompt_tokens", json_object_new_int64(o->prompt_tokens));
        json_object_object_add(u, "completion_tokens", json_object_new_int64(o->completion_tokens));
        json_object_object_add(
                u, "total_tokens", json_object_new_int64(o->prompt_tokens + o->completion_tokens));
        return u;
}

int llm_api_selection_reason(const LlmRoute *route, const LlmOutcome *o, char **ret) {
        if (o->fallback)
                return asprintf(
                               ret,
                               "%s; fell back from %s after: %s",
                               route->reason,
                               o->fallback_from,
                               o->detail) < 0
                        ? -ENOMEM
                        : 0;
        *ret = strdup(route->reason);
        return *ret ? 0 : -ENOMEM;
}

json_object *llm_api_tool_calls_json(const LlmToolCalls *t) {
        _cleanup_json_ json_object *arr = json_object_new_array_ext((int) t->n);

        if (!arr)
                return NULL;
        for (size_t i = 0; i < t->n; i++) {
                json_object *c = json_object_new_object(), *f = json_object_new_object();

                if (!c || !f || json_object_array_add(arr, c) < 0) {
                        json_object_put(c);
                        json_object_put(f);
                        return NULL;
                }
                json_object_object_add(c, "id", json_object_new_string(t->calls[i].id));
                json_object_object_add(c, "type", json_object_new_string("function"));
                json_object_object_add(f, "name", json_object_new_string(t->calls[i].name));
                json_object_object_add(
                        f,
                        "arguments",
                        json_object_new_string_len(
                                t->calls[i].arguments.p, (int) t->calls[i].arguments.len));
                json_object_object_add(c, "function", f);
        }
        return TAKE_PTR(arr);
}

int llm_api_finish(ApiReply *x, const LlmOutcome *out, const char *reason) {
        int r;

        if (!x->a->stream) {
                (void) llm_api_add_llm_headers(x->req, out->used, out->fallback, out->fallback_from);
                (void) llm_api_hybrid_headers(x, out->used);
                return x->format->reply(x, out, reason);
        }
        r = x->format->stream_close(x, out, reason);
        if (r >= 0)
                r = http_reply_stream_end(x->req);
        return r;
}

int llm_api_fail_stream(ApiReply *x, const LlmOutcome *out) {
        int r = x->format->stream_fail(x, out);

        if (r >= 0)
                r = http_reply_stream_end(x->req);
        return r;
}

int llm_api_reply_failure(HttpRequest *req, const LlmOutcome *out, const LlmRoute *route) {
        if (out->retry_after_ms > 0) {
                char v[32];
                snprintf(v, sizeof(v), "%" PRIu64, (out->retry_after_ms + 999) / 1000);
                (void) http_reply_add_header(req, "Retry-After", v);
        }
        if (out->status == 503 && out->failure == LLM_FAIL_NONE)
                return http_reply_error(req, 503, "%s", out->detail);
        return http_reply_error(
                req,
                out->status,
                "no backend produced an answer (%s); last error: %s",
                route->reason,
                out->detail[0] ? out->detail : "none");
}

static int needed_tokens(const ApiRequest *a, bool trim) {
        int64_t t = 0;

        /* The tools' definitions are part of the prompt. */
        for (size_t i = 0; i < a->call.n_tools; i++)
                t += llm_tokens_estimate_text(a->tools[i].name, strlen(a->tools[i].name)) +
                        llm_tokens_estimate_text(
                                a->tools[i].description, strlen(strempty(a->tools[i].description))) +
                        llm_tokens_estimate_text(
                                a->tools[i].parameters, strlen(strempty(a->tools[i].parameters)));
        if (a->inputs)
                return 0; /* embeddings: the backend says when an input is too long */
        if (!a->messages)
                t += llm_tokens_estimate_text(a->call.prompt, strlen(strempty(a->call.prompt)));
        else if (!trim)
                t += llm_tokens_estimate_messages(a->messages, a->n_messages);
        else {
                /* Trimming can drop all history but the system messages and the newest one. */
                t += llm_tokens_estimate_messages(&a->messages[a->n_messages - 1], 1);
                for (size_t i = 0; i + 1 < a->n_messages; i++)
                        if (streq(a->messages[i].role, "system"))
                                t += llm_tokens_estimate_messages(&a->messages[i], 1) - 3;
        }
        return (int) MIN(t + a->call.max_tokens, (int64_t) INT32_MAX);
}

int llm_api_reply_route_error(
        HttpRequest *req, const ApiRequest *a, int r, const LlmRoute *route, const char *field) {
        _cleanup_json_ json_object *errs = NULL;

        if (r == -EPROTONOSUPPORT) {
                /* The field that asks for what no backend of the route honours. */
                const char *f = field;

                for (size_t i = 0; i < _LLM_FEATURE_COUNT && f == field; i++)
                        if (route->missing & (1u << i))
                                f = a->format->feature_fields[i];
                json_errors_add(
                        &errs,
                        f,
                        "cannot be honoured: %s; name a model whose backend can, or leave it out",
                        route->reason);
                return http_reply_validation(req, errs);
        }
        if (r == -EMEDIUMTYPE || (r == -ENOENT && !streq(field, "model"))) {
                json_errors_add(&errs, field, "%s", route->reason);
                return http_reply_validation(req, errs);
        }
        if (r == -ENOMEDIUM)
                return http_reply_error(req, 503, "%s; see docs/llm.md", route->reason);
        if (r == -ENOENT)
                return http_reply_error(
                        req, 404, "%s; GET /v1/models lists the configured models", route->reason);
        if (r == -E2BIG)
                return http_reply_error(req, 413, "the request does not fit: %s", route->reason);
        return http_reply_error(req, 503, "%s", llm_api_unconfigured_detail);
}

int llm_api_route(LlmApi *api, const ApiRequest *a, const char *model, bool trim, LlmRoute *ret) {
        LlmNeeds needs = {
                .tokens = needed_tokens(a, trim),
                .vision = a->n_images > 0,
                .embeddings = a->inputs != NULL,
                .features = a->call.features,
        };

        return llm_router_route(&api->gateway.config, model, a->priority, a->task, &needs, ret);
}

/* ---- the one flow every generation endpoint follows ------------------------------- */

static const ApiFormat *format_of(ApiShape shape) {
        switch (shape) {
        case SHAPE_OPENAI_CHAT:
        case SHAPE_OPENAI_TEXT:
                return &llm_api_openai_format;
        case SHAPE_MESSAGES:
                return &llm_api_anthropic_format;
        case SHAPE_EMBEDDINGS:
                return &llm_api_embed_format;
        default:
                return &llm_api_seed_format;
        }
}

static int serve(HttpRequest *req, LlmApi *api, ApiShape shape) {
        _cleanup_json_ json_object *body = NULL;
        _cleanup_(llm_api_request_done) ApiRequest a = {};
        _cleanup_free_ char *reason = NULL;
        bool trim = shape == SHAPE_SEED_CHAT;
        LlmOutcome out;
        LlmRoute route;
        ApiReply x = { .req = req,
                       .a = &a,
                       .format = format_of(shape),
                       .route = &route,
                       .created = time(NULL),
                       .block = -1 };
        LlmSink sink;
        int r;

        a.format = x.format;
        r = http_request_parse_json(req, &body);
        if (r < 0)
                return 0;
        if (shape == SHAPE_MESSAGES)
                r = llm_api_messages_parse(req, api, body, &a);
        else if (shape == SHAPE_EMBEDDINGS)
                r = llm_api_embed_parse(req, api, body, &a);
        else
                r = llm_api_request_parse(req, api, body, shape, &a);
        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        if (!llm_gateway_configured(&api->gateway))
                return http_reply_error(req, 503, "%s", llm_api_unconfigured_detail);

        snprintf(
                x.id,
                sizeof(x.id),
                "%s-%.40s",
                shape == SHAPE_OPENAI_CHAT        ? "chatcmpl"
                        : shape == SHAPE_MESSAGES ? "msg"
                                                  : "cmpl",
                http_request_id(req));
        if (a.hybrid && a.hybrid_models[0])
                return llm_api_hybrid_serve(req, api, &a, NULL, trim, &x);
        r = llm_api_route(api, &a, a.model, trim, &route);
        if (r < 0)
                return llm_api_reply_route_error(req, &a, r, &route, "model");
        if (a.hybrid)
                return llm_api_hybrid_serve(req, api, &a, &route, trim, &x);

        llm_api_sink(&x, &sink);
        r = llm_gateway_run(&api->gateway, &route, &a.call, trim, &sink, &out);
        if (r >= 0) {
                r = llm_api_selection_reason(&route, &out, &reason);
                if (r >= 0)
                        r = llm_api_finish(&x, &out, reason);
        } else if (r == -EIO && out.failure == LLM_FAIL_CLIENT_GONE)
                r = 0; /* nobody to tell; the stream is abandoned */
        else if (r == -EIO && out.streamed && a.stream)
                r = llm_api_fail_stream(&x, &out) < 0 ? 0 : 0;
        else if (r == -EIO)
                r = llm_api_reply_failure(req, &out, &route);
        llm_outcome_done(&out);
        llm_text_done(&x.text);
        json_object_put(x.vectors);
        /* A client that left during the last chunks is no error of ours. */
        return r == -EPIPE ? 0 : r;
}

int llm_api_completion(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_SEED_COMPLETION);
}

int llm_api_chat(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_SEED_CHAT);
}

int llm_api_v1_chat_completions(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_OPENAI_CHAT);
}

int llm_api_v1_completions(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_OPENAI_TEXT);
}

int llm_api_v1_messages(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_MESSAGES);
}

int llm_api_v1_embeddings(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_EMBEDDINGS);
}

int llm_api_v1_models(HttpRequest *req, void *userdata) {
        LlmApi *api = userdata;
        const LlmConfig *cfg = &api->gateway.config;
        _cleanup_json_ json_object *o = json_object_new_object(), *data = json_object_new_array();

        if (!o || !data)
                return -ENOMEM;
        if (cfg->n_backends > 0) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "id", json_object_new_string("auto"));
                json_object_object_add(m, "object", json_object_new_string("model"));
                json_object_object_add(m, "created", json_object_new_int64(0));
                json_object_object_add(m, "owned_by", json_object_new_string("ai-semble"));
                json_object_array_add(data, m);
        }
        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++) {
                        const LlmModel *model = &cfg->backends[i].models[j];
                        json_object *m;
                        bool seen = false;

                        /* A model served by several backends is listed once (the first). */
                        for (size_t k = 0; k < i && !seen; k++)
                                seen = llm_backend_find_model(&cfg->backends[k], model->name) != NULL;
                        if (seen)
                                continue;
                        m = json_object_new_object();
                        json_object_object_add(m, "id", json_object_new_string(model->name));
                        json_object_object_add(m, "object", json_object_new_string("model"));
                        json_object_object_add(m, "created", json_object_new_int64(0));
                        json_object_object_add(m, "owned_by", json_object_new_string(cfg->backends[i].name));
                        json_object_object_add(
                                m, "context_window", json_object_new_int64(model->context_window));
                        json_object_array_add(data, m);
                }
        json_object_object_add(o, "object", json_object_new_string("list"));
        json_object_object_add(o, "data", TAKE_PTR(data));
        return http_reply_json(req, 200, o);
}
