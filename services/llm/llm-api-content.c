/* SPDX-License-Identifier: MIT */
/* llm-api-content.c — the messages of the seed's and OpenAI's chat bodies: roles, content
 * as a string or text and image parts (images only as data: URLs, within
 * LLM_MAX_IMAGE_BYTES: the llm service never fetches what a client names), an assistant's
 * tool calls and the tool results that answer them; every error names its field. */
#include <inttypes.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

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

int llm_api_content_image(
        const char *media_type,
        const char *data,
        const char *field,
        json_object **errs,
        uint64_t *budget,
        LlmMessage *msg) {
        const char *media = NULL;
        int64_t n;
        LlmImage *imgs;

        for (size_t i = 0; image_media_types[i]; i++)
                if (streq_ptr(media_type, image_media_types[i]))
                        media = image_media_types[i];
        if (!media)
                return json_errors_add(
                               errs,
                               field,
                               "the type must be image/png, image/jpeg, image/webp or image/gif"),
                       -EINVAL;
        n = base64_decoded_len(data, strlen(data));
        if (n < 0)
                return json_errors_add(errs, field, "the data is not valid base64"), -EINVAL;
        if ((uint64_t) n > *budget)
                return -EFBIG;
        *budget -= (uint64_t) n;
        imgs = reallocarray(msg->images, msg->n_images + 1, sizeof(*imgs));
        if (!imgs)
                return -ENOMEM;
        msg->images = imgs;
        imgs[msg->n_images] = (LlmImage){ .media_type = strdup(media), .data = strdup(data) };
        msg->n_images++;
        if (!imgs[msg->n_images - 1].media_type || !imgs[msg->n_images - 1].data)
                return -ENOMEM;
        return 0;
}

/* One {"type":"image_url","image_url":{"url":"data:<type>;base64,<data>"}} part. */
static int
image_part(json_object *part, const char *field, json_object **errs, uint64_t *budget, LlmMessage *msg) {
        _cleanup_free_ char *media = NULL;
        json_object *u = llm_json_path(part, "image_url", "url", NULL);
        const char *url, *comma;
        char f[LLM_API_FIELD_MAX];

        snprintf(f, sizeof(f), "%.96s.image_url.url", field);
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
        comma = strchr(url, ',');
        if (!startswith(url, "data:") || !comma || comma - url < 12 || strncmp(comma - 7, ";base64", 7) != 0)
                return json_errors_add(
                               errs,
                               f,
                               "must be data:<type>;base64,<data> with type image/png, image/jpeg, "
                               "image/webp or image/gif"),
                       -EINVAL;
        media = strndup(url + 5, (size_t) (comma - 7 - (url + 5)));
        if (!media)
                return -ENOMEM;
        return llm_api_content_image(media, comma + 1, f, errs, budget, msg);
}

int llm_api_content_parse(
        json_object *c,
        const char *field,
        bool images,
        json_object **errs,
        uint64_t *budget,
        LlmMessage *msg) {
        LlmText s = {};
        int r;

        if (json_object_is_type(c, json_type_string) || json_object_is_type(c, json_type_null)) {
                msg->content = strdup(strempty(json_object_get_string(c)));
                return msg->content ? 0 : -ENOMEM;
        }
        if (!json_object_is_type(c, json_type_array))
                return json_errors_add(errs, field, "must be a string or an array of content parts"),
                       -EINVAL;
        for (size_t i = 0; i < json_object_array_length(c); i++) {
                json_object *part = json_object_array_get_idx(c, i);
                const char *type = json_object_get_string(llm_json_path(part, "type", NULL));
                json_object *x = llm_json_path(part, "text", NULL);
                char pf[LLM_API_FIELD_MAX];

                snprintf(pf, sizeof(pf), "%.96s[%zu]", field, i);
                if (images && streq_ptr(type, "image_url"))
                        r = image_part(part, pf, errs, budget, msg);
                else if (streq_ptr(type, "text") && json_object_is_type(x, json_type_string))
                        r = llm_text_append(
                                &s, json_object_get_string(x), (size_t) json_object_get_string_len(x), 0);
                else
                        r = json_errors_add(
                                errs,
                                pf,
                                images ? "only {\"type\":\"text\",\"text\":...} and "
                                         "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}} parts "
                                         "are supported"
                                       : "only {\"type\":\"text\",\"text\":...} parts are supported here"),
                        r = -EINVAL;
                if (r < 0) {
                        llm_text_done(&s);
                        return r;
                }
        }
        msg->content = s.p ?: strdup("");
        return msg->content ? 0 : -ENOMEM;
}

/* An assistant's tool_calls: [{id, type: "function", function: {name, arguments}}], the
 * arguments a JSON object as text. */
static int tool_calls(json_object *arr, const char *field, json_object **errs, LlmMessage *msg) {
        size_t n = json_object_array_length(arr);

        if (!json_object_is_type(arr, json_type_array) || n == 0 || n > LLM_TOOL_CALLS_MAX)
                return json_errors_add(
                               errs, field, "must be an array of 1 to %d tool calls", LLM_TOOL_CALLS_MAX),
                       -EINVAL;
        msg->tool_calls = calloc(n, sizeof(*msg->tool_calls));
        if (!msg->tool_calls)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                static const char *const known[] = { "id", "type", "function", NULL };
                json_object *c = json_object_array_get_idx(arr, i), *args;
                _cleanup_json_ json_object *parsed = NULL;
                const char *id = NULL, *name = NULL, *type = NULL;
                char f[LLM_API_FIELD_MAX];

                snprintf(f, sizeof(f), "%.96s[%zu]", field, i);
                if (llm_api_request_members(c, f, known, errs) < 0)
                        return -EINVAL;
                (void) json_get_string_bounded(c, "id", true, 1, 256, errs, &id);
                if (json_get_string(c, "type", false, errs, &type) > 0 && !streq(type, "function"))
                        json_errors_add(errs, f, "type must be \"function\"");
                name = json_object_get_string(llm_json_path(c, "function", "name", NULL));
                args = llm_json_path(c, "function", "arguments", NULL);
                snprintf(f, sizeof(f), "%.96s[%zu].function", field, i);
                if (isempty(name) || !json_object_is_type(args, json_type_string) ||
                    json_parse_strict(
                            json_object_get_string(args),
                            (size_t) json_object_get_string_len(args),
                            &parsed,
                            NULL) < 0 ||
                    !json_object_is_type(parsed, json_type_object))
                        return json_errors_add(
                                       errs,
                                       f,
                                       "must be {name, arguments} with the arguments a JSON object as text"),
                               -EINVAL;
                if (!id)
                        return -EINVAL;
                msg->tool_calls[i] = (LlmToolCall){ .id = strdup(id),
                                                    .name = strdup(name),
                                                    .arguments = strdup(json_object_get_string(args)) };
                msg->n_tool_calls = i + 1;
                if (!msg->tool_calls[i].id || !msg->tool_calls[i].name || !msg->tool_calls[i].arguments)
                        return -ENOMEM;
        }
        return 0;
}

/* One message of OpenAI's chat: role (developer is its newer name for system), content,
 * and an assistant's tool_calls or a tool result's tool_call_id. */
static int message(json_object *m, size_t i, ApiRequest *a, uint64_t *budget, json_object **errs) {
        static const char *const known[] = { "role", "content", "tool_calls",  "tool_call_id",
                                             "name", "refusal", "annotations", NULL };
        LlmMessage *msg = &a->messages[i];
        json_object *content = NULL, *calls = NULL, *v;
        const char *role = NULL, *id = NULL, *name = NULL;
        char f[LLM_API_FIELD_MAX];
        int r;

        snprintf(f, sizeof(f), "messages[%zu]", i);
        if (!json_object_is_type(m, json_type_object))
                return json_errors_add(errs, f, "must be an object"), -EINVAL;
        if (llm_api_request_members(m, f, known, errs) < 0)
                return -EINVAL;
        role = json_object_get_string(llm_json_path(m, "role", NULL));
        snprintf(f, sizeof(f), "messages[%zu].role", i);
        if (!json_object_is_type(llm_json_path(m, "role", NULL), json_type_string) ||
            !(streq(role, "system") || streq(role, "developer") || streq(role, "user") ||
              streq(role, "assistant") || streq(role, "tool")))
                return json_errors_add(errs, f, "must be one of system, user, assistant, tool"), -EINVAL;
        msg->role = strdup(streq(role, "developer") ? "system" : role);
        if (!msg->role)
                return -ENOMEM;
        /* What clients echo back from an answer: refusal null, annotations empty. */
        v = llm_json_path(m, "refusal", NULL);
        snprintf(f, sizeof(f), "messages[%zu].refusal", i);
        if (v && (!streq(role, "assistant") || !json_object_is_type(v, json_type_null)))
                return json_errors_add(errs, f, "is supported only as null on an assistant message"),
                       -EINVAL;
        v = llm_json_path(m, "annotations", NULL);
        snprintf(f, sizeof(f), "messages[%zu].annotations", i);
        if (v && (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 0))
                return json_errors_add(errs, f, "is supported only as an empty array"), -EINVAL;
        json_object_object_get_ex(m, "tool_calls", &calls);
        snprintf(f, sizeof(f), "messages[%zu].tool_calls", i);
        if (calls && !streq(role, "assistant"))
                return json_errors_add(errs, f, "is for assistant messages"), -EINVAL;
        if (calls && (r = tool_calls(calls, f, errs, msg)) < 0)
                return r;
        snprintf(f, sizeof(f), "messages[%zu].tool_call_id", i);
        if (streq(role, "tool")) {
                if (json_get_string_bounded(m, "tool_call_id", true, 1, 256, errs, &id) <= 0)
                        return -EINVAL;
                msg->tool_call_id = strdup(id);
                if (!msg->tool_call_id)
                        return -ENOMEM;
        } else if (json_object_object_get_ex(m, "tool_call_id", NULL))
                return json_errors_add(errs, f, "is for tool messages"), -EINVAL;
        snprintf(f, sizeof(f), "messages[%zu].name", i);
        if (json_object_object_get_ex(m, "name", NULL)) {
                /* The function's name on a tool result; a participant's name cannot be sent on. */
                if (!streq(role, "tool"))
                        return json_errors_add(errs, f, "is supported on tool messages only"), -EINVAL;
                if (json_get_string_bounded(m, "name", false, 1, 64, errs, &name) < 0)
                        return -EINVAL;
                msg->name = strdup(name);
                if (!msg->name)
                        return -ENOMEM;
        }
        json_object_object_get_ex(m, "content", &content);
        snprintf(f, sizeof(f), "messages[%zu].content", i);
        if (!content && !(streq(role, "assistant") && calls))
                return json_errors_add(errs, f, "is required"), -EINVAL;
        r = llm_api_content_parse(content, f, !streq(role, "tool"), errs, budget, msg);
        a->n_images += msg->n_images;
        return r;
}

int llm_api_content_messages(json_object *arr, ApiRequest *a, uint64_t max_image_bytes, json_object **errs) {
        size_t n = json_object_array_length(arr);
        uint64_t budget = max_image_bytes;
        int r;

        if (n == 0 || n > LLM_API_MAX_MESSAGES)
                return json_errors_add(errs, "messages", "must hold 1 to %d messages", LLM_API_MAX_MESSAGES),
                       -EINVAL;
        a->messages = calloc(n, sizeof(*a->messages));
        if (!a->messages)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                a->n_messages = i + 1;
                r = message(json_object_array_get_idx(arr, i), i, a, &budget, errs);
                if (r < 0)
                        return r;
        }
        return llm_api_content_link_tools(a, errs);
}

int llm_api_content_link_tools(ApiRequest *a, json_object **errs) {
        for (size_t i = 0; i < a->n_messages; i++) {
                LlmMessage *msg = &a->messages[i];
                const LlmToolCall *call = NULL;
                char f[LLM_API_FIELD_MAX];

                if (!msg->tool_call_id)
                        continue;
                for (size_t j = i; j > 0 && !call; j--)
                        for (size_t k = 0; k < a->messages[j - 1].n_tool_calls && !call; k++)
                                if (streq(a->messages[j - 1].tool_calls[k].id, msg->tool_call_id))
                                        call = &a->messages[j - 1].tool_calls[k];
                snprintf(f, sizeof(f), "messages[%zu].tool_call_id", i);
                if (!call)
                        return json_errors_add(
                                       errs, f, "answers no tool call of an earlier assistant message"),
                               -EINVAL;
                if (!msg->name) {
                        msg->name = strdup(call->name);
                        if (!msg->name)
                                return -ENOMEM;
                }
        }
        return 0;
}

void llm_api_content_done(ApiRequest *a) {
        for (size_t i = 0; i < a->n_messages; i++) {
                LlmMessage *m = &a->messages[i];

                free(m->role);
                free(m->content);
                for (size_t j = 0; j < m->n_images; j++) {
                        free(m->images[j].media_type);
                        free(m->images[j].data);
                }
                free(m->images);
                for (size_t j = 0; j < m->n_tool_calls; j++) {
                        free(m->tool_calls[j].id);
                        free(m->tool_calls[j].name);
                        free(m->tool_calls[j].arguments);
                }
                free(m->tool_calls);
                free(m->tool_call_id);
                free(m->name);
        }
        free(a->messages);
}
