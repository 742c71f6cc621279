/* SPDX-License-Identifier: MIT */
/* llm-anthropic.c — Anthropic's Messages API: POST {base_url}/v1/messages with x-api-key
 * and anthropic-version, system messages in the top-level "system", SSE events
 * message_start (input tokens), content_block_delta (text_delta), message_delta
 * (stop_reason, output tokens), message_stop, ping and error. */
#include "json-util.h"
#include "llm-kinds.h"

/* An image as {"type":"image","source":{"type":"base64","media_type":...,"data":...}}. */
static json_object *image_block(const LlmImage *img) {
        json_object *p = json_object_new_object(), *src = json_object_new_object();

        if (!p || !src) {
                json_object_put(p);
                json_object_put(src);
                return NULL;
        }
        json_object_object_add(src, "type", json_object_new_string("base64"));
        json_object_object_add(src, "media_type", json_object_new_string(img->media_type));
        json_object_object_add(src, "data", json_object_new_string(img->data));
        json_object_object_add(p, "type", json_object_new_string("image"));
        json_object_object_add(p, "source", src);
        return p;
}

/* Anthropic's blocks: the images, then the text, as its documentation recommends. */
static int with_images(json_object *m, const LlmMessage *msg) {
        return llm_provider_content_parts(m, msg, false, image_block);
}

static int build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = json_object_new_object();
        _cleanup_free_ char *system = NULL;
        json_object *messages = NULL;
        int r;

        if (!body)
                return -ENOMEM;
        for (size_t i = 0; req->messages && i < req->n_messages; i++) {
                char *s;
                if (!streq(req->messages[i].role, "system"))
                        continue;
                if (asprintf(
                            &s, "%s%s%s", strempty(system), system ? "\n\n" : "", req->messages[i].content) <
                    0)
                        return -ENOMEM;
                free(system);
                system = s;
        }
        r = llm_provider_messages_json(req, true, with_images, &messages);
        if (r < 0)
                return r;
        json_object_object_add(body, "model", json_object_new_string(m->upstream));
        json_object_object_add(body, "messages", messages);
        if (system)
                json_object_object_add(body, "system", json_object_new_string(system));
        json_object_object_add(body, "max_tokens", json_object_new_int64(req->max_tokens));
        json_object_object_add(body, "stream", json_object_new_boolean(true));
        if (req->has_temperature) /* Anthropic's range is 0..1 */
                json_object_object_add(
                        body, "temperature", json_object_new_double(MIN(req->temperature, 1.0)));
        if (req->has_top_p)
                json_object_object_add(body, "top_p", json_object_new_double(req->top_p));
        r = llm_provider_finish(ret, b, "/v1/messages", body);
        if (r >= 0)
                r = llm_provider_add_header(ret, "anthropic-version: %s", b->anthropic_version);
        if (r >= 0)
                r = llm_provider_add_header(ret, "Accept: text/event-stream");
        if (r >= 0 && b->api_key)
                r = llm_provider_add_header(ret, "x-api-key: %s", b->api_key);
        return r;
}

static const char *stop_reason_to_openai(const char *s) {
        if (streq(s, "max_tokens"))
                return "length";
        if (streq(s, "tool_use"))
                return "tool_calls";
        return "stop";
}

static int parse(bool chat, json_object *o, LlmEvent *ev) {
        json_object *type = llm_json_path(o, "type", NULL), *v;
        const char *t = json_object_is_type(type, json_type_string) ? json_object_get_string(type) : "";

        if (streq(t, "error")) {
                v = llm_json_path(o, "error", "message", NULL);
                snprintf(ev->error, sizeof(ev->error), "%s", v ? json_object_get_string(v) : "error event");
                return -EPROTO;
        }
        if (streq(t, "message_start")) {
                if ((v = llm_json_path(o, "message", "usage", "input_tokens", NULL)) &&
                    json_object_is_type(v, json_type_int))
                        ev->prompt_tokens = json_object_get_int64(v);
        } else if (streq(t, "content_block_delta")) {
                v = llm_json_path(o, "delta", "text", NULL);
                if (v && json_object_is_type(v, json_type_string)) {
                        ev->text = json_object_get_string(v);
                        ev->text_len = (size_t) json_object_get_string_len(v);
                }
        } else if (streq(t, "message_delta")) {
                if ((v = llm_json_path(o, "usage", "output_tokens", NULL)) &&
                    json_object_is_type(v, json_type_int))
                        ev->completion_tokens = json_object_get_int64(v);
                if ((v = llm_json_path(o, "delta", "stop_reason", NULL)) &&
                    json_object_is_type(v, json_type_string))
                        ev->finish_reason = stop_reason_to_openai(json_object_get_string(v));
        } else if (streq(t, "message_stop"))
                ev->done = true;
        return 0;
}

const LlmProviderOps llm_anthropic_ops = {
        .name = "anthropic",
        .stream_format = LLM_STREAM_SSE,
        .build = build,
        .parse = parse,
};
