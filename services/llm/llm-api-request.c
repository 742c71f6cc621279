/* SPDX-License-Identifier: MIT */
/* llm-api-request.c — validation of the seed's and OpenAI's generation bodies: the fields
 * each endpoint takes (any other is a 422 naming it: nothing a client sends is dropped
 * without a word), tools and tool_choice, response_format, the sampling fields, routing
 * hints and the hybrid extension; llm-api-content.c reads the messages. */
#include <inttypes.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

void llm_api_request_done(ApiRequest *a) {
        llm_api_content_done(a);
        free(a->tools);
        free(a->stop);
        free(a->inputs);
}

int llm_api_request_members(
        json_object *o, const char *prefix, const char *const *known, json_object **errs) {
        int r = 0;

        if (!json_object_is_type(o, json_type_object))
                return json_errors_add(errs, prefix, "must be an object"), -EINVAL;
        json_object_object_foreach(o, key, val) {
                bool ok = false;
                (void) val;

                for (size_t i = 0; known[i] && !ok; i++)
                        ok = streq(key, known[i]);
                if (!ok) {
                        char f[128];
                        snprintf(
                                f,
                                sizeof(f),
                                "%s%s%.64s",
                                strempty(prefix),
                                isempty(prefix) ? "" : ".",
                                key);
                        json_errors_add(errs, f, "is not supported by this gateway");
                        r = -EINVAL;
                }
        }
        return r;
}

int llm_api_request_start(
        HttpRequest *req,
        LlmApi *api,
        json_object *body,
        ApiShape shape,
        const char *const *known,
        ApiRequest *a,
        json_object **errs) {
        a->shape = shape;
        a->model = "auto";
        a->priority = api->default_priority;
        if (!json_object_is_type(body, json_type_object)) {
                json_errors_add(errs, "", "the body must be a JSON object");
                return http_reply_validation(req, *errs), -EINVAL;
        }
        if (known)
                (void) llm_api_request_members(body, "", known, errs);
        return 0;
}

void llm_api_request_hints(json_object *body, ApiRequest *a, json_object **errs) {
        const char *prio = NULL;
        int r;

        if (json_get_string(body, "priority", false, errs, &prio) > 0) {
                r = llm_priority_from_string(prio);
                if (r < 0)
                        json_errors_add(errs, "priority", "must be one of balanced, quality, speed, cost");
                else
                        a->priority = (LlmPriority) r;
        }
        (void) json_get_string_bounded(body, "task", false, 1, 64, errs, &a->task);
}

int llm_api_request_too_big(HttpRequest *req, LlmApi *api) {
        return http_reply_error(
                       req,
                       413,
                       "the images of this request exceed LLM_MAX_IMAGE_BYTES (%" PRIu64
                       " decoded bytes in all)",
                       api->config->max_image_bytes),
               -EINVAL;
}

int llm_api_request_end(HttpRequest *req, ApiRequest *a, json_object *errs) {
        if (errs)
                return http_reply_validation(req, errs), -EINVAL;
        if (a->messages) {
                a->call.messages = a->messages;
                a->call.n_messages = a->n_messages;
        }
        a->call.tools = a->tools;
        a->call.stop = a->stop;
        a->call.inputs = a->inputs;
        return 0;
}

/* A tool or schema name as OpenAI allows it: 1 to 64 of [A-Za-z0-9_-]. */
static bool valid_name(const char *s) {
        size_t n = strlen(s);

        return n >= 1 && n <= 64 &&
                strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static const char *json_text(json_object *o) {
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

int llm_api_request_tools(
        json_object *arr,
        ApiRequest *a,
        json_object **errs,
        int (*one)(json_object *t, const char *field, LlmTool *tool, json_object **errs)) {
        size_t n = json_object_array_length(arr);

        if (n == 0 || n > LLM_API_MAX_TOOLS)
                return json_errors_add(errs, "tools", "must hold 1 to %d tools", LLM_API_MAX_TOOLS), -EINVAL;
        a->tools = calloc(n, sizeof(*a->tools));
        if (!a->tools)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char field[LLM_API_FIELD_MAX];

                snprintf(field, sizeof(field), "tools[%zu]", i);
                (void) one(json_object_array_get_idx(arr, i), field, &a->tools[i], errs);
                if (a->tools[i].strict)
                        a->call.features |= LLM_FEATURE_STRICT_TOOLS;
        }
        a->call.n_tools = n;
        a->call.features |= LLM_FEATURE_TOOLS;
        return 0;
}

int llm_api_request_tool(
        json_object *o,
        const char *field,
        const char *schema_key,
        bool schema_required,
        LlmTool *tool,
        json_object **errs) {
        json_object *schema = NULL;

        if (json_get_string(o, "name", true, errs, &tool->name) > 0 && !valid_name(tool->name))
                json_errors_add(errs, field, "name must be 1 to 64 letters, digits, _ or -");
        (void) json_get_string(o, "description", false, errs, &tool->description);
        if (json_get_object(o, schema_key, schema_required, errs, &schema) > 0)
                tool->parameters = json_text(schema);
        return json_get_bool(o, "strict", false, errs, &tool->strict);
}

/* {type: "function", function: {name, description, parameters, strict}}. */
static int openai_tool(json_object *t, const char *field, LlmTool *tool, json_object **errs) {
        static const char *const known[] = { "type", "function", NULL };
        static const char *const known_f[] = { "name", "description", "parameters", "strict", NULL };
        json_object *f = NULL;
        const char *type = NULL;
        char ff[LLM_API_FIELD_MAX];

        if (llm_api_request_members(t, field, known, errs) < 0)
                return -EINVAL;
        if (json_get_string(t, "type", true, errs, &type) > 0 && !streq(type, "function"))
                json_errors_add(errs, field, "type must be \"function\"");
        if (json_get_object(t, "function", true, errs, &f) <= 0)
                return -EINVAL;
        snprintf(ff, sizeof(ff), "%.96s.function", field);
        if (llm_api_request_members(f, ff, known_f, errs) < 0)
                return -EINVAL;
        return llm_api_request_tool(f, ff, "parameters", false, tool, errs);
}

static bool has_tool(const ApiRequest *a, const char *name) {
        for (size_t i = 0; i < a->call.n_tools; i++)
                if (streq_ptr(a->tools[i].name, name))
                        return true;
        return false;
}

/* tool_choice: "none", "auto", "required" or {type: "function", function: {name}}, which
 * must name one of the tools; parallel_tool_calls: false asks for one call at most. */
static void parse_tool_choice(json_object *body, ApiRequest *a, json_object **errs) {
        json_object *tc = NULL;
        bool parallel = true;

        if (json_get_bool(body, "parallel_tool_calls", false, errs, &parallel) > 0 && !parallel && a->tools)
                a->call.features |= LLM_FEATURE_SERIAL_TOOLS;
        if (!json_object_object_get_ex(body, "tool_choice", &tc))
                return;
        if (!a->tools) {
                json_errors_add(errs, "tool_choice", "needs tools");
                return;
        }
        if (json_object_is_type(tc, json_type_string)) {
                const char *s = json_object_get_string(tc);
                if (streq(s, "auto"))
                        a->call.tool_choice = LLM_TOOL_CHOICE_AUTO;
                else if (streq(s, "none"))
                        a->call.tool_choice = LLM_TOOL_CHOICE_NONE;
                else if (streq(s, "required")) {
                        a->call.tool_choice = LLM_TOOL_CHOICE_REQUIRED;
                        a->call.features |= LLM_FEATURE_TOOL_REQUIRED;
                } else
                        json_errors_add(errs, "tool_choice", "must be none, auto, required or a function");
                return;
        }
        a->call.tool_choice_name = json_object_get_string(llm_json_path(tc, "function", "name", NULL));
        if (!json_object_is_type(tc, json_type_object) ||
            !streq_ptr(json_object_get_string(llm_json_path(tc, "type", NULL)), "function") ||
            !has_tool(a, a->call.tool_choice_name)) {
                json_errors_add(
                        errs,
                        "tool_choice",
                        "must be none, auto, required or {type: function, function: {name}} naming one of the tools");
                return;
        }
        a->call.tool_choice = LLM_TOOL_CHOICE_NAMED;
        a->call.features |= LLM_FEATURE_TOOL_NAMED;
}

/* response_format: {type: text}, {type: json_object} or {type: json_schema, json_schema:
 * {name, description, schema, strict}}. */
static void parse_response_format(json_object *rf, ApiRequest *a, json_object **errs) {
        static const char *const known[] = { "type", "json_schema", NULL };
        static const char *const known_s[] = { "name", "description", "schema", "strict", NULL };
        json_object *js = NULL, *schema = NULL;
        const char *type = NULL;

        if (llm_api_request_members(rf, "response_format", known, errs) < 0 ||
            json_get_string(rf, "type", true, errs, &type) <= 0)
                return;
        if (streq(type, "text"))
                return;
        if (streq(type, "json_object")) {
                a->call.output = LLM_OUTPUT_JSON_OBJECT;
                a->call.features |= LLM_FEATURE_JSON_OBJECT;
                return;
        }
        if (!streq(type, "json_schema")) {
                json_errors_add(errs, "response_format.type", "must be text, json_object or json_schema");
                return;
        }
        if (json_get_object(rf, "json_schema", true, errs, &js) <= 0 ||
            llm_api_request_members(js, "response_format.json_schema", known_s, errs) < 0)
                return;
        if (json_get_string(js, "name", true, errs, &a->call.output_name) > 0 &&
            !valid_name(a->call.output_name))
                json_errors_add(
                        errs, "response_format.json_schema.name", "must be 1 to 64 letters, digits, _ or -");
        (void) json_get_string(js, "description", false, errs, &a->call.output_description);
        if (json_get_object(js, "schema", true, errs, &schema) > 0)
                a->call.output_schema = json_text(schema);
        (void) json_get_bool(js, "strict", false, errs, &a->call.output_strict);
        a->call.output = LLM_OUTPUT_JSON_SCHEMA;
        a->call.features |= LLM_FEATURE_JSON_SCHEMA;
}

int llm_api_request_stop(json_object *v, const char *field, ApiRequest *a, json_object **errs) {
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;

        if (json_object_is_type(v, json_type_null))
                return 0;
        if (n == 0 || n > LLM_API_MAX_STOP ||
            !(json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_array)))
                return json_errors_add(
                               errs,
                               field,
                               "must be a string or an array of 1 to %d strings",
                               LLM_API_MAX_STOP),
                       -EINVAL;
        a->stop = calloc(n, sizeof(*a->stop));
        if (!a->stop)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *s =
                        json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i) : v;
                if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) == 0)
                        return json_errors_add(errs, field, "must hold non-empty strings"), -EINVAL;
                a->stop[i] = json_object_get_string(s);
        }
        a->call.n_stop = n;
        a->call.features |= LLM_FEATURE_STOP;
        return 0;
}

/* stop, seed, presence_penalty, frequency_penalty, user and n (1 only). */
static int parse_sampling(json_object *body, ApiRequest *a, json_object **errs) {
        json_object *stop = NULL;
        int64_t n = 1;
        int r;

        if (json_object_object_get_ex(body, "stop", &stop)) {
                r = llm_api_request_stop(stop, "stop", a, errs);
                if (r == -ENOMEM)
                        return r;
        }
        if (json_get_int(body, "seed", false, INT64_MIN, INT64_MAX, errs, &a->call.seed) > 0)
                a->call.features |= LLM_FEATURE_SEED;
        if (json_get_double(body, "presence_penalty", false, -2, 2, errs, &a->call.presence_penalty) > 0)
                a->call.features |= LLM_FEATURE_PRESENCE_PENALTY;
        if (json_get_double(body, "frequency_penalty", false, -2, 2, errs, &a->call.frequency_penalty) > 0)
                a->call.features |= LLM_FEATURE_FREQUENCY_PENALTY;
        if (json_get_string_bounded(body, "user", false, 1, 256, errs, &a->call.user) > 0)
                a->call.features |= LLM_FEATURE_USER;
        if (json_get_int(body, "n", false, 1, 128, errs, &n) > 0 && n != 1)
                json_errors_add(
                        errs,
                        "n",
                        "only 1 is supported: one answer per request (hybrid: {\"mode\": \"both\"} gives two "
                        "answers from two backends)");
        return 0;
}

/* The extension field hybrid: {"mode": "both"|"first", "models": ["a", "b"]} (models
 * optional). Strict: an unknown member is an error naming it. */
static void parse_hybrid(json_object *hy, ApiRequest *a, json_object **errs) {
        json_object *mode = NULL, *models = NULL;
        int m;

        json_object_object_foreach(hy, key, val) {
                (void) val;
                char f[LLM_API_FIELD_MAX];

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
                                char f[LLM_API_FIELD_MAX];

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

/* The fields each endpoint takes. */
typedef struct Field {
        const char *name;
        unsigned shapes; /* 1 << ApiShape */
} Field;

#define SEED ((1u << SHAPE_SEED_COMPLETION) | (1u << SHAPE_SEED_CHAT))
#define OPENAI ((1u << SHAPE_OPENAI_CHAT) | (1u << SHAPE_OPENAI_TEXT))
#define CHAT ((1u << SHAPE_SEED_CHAT) | (1u << SHAPE_OPENAI_CHAT))
#define PROMPT ((1u << SHAPE_SEED_COMPLETION) | (1u << SHAPE_OPENAI_TEXT))
#define ALL (SEED | OPENAI)

static const Field fields[] = {
        { "model", ALL },
        { "messages", CHAT },
        { "prompt", PROMPT },
        { "max_tokens", ALL },
        { "max_completion_tokens", ALL },
        { "temperature", ALL },
        { "top_p", ALL },
        { "stream", ALL },
        { "stream_options", ALL },
        { "stop", ALL },
        { "seed", ALL },
        { "presence_penalty", ALL },
        { "frequency_penalty", ALL },
        { "user", ALL },
        { "n", OPENAI },
        { "response_format", SEED | (1u << SHAPE_OPENAI_CHAT) },
        { "tools", CHAT },
        { "tool_choice", CHAT },
        { "parallel_tool_calls", CHAT },
        { "auto_select", SEED },
        { "priority", ALL },
        { "task", ALL },
        { "hybrid", ALL },
};

static void check_fields(json_object *body, ApiShape shape, json_object **errs) {
        json_object_object_foreach(body, key, val) {
                bool ok = false;
                (void) val;

                for (size_t i = 0; i < ELEMENTSOF(fields) && !ok; i++)
                        ok = streq(key, fields[i].name) && (fields[i].shapes & (1u << shape));
                if (!ok)
                        json_errors_add(errs, key, "is not supported by this endpoint");
        }
}

int llm_api_request_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiShape shape, ApiRequest *a) {
        _cleanup_json_ json_object *errs = NULL;
        json_object *messages = NULL, *so = NULL, *pv = NULL, *hy = NULL, *tools = NULL, *rf = NULL;
        int64_t max_tokens = api->config->default_max_tokens;
        int r;

        if (llm_api_request_start(req, api, body, shape, NULL, a, &errs) < 0)
                return -EINVAL;
        check_fields(body, shape, &errs);
        if (shape == SHAPE_SEED_CHAT || shape == SHAPE_OPENAI_CHAT) {
                if (json_get_array(body, "messages", true, &errs, &messages) > 0) {
                        r = llm_api_content_messages(messages, a, api->config->max_image_bytes, &errs);
                        if (r == -ENOMEM)
                                return r;
                        if (r == -EFBIG)
                                return llm_api_request_too_big(req, api);
                }
                if (json_get_array(body, "tools", false, &errs, &tools) > 0 &&
                    llm_api_request_tools(tools, a, &errs, openai_tool) == -ENOMEM)
                        return -ENOMEM;
                parse_tool_choice(body, a, &errs);
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
        if (json_get_object(body, "stream_options", false, &errs, &so) > 0 &&
            llm_api_request_members(
                    so, "stream_options", (const char *const[]){ "include_usage", NULL }, &errs) >= 0)
                (void) json_get_bool(so, "include_usage", false, &errs, &a->include_usage);
        if (json_get_object(body, "response_format", false, &errs, &rf) > 0)
                parse_response_format(rf, a, &errs);
        r = parse_sampling(body, a, &errs);
        if (r < 0)
                return r;
        llm_api_request_hints(body, a, &errs);
        if (json_get_object(body, "hybrid", false, &errs, &hy) > 0) {
                parse_hybrid(hy, a, &errs);
                if (a->tools)
                        json_errors_add(
                                &errs,
                                "hybrid",
                                "does not combine with tools: one answer's tool calls, not two");
        }
        if (shape == SHAPE_SEED_COMPLETION || shape == SHAPE_SEED_CHAT) {
                bool auto_select = true;
                /* The seed's auto_select=false means "use the model I named, no routing". */
                if (json_get_bool(body, "auto_select", false, &errs, &auto_select) > 0 && !auto_select &&
                    streq(a->model, "auto"))
                        json_errors_add(&errs, "model", "auto_select=false needs an explicit model");
        }
        return llm_api_request_end(req, a, errs);
}
