/* SPDX-License-Identifier: MIT */
/* llm-ollama.c — Ollama's native API: /api/generate for prompts, /api/chat for messages,
 * NDJSON streaming ({"response"|"message":{"content","tool_calls"}, "done"}), token counts
 * from prompt_eval_count/eval_count on the final line. Tools as on OpenAI, each call whole
 * in one line with its arguments as an object; tool results carry tool_name. Sampling
 * fields go into "options", structured output into "format" ("json" or a schema).
 * Embeddings: POST /api/embed. Ollama has no tool_choice other than auto and none (none
 * is honoured by not sending the tools) and no end-user id. */
#include "json-util.h"
#include "llm-kinds.h"

/* The text as content, its images as "images": [base64] beside it; tool calls with their
 * arguments as objects; a tool result names its call and function. */
static int fill(json_object *m, const LlmMessage *msg) {
        json_object_object_add(m, "content", json_object_new_string(msg->content));
        if (msg->n_images > 0) {
                json_object *arr = json_object_new_array_ext((int) msg->n_images);

                for (size_t i = 0; arr && i < msg->n_images; i++)
                        if (json_object_array_add(arr, json_object_new_string(msg->images[i].data)) < 0) {
                                json_object_put(arr);
                                arr = NULL;
                        }
                if (!arr)
                        return -ENOMEM;
                json_object_object_add(m, "images", arr);
        }
        if (msg->n_tool_calls > 0) {
                json_object *calls = llm_provider_tool_calls_json(msg, true);
                if (!calls)
                        return -ENOMEM;
                json_object_object_add(m, "tool_calls", calls);
        }
        if (msg->tool_call_id) {
                json_object_object_add(m, "tool_name", json_object_new_string(msg->name));
                json_object_object_add(m, "tool_call_id", json_object_new_string(msg->tool_call_id));
        }
        return 0;
}

static int add_options(json_object *body, const LlmCallRequest *req) {
        json_object *options = json_object_new_object();

        if (!options)
                return -ENOMEM;
        json_object_object_add(body, "options", options);
        json_object_object_add(options, "num_predict", json_object_new_int64(req->max_tokens));
        if (req->has_temperature)
                json_object_object_add(options, "temperature", json_object_new_double(req->temperature));
        if (req->has_top_p)
                json_object_object_add(options, "top_p", json_object_new_double(req->top_p));
        if (req->features & LLM_FEATURE_TOP_K)
                json_object_object_add(options, "top_k", json_object_new_int64(req->top_k));
        llm_provider_add_sampling(options, req);
        if (req->output == LLM_OUTPUT_JSON_OBJECT)
                json_object_object_add(body, "format", json_object_new_string("json"));
        else if (req->output == LLM_OUTPUT_JSON_SCHEMA)
                json_object_object_add(body, "format", llm_provider_raw_json(req->output_schema));
        if (req->n_tools > 0 && req->tool_choice != LLM_TOOL_CHOICE_NONE) {
                json_object *tools = NULL;
                int r = llm_provider_function_tools(req, &tools);
                if (r < 0)
                        return r;
                json_object_object_add(body, "tools", tools);
        }
        return 0;
}

static int add_auth(LlmHttpCall *c, const LlmBackend *b) {
        /* Ollama behind an authenticating proxy */
        return b->api_key ? llm_provider_add_header(c, "Authorization: Bearer %s", b->api_key) : 0;
}

static int build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = json_object_new_object();
        json_object *messages = NULL;
        int r;

        if (!body)
                return -ENOMEM;
        json_object_object_add(body, "model", json_object_new_string(m->upstream));
        if (req->messages) {
                r = llm_provider_messages_json(req, fill, &messages);
                if (r < 0)
                        return r;
                json_object_object_add(body, "messages", messages);
        } else
                json_object_object_add(body, "prompt", json_object_new_string(strempty(req->prompt)));
        json_object_object_add(body, "stream", json_object_new_boolean(true));
        r = add_options(body, req);
        if (r >= 0)
                r = llm_provider_finish(ret, b, req->messages ? "/api/chat" : "/api/generate", body);
        if (r >= 0)
                r = add_auth(ret, b);
        return r;
}

static int error_of(json_object *o, LlmEvent *ev) {
        json_object *err = llm_json_path(o, "error", NULL);

        if (!err)
                return 0;
        snprintf(ev->error, sizeof(ev->error), "%s", json_object_get_string(err));
        return -EPROTO;
}

/* message.tool_calls: [{id, function: {index, name, arguments: {...}}}], each call whole;
 * numbered here in the order they come, since Ollama's own index restarts per line. */
static int parse_tool_calls(LlmParseState *st, json_object *calls, LlmEvent *ev) {
        if (!json_object_is_type(calls, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(calls); i++) {
                json_object *c = json_object_array_get_idx(calls, i), *v, *args;
                LlmToolDelta *d;

                if (ev->n_tools >= LLM_EVENT_TOOLS_MAX) {
                        snprintf(
                                ev->error,
                                sizeof(ev->error),
                                "more than %d tool calls in one line",
                                LLM_EVENT_TOOLS_MAX);
                        return -EBADMSG;
                }
                v = llm_json_path(c, "function", "name", NULL);
                args = llm_json_path(c, "function", "arguments", NULL);
                if (!json_object_is_type(v, json_type_string) ||
                    !json_object_is_type(args, json_type_object)) {
                        snprintf(
                                ev->error,
                                sizeof(ev->error),
                                "a tool call without a name or arguments object");
                        return -EBADMSG;
                }
                d = &ev->tools[ev->n_tools++];
                d->index = st->n_tools++;
                d->name = json_object_get_string(v);
                if ((v = llm_json_path(c, "id", NULL)) && json_object_is_type(v, json_type_string) &&
                    json_object_get_string_len(v) > 0)
                        d->id = json_object_get_string(v);
                d->arguments = json_object_to_json_string_length(
                        args, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &d->arguments_len);
                if (!d->arguments)
                        return -ENOMEM;
        }
        return 0;
}

static int parse(LlmParseState *st, json_object *o, LlmEvent *ev) {
        json_object *text, *done, *v;
        int r;

        r = error_of(o, ev);
        if (r < 0)
                return r;
        text = st->mode == LLM_CALL_CHAT ? llm_json_path(o, "message", "content", NULL)
                                         : llm_json_path(o, "response", NULL);
        if (text && json_object_is_type(text, json_type_string)) {
                ev->text = json_object_get_string(text);
                ev->text_len = (size_t) json_object_get_string_len(text);
        }
        r = parse_tool_calls(st, llm_json_path(o, "message", "tool_calls", NULL), ev);
        if (r < 0)
                return r;
        done = llm_json_path(o, "done", NULL);
        ev->done = done && json_object_get_boolean(done);
        if ((v = llm_json_path(o, "prompt_eval_count", NULL)) && json_object_is_type(v, json_type_int))
                ev->prompt_tokens = json_object_get_int64(v);
        if ((v = llm_json_path(o, "eval_count", NULL)) && json_object_is_type(v, json_type_int))
                ev->completion_tokens = json_object_get_int64(v);
        if ((v = llm_json_path(o, "done_reason", NULL)) && json_object_is_type(v, json_type_string))
                ev->finish_reason = json_object_get_string(v);
        else if (ev->done)
                ev->finish_reason = "stop";
        return 0;
}

static int build_embed(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = llm_provider_embed_body(m, req);
        int r;

        if (!body)
                return -ENOMEM;
        /* An input longer than the model's window is an error, as on OpenAI, rather than
         * embedded in part without a word. */
        json_object_object_add(body, "truncate", json_object_new_boolean(false));
        r = llm_provider_finish(ret, b, "/api/embed", body);
        if (r >= 0)
                r = add_auth(ret, b);
        return r;
}

/* {embeddings: [[...], ...], prompt_eval_count}. */
static int parse_embed(json_object *o, LlmEvent *ev) {
        json_object *v;
        int r;

        r = error_of(o, ev);
        if (r < 0)
                return r;
        ev->embeddings = llm_json_path(o, "embeddings", NULL);
        if ((v = llm_json_path(o, "prompt_eval_count", NULL)) && json_object_is_type(v, json_type_int))
                ev->prompt_tokens = json_object_get_int64(v);
        ev->completion_tokens = 0;
        ev->done = true;
        return 0;
}

const LlmProviderOps llm_ollama_ops = {
        .name = "ollama",
        .stream_format = LLM_STREAM_NDJSON,
        .features = LLM_FEATURE_TOOLS | LLM_FEATURE_JSON_OBJECT | LLM_FEATURE_JSON_SCHEMA |
                LLM_FEATURE_STOP | LLM_FEATURE_SEED | LLM_FEATURE_PRESENCE_PENALTY |
                LLM_FEATURE_FREQUENCY_PENALTY | LLM_FEATURE_TOP_K | LLM_FEATURE_DIMENSIONS,
        .build = build,
        .parse = parse,
        .build_embed = build_embed,
        .parse_embed = parse_embed,
};
