/* SPDX-License-Identifier: MIT */
/* llm-provider.c — calls through a backend's table of operations, and the helpers the
 * kinds share. It names no kind: the kinds are listed in llm-kinds.c. */
#include <json-c/printbuf.h>
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
        int r;

        if (req->inputs) {
                if (!b->ops->build_embed)
                        return -EOPNOTSUPP;
                r = b->ops->build_embed(b, m, req, ret);
                ret->mode = LLM_CALL_EMBED;
                ret->format = LLM_STREAM_WHOLE;
                ret->n_inputs = req->n_inputs;
                ret->dimensions = req->features & LLM_FEATURE_DIMENSIONS ? req->dimensions : 0;
                return r;
        }
        r = b->ops->build(b, m, req, ret);
        ret->mode = req->messages ? LLM_CALL_CHAT : LLM_CALL_COMPLETION;
        ret->format = b->ops->stream_format;
        return r;
}

static int check_vectors(const LlmParseState *st, LlmEvent *ev) {
        size_t n, want = (size_t) st->dimensions;

        n = json_object_is_type(ev->embeddings, json_type_array) ? json_object_array_length(ev->embeddings)
                                                                 : 0;
        if (n != st->n_inputs) {
                snprintf(ev->error, sizeof(ev->error), "%zu embeddings for %zu inputs", n, st->n_inputs);
                return -EBADMSG;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(ev->embeddings, i);
                size_t d = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;

                if (want == 0)
                        want = d;
                if (d == 0 || d != want) {
                        snprintf(
                                ev->error,
                                sizeof(ev->error),
                                "embedding %zu has %zu numbers where %zu were expected%s",
                                i,
                                d,
                                want,
                                st->dimensions > 0 ? " (dimensions)" : "");
                        return -EBADMSG;
                }
                for (size_t j = 0; j < d; j++)
                        if (!json_object_is_type(json_object_array_get_idx(v, j), json_type_double) &&
                            !json_object_is_type(json_object_array_get_idx(v, j), json_type_int)) {
                                snprintf(
                                        ev->error, sizeof(ev->error), "embedding %zu holds a non-number", i);
                                return -EBADMSG;
                        }
        }
        return 0;
}

int llm_provider_parse(
        const LlmProviderOps *ops,
        LlmParseState *st,
        const char *event,
        const char *data,
        size_t len,
        LlmEvent *ev,
        json_object **ret_json) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        *ev = (LlmEvent){ .prompt_tokens = -1, .completion_tokens = -1 };
        if (st->mode != LLM_CALL_EMBED && ops->end_marker && len == strlen(ops->end_marker) &&
            memcmp(data, ops->end_marker, len) == 0) {
                ev->done = true;
                *ret_json = NULL;
                return 0;
        }
        r = json_parse_strict(data, len, &o, NULL);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        r = st->mode == LLM_CALL_EMBED ? ops->parse_embed(o, ev) : ops->parse(st, o, ev);
        if (r >= 0 && st->mode == LLM_CALL_EMBED)
                r = check_vectors(st, ev);
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

json_object *llm_provider_append_object(json_object *arr) {
        json_object *o = json_object_new_object();

        if (!o || json_object_array_add(arr, o) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

int llm_provider_messages_json(
        const LlmCallRequest *req, int (*fill)(json_object *m, const LlmMessage *msg), json_object **ret) {
        _cleanup_json_ json_object *arr = json_object_new_array();
        json_object *m;
        int r;

        if (!arr)
                return -ENOMEM;
        if (!req->messages) {
                m = llm_provider_append_object(arr);
                if (!m)
                        return -ENOMEM;
                json_object_object_add(m, "role", json_object_new_string("user"));
                json_object_object_add(m, "content", json_object_new_string(strempty(req->prompt)));
        }
        for (size_t i = 0; req->messages && i < req->n_messages; i++) {
                m = llm_provider_append_object(arr);
                if (!m)
                        return -ENOMEM;
                json_object_object_add(m, "role", json_object_new_string(req->messages[i].role));
                r = fill(m, &req->messages[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(arr);
        return 0;
}

json_object *llm_provider_embed_body(const LlmModel *m, const LlmCallRequest *req) {
        json_object *body = json_object_new_object();

        if (!body)
                return NULL;
        json_object_object_add(body, "model", json_object_new_string(m->upstream));
        json_object_object_add(body, "input", llm_provider_string_array(req->inputs, req->n_inputs));
        if (req->features & LLM_FEATURE_DIMENSIONS)
                json_object_object_add(body, "dimensions", json_object_new_int64(req->dimensions));
        return body;
}

void llm_provider_add_sampling(json_object *o, const LlmCallRequest *req) {
        if (req->features & LLM_FEATURE_STOP)
                json_object_object_add(o, "stop", llm_provider_string_array(req->stop, req->n_stop));
        if (req->features & LLM_FEATURE_SEED)
                json_object_object_add(o, "seed", json_object_new_int64(req->seed));
        if (req->features & LLM_FEATURE_PRESENCE_PENALTY)
                json_object_object_add(o, "presence_penalty", json_object_new_double(req->presence_penalty));
        if (req->features & LLM_FEATURE_FREQUENCY_PENALTY)
                json_object_object_add(
                        o, "frequency_penalty", json_object_new_double(req->frequency_penalty));
}

json_object *llm_provider_tool_calls_json(const LlmMessage *msg, bool arguments_object) {
        _cleanup_json_ json_object *arr = json_object_new_array_ext((int) msg->n_tool_calls);

        if (!arr)
                return NULL;
        for (size_t i = 0; i < msg->n_tool_calls; i++) {
                const LlmToolCall *t = &msg->tool_calls[i];
                json_object *c = llm_provider_append_object(arr), *f = json_object_new_object();

                if (!c || !f) {
                        json_object_put(f);
                        return NULL;
                }
                json_object_object_add(c, "id", json_object_new_string(t->id));
                json_object_object_add(c, "type", json_object_new_string("function"));
                json_object_object_add(c, "function", f);
                json_object_object_add(f, "name", json_object_new_string(t->name));
                json_object_object_add(
                        f,
                        "arguments",
                        arguments_object ? llm_provider_raw_json(t->arguments)
                                         : json_object_new_string(t->arguments));
        }
        return TAKE_PTR(arr);
}

int llm_provider_function_tools(const LlmCallRequest *req, json_object **ret) {
        _cleanup_json_ json_object *arr = json_object_new_array_ext((int) req->n_tools);

        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_tools; i++) {
                const LlmTool *t = &req->tools[i];
                json_object *o = llm_provider_append_object(arr), *f = json_object_new_object();

                if (!o || !f) {
                        json_object_put(f);
                        return -ENOMEM;
                }
                json_object_object_add(o, "type", json_object_new_string("function"));
                json_object_object_add(o, "function", f);
                json_object_object_add(f, "name", json_object_new_string(t->name));
                if (t->description)
                        json_object_object_add(f, "description", json_object_new_string(t->description));
                if (t->parameters)
                        json_object_object_add(f, "parameters", llm_provider_raw_json(t->parameters));
                if (t->strict)
                        json_object_object_add(f, "strict", json_object_new_boolean(true));
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

static int raw_to_json_string(json_object *o, struct printbuf *pb, int level, int flags) {
        const char *json = json_object_get_userdata(o);

        return printbuf_memappend(pb, json, (int) strlen(json));
}

json_object *llm_provider_raw_json(const char *json) {
        json_object *o = json_object_new_object();

        if (o)
                json_object_set_serializer(o, raw_to_json_string, (void *) json, NULL);
        return o;
}

json_object *llm_provider_string_array(const char *const *v, size_t n) {
        json_object *arr = json_object_new_array_ext((int) n);

        for (size_t i = 0; arr && i < n; i++)
                if (json_object_array_add(arr, json_object_new_string(v[i])) < 0) {
                        json_object_put(arr);
                        return NULL;
                }
        return arr;
}

const char *llm_feature_to_string(LlmFeature f) {
        static const char *const names[_LLM_FEATURE_COUNT] = {
                "tools",
                "tool_choice=required",
                "tool_choice naming a tool",
                "parallel_tool_calls=false",
                "strict tools",
                "tool results marked as errors",
                "response_format json_object",
                "response_format json_schema",
                "stop",
                "seed",
                "presence_penalty",
                "frequency_penalty",
                "user",
                "top_k",
                "dimensions",
        };

        for (size_t i = 0; i < _LLM_FEATURE_COUNT; i++)
                if (f == 1u << i)
                        return names[i];
        return "unknown";
}
