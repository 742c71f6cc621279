/* SPDX-License-Identifier: MIT */
/* llm-api.c — request validation, the client-side formats (JSON, NDJSON, SSE) and the
 * glue between the endpoints and the gateway. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "base64.h"
#include "json-util.h"
#include "llm-api.h"
#include "llm-hybrid.h"

#define MAX_MESSAGES 4096
#define MAX_TEXT (8 * 1024 * 1024)

const char llm_api_unconfigured_detail[] =
        "no LLM backend is configured: set LLM_BACKENDS_FILE to a JSON file listing the backends "
        "(name, kind ollama|openai|anthropic, base_url, models; API keys through api_key_file, "
        "e.g. /run/secrets/<name>); see docs/llm.md";

typedef enum ApiShape {
        SHAPE_SEED_COMPLETION, /* POST /completion */
        SHAPE_SEED_CHAT,       /* POST /chat */
        SHAPE_OPENAI_CHAT,     /* POST /v1/chat/completions */
        SHAPE_OPENAI_TEXT,     /* POST /v1/completions */
} ApiShape;

typedef struct ApiRequest {
        ApiShape shape;
        LlmCallRequest call;
        LlmMessage *messages; /* owned copies */
        size_t n_messages;
        const char *model; /* borrowed from the body */
        const char *task;
        LlmPriority priority;
        bool stream;
        bool include_usage;
        size_t n_images; /* over all messages: routing then needs a vision model */
        bool hybrid;
        LlmHybridMode hybrid_mode;
        const char *hybrid_models[2]; /* borrowed; NULL: the top two backends of the route */
} ApiRequest;

static void api_request_done(ApiRequest *a) {
        for (size_t i = 0; i < a->n_messages; i++) {
                free(a->messages[i].role);
                free(a->messages[i].content);
                for (size_t j = 0; j < a->messages[i].n_images; j++) {
                        free(a->messages[i].images[j].media_type);
                        free(a->messages[i].images[j].data);
                }
                free(a->messages[i].images);
        }
        free(a->messages);
}

static const char *const image_media_types[] = {
        "image/png", "image/jpeg", "image/webp", "image/gif", NULL
};

/* One {"type":"image_url","image_url":{"url":"data:<type>;base64,<data>"}} part. Only data:
 * URLs: the llm service never fetches anything a client names. */
static int
image_part(json_object *part, const char *field, json_object **errs, uint64_t *budget, LlmMessage *msg) {
        json_object *iu = NULL, *u = NULL;
        const char *url, *comma, *media = NULL;
        char f[96];
        int64_t n;
        LlmImage *imgs;

        snprintf(f, sizeof(f), "%s.image_url.url", field);
        json_object_object_get_ex(part, "image_url", &iu);
        if (json_object_is_type(iu, json_type_object))
                json_object_object_get_ex(iu, "url", &u);
        if (!json_object_is_type(u, json_type_string))
                return json_errors_add(errs, f, "is required: a data:image/...;base64, URL"), -EINVAL;
        url = json_object_get_string(u);
        if (startswith(url, "http://") || startswith(url, "https://"))
                return json_errors_add(
                               errs,
                               f,
                               "http(s) image URLs are not fetched by the llm service; send the image inline "
                               "as a data:image/png;base64,... URL"),
                       -EINVAL;
        if (!startswith(url, "data:"))
                return json_errors_add(errs, f, "must be a data:image/...;base64, URL"), -EINVAL;
        comma = strchr(url, ',');
        for (size_t i = 0; comma && image_media_types[i]; i++) {
                size_t ml = strlen(image_media_types[i]);
                if (strncmp(url + 5, image_media_types[i], ml) == 0 && url + 5 + ml + 7 == comma &&
                    strncmp(url + 5 + ml, ";base64", 7) == 0)
                        media = image_media_types[i];
        }
        if (!media)
                return json_errors_add(
                               errs,
                               f,
                               "must be data:<type>;base64,<data> with type image/png, image/jpeg, "
                               "image/webp or image/gif"),
                       -EINVAL;
        n = base64_decoded_size(comma + 1, strlen(comma + 1));
        if (n < 0)
                return json_errors_add(errs, f, "the data is not valid base64"), -EINVAL;
        if ((uint64_t) n > *budget)
                return -EFBIG;
        *budget -= (uint64_t) n;
        imgs = reallocarray(msg->images, msg->n_images + 1, sizeof(*imgs));
        if (!imgs)
                return -ENOMEM;
        msg->images = imgs;
        imgs[msg->n_images] = (LlmImage){ .media_type = strdup(media), .data = strdup(comma + 1) };
        msg->n_images++;
        if (!imgs[msg->n_images - 1].media_type || !imgs[msg->n_images - 1].data)
                return -ENOMEM;
        return 0;
}

/* A message's content: a string, or OpenAI's array of {type:"text", text} and
 * {type:"image_url", image_url:{url:"data:..."}} parts (texts are joined). budget: image
 * bytes the request may still carry; -EFBIG when they are exceeded. */
static int
message_content(json_object *c, const char *field, json_object **errs, uint64_t *budget, LlmMessage *msg) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;

        if (json_object_is_type(c, json_type_string)) {
                s = strdup(json_object_get_string(c));
                if (!s)
                        return -ENOMEM;
                msg->content = TAKE_PTR(s);
                return 0;
        }
        if (json_object_is_type(c, json_type_null)) {
                msg->content = strdup("");
                return msg->content ? 0 : -ENOMEM;
        }
        if (!json_object_is_type(c, json_type_array))
                return json_errors_add(errs, field, "must be a string or an array of content parts"),
                       -EINVAL;
        for (size_t i = 0; i < json_object_array_length(c); i++) {
                json_object *part = json_object_array_get_idx(c, i), *t = NULL, *x = NULL;
                char pf[80];
                size_t n;
                char *ns;
                int r;

                snprintf(pf, sizeof(pf), "%s[%zu]", field, i);
                json_object_object_get_ex(part, "type", &t);
                json_object_object_get_ex(part, "text", &x);
                if (streq_ptr(json_object_get_string(t), "image_url")) {
                        r = image_part(part, pf, errs, budget, msg);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!streq_ptr(json_object_get_string(t), "text") ||
                    !json_object_is_type(x, json_type_string))
                        return json_errors_add(
                                       errs,
                                       pf,
                                       "only {\"type\":\"text\",\"text\":...} and "
                                       "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}} parts are supported"),
                               -EINVAL;
                n = (size_t) json_object_get_string_len(x);
                ns = realloc(s, len + n + 1);
                if (!ns)
                        return -ENOMEM;
                s = ns;
                memcpy(s + len, json_object_get_string(x), n);
                len += n;
                s[len] = '\0';
        }
        if (!s && !(s = strdup("")))
                return -ENOMEM;
        msg->content = TAKE_PTR(s);
        return 0;
}

static int parse_messages(json_object *arr, ApiRequest *a, uint64_t max_image_bytes, json_object **errs) {
        size_t n = json_object_array_length(arr);
        uint64_t budget = max_image_bytes;

        if (n == 0 || n > MAX_MESSAGES)
                return json_errors_add(errs, "messages", "must hold 1 to %d messages", MAX_MESSAGES),
                       -EINVAL;
        a->messages = calloc(n, sizeof(*a->messages));
        if (!a->messages)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *m = json_object_array_get_idx(arr, i), *role = NULL, *content = NULL;
                char field[48];
                int r;

                snprintf(field, sizeof(field), "messages[%zu]", i);
                if (!json_object_is_type(m, json_type_object))
                        return json_errors_add(errs, field, "must be an object"), -EINVAL;
                json_object_object_get_ex(m, "role", &role);
                json_object_object_get_ex(m, "content", &content);
                snprintf(field, sizeof(field), "messages[%zu].role", i);
                if (!json_object_is_type(role, json_type_string) ||
                    !(streq(json_object_get_string(role), "system") ||
                      streq(json_object_get_string(role), "user") ||
                      streq(json_object_get_string(role), "assistant") ||
                      streq(json_object_get_string(role), "developer")))
                        return json_errors_add(errs, field, "must be one of system, user, assistant"),
                               -EINVAL;
                /* OpenAI's newer name for the system role. */
                a->messages[i].role = strdup(
                        streq(json_object_get_string(role), "developer") ? "system"
                                                                         : json_object_get_string(role));
                a->n_messages = i + 1;
                if (!a->messages[i].role)
                        return -ENOMEM;
                snprintf(field, sizeof(field), "messages[%zu].content", i);
                if (!content)
                        return json_errors_add(errs, field, "is required"), -EINVAL;
                r = message_content(content, field, errs, &budget, &a->messages[i]);
                a->n_images += a->messages[i].n_images;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The extension field hybrid: {"mode": "both"|"first", "models": ["a", "b"]} (models
 * optional). Strict: an unknown member is an error naming it. */
static void parse_hybrid(json_object *hy, ApiRequest *a, json_object **errs) {
        json_object *mode = NULL, *models = NULL;
        int m;

        json_object_object_foreach(hy, key, val) {
                (void) val;
                char f[64];

                if (streq(key, "mode") || streq(key, "models"))
                        continue;
                snprintf(f, sizeof(f), "hybrid.%.40s", key);
                json_errors_add(errs, f, "is unknown: hybrid takes mode and models");
        }
        json_object_object_get_ex(hy, "mode", &mode);
        json_object_object_get_ex(hy, "models", &models);
        m = json_object_is_type(mode, json_type_string)
                ? llm_hybrid_mode_from_string(json_object_get_string(mode))
                : -EINVAL;
        if (m < 0)
                json_errors_add(
                        errs, "hybrid.mode", "must be \"both\" (two answers) or \"first\" (the faster one)");
        else {
                a->hybrid_mode = (LlmHybridMode) m;
                if (a->stream && m == LLM_HYBRID_BOTH)
                        json_errors_add(
                                errs,
                                "hybrid.mode",
                                "\"both\" returns two answers and cannot stream; use \"first\" (the first backend "
                                "to send text is relayed) or stream: false");
        }
        if (models) {
                if (!json_object_is_type(models, json_type_array) || json_object_array_length(models) != 2)
                        json_errors_add(
                                errs, "hybrid.models", "must be an array of exactly two model names");
                else
                        for (size_t i = 0; i < 2; i++) {
                                json_object *v = json_object_array_get_idx(models, i);
                                char f[32];

                                snprintf(f, sizeof(f), "hybrid.models[%zu]", i);
                                if (!json_object_is_type(v, json_type_string) ||
                                    json_object_get_string_len(v) < 1 ||
                                    json_object_get_string_len(v) > 200 ||
                                    streq(json_object_get_string(v), "auto"))
                                        json_errors_add(
                                                errs,
                                                f,
                                                "must be the name of a configured model (not auto)");
                                else
                                        a->hybrid_models[i] = json_object_get_string(v);
                        }
        }
        a->hybrid = true;
}

/* Validates the body into a; on a validation error replies 422 and returns -EINVAL
 * (callers just return 0), -ENOMEM otherwise. */
static int parse_request(HttpRequest *req, LlmApi *api, json_object *body, ApiShape shape, ApiRequest *a) {
        _cleanup_json_ json_object *errs = NULL;
        json_object *messages = NULL, *so = NULL, *pv = NULL, *hy = NULL;
        const char *prio = NULL;
        int64_t max_tokens = api->config->default_max_tokens;
        int r;

        a->shape = shape;
        a->model = "auto";
        a->priority = api->default_priority;
        if (!json_object_is_type(body, json_type_object)) {
                json_errors_add(&errs, "", "the body must be a JSON object");
                return http_reply_validation(req, errs), -EINVAL;
        }
        if (shape == SHAPE_SEED_CHAT || shape == SHAPE_OPENAI_CHAT) {
                if (json_get_array(body, "messages", true, &errs, &messages) > 0) {
                        r = parse_messages(messages, a, api->config->max_image_bytes, &errs);
                        if (r == -ENOMEM)
                                return r;
                        if (r == -EFBIG)
                                return http_reply_error(
                                               req,
                                               413,
                                               "the images of this request exceed LLM_MAX_IMAGE_BYTES (%" PRIu64
                                               " decoded bytes in all)",
                                               api->config->max_image_bytes),
                                       -EINVAL;
                }
        } else if (
                shape == SHAPE_OPENAI_TEXT && json_object_object_get_ex(body, "prompt", &pv) &&
                json_object_is_type(pv, json_type_array)) {
                /* The legacy API takes a list of prompts; one answer per request here. */
                json_object *p0 = json_object_array_get_idx(pv, 0);
                if (json_object_array_length(pv) != 1 || !json_object_is_type(p0, json_type_string))
                        json_errors_add(
                                &errs, "prompt", "must be a string or an array of exactly one string");
                else
                        a->call.prompt = json_object_get_string(p0);
        } else
                (void) json_get_string_bounded(body, "prompt", true, 1, MAX_TEXT, &errs, &a->call.prompt);
        (void) json_get_string_bounded(body, "model", shape == SHAPE_OPENAI_CHAT, 1, 200, &errs, &a->model);
        if (json_get_int(body, "max_completion_tokens", false, 1, 10000000, &errs, &max_tokens) == 0)
                (void) json_get_int(body, "max_tokens", false, 1, 10000000, &errs, &max_tokens);
        a->call.max_tokens = max_tokens;
        a->call.has_temperature =
                json_get_double(body, "temperature", false, 0, 2, &errs, &a->call.temperature) > 0;
        a->call.has_top_p = json_get_double(body, "top_p", false, 0, 1, &errs, &a->call.top_p) > 0;
        (void) json_get_bool(body, "stream", false, &errs, &a->stream);
        if (json_get_object(body, "stream_options", false, &errs, &so) > 0)
                (void) json_get_bool(so, "include_usage", false, &errs, &a->include_usage);
        if (json_get_string(body, "priority", false, &errs, &prio) > 0) {
                r = llm_priority_from_string(prio);
                if (r < 0)
                        json_errors_add(&errs, "priority", "must be one of balanced, quality, speed, cost");
                else
                        a->priority = (LlmPriority) r;
        }
        (void) json_get_string_bounded(body, "task", false, 1, 64, &errs, &a->task);
        if (json_get_object(body, "hybrid", false, &errs, &hy) > 0)
                parse_hybrid(hy, a, &errs);
        if (shape == SHAPE_SEED_COMPLETION || shape == SHAPE_SEED_CHAT) {
                bool auto_select = true;
                /* The seed's auto_select=false means "use the model I named, no routing". */
                if (json_get_bool(body, "auto_select", false, &errs, &auto_select) > 0 && !auto_select &&
                    streq(a->model, "auto"))
                        json_errors_add(&errs, "model", "auto_select=false needs an explicit model");
        }
        if (errs)
                return http_reply_validation(req, errs), -EINVAL;
        if (a->messages) {
                a->call.messages = a->messages;
                a->call.n_messages = a->n_messages;
        }
        return 0;
}

/* ---- replies ---------------------------------------------------------------------- */

typedef struct Reply {
        HttpRequest *req;
        ApiRequest *a;
        const LlmRoute *route;
        char *text; /* accumulated answer (non-streaming) */
        size_t len, cap;
        char id[64];
        time_t created;
        const LlmCandidate *c;
        LlmHybrid *h; /* hybrid mode: both legs, read under h->lock */
} Reply;

static int write_json_line(Reply *x, json_object *o, bool sse) {
        size_t len;
        const char *s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        _cleanup_free_ char *buf = NULL;
        int k;

        if (!s)
                return -ENOMEM;
        k = asprintf(&buf, sse ? "data: %s\n\n" : "%s\n", s);
        if (k < 0)
                return -ENOMEM;
        return http_reply_stream_write(x->req, buf, (size_t) k);
}

static bool is_sse(const Reply *x) {
        return x->a->shape == SHAPE_OPENAI_CHAT || x->a->shape == SHAPE_OPENAI_TEXT;
}

static json_object *openai_chunk(Reply *x) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "id", json_object_new_string(x->id));
        json_object_object_add(
                o,
                "object",
                json_object_new_string(
                        x->a->shape == SHAPE_OPENAI_CHAT ? "chat.completion.chunk" : "text_completion"));
        json_object_object_add(o, "created", json_object_new_int64(x->created));
        json_object_object_add(o, "model", json_object_new_string(x->c ? x->c->model->name : x->a->model));
        return o;
}

/* One choice of a streamed chunk: delta (chat) or text (completions). */
static json_object *
openai_stream_choice(Reply *x, const char *role, const char *text, size_t len, const char *finish) {
        json_object *ch = json_object_new_object(), *delta;

        if (!ch)
                return NULL;
        json_object_object_add(ch, "index", json_object_new_int(0));
        if (x->a->shape == SHAPE_OPENAI_CHAT) {
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

/* Response headers naming the backend used and whether a fallback happened. */
static int
add_llm_headers(HttpRequest *req, const LlmCandidate *c, bool fallback, const char *fallback_from) {
        int r;

        r = http_reply_add_header(req, "X-LLM-Backend", c->backend->name);
        if (r >= 0)
                r = http_reply_add_header(req, "X-LLM-Model", c->model->name);
        if (r >= 0)
                r = http_reply_add_header(req, "X-LLM-Fallback", fallback ? "true" : "false");
        if (r >= 0 && fallback)
                r = http_reply_add_header(req, "X-LLM-Fallback-From", fallback_from);
        return r;
}

/* X-LLM-Hybrid: the mode; X-LLM-Hybrid-Backends: both legs; X-LLM-Hybrid-Winner: the
 * backend whose answer came first (mode first). */
static int add_hybrid_headers(Reply *x, const LlmCandidate *winner) {
        char v[160];
        int r;

        if (!x->h)
                return 0;
        r = http_reply_add_header(x->req, "X-LLM-Hybrid", llm_hybrid_mode_to_string(x->h->mode));
        snprintf(
                v,
                sizeof(v),
                "%s,%s",
                x->h->legs[0].route.candidates[0].backend->name,
                x->h->legs[1].route.candidates[0].backend->name);
        if (r >= 0)
                r = http_reply_add_header(x->req, "X-LLM-Hybrid-Backends", v);
        if (r >= 0 && winner && x->h->mode == LLM_HYBRID_FIRST)
                r = http_reply_add_header(x->req, "X-LLM-Hybrid-Winner", winner->backend->name);
        return r;
}

static int sink_begin(void *userdata, const LlmCandidate *c, bool fallback, const char *fallback_from) {
        Reply *x = userdata;
        int r;

        x->c = c;
        if (!x->a->stream)
                return 0; /* headers go out with the whole answer */
        r = add_llm_headers(x->req, c, fallback, fallback_from);
        if (r >= 0)
                r = add_hybrid_headers(x, c);
        if (r < 0)
                return r;
        r = http_reply_stream_begin(x->req, 200, is_sse(x) ? "text/event-stream" : "application/x-ndjson");
        if (r >= 0 && x->a->shape == SHAPE_OPENAI_CHAT) {
                _cleanup_json_ json_object *o = openai_chunk(x), *choices = json_object_new_array();
                if (!o || !choices)
                        return -ENOMEM;
                json_object_array_add(choices, openai_stream_choice(x, "assistant", "", 0, NULL));
                json_object_object_add(o, "choices", TAKE_PTR(choices));
                r = write_json_line(x, o, true);
        }
        return r;
}

static int sink_text(void *userdata, const char *text, size_t len) {
        Reply *x = userdata;
        _cleanup_json_ json_object *o = NULL;

        if (!x->a->stream) {
                if (x->len + len + 1 > x->cap) {
                        size_t cap = MAX(x->cap * 2, x->len + len + 1);
                        char *t = realloc(x->text, cap);
                        if (!t)
                                return -ENOMEM;
                        x->text = t;
                        x->cap = cap;
                }
                memcpy(x->text + x->len, text, len);
                x->len += len;
                x->text[x->len] = '\0';
                return 0;
        }
        if (is_sse(x)) {
                json_object *choices = json_object_new_array();
                o = openai_chunk(x);
                if (!o || !choices) {
                        json_object_put(choices);
                        return -ENOMEM;
                }
                json_object_array_add(choices, openai_stream_choice(x, NULL, text, len, NULL));
                json_object_object_add(o, "choices", choices);
                return write_json_line(x, o, true);
        }
        /* NDJSON in Ollama's shape. */
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "model", json_object_new_string(x->c->model->name));
        if (x->a->shape == SHAPE_SEED_CHAT) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "role", json_object_new_string("assistant"));
                json_object_object_add(m, "content", json_object_new_string_len(text, (int) len));
                json_object_object_add(o, "message", m);
        } else
                json_object_object_add(o, "response", json_object_new_string_len(text, (int) len));
        json_object_object_add(o, "done", json_object_new_boolean(false));
        return write_json_line(x, o, false);
}

static int sink_idle(void *userdata) {
        Reply *x = userdata;

        /* An SSE comment costs the client nothing and tells us whether it is still there. */
        if (x->a->stream && is_sse(x))
                return http_reply_stream_write(x->req, ": keep-alive\n\n", 14);
        return 0;
}

static int sink_reset(void *userdata) {
        Reply *x = userdata;

        x->len = 0;
        if (x->text)
                x->text[0] = '\0';
        return 0;
}

static json_object *usage_json(const LlmOutcome *o) {
        json_object *u = json_object_new_object();

        if (!u)
                return NULL;
        json_object_object_add(u, "prompt_tokens", json_object_new_int64(o->prompt_tokens));
        json_object_object_add(u, "completion_tokens", json_object_new_int64(o->completion_tokens));
        json_object_object_add(
                u, "total_tokens", json_object_new_int64(o->prompt_tokens + o->completion_tokens));
        return u;
}

static int selection_reason(const LlmRoute *route, const LlmOutcome *o, char **ret) {
        if (o->fallback)
                return asprintf(
                               ret,
                               "%s; fell back from %s after: %s",
                               route->reason,
                               o->fallback_from,
                               o->detail) < 0
                        ? -ENOMEM
                        : 0;
        *ret = strdup(route->reason);
        return *ret ? 0 : -ENOMEM;
}

/* ---- hybrid: the two answers ----------------------------------------------------- */

/* hybrid: {mode, winner, answers: [{backend, model, status: ok|failed|cancelled, text,
 * finish_reason, usage, latency_ms, error: {status, detail}}]}. A leg still winding down
 * (the cancelled loser of mode first) is reported from what is known without reading its
 * outcome, which its thread may still be writing. with_text: false when streamed. */
static json_object *hybrid_json(LlmHybrid *h, bool with_text) {
        json_object *o = json_object_new_object(), *answers = json_object_new_array();

        if (!o || !answers) {
                json_object_put(o);
                json_object_put(answers);
                return NULL;
        }
        pthread_mutex_lock(&h->lock);
        json_object_object_add(o, "mode", json_object_new_string(llm_hybrid_mode_to_string(h->mode)));
        json_object_object_add(
                o,
                "winner",
                h->mode == LLM_HYBRID_FIRST && h->winner >= 0
                        ? json_object_new_string(h->legs[h->winner].route.candidates[0].backend->name)
                        : NULL);
        for (size_t i = 0; i < 2; i++) {
                const LlmHybridLeg *l = &h->legs[i];
                const LlmCandidate *c = &l->route.candidates[0];
                json_object *e = json_object_new_object(), *err = NULL;
                bool ok = l->done && l->r >= 0;

                if (!e)
                        break;
                json_object_object_add(e, "backend", json_object_new_string(c->backend->name));
                json_object_object_add(e, "model", json_object_new_string(c->model->name));
                json_object_object_add(
                        e,
                        "status",
                        json_object_new_string(
                                ok                ? "ok"
                                        : l->lost ? "cancelled"
                                                  : "failed"));
                if (ok) {
                        json_object *u = usage_json(&l->out);
                        if (with_text)
                                json_object_object_add(
                                        e, "text", json_object_new_string_len(l->text ?: "", (int) l->len));
                        json_object_object_add(
                                e, "finish_reason", json_object_new_string(l->out.finish_reason));
                        if (u)
                                json_object_object_add(
                                        u, "estimated", json_object_new_boolean(l->out.usage_estimated));
                        json_object_object_add(e, "usage", u);
                } else {
                        err = json_object_new_object();
                        if (err && l->done) {
                                json_object_object_add(
                                        err, "status", json_object_new_int(l->lost ? 499 : l->out.status));
                                json_object_object_add(err, "detail", json_object_new_string(l->out.detail));
                        } else if (err) {
                                const LlmCandidate *w = &h->legs[1 - i].route.candidates[0];
                                char d[192];
                                snprintf(
                                        d,
                                        sizeof(d),
                                        "cancelled: %s on %s answered first",
                                        w->model->name,
                                        w->backend->name);
                                json_object_object_add(err, "status", json_object_new_int(499));
                                json_object_object_add(err, "detail", json_object_new_string(d));
                        }
                }
                json_object_object_add(
                        e, "latency_ms", l->done ? json_object_new_int64((int64_t) l->latency_ms) : NULL);
                json_object_object_add(e, "error", err);
                json_object_array_add(answers, e);
        }
        pthread_mutex_unlock(&h->lock);
        json_object_object_add(o, "answers", answers);
        return o;
}

/* selection_reason of a hybrid answer: how the legs were chosen and how each ended. */
static int hybrid_reason(LlmHybrid *h, const char *why, char **ret) {
        char tail[2][LLM_DETAIL_MAX + 200];

        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < 2; i++) {
                const LlmHybridLeg *l = &h->legs[i];
                const char *b = l->route.candidates[0].backend->name;

                if (l->done && l->r >= 0)
                        snprintf(
                                tail[i],
                                sizeof(tail[i]),
                                "%s answered%s in %" PRIu64 " ms",
                                b,
                                h->mode == LLM_HYBRID_FIRST && h->winner == (int) i ? " first" : "",
                                l->latency_ms);
                else if (l->lost || !l->done)
                        snprintf(tail[i], sizeof(tail[i]), "%s was cancelled", b);
                else
                        snprintf(tail[i], sizeof(tail[i]), "%s failed (%s)", b, l->out.detail);
        }
        pthread_mutex_unlock(&h->lock);
        return asprintf(
                       ret,
                       "hybrid %s: %s; %s; %s",
                       llm_hybrid_mode_to_string(h->mode),
                       why,
                       tail[0],
                       tail[1]) < 0
                ? -ENOMEM
                : 0;
}

/* The seed's extra fields, shared by /completion and /chat (JSON and the NDJSON end). */
static void add_seed_fields(json_object *o, const Reply *x, const LlmOutcome *out, const char *reason) {
        json_object *u = usage_json(out);

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
        if (x->a->shape == SHAPE_SEED_CHAT) {
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
                json_object_object_add(o, "hybrid", hybrid_json(x->h, !x->a->stream));
}

static int finish_stream(Reply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        if (is_sse(x)) {
                json_object *choices = json_object_new_array();
                o = openai_chunk(x);
                if (!o || !choices) {
                        json_object_put(choices);
                        return -ENOMEM;
                }
                json_object_array_add(choices, openai_stream_choice(x, NULL, NULL, 0, out->finish_reason));
                json_object_object_add(o, "choices", choices);
                r = write_json_line(x, o, true);
                if (r < 0)
                        return r;
                json_object_put(o);
                /* The usage chunk, as OpenAI sends it with stream_options.include_usage. */
                o = openai_chunk(x);
                if (!o)
                        return -ENOMEM;
                json_object_object_add(o, "choices", json_object_new_array());
                json_object_object_add(o, "usage", usage_json(out));
                r = write_json_line(x, o, true);
                if (r >= 0)
                        r = http_reply_stream_write(x->req, "data: [DONE]\n\n", 14);
        } else {
                o = json_object_new_object();
                if (!o)
                        return -ENOMEM;
                json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
                if (x->a->shape == SHAPE_SEED_CHAT) {
                        json_object *m = json_object_new_object();
                        json_object_object_add(m, "role", json_object_new_string("assistant"));
                        json_object_object_add(m, "content", json_object_new_string(""));
                        json_object_object_add(o, "message", m);
                } else
                        json_object_object_add(o, "response", json_object_new_string(""));
                json_object_object_add(o, "done", json_object_new_boolean(true));
                json_object_object_add(o, "done_reason", json_object_new_string(out->finish_reason));
                json_object_object_add(o, "prompt_eval_count", json_object_new_int64(out->prompt_tokens));
                json_object_object_add(o, "eval_count", json_object_new_int64(out->completion_tokens));
                add_seed_fields(o, x, out, reason);
                r = write_json_line(x, o, false);
        }
        if (r >= 0)
                r = http_reply_stream_end(x->req);
        return r;
}

/* The upstream failed after bytes went out: say so in the stream's own format. */
static int fail_stream(Reply *x, const LlmOutcome *out) {
        _cleanup_json_ json_object *o = json_object_new_object(), *e = json_object_new_object();
        int r;

        if (!o || !e)
                return -ENOMEM;
        if (is_sse(x)) {
                json_object_object_add(e, "message", json_object_new_string(out->detail));
                json_object_object_add(e, "type", json_object_new_string("upstream_error"));
                json_object_object_add(
                        e, "code", json_object_new_string(llm_failure_to_string(out->failure)));
                json_object_object_add(o, "error", TAKE_PTR(e));
        } else {
                json_object_object_add(o, "error", json_object_new_string(out->detail));
                json_object_object_add(o, "done", json_object_new_boolean(true));
        }
        r = write_json_line(x, o, is_sse(x));
        if (r >= 0)
                r = http_reply_stream_end(x->req);
        return r;
}

static int reply_json(Reply *x, const LlmOutcome *out, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object();
        const char *text = x->text ?: "";

        if (!o)
                return -ENOMEM;
        (void) add_llm_headers(x->req, out->used, out->fallback, out->fallback_from);
        (void) add_hybrid_headers(x, out->used);
        switch (x->a->shape) {
        case SHAPE_SEED_COMPLETION:
        case SHAPE_SEED_CHAT:
                json_object_object_add(o, "text", json_object_new_string_len(text, (int) x->len));
                json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
                if (x->a->shape == SHAPE_SEED_CHAT) {
                        json_object *m = json_object_new_object();
                        json_object_object_add(m, "role", json_object_new_string("assistant"));
                        json_object_object_add(m, "content", json_object_new_string_len(text, (int) x->len));
                        json_object_object_add(o, "message", m);
                }
                add_seed_fields(o, x, out, reason);
                break;
        case SHAPE_OPENAI_CHAT:
        case SHAPE_OPENAI_TEXT: {
                json_object *choices = json_object_new_array(), *ch = json_object_new_object();

                json_object_object_add(o, "id", json_object_new_string(x->id));
                json_object_object_add(
                        o,
                        "object",
                        json_object_new_string(
                                x->a->shape == SHAPE_OPENAI_CHAT ? "chat.completion" : "text_completion"));
                json_object_object_add(o, "created", json_object_new_int64(x->created));
                json_object_object_add(o, "model", json_object_new_string(out->used->model->name));
                json_object_object_add(ch, "index", json_object_new_int(0));
                if (x->a->shape == SHAPE_OPENAI_CHAT) {
                        json_object *m = json_object_new_object();
                        json_object_object_add(m, "role", json_object_new_string("assistant"));
                        json_object_object_add(m, "content", json_object_new_string_len(text, (int) x->len));
                        json_object_object_add(m, "refusal", NULL);
                        json_object_object_add(ch, "message", m);
                } else
                        json_object_object_add(ch, "text", json_object_new_string_len(text, (int) x->len));
                json_object_object_add(ch, "logprobs", NULL);
                json_object_object_add(ch, "finish_reason", json_object_new_string(out->finish_reason));
                json_object_array_add(choices, ch);
                /* Mode both: the other answer is a second choice, as with OpenAI's n = 2. */
                for (size_t i = 0; x->h && x->h->mode == LLM_HYBRID_BOTH && i < 2; i++) {
                        const LlmHybridLeg *l = &x->h->legs[i];
                        json_object *c2;

                        if (l->out.used == out->used || l->r < 0 || !(c2 = json_object_new_object()))
                                continue;
                        json_object_object_add(c2, "index", json_object_new_int(1));
                        if (x->a->shape == SHAPE_OPENAI_CHAT) {
                                json_object *m = json_object_new_object();
                                json_object_object_add(m, "role", json_object_new_string("assistant"));
                                json_object_object_add(
                                        m,
                                        "content",
                                        json_object_new_string_len(l->text ?: "", (int) l->len));
                                json_object_object_add(m, "refusal", NULL);
                                json_object_object_add(c2, "message", m);
                        } else
                                json_object_object_add(
                                        c2, "text", json_object_new_string_len(l->text ?: "", (int) l->len));
                        json_object_object_add(c2, "logprobs", NULL);
                        json_object_object_add(
                                c2, "finish_reason", json_object_new_string(l->out.finish_reason));
                        json_object_array_add(choices, c2);
                }
                json_object_object_add(o, "choices", choices);
                json_object_object_add(o, "usage", usage_json(out));
                if (x->h) {
                        json_object_object_add(o, "selection_reason", json_object_new_string(reason));
                        json_object_object_add(o, "hybrid", hybrid_json(x->h, true));
                }
                break;
        }
        }
        return http_reply_json(x->req, 200, o);
}

static int reply_failure(HttpRequest *req, const LlmOutcome *out, const LlmRoute *route) {
        if (out->retry_after_ms > 0) {
                char v[32];
                snprintf(v, sizeof(v), "%" PRIu64, (out->retry_after_ms + 999) / 1000);
                (void) http_reply_add_header(req, "Retry-After", v);
        }
        if (out->status == 503 && out->failure == LLM_FAIL_NONE)
                return http_reply_error(req, 503, "%s", out->detail);
        return http_reply_error(
                req,
                out->status,
                "no backend produced an answer (%s); last error: %s",
                route->reason,
                out->detail[0] ? out->detail : "none");
}

/* ---- the one flow every generation endpoint follows ------------------------------- */

static int needed_tokens(const ApiRequest *a, bool trim) {
        int64_t t;

        if (!a->messages)
                t = llm_tokens_estimate_text(a->call.prompt, strlen(strempty(a->call.prompt)));
        else if (!trim)
                t = llm_tokens_estimate_messages(a->messages, a->n_messages);
        else {
                /* Trimming can drop all history but the system messages and the newest one. */
                t = llm_tokens_estimate_messages(&a->messages[a->n_messages - 1], 1);
                for (size_t i = 0; i + 1 < a->n_messages; i++)
                        if (streq(a->messages[i].role, "system"))
                                t += llm_tokens_estimate_messages(&a->messages[i], 1) - 3;
        }
        return (int) MIN(t + a->call.max_tokens, (int64_t) INT32_MAX);
}

/* Replies to a routing failure; field names what the client should change. */
static int reply_route_error(HttpRequest *req, int r, const LlmRoute *route, const char *field) {
        if (r == -EMEDIUMTYPE || (r == -ENOENT && !streq(field, "model"))) {
                _cleanup_json_ json_object *errs = NULL;
                json_errors_add(&errs, field, "%s", route->reason);
                return http_reply_validation(req, errs);
        }
        if (r == -ENOMEDIUM)
                return http_reply_error(
                        req,
                        503,
                        "%s: add a multimodal model (e.g. an Ollama llava) with \"vision\": true to "
                        "LLM_BACKENDS_FILE; see docs/llm.md",
                        route->reason);
        if (r == -ENOENT)
                return http_reply_error(
                        req, 404, "%s; GET /v1/models lists the configured models", route->reason);
        if (r == -E2BIG)
                return http_reply_error(req, 413, "the request does not fit: %s", route->reason);
        return http_reply_error(req, 503, "%s", llm_api_unconfigured_detail);
}

static int route_for(LlmApi *api, const ApiRequest *a, const char *model, bool trim, LlmRoute *ret) {
        return llm_router_route(
                &api->gateway.config,
                model,
                a->priority,
                a->task,
                needed_tokens(a, trim),
                a->n_images > 0,
                ret);
}

/* Neither leg answered: one status for both (theirs when they agree, else 502). */
static int reply_hybrid_failure(Reply *x) {
        const LlmHybridLeg *l0 = &x->h->legs[0], *l1 = &x->h->legs[1];
        int status = l0->out.status == l1->out.status ? l0->out.status : 502;
        uint64_t wait = MAX(l0->out.retry_after_ms, l1->out.retry_after_ms);

        if (status == 499)
                status = 502;
        if (wait > 0) {
                char v[32];
                snprintf(v, sizeof(v), "%" PRIu64, (wait + 999) / 1000);
                (void) http_reply_add_header(x->req, "Retry-After", v);
        }
        (void) add_hybrid_headers(x, NULL);
        return http_reply_error(
                x->req,
                status,
                "hybrid %s: neither backend produced an answer; %s; %s",
                llm_hybrid_mode_to_string(x->h->mode),
                l0->out.detail,
                l1->out.detail);
}

/* Both legs have run (or the winner has): the reply. p: the answering leg, or < 0. */
static int reply_hybrid(Reply *x, int p, const char *why) {
        _cleanup_free_ char *reason = NULL;
        LlmHybrid *h = x->h;
        LlmOutcome out;
        int r;

        if (p < 0) {
                const LlmHybridLeg *w = h->winner >= 0 ? &h->legs[h->winner] : NULL;

                if (w && w->out.failure == LLM_FAIL_CLIENT_GONE && !w->lost)
                        return 0; /* our client left */
                if (w && w->out.streamed && x->a->stream)
                        return fail_stream(x, &w->out) < 0 ? 0 : 0;
                return reply_hybrid_failure(x);
        }
        out = h->legs[p].out;
        if (h->mode == LLM_HYBRID_BOTH && h->legs[1 - p].r >= 0) {
                /* The request's usage is what both answers cost. */
                out.prompt_tokens += h->legs[1 - p].out.prompt_tokens;
                out.completion_tokens += h->legs[1 - p].out.completion_tokens;
                out.usage_estimated |= h->legs[1 - p].out.usage_estimated;
        }
        r = hybrid_reason(h, why, &reason);
        if (r < 0)
                return r;
        if (x->a->stream)
                return finish_stream(x, &out, reason);
        x->text = h->legs[p].text;
        x->len = h->legs[p].len;
        r = reply_json(x, &out, reason);
        x->text = NULL;
        return r;
}

/* hybrid: two backends at once (llm-hybrid.h). route: the request's route, or NULL when
 * hybrid.models names the two models. */
static int
serve_hybrid(HttpRequest *req, LlmApi *api, ApiRequest *a, const LlmRoute *route, bool trim, Reply *x) {
        LlmSink client = { .begin = sink_begin, .text = sink_text, .idle = sink_idle, .userdata = x };
        char why[LLM_REASON_MAX + 256];
        LlmCandidate legs[2];
        LlmHybrid h;
        int r, p;

        if (api->hybrid_policy == LLM_HYBRID_POLICY_OFF)
                return http_reply_error(
                        req,
                        403,
                        "hybrid mode is disabled on this gateway (LLM_HYBRID=off): it doubles the backend "
                        "calls; ask the operator to set LLM_HYBRID=on or local");
        if (!route) { /* hybrid.models names them */
                LlmRoute rt[2];

                for (size_t i = 0; i < 2; i++) {
                        char f[32];
                        snprintf(f, sizeof(f), "hybrid.models[%zu]", i);
                        r = route_for(api, a, a->hybrid_models[i], trim, &rt[i]);
                        if (r < 0)
                                return reply_route_error(req, r, &rt[i], f);
                }
                r = llm_hybrid_pick_models(&rt[0], a->hybrid_models[0], &rt[1], a->hybrid_models[1], legs);
                if (r < 0) {
                        _cleanup_json_ json_object *errs = NULL;
                        json_errors_add(
                                &errs,
                                "hybrid.models",
                                "\"%s\" and \"%s\" are served by the same backend only; hybrid needs two "
                                "different backends",
                                a->hybrid_models[0],
                                a->hybrid_models[1]);
                        return http_reply_validation(req, errs);
                }
                snprintf(
                        why,
                        sizeof(why),
                        "%s on %s and %s on %s, as named in hybrid.models",
                        legs[0].model->name,
                        legs[0].backend->name,
                        legs[1].model->name,
                        legs[1].backend->name);
        } else {
                r = llm_hybrid_pick_route(route, legs);
                if (r < 0) {
                        _cleanup_json_ json_object *errs = NULL;
                        json_errors_add(
                                &errs,
                                "hybrid",
                                "the route offers a single backend (%s); name two models on different "
                                "backends in hybrid.models",
                                route->reason);
                        return http_reply_validation(req, errs);
                }
                snprintf(
                        why,
                        sizeof(why),
                        "%s on %s and %s on %s, the top two backends of the route (%s)",
                        legs[0].model->name,
                        legs[0].backend->name,
                        legs[1].model->name,
                        legs[1].backend->name,
                        route->reason);
        }
        for (size_t i = 0; i < 2 && api->hybrid_policy == LLM_HYBRID_POLICY_LOCAL; i++)
                if (legs[i].model->cost > 0)
                        return http_reply_error(
                                req,
                                403,
                                "hybrid mode is limited to local models here (LLM_HYBRID=local): %s costs "
                                "%.2f USD/Mtok",
                                legs[i].model->name,
                                legs[i].model->cost);

        llm_hybrid_init(&h, &api->gateway, a->hybrid_mode, &a->call, trim, a->stream ? &client : NULL, legs);
        x->h = &h;
        p = llm_hybrid_run(&h);
        if (p == -EIO || p >= 0)
                r = reply_hybrid(x, p, why);
        else
                r = p;
        /* The reply is out: only now wait for the cancelled leg to wind down. */
        llm_hybrid_finish(&h);
        llm_hybrid_done(&h);
        x->h = NULL;
        return r == -EPIPE ? 0 : r;
}

static int serve(HttpRequest *req, LlmApi *api, ApiShape shape) {
        _cleanup_json_ json_object *body = NULL;
        _cleanup_(api_request_done) ApiRequest a = {};
        _cleanup_free_ char *reason = NULL;
        bool trim = shape == SHAPE_SEED_CHAT;
        LlmOutcome out;
        LlmRoute route;
        Reply x = { .req = req, .a = &a, .route = &route, .created = time(NULL) };
        LlmSink sink = { .begin = sink_begin, .text = sink_text, .idle = sink_idle, .userdata = &x };
        int r;

        r = http_request_parse_json(req, &body);
        if (r < 0)
                return 0;
        r = parse_request(req, api, body, shape, &a);
        if (r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        if (!llm_gateway_configured(&api->gateway))
                return http_reply_error(req, 503, "%s", llm_api_unconfigured_detail);

        snprintf(
                x.id,
                sizeof(x.id),
                "%s-%.40s",
                shape == SHAPE_OPENAI_CHAT ? "chatcmpl" : "cmpl",
                http_request_id(req));
        if (a.hybrid && a.hybrid_models[0])
                return serve_hybrid(req, api, &a, NULL, trim, &x);
        r = route_for(api, &a, a.model, trim, &route);
        if (r < 0)
                return reply_route_error(req, r, &route, "model");
        if (a.hybrid)
                return serve_hybrid(req, api, &a, &route, trim, &x);

        if (!a.stream)
                sink.reset = sink_reset;
        r = llm_gateway_run(&api->gateway, &route, &a.call, trim, &sink, &out);
        if (r == -ENOMEM) {
                free(x.text);
                return r;
        }
        if (r < 0) {
                free(x.text);
                if (out.failure == LLM_FAIL_CLIENT_GONE)
                        return 0; /* nobody to tell; the stream is abandoned */
                if (out.streamed && a.stream)
                        return fail_stream(&x, &out) < 0 ? 0 : 0;
                return reply_failure(req, &out, &route);
        }
        r = selection_reason(&route, &out, &reason);
        if (r >= 0)
                r = a.stream ? finish_stream(&x, &out, reason) : reply_json(&x, &out, reason);
        free(x.text);
        /* A client that left during the last chunks is no error of ours. */
        return r == -EPIPE ? 0 : r;
}

int llm_api_completion(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_SEED_COMPLETION);
}

int llm_api_chat(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_SEED_CHAT);
}

int llm_api_v1_chat_completions(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_OPENAI_CHAT);
}

int llm_api_v1_completions(HttpRequest *req, void *userdata) {
        return serve(req, userdata, SHAPE_OPENAI_TEXT);
}

int llm_api_v1_models(HttpRequest *req, void *userdata) {
        LlmApi *api = userdata;
        const LlmConfig *cfg = &api->gateway.config;
        _cleanup_json_ json_object *o = json_object_new_object(), *data = json_object_new_array();

        if (!o || !data)
                return -ENOMEM;
        if (cfg->n_backends > 0) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "id", json_object_new_string("auto"));
                json_object_object_add(m, "object", json_object_new_string("model"));
                json_object_object_add(m, "created", json_object_new_int64(0));
                json_object_object_add(m, "owned_by", json_object_new_string("ai-semble"));
                json_object_array_add(data, m);
        }
        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++) {
                        const LlmModel *model = &cfg->backends[i].models[j];
                        json_object *m;
                        bool seen = false;

                        /* A model served by several backends is listed once (the first). */
                        for (size_t k = 0; k < i && !seen; k++)
                                seen = llm_backend_find_model(&cfg->backends[k], model->name) != NULL;
                        if (seen)
                                continue;
                        m = json_object_new_object();
                        json_object_object_add(m, "id", json_object_new_string(model->name));
                        json_object_object_add(m, "object", json_object_new_string("model"));
                        json_object_object_add(m, "created", json_object_new_int64(0));
                        json_object_object_add(m, "owned_by", json_object_new_string(cfg->backends[i].name));
                        json_object_object_add(
                                m, "context_window", json_object_new_int64(model->context_window));
                        json_object_array_add(data, m);
                }
        json_object_object_add(o, "object", json_object_new_string("list"));
        json_object_object_add(o, "data", TAKE_PTR(data));
        return http_reply_json(req, 200, o);
}
