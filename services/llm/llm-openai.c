/* SPDX-License-Identifier: MIT */
/* llm-openai.c — any OpenAI-compatible server (llama.cpp server, vLLM, LocalAI, OpenAI,
 * Groq): POST {base_url}/chat/completions with stream and stream_options.include_usage,
 * SSE "data: {chunk}" lines ending with a usage chunk and "data: [DONE]". base_url
 * includes the /v1, as in the OpenAI client libraries. */
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

/* OpenAI's content parts: the text first, as clients usually send it, then the images. */
static int with_images(json_object *m, const LlmMessage *msg) {
        return llm_provider_content_parts(m, msg, true, image_part);
}

static int build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = json_object_new_object(), *so = json_object_new_object();
        json_object *messages = NULL;
        int r;

        if (!body || !so)
                return -ENOMEM;
        r = llm_provider_messages_json(req, false, with_images, &messages);
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
        r = llm_provider_finish(ret, b, "/chat/completions", body);
        if (r >= 0)
                r = llm_provider_add_header(ret, "Accept: text/event-stream");
        if (r >= 0 && b->api_key)
                r = llm_provider_add_header(ret, "Authorization: Bearer %s", b->api_key);
        return r;
}

static int parse(bool chat, json_object *o, LlmEvent *ev) {
        json_object *err = llm_json_path(o, "error", NULL), *v, *usage;

        if (err) {
                json_object *msg = llm_json_path(err, "message", NULL);
                snprintf(ev->error, sizeof(ev->error), "%s", json_object_get_string(msg ?: err));
                return -EPROTO;
        }
        v = llm_json_path(o, "choices", "0", "delta", "content", NULL);
        if (!v) /* /v1/completions-style servers */
                v = llm_json_path(o, "choices", "0", "text", NULL);
        if (v && json_object_is_type(v, json_type_string)) {
                ev->text = json_object_get_string(v);
                ev->text_len = (size_t) json_object_get_string_len(v);
        }
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

const LlmProviderOps llm_openai_ops = {
        .name = "openai",
        .stream_format = LLM_STREAM_SSE,
        .end_marker = "[DONE]",
        .build = build,
        .parse = parse,
};
