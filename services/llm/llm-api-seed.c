/* SPDX-License-Identifier: MIT */
/* llm-api-seed.c — the seed's client format of /completion and /chat: {text, model,
 * tokens_used, model_used, backend, selection_reason, finish_reason, fallback, usage}
 * (/chat adds message and context), or with stream: true NDJSON in Ollama's shape whose
 * last line (done: true) carries the same fields. */
#include "json-util.h"
#include "llm-api-internal.h"

static bool is_chat(const ApiReply *x) {
        return x->a->shape == SHAPE_SEED_CHAT;
}

/* The assistant's message, with its tool calls as OpenAI writes them (tools may be NULL). */
static json_object *assistant_message(const char *text, size_t len, const LlmToolCalls *tools) {
        json_object *m = json_object_new_object();

        if (!m)
                return NULL;
        json_object_object_add(m, "role", json_object_new_string("assistant"));
        json_object_object_add(m, "content", json_object_new_string_len(text, (int) len));
        if (tools && tools->n > 0)
                json_object_object_add(m, "tool_calls", llm_api_tool_calls_json(tools));
        return m;
}

/* The seed's extra fields, shared by the JSON answer and the NDJSON end. */
static void add_seed_fields(json_object *o, const ApiReply *x, const LlmOutcome *out, const char *reason) {
        json_object *u = llm_api_usage_json(out);

        json_object_object_add(
                o, "tokens_used", json_object_new_int64(out->prompt_tokens + out->completion_tokens));
        json_object_object_add(o, "model_used", json_object_new_string(out->used->model->name));
        json_object_object_add(o, "backend", json_object_new_string(out->used->backend->name));
        json_object_object_add(o, "selection_reason", json_object_new_string(reason));
        json_object_object_add(o, "finish_reason", json_object_new_string(out->finish_reason));
        json_object_object_add(o, "fallback", json_object_new_boolean(out->fallback));
        if (u)
                json_object_object_add(u, "estimated", json_object_new_boolean(out->usage_estimated));
        json_object_object_add(o, "usage", u);
        if (is_chat(x)) {
                json_object *ctx = json_object_new_object();
                json_object_object_add(
                        ctx, "context_window", json_object_new_int64(out->used->model->context_window));
                json_object_object_add(
                        ctx, "kept_messages", json_object_new_int64((int64_t) out->kept_messages));
                json_object_object_add(
                        ctx, "dropped_messages", json_object_new_int64((int64_t) out->dropped_messages));
                json_object_object_add(o, "context", ctx);
        }
        if (x->h)
                json_object_object_add(o, "hybrid", llm_api_hybrid_json(x->h, !x->a->stream));
}

static int stream_text(ApiReply *x, const char *text, size_t len) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "model", json_object_new_string(x->c->model->name));
        if (is_chat(x))
                json_object_object_add(o, "message", assistant_message(text, len, NULL));
        else
                json_object_object_add(o, "response", json_object_new_string_len(text, (int) len));
        json_object_object_add(o, "done", json_object_new_boolean(false));
        return llm_api_write_json(x, "", o, "\n");
}

static int stream_close(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        if (out->tools.n > 0) {
                /* The tool calls, whole, in a line of their own as Ollama sends them. */
                _cleanup_json_ json_object *t = json_object_new_object();
                int r;

                if (!t)
                        return -ENOMEM;
                json_object_object_add(t, "model", json_object_new_string(out->used->model->name));
                json_object_object_add(t, "message", assistant_message("", 0, &out->tools));
                json_object_object_add(t, "done", json_object_new_boolean(false));
                r = llm_api_write_json(x, "", t, "\n");
                if (r < 0)
                        return r;
        }
        json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
        if (is_chat(x))
                json_object_object_add(o, "message", assistant_message("", 0, NULL));
        else
                json_object_object_add(o, "response", json_object_new_string(""));
        json_object_object_add(o, "done", json_object_new_boolean(true));
        json_object_object_add(o, "done_reason", json_object_new_string(out->finish_reason));
        json_object_object_add(o, "prompt_eval_count", json_object_new_int64(out->prompt_tokens));
        json_object_object_add(o, "eval_count", json_object_new_int64(out->completion_tokens));
        add_seed_fields(o, x, out, reason);
        return llm_api_write_json(x, "", o, "\n");
}

static int stream_fail(ApiReply *x, const LlmOutcome *out) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "error", json_object_new_string(out->detail));
        json_object_object_add(o, "done", json_object_new_boolean(true));
        return llm_api_write_json(x, "", o, "\n");
}

static int reply(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object();
        const char *text = llm_text_str(&x->text);

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "text", json_object_new_string_len(text, (int) x->text.len));
        json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
        if (is_chat(x))
                json_object_object_add(o, "message", assistant_message(text, x->text.len, &out->tools));
        add_seed_fields(o, x, out, reason);
        return http_reply_json(x->req, 200, o);
}

const ApiFormat llm_api_seed_format = {
        .stream_type = "application/x-ndjson",
        .stream_text = stream_text,
        .stream_close = stream_close,
        .stream_fail = stream_fail,
        .reply = reply,
        .feature_fields = llm_api_openai_fields, /* the seed's fields are OpenAI's */
};
