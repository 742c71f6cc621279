/* SPDX-License-Identifier: MIT */
/* llm-provider.c — dispatch to the backend kinds and the helpers they share. */
#include <stdarg.h>

#include "json-util.h"
#include "llm-provider.h"

void llm_http_call_done(LlmHttpCall *c) {
        free(c->url);
        free(c->body);
        curl_slist_free_all(c->headers);
        *c = (LlmHttpCall){};
}

LlmStreamFormat llm_provider_stream_format(LlmKind kind) {
        return kind == LLM_KIND_OLLAMA ? LLM_STREAM_NDJSON : LLM_STREAM_SSE;
}

int llm_provider_build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        switch (b->kind) {
        case LLM_KIND_OLLAMA:
                return llm_ollama_build(b, m, req, ret);
        case LLM_KIND_OPENAI:
                return llm_openai_build(b, m, req, ret);
        case LLM_KIND_ANTHROPIC:
                return llm_anthropic_build(b, m, req, ret);
        default:
                return -EINVAL;
        }
}

int llm_provider_parse(
        LlmKind kind,
        bool chat,
        const char *event,
        const char *data,
        size_t len,
        LlmEvent *ev,
        json_object **ret_json) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        *ev = (LlmEvent){ .prompt_tokens = -1, .completion_tokens = -1 };
        if (kind == LLM_KIND_OPENAI && len == 6 && memcmp(data, "[DONE]", 6) == 0) {
                ev->done = true;
                *ret_json = NULL;
                return 0;
        }
        r = json_parse_strict(data, len, &o, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (kind == LLM_KIND_OLLAMA)
                r = llm_ollama_parse(chat, o, ev);
        else if (kind == LLM_KIND_OPENAI)
                r = llm_openai_parse(o, ev);
        else
                r = llm_anthropic_parse(o, ev);
        if (r >= 0)
                *ret_json = TAKE_PTR(o);
        return r;
}

json_object *llm_json_path_v(json_object *o, const char *const *keys) {
        for (; o && *keys; keys++) {
                json_object *next = NULL;

                if (json_object_is_type(o, json_type_array))
                        next = json_object_array_get_idx(o, (size_t) atoi(*keys));
                else if (
                        !json_object_is_type(o, json_type_object) ||
                        !json_object_object_get_ex(o, *keys, &next))
                        next = NULL;
                o = next;
        }
        return o;
}

static json_object *text_part(const char *text) {
        json_object *p = json_object_new_object();

        if (!p)
                return NULL;
        json_object_object_add(p, "type", json_object_new_string("text"));
        json_object_object_add(p, "text", json_object_new_string(text));
        return p;
}

static json_object *image_part(LlmKind kind, const LlmImage *img) {
        json_object *p = json_object_new_object(), *inner = json_object_new_object();
        _cleanup_free_ char *url = NULL;

        if (!p || !inner)
                goto fail;
        if (kind == LLM_KIND_ANTHROPIC) {
                json_object_object_add(p, "type", json_object_new_string("image"));
                json_object_object_add(inner, "type", json_object_new_string("base64"));
                json_object_object_add(inner, "media_type", json_object_new_string(img->media_type));
                json_object_object_add(inner, "data", json_object_new_string(img->data));
                json_object_object_add(p, "source", inner);
                return p;
        }
        if (asprintf(&url, "data:%s;base64,%s", img->media_type, img->data) < 0)
                goto fail;
        json_object_object_add(p, "type", json_object_new_string("image_url"));
        json_object_object_add(inner, "url", json_object_new_string(url));
        json_object_object_add(p, "image_url", inner);
        return p;
fail:
        json_object_put(p);
        json_object_put(inner);
        return NULL;
}

/* The content of a message with images, in the format of kind (see the header). */
static int add_images(json_object *m, LlmKind kind, const LlmMessage *msg) {
        json_object *arr = json_object_new_array();

        if (!arr)
                return -ENOMEM;
        if (kind == LLM_KIND_OLLAMA) {
                json_object_object_add(m, "content", json_object_new_string(msg->content));
                for (size_t i = 0; i < msg->n_images; i++)
                        if (json_object_array_add(arr, json_object_new_string(msg->images[i].data)) < 0)
                                goto fail;
                json_object_object_add(m, "images", arr);
                return 0;
        }
        /* OpenAI: text first as clients usually send it; Anthropic: images first, as its
         * documentation recommends. */
        if (kind == LLM_KIND_OPENAI && !isempty(msg->content) &&
            json_object_array_add(arr, text_part(msg->content)) < 0)
                goto fail;
        for (size_t i = 0; i < msg->n_images; i++) {
                json_object *p = image_part(kind, &msg->images[i]);
                if (!p || json_object_array_add(arr, p) < 0) {
                        json_object_put(p);
                        goto fail;
                }
        }
        if (kind == LLM_KIND_ANTHROPIC && !isempty(msg->content) &&
            json_object_array_add(arr, text_part(msg->content)) < 0)
                goto fail;
        json_object_object_add(m, "content", arr);
        return 0;
fail:
        json_object_put(arr);
        return -ENOMEM;
}

int llm_provider_messages_json(
        const LlmCallRequest *req, bool skip_system, LlmKind kind, json_object **ret) {
        _cleanup_json_ json_object *arr = json_object_new_array();

        if (!arr)
                return -ENOMEM;
        if (!req->messages) {
                json_object *m = json_object_new_object();
                if (!m || json_object_array_add(arr, m) < 0) {
                        json_object_put(m);
                        return -ENOMEM;
                }
                json_object_object_add(m, "role", json_object_new_string("user"));
                json_object_object_add(m, "content", json_object_new_string(strempty(req->prompt)));
        }
        for (size_t i = 0; req->messages && i < req->n_messages; i++) {
                json_object *m;

                if (skip_system && streq(req->messages[i].role, "system"))
                        continue;
                m = json_object_new_object();
                if (!m || json_object_array_add(arr, m) < 0) {
                        json_object_put(m);
                        return -ENOMEM;
                }
                json_object_object_add(m, "role", json_object_new_string(req->messages[i].role));
                if (req->messages[i].n_images > 0) {
                        int r = add_images(m, kind, &req->messages[i]);
                        if (r < 0)
                                return r;
                } else
                        json_object_object_add(
                                m, "content", json_object_new_string(req->messages[i].content));
        }
        *ret = TAKE_PTR(arr);
        return 0;
}

int llm_provider_add_header(LlmHttpCall *c, const char *fmt, ...) {
        _cleanup_free_ char *h = NULL;
        struct curl_slist *l;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&h, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        l = curl_slist_append(c->headers, h);
        if (!l)
                return -ENOMEM;
        c->headers = l;
        return 0;
}

int llm_provider_finish(LlmHttpCall *c, const LlmBackend *b, const char *path, json_object *body) {
        const char *s = json_object_to_json_string_ext(
                body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        int r;

        if (!s || asprintf(&c->url, "%s%s", b->base_url, path) < 0)
                return -ENOMEM;
        c->body = strdup(s);
        if (!c->body)
                return -ENOMEM;
        r = llm_provider_add_header(c, "Content-Type: application/json");
        if (r >= 0)
                r = llm_provider_add_header(c, "Expect:"); /* no 100-continue round trip */
        return r;
}
