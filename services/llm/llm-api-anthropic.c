/* SPDX-License-Identifier: MIT */
/* llm-api-anthropic.c — Anthropic's client format of POST /v1/messages, whatever kind of
 * backend answers: a message object {id, type, role, model, content: [text and tool_use
 * blocks], stop_reason, stop_sequence, usage}, or with stream: true its SSE events:
 * message_start, per block content_block_start, content_block_delta (text_delta,
 * input_json_delta) and content_block_stop, then message_delta and message_stop; ping
 * while the backend is silent, error when it fails midway. */
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

static const char *stop_reason(const char *finish) {
        if (streq(finish, "length"))
                return "max_tokens";
        if (streq(finish, "tool_calls"))
                return "tool_use";
        if (streq(finish, "content_filter"))
                return "refusal";
        return "end_turn";
}

static int event(ApiReply *x, const char *name, json_object *o) {
        char prefix[64];

        json_object_object_add(o, "type", json_object_new_string(name));
        snprintf(prefix, sizeof(prefix), "event: %s\ndata: ", name);
        return llm_api_write_json(x, prefix, o, "\n\n");
}

static json_object *usage_json(int64_t input, int64_t output) {
        json_object *u = json_object_new_object();

        if (!u)
                return NULL;
        json_object_object_add(u, "input_tokens", json_object_new_int64(input));
        json_object_object_add(u, "output_tokens", json_object_new_int64(output));
        return u;
}

/* The message object around content; stop (a finish reason) NULL while streaming. */
static json_object *
message(ApiReply *x, const char *model, json_object *content, const char *stop, json_object *usage) {
        json_object *m = json_object_new_object();

        if (!m) {
                json_object_put(content);
                json_object_put(usage);
                return NULL;
        }
        json_object_object_add(m, "id", json_object_new_string(x->id));
        json_object_object_add(m, "type", json_object_new_string("message"));
        json_object_object_add(m, "role", json_object_new_string("assistant"));
        json_object_object_add(m, "model", json_object_new_string(model));
        json_object_object_add(m, "content", content);
        json_object_object_add(m, "stop_reason", stop ? json_object_new_string(stop_reason(stop)) : NULL);
        json_object_object_add(m, "stop_sequence", NULL);
        json_object_object_add(m, "usage", usage);
        return m;
}

static int stream_open(ApiReply *x) {
        _cleanup_json_ json_object *o = json_object_new_object();
        int64_t prompt = x->a->messages ? llm_tokens_estimate_messages(x->a->messages, x->a->n_messages) : 0;

        if (!o)
                return -ENOMEM;
        /* The prompt's tokens are known at the end (message_delta); here the estimate. */
        json_object_object_add(
                o,
                "message",
                message(x, x->c->model->name, json_object_new_array(), NULL, usage_json(prompt, 0)));
        return event(x, "message_start", o);
}

static int block_stop(ApiReply *x) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "index", json_object_new_int(x->block));
        return event(x, "content_block_stop", o);
}

/* Closes the open block and opens the next with content_block (consumed). */
static int block_start(ApiReply *x, json_object *content_block) {
        _cleanup_json_ json_object *o = json_object_new_object();
        int r;

        if (!o) {
                json_object_put(content_block);
                return -ENOMEM;
        }
        if (x->block >= 0 && (r = block_stop(x)) < 0) {
                json_object_put(content_block);
                return r;
        }
        x->block++;
        json_object_object_add(o, "index", json_object_new_int(x->block));
        json_object_object_add(o, "content_block", content_block);
        return event(x, "content_block_start", o);
}

static int
block_delta(ApiReply *x, int index, const char *type, const char *key, const char *s, size_t len) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *d = json_object_new_object();

        if (!o || !d) {
                json_object_put(d);
                return -ENOMEM;
        }
        json_object_object_add(d, "type", json_object_new_string(type));
        json_object_object_add(d, key, json_object_new_string_len(s, (int) len));
        json_object_object_add(o, "index", json_object_new_int(index));
        json_object_object_add(o, "delta", d);
        return event(x, "content_block_delta", o);
}

static json_object *text_block(const char *text, size_t len) {
        json_object *b = json_object_new_object();

        if (!b)
                return NULL;
        json_object_object_add(b, "type", json_object_new_string("text"));
        json_object_object_add(b, "text", json_object_new_string_len(text, (int) len));
        return b;
}

/* input: the arguments' JSON text as it is (a checked JSON object), or {} while they
 * stream; NULL on allocation failure. */
static json_object *tool_use_block(const char *id, const char *name, const char *input) {
        json_object *b = json_object_new_object();

        if (!b)
                return NULL;
        json_object_object_add(b, "type", json_object_new_string("tool_use"));
        json_object_object_add(b, "id", json_object_new_string(id));
        json_object_object_add(b, "name", json_object_new_string(name));
        json_object_object_add(b, "input", input ? llm_provider_raw_json(input) : json_object_new_object());
        return b;
}

static int stream_text(ApiReply *x, const char *text, size_t len) {
        int r;

        if (x->block < 0 || !x->block_is_text) {
                r = block_start(x, text_block("", 0));
                if (r < 0)
                        return r;
                x->block_is_text = true;
        }
        return block_delta(x, x->block, "text_delta", "text", text, len);
}

/* A call's first piece opens its tool_use block; the pieces of its arguments go to that
 * block, even when another was opened since. */
static int stream_tool(ApiReply *x, const LlmToolDelta *d) {
        int r;

        if (d->index >= LLM_TOOL_CALLS_MAX)
                return -EPROTO;
        if (d->id) {
                r = block_start(x, tool_use_block(d->id, d->name, NULL));
                if (r < 0)
                        return r;
                x->block_is_text = false;
                x->tool_block[d->index] = x->block;
        }
        if (d->arguments_len == 0)
                return 0;
        return block_delta(
                x,
                x->tool_block[d->index],
                "input_json_delta",
                "partial_json",
                d->arguments,
                d->arguments_len);
}

static int stream_idle(ApiReply *x) {
        static const char ping[] = "event: ping\ndata: {\"type\":\"ping\"}\n\n";

        return http_reply_stream_write(x->req, ping, sizeof(ping) - 1);
}

static int stream_close(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object(), *stop = json_object_new_object();
        json_object *d = json_object_new_object();
        int r;

        if (!o || !stop || !d) {
                json_object_put(d);
                return -ENOMEM;
        }
        if (x->block >= 0 && (r = block_stop(x)) < 0) {
                json_object_put(d);
                return r;
        }
        json_object_object_add(d, "stop_reason", json_object_new_string(stop_reason(out->finish_reason)));
        json_object_object_add(d, "stop_sequence", NULL);
        json_object_object_add(o, "delta", d);
        json_object_object_add(o, "usage", usage_json(out->prompt_tokens, out->completion_tokens));
        r = event(x, "message_delta", o);
        if (r >= 0)
                r = event(x, "message_stop", stop);
        return r;
}

static int stream_fail(ApiReply *x, const LlmOutcome *out) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *e = json_object_new_object();

        if (!o || !e) {
                json_object_put(e);
                return -ENOMEM;
        }
        json_object_object_add(e, "type", json_object_new_string("api_error"));
        json_object_object_add(e, "message", json_object_new_string(out->detail));
        json_object_object_add(o, "error", e);
        return event(x, "error", o);
}

static int reply(ApiReply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = NULL;
        json_object *content = json_object_new_array();

        if (!content)
                return -ENOMEM;
        if (x->text.len > 0 || out->tools.n == 0)
                json_object_array_add(content, text_block(llm_text_str(&x->text), x->text.len));
        for (size_t i = 0; i < out->tools.n; i++)
                json_object_array_add(
                        content,
                        tool_use_block(
                                out->tools.calls[i].id,
                                out->tools.calls[i].name,
                                out->tools.calls[i].arguments.p));
        o =
                message(x,
                        out->used->model->name,
                        content,
                        out->finish_reason,
                        usage_json(out->prompt_tokens, out->completion_tokens));
        if (!o)
                return -ENOMEM;
        return http_reply_json(x->req, 200, o);
}

/* The fields of Anthropic's API that ask for each LLM_FEATURE_*. */
static const char *const feature_fields[_LLM_FEATURE_COUNT] = {
        "tools",
        "tool_choice",
        "tool_choice",
        "tool_choice.disable_parallel_tool_use",
        "tools",
        "messages",
        "output_config.format",
        "output_config.format",
        "stop_sequences",
        "seed",
        "presence_penalty",
        "frequency_penalty",
        "metadata.user_id",
        "top_k",
        "dimensions",
};

const ApiFormat llm_api_anthropic_format = {
        .stream_type = "text/event-stream",
        .stream_open = stream_open,
        .stream_text = stream_text,
        .stream_tool = stream_tool,
        .stream_idle = stream_idle,
        .stream_close = stream_close,
        .stream_fail = stream_fail,
        .reply = reply,
        .feature_fields = feature_fields,
};
