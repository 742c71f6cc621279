/* SPDX-License-Identifier: MIT */
/* llm-api-messages.c — validation of Anthropic's POST /v1/messages bodies into the
 * request every backend kind is built from: system (a string or text blocks), messages of
 * text, image (base64), tool_use and tool_result blocks, tools with input_schema,
 * tool_choice (auto, any, tool, none; disable_parallel_tool_use), stop_sequences, top_k,
 * metadata.user_id and output_config.format (a JSON schema). A tool_result becomes a tool
 * message before the text of its user message, as the results must follow the calls. */
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

static LlmMessage *next_message(ApiRequest *a, const char *role) {
        LlmMessage *m = &a->messages[a->n_messages];

        m->role = strdup(role);
        if (!m->role)
                return NULL;
        a->n_messages++;
        return m;
}

static int text_of(json_object *content, const char *field, json_object **errs, LlmMessage *m) {
        static const char *const known[] = { "type", "text", NULL };

        for (size_t i = 0;
             json_object_is_type(content, json_type_array) && i < json_object_array_length(content);
             i++) {
                char f[LLM_API_FIELD_MAX];

                snprintf(f, sizeof(f), "%.96s[%zu]", field, i);
                if (llm_api_request_members(json_object_array_get_idx(content, i), f, known, errs) < 0)
                        return -EINVAL;
        }
        return llm_api_content_parse(content, field, false, errs, NULL, m);
}

/* A tool_result block as a tool message: tool_use_id, content (a string or text blocks),
 * is_error. */
static int tool_result(json_object *b, const char *field, ApiRequest *a, json_object **errs) {
        static const char *const known[] = { "type", "tool_use_id", "content", "is_error", NULL };
        json_object *content = NULL;
        const char *id = NULL;
        char f[LLM_API_FIELD_MAX];
        LlmMessage *m;

        if (llm_api_request_members(b, field, known, errs) < 0 ||
            json_get_string_bounded(b, "tool_use_id", true, 1, 256, errs, &id) <= 0)
                return -EINVAL;
        m = next_message(a, "tool");
        if (!m || !(m->tool_call_id = strdup(id)))
                return -ENOMEM;
        (void) json_get_bool(b, "is_error", false, errs, &m->tool_error);
        if (m->tool_error)
                a->call.features |= LLM_FEATURE_TOOL_ERROR;
        json_object_object_get_ex(b, "content", &content);
        snprintf(f, sizeof(f), "%.96s.content", field);
        return text_of(content, f, errs, m);
}

/* An image block: {type: "image", source: {type: "base64", media_type, data}}. */
static int image(json_object *b, const char *field, uint64_t *budget, LlmMessage *m, json_object **errs) {
        json_object *src = llm_json_path(b, "source", NULL);
        const char *type = json_object_get_string(llm_json_path(src, "type", NULL));
        const char *media = json_object_get_string(llm_json_path(src, "media_type", NULL));
        const char *data = json_object_get_string(llm_json_path(src, "data", NULL));
        char f[LLM_API_FIELD_MAX];

        snprintf(f, sizeof(f), "%.96s.source", field);
        if (!streq_ptr(type, "base64") || !media || !data)
                return json_errors_add(
                               errs,
                               f,
                               "must be {type: \"base64\", media_type, data}: the llm service never fetches "
                               "what a client names"),
                       -EINVAL;
        return llm_api_content_image(media, data, f, errs, budget, m);
}

/* A tool_use block as a call of the assistant message. */
static int tool_use(json_object *b, const char *field, LlmMessage *m, json_object **errs) {
        static const char *const known[] = { "type", "id", "name", "input", NULL };
        const char *id = NULL, *name = NULL;
        json_object *input = NULL;
        LlmToolCall *calls;

        if (llm_api_request_members(b, field, known, errs) < 0)
                return -EINVAL;
        (void) json_get_string_bounded(b, "id", true, 1, 256, errs, &id);
        (void) json_get_string_bounded(b, "name", true, 1, 64, errs, &name);
        if (json_get_object(b, "input", true, errs, &input) <= 0 || !id || !name)
                return -EINVAL;
        if (m->n_tool_calls >= LLM_TOOL_CALLS_MAX)
                return json_errors_add(errs, field, "more than %d tool calls", LLM_TOOL_CALLS_MAX), -EINVAL;
        calls = reallocarray(m->tool_calls, m->n_tool_calls + 1, sizeof(*calls));
        if (!calls)
                return -ENOMEM;
        m->tool_calls = calls;
        calls[m->n_tool_calls] = (LlmToolCall){
                .id = strdup(id),
                .name = strdup(name),
                .arguments = strdup(json_object_to_json_string_ext(
                        input, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)),
        };
        m->n_tool_calls++;
        if (!calls[m->n_tool_calls - 1].id || !calls[m->n_tool_calls - 1].name ||
            !calls[m->n_tool_calls - 1].arguments)
                return -ENOMEM;
        return 0;
}

/* One message: a user's tool results first (one tool message each), then its text and
 * images as one user message; an assistant's text and tool calls as one message. */
static int message(json_object *msg, size_t i, ApiRequest *a, uint64_t *budget, json_object **errs) {
        static const char *const known[] = { "role", "content", NULL };
        static const char *const known_text[] = { "type", "text", NULL };
        json_object *content = NULL;
        const char *role = NULL;
        LlmText text = {};
        LlmMessage *m = NULL;
        char f[LLM_API_FIELD_MAX];
        int r = 0;

        snprintf(f, sizeof(f), "messages[%zu]", i);
        if (llm_api_request_members(msg, f, known, errs) < 0)
                return -EINVAL;
        snprintf(f, sizeof(f), "messages[%zu].role", i);
        if (json_get_string(msg, "role", true, errs, &role) <= 0 ||
            !(streq(role, "user") || streq(role, "assistant")))
                return json_errors_add(errs, f, "must be user or assistant"), -EINVAL;
        snprintf(f, sizeof(f), "messages[%zu].content", i);
        if (!json_object_object_get_ex(msg, "content", &content))
                return json_errors_add(errs, f, "is required"), -EINVAL;
        if (json_object_is_type(content, json_type_string)) {
                m = next_message(a, role);
                return !m ? -ENOMEM : (m->content = strdup(json_object_get_string(content))) ? 0 : -ENOMEM;
        }
        if (!json_object_is_type(content, json_type_array))
                return json_errors_add(errs, f, "must be a string or an array of content blocks"), -EINVAL;
        for (size_t j = 0; j < json_object_array_length(content) && r >= 0; j++) {
                json_object *b = json_object_array_get_idx(content, j);
                const char *type = json_object_get_string(llm_json_path(b, "type", NULL));
                bool user = streq(role, "user");
                char bf[LLM_API_FIELD_MAX];

                snprintf(bf, sizeof(bf), "messages[%zu].content[%zu]", i, j);
                if (user && streq_ptr(type, "tool_result")) {
                        r = m ? json_errors_add(
                                        errs, bf, "tool_result blocks must come first in the message"),
                        -EINVAL : tool_result(b, bf, a, errs);
                        continue;
                }
                if (!m && !(m = next_message(a, role))) {
                        r = -ENOMEM;
                        break;
                }
                if (streq_ptr(type, "text") &&
                    json_object_is_type(llm_json_path(b, "text", NULL), json_type_string))
                        r = llm_api_request_members(b, bf, known_text, errs) < 0
                                ? -EINVAL
                                : llm_text_append(
                                          &text,
                                          json_object_get_string(llm_json_path(b, "text", NULL)),
                                          (size_t) json_object_get_string_len(
                                                  llm_json_path(b, "text", NULL)),
                                          0);
                else if (user && streq_ptr(type, "image"))
                        r = image(b, bf, budget, m, errs);
                else if (!user && streq_ptr(type, "tool_use"))
                        r = tool_use(b, bf, m, errs);
                else
                        r = json_errors_add(
                                errs,
                                bf,
                                user ? "only text, image (base64) and tool_result blocks are supported"
                                     : "only text and tool_use blocks are supported"),
                        r = -EINVAL;
        }
        if (m && r >= 0) {
                m->content = text.p ?: strdup("");
                text = (LlmText){};
                if (!m->content)
                        r = -ENOMEM;
                a->n_images += m->n_images;
        }
        llm_text_done(&text);
        return r;
}

/* The system prompt and the messages, into a->messages. */
static int parse_messages(json_object *body, ApiRequest *a, uint64_t max_image_bytes, json_object **errs) {
        json_object *arr = NULL, *system = NULL;
        uint64_t budget = max_image_bytes;
        size_t n, slots;
        int r;

        if (json_get_array(body, "messages", true, errs, &arr) <= 0)
                return -EINVAL;
        n = json_object_array_length(arr);
        if (n == 0 || n > LLM_API_MAX_MESSAGES)
                return json_errors_add(errs, "messages", "must hold 1 to %d messages", LLM_API_MAX_MESSAGES),
                       -EINVAL;
        /* Each block may become a message of its own, and the system prompt one more. */
        slots = 1;
        for (size_t i = 0; i < n; i++) {
                json_object *c = llm_json_path(json_object_array_get_idx(arr, i), "content", NULL);
                slots += 1 + (json_object_is_type(c, json_type_array) ? json_object_array_length(c) : 0);
        }
        a->messages = calloc(slots, sizeof(*a->messages));
        if (!a->messages)
                return -ENOMEM;
        if (json_object_object_get_ex(body, "system", &system)) {
                LlmMessage *m = next_message(a, "system");
                if (!m)
                        return -ENOMEM;
                r = text_of(system, "system", errs, m);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++) {
                r = message(json_object_array_get_idx(arr, i), i, a, &budget, errs);
                if (r < 0)
                        return r;
        }
        return llm_api_content_link_tools(a, errs);
}

/* A tool: {name, description, input_schema, strict}, client tools only. */
static int anthropic_tool(json_object *t, const char *field, LlmTool *tool, json_object **errs) {
        static const char *const known[] = { "type", "name", "description", "input_schema", "strict", NULL };
        const char *type = NULL;

        if (llm_api_request_members(t, field, known, errs) < 0)
                return -EINVAL;
        if (json_get_string(t, "type", false, errs, &type) > 0 && !streq(type, "custom"))
                json_errors_add(
                        errs, field, "only client tools (type custom) are supported, not server tools");
        return llm_api_request_tool(t, field, "input_schema", true, tool, errs);
}

/* tool_choice: {type: auto | any | tool | none, name, disable_parallel_tool_use}. */
static void parse_tool_choice(json_object *tc, ApiRequest *a, json_object **errs) {
        static const char *const known[] = { "type", "name", "disable_parallel_tool_use", NULL };
        const char *type = NULL;
        bool serial = false;

        if (llm_api_request_members(tc, "tool_choice", known, errs) < 0 ||
            json_get_string(tc, "type", true, errs, &type) <= 0)
                return;
        if (!a->tools) {
                json_errors_add(errs, "tool_choice", "needs tools");
                return;
        }
        if (json_get_bool(tc, "disable_parallel_tool_use", false, errs, &serial) > 0 && serial)
                a->call.features |= LLM_FEATURE_SERIAL_TOOLS;
        if (streq(type, "auto"))
                return;
        if (streq(type, "none"))
                a->call.tool_choice = LLM_TOOL_CHOICE_NONE;
        else if (streq(type, "any")) {
                a->call.tool_choice = LLM_TOOL_CHOICE_REQUIRED;
                a->call.features |= LLM_FEATURE_TOOL_REQUIRED;
        } else if (
                streq(type, "tool") &&
                json_get_string(tc, "name", true, errs, &a->call.tool_choice_name) > 0) {
                a->call.tool_choice = LLM_TOOL_CHOICE_NAMED;
                a->call.features |= LLM_FEATURE_TOOL_NAMED;
                for (size_t i = 0; i < a->call.n_tools; i++)
                        if (streq_ptr(a->tools[i].name, a->call.tool_choice_name))
                                return;
                json_errors_add(errs, "tool_choice.name", "must name one of the tools");
        } else
                json_errors_add(errs, "tool_choice.type", "must be auto, any, tool or none");
}

/* output_config: {format: {type: "json_schema", schema}}. */
static void parse_output(json_object *oc, ApiRequest *a, json_object **errs) {
        static const char *const known[] = { "format", NULL };
        static const char *const known_f[] = { "type", "schema", NULL };
        json_object *f = NULL, *schema = NULL;
        const char *type = NULL;

        if (llm_api_request_members(oc, "output_config", known, errs) < 0 ||
            json_get_object(oc, "format", false, errs, &f) <= 0 ||
            llm_api_request_members(f, "output_config.format", known_f, errs) < 0)
                return;
        if (json_get_string(f, "type", true, errs, &type) > 0 && !streq(type, "json_schema"))
                json_errors_add(errs, "output_config.format.type", "must be json_schema");
        if (json_get_object(f, "schema", true, errs, &schema) <= 0)
                return;
        a->call.output = LLM_OUTPUT_JSON_SCHEMA;
        a->call.output_name = "response";
        a->call.output_schema = json_object_to_json_string_ext(
                schema, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        a->call.output_strict = true;
        a->call.features |= LLM_FEATURE_JSON_SCHEMA;
}

int llm_api_messages_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiRequest *a) {
        static const char *const known[] = {
                "model",         "messages",       "max_tokens", "system", "temperature", "top_p",
                "top_k",         "stop_sequences", "stream",     "tools",  "tool_choice", "metadata",
                "output_config", "priority",       "task",       NULL,
        };
        _cleanup_json_ json_object *errs = NULL;
        json_object *v = NULL;
        int r;

        if (llm_api_request_start(req, api, body, SHAPE_MESSAGES, known, a, &errs) < 0)
                return -EINVAL;
        (void) json_get_string_bounded(body, "model", true, 1, 200, &errs, &a->model);
        (void) json_get_int(body, "max_tokens", true, 1, 10000000, &errs, &a->call.max_tokens);
        r = parse_messages(body, a, api->config->max_image_bytes, &errs);
        if (r == -ENOMEM)
                return r;
        if (r == -EFBIG)
                return llm_api_request_too_big(req, api);
        a->call.has_temperature =
                json_get_double(body, "temperature", false, 0, 1, &errs, &a->call.temperature) > 0;
        a->call.has_top_p = json_get_double(body, "top_p", false, 0, 1, &errs, &a->call.top_p) > 0;
        if (json_get_int(body, "top_k", false, 0, 100000, &errs, &a->call.top_k) > 0)
                a->call.features |= LLM_FEATURE_TOP_K;
        if (json_object_object_get_ex(body, "stop_sequences", &v) &&
            llm_api_request_stop(v, "stop_sequences", a, &errs) == -ENOMEM)
                return -ENOMEM;
        (void) json_get_bool(body, "stream", false, &errs, &a->stream);
        if (json_get_array(body, "tools", false, &errs, &v) > 0 &&
            llm_api_request_tools(v, a, &errs, anthropic_tool) == -ENOMEM)
                return -ENOMEM;
        if (json_get_object(body, "tool_choice", false, &errs, &v) > 0)
                parse_tool_choice(v, a, &errs);
        if (json_get_object(body, "metadata", false, &errs, &v) > 0 &&
            llm_api_request_members(v, "metadata", (const char *const[]){ "user_id", NULL }, &errs) >= 0 &&
            json_get_string_bounded(v, "user_id", false, 1, 256, &errs, &a->call.user) > 0)
                a->call.features |= LLM_FEATURE_USER;
        if (json_get_object(body, "output_config", false, &errs, &v) > 0)
                parse_output(v, a, &errs);
        llm_api_request_hints(body, a, &errs);
        return llm_api_request_end(req, a, errs);
}
