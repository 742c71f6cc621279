/* SPDX-License-Identifier: MIT */
/* llm-api-openai.c — the OpenAI client format of /v1/chat/completions and /v1/completions:
 * a chat.completion or text_completion object, or SSE chunks ending with a usage chunk
 * (as OpenAI sends with stream_options.include_usage) and data: [DONE]. */
#include "json-util.h"
#include "llm-api-internal.h"

static bool is_chat(const ApiReply *x) {
        return x->a->shape == SHAPE_OPENAI_CHAT;
}

static json_object *chunk(ApiReply *x) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_string(x->id));
        json_object_object_add(
                o,
                "object",
                json_object_new_string(is_chat(x) ? "chat.completion.chunk" : "text_completion"));
        json_object_object_add(o, "created", json_object_new_int64(x->created));
        json_object_object_add(o, "model", json_object_new_string(x->c ? x->c->model->name : x->a->model));
        return o;
}

/* One choice of a streamed chunk: delta (chat) or text (completions). */
static json_object *
stream_choice(ApiReply *x, const char *role, const char *text, size_t len, const char *finish) {
        json_object *ch = json_object_new_object(), *delta;

        if (!ch)
                return NULL;
        json_object_object_add(ch, "index", json_object_new_int(0));
        if (is_chat(x)) {
                delta = json_object_new_object();
                if (role)
                        json_object_object_add(delta, "role", json_object_new_string(role));
                if (text)
                        json_object_object_add(
                                delta, "content", json_object_new_string_len(text, (int) len));
                json_object_object_add(ch, "delta", delta);
        } else
                json_object_object_add(ch, "text", json_object_new_string_len(text ?: "", (int) len));
        json_object_object_add(ch, "logprobs", NULL);
        json_object_object_add(ch, "finish_reason", finish ? json_object_new_string(finish) : NULL);
        return ch;
}

/* A chunk with one choice, written as an SSE event. */
static int write_choice(ApiReply *x, const char *role, const char *text, size_t len, const char *finish) {
        _cleanup_json_ json_object *o = chunk(x);
        json_object *choices = json_object_new_array();

        if (!o || !choices) {
                json_object_put(choices);
                return -ENOMEM;
        }
        json_object_array_add(choices, stream_choice(x, role, text, len, finish));
        json_object_object_add(o, "choices", choices);
        return llm_api_write_json(x, "data: ", o, "\n\n");
}

static int stream_open(ApiReply *x) {
        return is_chat(x) ? write_choice(x, "assistant", "", 0, NULL) : 0;
}

static int stream_text(ApiReply *x, const char *text, size_t len) {
        return write_choice(x, NULL, text, len, NULL);
}

/* A piece of a tool call as a delta.tool_calls chunk: the first names the call (id, type,
 * function.name), the others add to function.arguments. */
static int stream_tool(ApiReply *x, const LlmToolDelta *d) {
        _cleanup_json_ json_object *o = chunk(x);
        json_object *choices = json_object_new_array(), *ch = json_object_new_object(),
                    *delta = json_object_new_object(), *calls = json_object_new_array(),
                    *call = json_object_new_object(), *f = json_object_new_object();

        if (!o || !choices || !ch || !delta || !calls || !call || !f) {
                json_object_put(choices);
                json_object_put(ch);
                json_object_put(delta);
                json_object_put(calls);
                json_object_put(call);
                json_object_put(f);
                return -ENOMEM;
        }
        json_object_object_add(call, "index", json_object_new_int64((int64_t) d->index));
        if (d->id) {
                json_object_object_add(call, "id", json_object_new_string(d->id));
                json_object_object_add(call, "type", json_object_new_string("function"));
                json_object_object_add(f, "name", json_object_new_string(d->name));
        }
        json_object_object_add(
                f, "arguments", json_object_new_string_len(d->arguments ?: "", (int) d->arguments_len));
        json_object_object_add(call, "function", f);
        json_object_array_add(calls, call);
        json_object_object_add(delta, "tool_calls", calls);
        json_object_object_add(ch, "index", json_object_new_int(0));
        json_object_object_add(ch, "delta", delta);
        json_object_object_add(ch, "logprobs", NULL);
        json_object_object_add(ch, "finish_reason", NULL);
        json_object_array_add(choices, ch);
        json_object_object_add(o, "choices", choices);
        return llm_api_write_json(x, "data: ", o, "\n\n");
}

static int stream_idle(ApiReply *x) {
        /* An SSE comment costs the client nothing and tells us whether it is still there. */
        return http_reply_stream_write(x->req, ": keep-alive\n\n", 14);
}

static int stream_close(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = write_choice(x, NULL, NULL, 0, out->finish_reason);
        if (r < 0)
                return r;
        /* The usage chunk, as OpenAI sends it with stream_options.include_usage. */
        o = chunk(x);
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "choices", json_object_new_array());
        json_object_object_add(o, "usage", llm_api_usage_json(out));
        r = llm_api_write_json(x, "data: ", o, "\n\n");
        if (r >= 0)
                r = http_reply_stream_write(x->req, "data: [DONE]\n\n", 14);
        return r;
}

static int stream_fail(ApiReply *x, const LlmOutcome *out) {
        _cleanup_json_ json_object *o = json_object_new_object(), *e = json_object_new_object();

        if (!o || !e)
                return -ENOMEM;
        json_object_object_add(e, "message", json_object_new_string(out->detail));
        json_object_object_add(e, "type", json_object_new_string("upstream_error"));
        json_object_object_add(e, "code", json_object_new_string(llm_failure_to_string(out->failure)));
        json_object_object_add(o, "error", TAKE_PTR(e));
        return llm_api_write_json(x, "data: ", o, "\n\n");
}

/* One choice of the whole answer; content is null when the answer only calls tools. */
static json_object *
choice(ApiReply *x, int index, const char *text, size_t len, const char *finish, const LlmToolCalls *tools) {
        json_object *ch = json_object_new_object();

        if (!ch)
                return NULL;
        json_object_object_add(ch, "index", json_object_new_int(index));
        if (is_chat(x)) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "role", json_object_new_string("assistant"));
                json_object_object_add(
                        m,
                        "content",
                        len == 0 && tools && tools->n > 0 ? NULL
                                                          : json_object_new_string_len(text, (int) len));
                if (tools && tools->n > 0)
                        json_object_object_add(m, "tool_calls", llm_api_tool_calls_json(tools));
                json_object_object_add(m, "refusal", NULL);
                json_object_object_add(ch, "message", m);
        } else
                json_object_object_add(ch, "text", json_object_new_string_len(text, (int) len));
        json_object_object_add(ch, "logprobs", NULL);
        json_object_object_add(ch, "finish_reason", json_object_new_string(finish));
        return ch;
}

static int reply(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *choices = json_object_new_array();

        if (!o || !choices) {
                json_object_put(choices);
                return -ENOMEM;
        }
        json_object_object_add(o, "id", json_object_new_string(x->id));
        json_object_object_add(
                o, "object", json_object_new_string(is_chat(x) ? "chat.completion" : "text_completion"));
        json_object_object_add(o, "created", json_object_new_int64(x->created));
        json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
        json_object_array_add(
                choices, choice(x, 0, llm_text_str(&x->text), x->text.len, out->finish_reason, &out->tools));
        /* Mode both: the other answer is a second choice, as with OpenAI's n = 2. */
        for (size_t i = 0; x->h && x->h->mode == LLM_HYBRID_BOTH && i < 2; i++) {
                const LlmHybridLeg *l = &x->h->legs[i];

                if (l->out.used == out->used || l->r < 0)
                        continue;
                json_object_array_add(
                        choices,
                        choice(x, 1, llm_text_str(&l->text), l->text.len, l->out.finish_reason, NULL));
        }
        json_object_object_add(o, "choices", choices);
        json_object_object_add(o, "usage", llm_api_usage_json(out));
        if (x->h) {
                json_object_object_add(o, "selection_reason", json_object_new_string(reason));
                json_object_object_add(o, "hybrid", llm_api_hybrid_json(x->h, true));
        }
        return http_reply_json(x->req, 200, o);
}

/* The fields of OpenAI's API that ask for each LLM_FEATURE_*. */
const char *const llm_api_openai_fields[_LLM_FEATURE_COUNT] = {
        "tools", "tool_choice", "tool_choice",      "parallel_tool_calls",
        "tools", "messages",    "response_format",  "response_format",
        "stop",  "seed",        "presence_penalty", "frequency_penalty",
        "user",  "top_k",       "dimensions",
};

const ApiFormat llm_api_openai_format = {
        .stream_type = "text/event-stream",
        .stream_open = stream_open,
        .stream_text = stream_text,
        .stream_tool = stream_tool,
        .stream_idle = stream_idle,
        .stream_close = stream_close,
        .stream_fail = stream_fail,
        .reply = reply,
        .feature_fields = llm_api_openai_fields,
};
