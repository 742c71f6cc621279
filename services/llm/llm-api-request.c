/* SPDX-License-Identifier: MIT */
/* llm-api-request.c — validation of the generation endpoints' bodies: messages and their
 * content parts (images only as data: URLs, within LLM_MAX_IMAGE_BYTES), the sampling
 * fields, routing hints and the hybrid extension; every error names its field. */
#include <inttypes.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

void llm_api_request_done(ApiRequest *a) {
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

/* Bytes that base64 text of len decodes to, or -EBADMSG when it is not strict RFC 4648
 * base64 (no whitespace, padding only at the end). */
static int64_t base64_decoded_len(const char *s, size_t len) {
        size_t pad = 0;

        if (len == 0 || len % 4 != 0)
                return -EBADMSG;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (c == '=') {
                        if (i < len - 2)
                                return -EBADMSG;
                        pad++;
                } else if (
                        pad > 0 ||
                        !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '+' || c == '/'))
                        return -EBADMSG;
        }
        return (int64_t) (len / 4 * 3 - pad);
}

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
        n = base64_decoded_len(comma + 1, strlen(comma + 1));
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

        if (n == 0 || n > LLM_API_MAX_MESSAGES)
                return json_errors_add(errs, "messages", "must hold 1 to %d messages", LLM_API_MAX_MESSAGES),
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

int llm_api_request_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiShape shape, ApiRequest *a) {
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
                (void) json_get_string_bounded(
                        body, "prompt", true, 1, LLM_API_MAX_TEXT, &errs, &a->call.prompt);
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
