/* SPDX-License-Identifier: MIT */
/* llm-client.c — see llm-client.h. */
#include <errno.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-client.h"

static json_object *message(const char *role, json_object *content) {
        json_object *m = json_object_new_object();

        if (!m) {
                json_object_put(content);
                return NULL;
        }
        json_object_object_add(m, "role", json_object_new_string(role));
        json_object_object_add(m, "content", content);
        return m;
}

static int request_body(const LlmClientRequest *req, char **ret) {
        _cleanup_json_ json_object *o = json_object_new_object(), *msgs = json_object_new_array();
        json_object *sys = message("system", json_object_new_string(req->system)),
                    *user = message("user", json_object_get(req->user));
        const char *s;

        if (!o || !msgs || !sys || !user) {
                json_object_put(sys);
                json_object_put(user);
                return -ENOMEM;
        }
        json_object_array_add(msgs, sys);
        json_object_array_add(msgs, user);
        json_object_object_add(o, "model", json_object_new_string(req->model));
        json_object_object_add(o, "messages", TAKE_PTR(msgs));
        json_object_object_add(o, "temperature", json_object_new_int(0));
        json_object_object_add(o, "max_tokens", json_object_new_int(req->max_tokens));
        json_object_object_add(o, "stream", json_object_new_boolean(false));
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s || !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

/* o[key] when it is a string. */
static const char *string_member(json_object *o, const char *key) {
        json_object *v = json_object_object_get(o, key);

        return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int llm_client_chat(const LlmClientRequest *req, LlmClientReply *ret) {
        _cleanup_free_ char *body = NULL;
        HttpClientRequest h;
        size_t ulen = strlen(req->url);
        json_object *choices;
        int r;

        *ret = (LlmClientReply){};
        while (ulen > 0 && req->url[ulen - 1] == '/')
                ulen--;
        if (asprintf(&ret->endpoint, "%.*s/v1/chat/completions", (int) ulen, req->url) < 0) {
                ret->endpoint = NULL;
                return -ENOMEM;
        }
        r = request_body(req, &body);
        if (r < 0)
                return r;
        h = (HttpClientRequest){
                .method = "POST",
                .url = ret->endpoint,
                .body = body,
                .body_len = strlen(body),
                .request_id = req->request_id,
                .timeout_ms = req->timeout_ms,
                .max_body = req->max_reply,
        };
        r = http_client_perform(&h);
        if (r < 0) {
                snprintf(ret->error, sizeof(ret->error), "%s", h.response.error);
                http_client_response_done(&h.response);
                return r;
        }
        ret->status = h.response.status;
        if (h.response.body)
                (void) json_parse_strict(h.response.body, h.response.body_len, &ret->body, NULL);
        http_client_response_done(&h.response);
        choices = json_object_object_get(ret->body, "choices");
        if (json_object_is_type(choices, json_type_array) && json_object_array_length(choices) > 0)
                ret->content = string_member(
                        json_object_object_get(json_object_array_get_idx(choices, 0), "message"), "content");
        ret->model = string_member(ret->body, "model");
        return 0;
}

void llm_client_reply_done(LlmClientReply *r) {
        free(r->endpoint);
        if (r->body)
                json_object_put(r->body);
        *r = (LlmClientReply){};
}

const char *llm_client_detail(const LlmClientReply *r) {
        return string_member(r->body, "detail") ?: "no detail";
}
