/* SPDX-License-Identifier: MIT */
/* llm-provider.c — calls through a backend's table of operations, and the helpers the
 * kinds share. It names no kind: the kinds are listed in llm-kinds.c. */
#include <stdarg.h>

#include "json-util.h"
#include "llm-provider.h"

void llm_http_call_done(LlmHttpCall *c) {
        free(c->url);
        free(c->body);
        curl_slist_free_all(c->headers);
        *c = (LlmHttpCall){};
}

int llm_provider_build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        return b->ops->build(b, m, req, ret);
}

int llm_provider_parse(
        const LlmProviderOps *ops,
        bool chat,
        const char *event,
        const char *data,
        size_t len,
        LlmEvent *ev,
        json_object **ret_json) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        *ev = (LlmEvent){ .prompt_tokens = -1, .completion_tokens = -1 };
        if (ops->end_marker && len == strlen(ops->end_marker) && memcmp(data, ops->end_marker, len) == 0) {
                ev->done = true;
                *ret_json = NULL;
                return 0;
        }
        r = json_parse_strict(data, len, &o, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = ops->parse(chat, o, ev);
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

static int add_part(json_object *arr, json_object *p) {
        if (!p || json_object_array_add(arr, p) < 0) {
                json_object_put(p);
                return -ENOMEM;
        }
        return 0;
}

int llm_provider_content_parts(
        json_object *m, const LlmMessage *msg, bool text_first, json_object *(*image)(const LlmImage *img)) {
        _cleanup_json_ json_object *arr = json_object_new_array();
        bool text = !isempty(msg->content);

        if (!arr)
                return -ENOMEM;
        if (text && text_first && add_part(arr, text_part(msg->content)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < msg->n_images; i++)
                if (add_part(arr, image(&msg->images[i])) < 0)
                        return -ENOMEM;
        if (text && !text_first && add_part(arr, text_part(msg->content)) < 0)
                return -ENOMEM;
        json_object_object_add(m, "content", TAKE_PTR(arr));
        return 0;
}

int llm_provider_messages_json(
        const LlmCallRequest *req,
        bool skip_system,
        int (*with_images)(json_object *m, const LlmMessage *msg),
        json_object **ret) {
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
                        int r = with_images(m, &req->messages[i]);
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
