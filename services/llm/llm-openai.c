/* SPDX-License-Identifier: MIT */
/* llm-openai.c — any OpenAI-compatible server (llama.cpp server, vLLM, LocalAI, OpenAI,
 * Groq): POST {base_url}/chat/completions with stream and stream_options.include_usage,
 * SSE "data: {chunk}" lines ending with a usage chunk and "data: [DONE]"; tool calls as
 * indexed delta.tool_calls pieces. Embeddings: POST {base_url}/embeddings. base_url
 * includes the /v1, as in the OpenAI client libraries. The request's own fields pass
 * through as they are. */
#include "json-util.h"
#include "llm-kinds.h"

/* An image as {"type":"image_url","image_url":{"url":"data:<type>;base64,<data>"}}. */
static json_object *image_part(const LlmImage *img) {
        json_object *p = json_object_new_object(), *iu = json_object_new_object();
        _cleanup_free_ char *url = NULL;

        if (!p || !iu || asprintf(&url, "data:%s;base64,%s", img->media_type, img->data) < 0) {
                json_object_put(p);
                json_object_put(iu);
                return NULL;
        }
        json_object_object_add(iu, "url", json_object_new_string(url));
        json_object_object_add(p, "type", json_object_new_string("image_url"));
        json_object_object_add(p, "image_url", iu);
        return p;
}

/* Content as a string, or OpenAI's parts (the text first, as clients usually send it,
 * then the images); tool calls and tool results with their ids. */
static int fill(json_object *m, const LlmMessage *msg) {
        if (msg->n_images > 0) {
                int r = llm_provider_content_parts(m, msg, true, image_part);
                if (r < 0)
                        return r;
        } else
                json_object_object_add(
                        m,
                        "content",
                        msg->n_tool_calls > 0 && isempty(msg->content)
                                ? NULL
                                : json_object_new_string(msg->content));
        if (msg->n_tool_calls > 0) {
                json_object *calls = llm_provider_tool_calls_json(msg, false);
                if (!calls)
                        return -ENOMEM;
                json_object_object_add(m, "tool_calls", calls);
        }
        if (msg->tool_call_id)
                json_object_object_add(m, "tool_call_id", json_object_new_string(msg->tool_call_id));
        return 0;
}

static json_object *tool_choice_json(const LlmCallRequest *req) {
        json_object *o, *f;

        switch (req->tool_choice) {
        case LLM_TOOL_CHOICE_NONE:
                return json_object_new_string("none");
        case LLM_TOOL_CHOICE_REQUIRED:
                return json_object_new_string("required");
        case LLM_TOOL_CHOICE_NAMED:
                o = json_object_new_object();
                f = json_object_new_object();
                if (!o || !f) {
                        json_object_put(o);
                        json_object_put(f);
                        return NULL;
                }
                json_object_object_add(o, "type", json_object_new_string("function"));
                json_object_object_add(f, "name", json_object_new_string(req->tool_choice_name));
                json_object_object_add(o, "function", f);
                return o;
        default:
                return json_object_new_string("auto");
        }
}

static json_object *response_format_json(const LlmCallRequest *req) {
        json_object *o = json_object_new_object(), *s;

        if (!o)
                return NULL;
        if (req->output == LLM_OUTPUT_JSON_OBJECT) {
                json_object_object_add(o, "type", json_object_new_string("json_object"));
                return o;
        }
        s = json_object_new_object();
        if (!s) {
                json_object_put(o);
                return NULL;
        }
        json_object_object_add(o, "type", json_object_new_string("json_schema"));
        json_object_object_add(s, "name", json_object_new_string(req->output_name));
        if (req->output_description)
                json_object_object_add(s, "description", json_object_new_string(req->output_description));
        json_object_object_add(s, "schema", llm_provider_raw_json(req->output_schema));
        if (req->output_strict)
                json_object_object_add(s, "strict", json_object_new_boolean(true));
        json_object_object_add(o, "json_schema", s);
        return o;
}

/* The request's optional fields, under OpenAI's own names. */
static int add_options(json_object *body, const LlmCallRequest *req) {
        if (req->n_tools > 0) {
                json_object *tools = NULL;
                int r = llm_provider_function_tools(req, &tools);
                if (r < 0)
                        return r;
                json_object_object_add(body, "tools", tools);
                if (req->tool_choice != LLM_TOOL_CHOICE_AUTO)
                        json_object_object_add(body, "tool_choice", tool_choice_json(req));
                if (req->features & LLM_FEATURE_SERIAL_TOOLS)
                        json_object_object_add(body, "parallel_tool_calls", json_object_new_boolean(false));
        }
        if (req->output != LLM_OUTPUT_TEXT)
                json_object_object_add(body, "response_format", response_format_json(req));
        llm_provider_add_sampling(body, req);
        if (req->features & LLM_FEATURE_USER)
                json_object_object_add(body, "user", json_object_new_string(req->user));
        return 0;
}

static int add_auth(LlmHttpCall *c, const LlmBackend *b) {
        return b->api_key ? llm_provider_add_header(c, "Authorization: Bearer %s", b->api_key) : 0;
}

static int build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = json_object_new_object(), *so = json_object_new_object();
        json_object *messages = NULL;
        int r;

        if (!body || !so)
                return -ENOMEM;
        r = llm_provider_messages_json(req, fill, &messages);
        if (r < 0)
                return r;
        json_object_object_add(body, "model", json_object_new_string(m->upstream));
        json_object_object_add(body, "messages", messages);
        json_object_object_add(body, "stream", json_object_new_boolean(true));
        json_object_object_add(so, "include_usage", json_object_new_boolean(true));
        json_object_object_add(body, "stream_options", TAKE_PTR(so));
        json_object_object_add(body, "max_tokens", json_object_new_int64(req->max_tokens));
        if (req->has_temperature)
                json_object_object_add(body, "temperature", json_object_new_double(req->temperature));
        if (req->has_top_p)
                json_object_object_add(body, "top_p", json_object_new_double(req->top_p));
        r = add_options(body, req);
        if (r >= 0)
                r = llm_provider_finish(ret, b, "/chat/completions", body);
        if (r >= 0)
                r = llm_provider_add_header(ret, "Accept: text/event-stream");
        if (r >= 0)
                r = add_auth(ret, b);
        return r;
}

static int error_of(json_object *o, LlmEvent *ev) {
        json_object *err = llm_json_path(o, "error", NULL), *msg;

        if (!err)
                return 0;
        msg = llm_json_path(err, "message", NULL);
        snprintf(ev->error, sizeof(ev->error), "%s", json_object_get_string(msg ?: err));
        return -EPROTO;
}

/* delta.tool_calls: [{index, id, type, function: {name, arguments}}], the id and name on
 * a call's first piece. */
static int parse_tool_calls(json_object *calls, LlmEvent *ev) {
        if (!json_object_is_type(calls, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(calls); i++) {
                json_object *c = json_object_array_get_idx(calls, i), *v;
                LlmToolDelta *d;

                if (ev->n_tools >= LLM_EVENT_TOOLS_MAX) {
                        snprintf(
                                ev->error,
                                sizeof(ev->error),
                                "more than %d tool calls in one chunk",
                                LLM_EVENT_TOOLS_MAX);
                        return -EBADMSG;
                }
                v = llm_json_path(c, "index", NULL);
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0) {
                        snprintf(ev->error, sizeof(ev->error), "a tool call piece without its index");
                        return -EBADMSG;
                }
                d = &ev->tools[ev->n_tools++];
                d->index = (size_t) json_object_get_int64(v);
                if ((v = llm_json_path(c, "id", NULL)) && json_object_is_type(v, json_type_string))
                        d->id = json_object_get_string(v);
                if ((v = llm_json_path(c, "function", "name", NULL)) &&
                    json_object_is_type(v, json_type_string))
                        d->name = json_object_get_string(v);
                if ((v = llm_json_path(c, "function", "arguments", NULL)) &&
                    json_object_is_type(v, json_type_string)) {
                        d->arguments = json_object_get_string(v);
                        d->arguments_len = (size_t) json_object_get_string_len(v);
                }
        }
        return 0;
}

static int parse(LlmParseState *st, json_object *o, LlmEvent *ev) {
        json_object *v, *usage;
        int r;

        r = error_of(o, ev);
        if (r < 0)
                return r;
        v = llm_json_path(o, "choices", "0", "delta", "content", NULL);
        if (!v) /* /v1/completions-style servers */
                v = llm_json_path(o, "choices", "0", "text", NULL);
        if (v && json_object_is_type(v, json_type_string)) {
                ev->text = json_object_get_string(v);
                ev->text_len = (size_t) json_object_get_string_len(v);
        }
        r = parse_tool_calls(llm_json_path(o, "choices", "0", "delta", "tool_calls", NULL), ev);
        if (r < 0)
                return r;
        v = llm_json_path(o, "choices", "0", "finish_reason", NULL);
        if (v && json_object_is_type(v, json_type_string))
                ev->finish_reason = json_object_get_string(v);
        usage = llm_json_path(o, "usage", NULL);
        if ((v = llm_json_path(usage, "prompt_tokens", NULL)) && json_object_is_type(v, json_type_int))
                ev->prompt_tokens = json_object_get_int64(v);
        if ((v = llm_json_path(usage, "completion_tokens", NULL)) && json_object_is_type(v, json_type_int))
                ev->completion_tokens = json_object_get_int64(v);
        return 0;
}

static int build_embed(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = llm_provider_embed_body(m, req);
        int r;

        if (!body)
                return -ENOMEM;
        /* Floats always: the gateway encodes base64 itself, the same for every kind. */
        json_object_object_add(body, "encoding_format", json_object_new_string("float"));
        if (req->features & LLM_FEATURE_USER)
                json_object_object_add(body, "user", json_object_new_string(req->user));
        r = llm_provider_finish(ret, b, "/embeddings", body);
        if (r >= 0)
                r = add_auth(ret, b);
        return r;
}

/* {data: [{index, embedding}], usage: {prompt_tokens}}: the vectors in input order. */
static int parse_embed(json_object *o, LlmEvent *ev) {
        json_object *data = llm_json_path(o, "data", NULL), *vectors, *v;
        int r;

        r = error_of(o, ev);
        if (r < 0)
                return r;
        if (!json_object_is_type(data, json_type_array)) {
                snprintf(ev->error, sizeof(ev->error), "the answer has no data array");
                return -EBADMSG;
        }
        vectors = json_object_new_array_ext((int) json_object_array_length(data));
        if (!vectors)
                return -ENOMEM;
        /* Owned by the parsed answer, which the caller keeps while it reads ev. */
        json_object_object_add(o, "\x01vectors", vectors);
        for (size_t i = 0; i < json_object_array_length(data); i++) {
                json_object *d = json_object_array_get_idx(data, i);

                v = llm_json_path(d, "index", NULL);
                if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != (int64_t) i) {
                        snprintf(
                                ev->error,
                                sizeof(ev->error),
                                "data[%zu] is not the embedding of input %zu",
                                i,
                                i);
                        return -EBADMSG;
                }
                v = llm_json_path(d, "embedding", NULL);
                if (json_object_array_add(vectors, json_object_get(v)) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }
        ev->embeddings = vectors;
        if ((v = llm_json_path(o, "usage", "prompt_tokens", NULL)) && json_object_is_type(v, json_type_int))
                ev->prompt_tokens = json_object_get_int64(v);
        ev->completion_tokens = 0;
        ev->done = true;
        return 0;
}

const LlmProviderOps llm_openai_ops = {
        .name = "openai",
        .stream_format = LLM_STREAM_SSE,
        .end_marker = "[DONE]",
        .features = LLM_FEATURE_TOOLS | LLM_FEATURE_TOOL_REQUIRED | LLM_FEATURE_TOOL_NAMED |
                LLM_FEATURE_SERIAL_TOOLS | LLM_FEATURE_STRICT_TOOLS | LLM_FEATURE_JSON_OBJECT |
                LLM_FEATURE_JSON_SCHEMA | LLM_FEATURE_STOP | LLM_FEATURE_SEED |
                LLM_FEATURE_PRESENCE_PENALTY | LLM_FEATURE_FREQUENCY_PENALTY | LLM_FEATURE_USER |
                LLM_FEATURE_DIMENSIONS,
        .build = build,
        .parse = parse,
        .build_embed = build_embed,
        .parse_embed = parse_embed,
};
