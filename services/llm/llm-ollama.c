/* SPDX-License-Identifier: MIT */
/* llm-ollama.c — Ollama's native API: /api/generate for prompts, /api/chat for messages,
 * NDJSON streaming ({"response"|"message":{"content"}, "done"}), token counts from
 * prompt_eval_count/eval_count on the final line. */
#include "json-util.h"
#include "llm-kinds.h"

/* Ollama takes a message's images as "images": [base64] beside its text content. */
static int with_images(json_object *m, const LlmMessage *msg) {
        json_object *arr = json_object_new_array();

        if (!arr)
                return -ENOMEM;
        json_object_object_add(m, "content", json_object_new_string(msg->content));
        for (size_t i = 0; i < msg->n_images; i++)
                if (json_object_array_add(arr, json_object_new_string(msg->images[i].data)) < 0) {
                        json_object_put(arr);
                        return -ENOMEM;
                }
        json_object_object_add(m, "images", arr);
        return 0;
}

static int build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = json_object_new_object(), *options = json_object_new_object();
        json_object *messages = NULL;
        int r;

        if (!body || !options)
                return -ENOMEM;
        json_object_object_add(body, "model", json_object_new_string(m->upstream));
        if (req->messages) {
                r = llm_provider_messages_json(req, false, with_images, &messages);
                if (r < 0)
                        return r;
                json_object_object_add(body, "messages", messages);
        } else
                json_object_object_add(body, "prompt", json_object_new_string(strempty(req->prompt)));
        json_object_object_add(body, "stream", json_object_new_boolean(true));
        json_object_object_add(options, "num_predict", json_object_new_int64(req->max_tokens));
        if (req->has_temperature)
                json_object_object_add(options, "temperature", json_object_new_double(req->temperature));
        if (req->has_top_p)
                json_object_object_add(options, "top_p", json_object_new_double(req->top_p));
        json_object_object_add(body, "options", TAKE_PTR(options));
        r = llm_provider_finish(ret, b, req->messages ? "/api/chat" : "/api/generate", body);
        if (r >= 0 && b->api_key) /* Ollama behind an authenticating proxy */
                r = llm_provider_add_header(ret, "Authorization: Bearer %s", b->api_key);
        return r;
}

static int parse(bool chat, json_object *o, LlmEvent *ev) {
        json_object *err = llm_json_path(o, "error", NULL), *text, *done, *v;

        if (err) {
                snprintf(ev->error, sizeof(ev->error), "%s", json_object_get_string(err));
                return -EPROTO;
        }
        text = chat ? llm_json_path(o, "message", "content", NULL) : llm_json_path(o, "response", NULL);
        if (text && json_object_is_type(text, json_type_string)) {
                ev->text = json_object_get_string(text);
                ev->text_len = (size_t) json_object_get_string_len(text);
        }
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

const LlmProviderOps llm_ollama_ops = {
        .name = "ollama",
        .stream_format = LLM_STREAM_NDJSON,
        .build = build,
        .parse = parse,
};
