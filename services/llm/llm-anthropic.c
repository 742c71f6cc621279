/* SPDX-License-Identifier: MIT */
/* llm-anthropic.c — Anthropic's Messages API: POST {base_url}/v1/messages with x-api-key
 * and anthropic-version, system messages in the top-level "system", tool calls as
 * tool_use blocks and their results as tool_result blocks of a user message, structured
 * output as output_config.format; SSE events message_start (input tokens),
 * content_block_start (a text or tool_use block), content_block_delta (text_delta,
 * input_json_delta), content_block_stop, message_delta (stop_reason, output tokens),
 * message_stop, ping and error. No seed, penalties or JSON without a schema. */
#include "json-util.h"
#include "llm-kinds.h"

/* An image as {"type":"image","source":{"type":"base64","media_type":...,"data":...}}. */
static json_object *image_block(const LlmImage *img) {
        json_object *p = json_object_new_object(), *src = json_object_new_object();

        if (!p || !src) {
                json_object_put(p);
                json_object_put(src);
                return NULL;
        }
        json_object_object_add(src, "type", json_object_new_string("base64"));
        json_object_object_add(src, "media_type", json_object_new_string(img->media_type));
        json_object_object_add(src, "data", json_object_new_string(img->data));
        json_object_object_add(p, "type", json_object_new_string("image"));
        json_object_object_add(p, "source", src);
        return p;
}

/* A user message: its images, then its text, as Anthropic's documentation recommends;
 * into blocks when it joins the tool results just before it. */
static int user_message(json_object *m, json_object *blocks, const LlmMessage *msg) {
        json_object *t;

        if (!blocks) {
                if (msg->n_images > 0)
                        return llm_provider_content_parts(m, msg, false, image_block);
                json_object_object_add(m, "content", json_object_new_string(msg->content));
                return 0;
        }
        for (size_t i = 0; i < msg->n_images; i++) {
                json_object *b = image_block(&msg->images[i]);
                if (!b || json_object_array_add(blocks, b) < 0) {
                        json_object_put(b);
                        return -ENOMEM;
                }
        }
        if (isempty(msg->content))
                return 0;
        t = llm_provider_append_object(blocks);
        if (!t)
                return -ENOMEM;
        json_object_object_add(t, "type", json_object_new_string("text"));
        json_object_object_add(t, "text", json_object_new_string(msg->content));
        return 0;
}

/* An assistant message with tool calls: its text (when any), then a tool_use block per
 * call with the arguments as the input object. */
static int assistant_blocks(json_object *m, const LlmMessage *msg) {
        json_object *blocks = json_object_new_array(), *b;

        if (!blocks)
                return -ENOMEM;
        json_object_object_add(m, "content", blocks);
        if (!isempty(msg->content)) {
                b = llm_provider_append_object(blocks);
                if (!b)
                        return -ENOMEM;
                json_object_object_add(b, "type", json_object_new_string("text"));
                json_object_object_add(b, "text", json_object_new_string(msg->content));
        }
        for (size_t i = 0; i < msg->n_tool_calls; i++) {
                b = llm_provider_append_object(blocks);
                if (!b)
                        return -ENOMEM;
                json_object_object_add(b, "type", json_object_new_string("tool_use"));
                json_object_object_add(b, "id", json_object_new_string(msg->tool_calls[i].id));
                json_object_object_add(b, "name", json_object_new_string(msg->tool_calls[i].name));
                json_object_object_add(b, "input", llm_provider_raw_json(msg->tool_calls[i].arguments));
        }
        return 0;
}

static int tool_result(json_object *blocks, const LlmMessage *msg) {
        json_object *b = llm_provider_append_object(blocks);

        if (!b)
                return -ENOMEM;
        json_object_object_add(b, "type", json_object_new_string("tool_result"));
        json_object_object_add(b, "tool_use_id", json_object_new_string(msg->tool_call_id));
        json_object_object_add(b, "content", json_object_new_string(msg->content));
        if (msg->tool_error)
                json_object_object_add(b, "is_error", json_object_new_boolean(true));
        return 0;
}

/* The messages without the system ones, which join into *ret_system. Consecutive tool
 * results are the blocks of one user message, which a user message right after joins:
 * the results must come first in the message that follows the calls. */
static int messages_json(const LlmCallRequest *req, json_object **ret, char **ret_system) {
        _cleanup_json_ json_object *arr = json_object_new_array();
        _cleanup_free_ char *system = NULL;
        json_object *results = NULL; /* the open message's tool_result blocks */
        int r = 0;

        if (!arr)
                return -ENOMEM;
        if (!req->messages) {
                json_object *m = llm_provider_append_object(arr);
                if (!m)
                        return -ENOMEM;
                json_object_object_add(m, "role", json_object_new_string("user"));
                json_object_object_add(m, "content", json_object_new_string(strempty(req->prompt)));
        }
        for (size_t i = 0; req->messages && i < req->n_messages && r >= 0; i++) {
                const LlmMessage *msg = &req->messages[i];
                json_object *m;

                if (streq(msg->role, "system")) {
                        char *s;
                        if (asprintf(&s, "%s%s%s", strempty(system), system ? "\n\n" : "", msg->content) < 0)
                                return -ENOMEM;
                        free(system);
                        system = s;
                        continue;
                }
                if (streq(msg->role, "tool") && results) {
                        r = tool_result(results, msg);
                        continue;
                }
                if (streq(msg->role, "user") && results) {
                        r = user_message(NULL, results, msg);
                        results = NULL;
                        continue;
                }
                m = llm_provider_append_object(arr);
                if (!m)
                        return -ENOMEM;
                results = NULL;
                if (streq(msg->role, "tool")) {
                        results = json_object_new_array();
                        if (!results)
                                return -ENOMEM;
                        json_object_object_add(m, "role", json_object_new_string("user"));
                        json_object_object_add(m, "content", results);
                        r = tool_result(results, msg);
                } else if (streq(msg->role, "user")) {
                        json_object_object_add(m, "role", json_object_new_string("user"));
                        r = user_message(m, NULL, msg);
                } else {
                        json_object_object_add(m, "role", json_object_new_string("assistant"));
                        if (msg->n_tool_calls > 0)
                                r = assistant_blocks(m, msg);
                        else
                                json_object_object_add(m, "content", json_object_new_string(msg->content));
                }
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(arr);
        *ret_system = TAKE_PTR(system);
        return 0;
}

/* [{name, description, input_schema, strict}]: Anthropic needs a schema, so a tool
 * without parameters takes no input. */
static int tools_json(const LlmCallRequest *req, json_object **ret) {
        _cleanup_json_ json_object *arr = json_object_new_array_ext((int) req->n_tools);

        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < req->n_tools; i++) {
                const LlmTool *t = &req->tools[i];
                json_object *o = llm_provider_append_object(arr);

                if (!o)
                        return -ENOMEM;
                json_object_object_add(o, "name", json_object_new_string(t->name));
                if (t->description)
                        json_object_object_add(o, "description", json_object_new_string(t->description));
                json_object_object_add(
                        o,
                        "input_schema",
                        llm_provider_raw_json(t->parameters ?: "{\"type\":\"object\",\"properties\":{}}"));
                if (t->strict)
                        json_object_object_add(o, "strict", json_object_new_boolean(true));
        }
        *ret = TAKE_PTR(arr);
        return 0;
}

/* auto, none, any (required) or a named tool; disable_parallel_tool_use for one call. */
static json_object *tool_choice_json(const LlmCallRequest *req) {
        static const char *const types[] = {
                [LLM_TOOL_CHOICE_AUTO] = "auto",
                [LLM_TOOL_CHOICE_NONE] = "none",
                [LLM_TOOL_CHOICE_REQUIRED] = "any",
                [LLM_TOOL_CHOICE_NAMED] = "tool",
        };
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "type", json_object_new_string(types[req->tool_choice]));
        if (req->tool_choice == LLM_TOOL_CHOICE_NAMED)
                json_object_object_add(o, "name", json_object_new_string(req->tool_choice_name));
        if (req->tool_choice != LLM_TOOL_CHOICE_NONE && (req->features & LLM_FEATURE_SERIAL_TOOLS))
                json_object_object_add(o, "disable_parallel_tool_use", json_object_new_boolean(true));
        return o;
}

static int add_options(json_object *body, const LlmCallRequest *req) {
        if (req->n_tools > 0) {
                json_object *tools = NULL;
                int r = tools_json(req, &tools);
                if (r < 0)
                        return r;
                json_object_object_add(body, "tools", tools);
                if (req->tool_choice != LLM_TOOL_CHOICE_AUTO || (req->features & LLM_FEATURE_SERIAL_TOOLS))
                        json_object_object_add(body, "tool_choice", tool_choice_json(req));
        }
        if (req->output == LLM_OUTPUT_JSON_SCHEMA) {
                json_object *oc = json_object_new_object(), *f = json_object_new_object();
                if (!oc || !f) {
                        json_object_put(oc);
                        json_object_put(f);
                        return -ENOMEM;
                }
                json_object_object_add(f, "type", json_object_new_string("json_schema"));
                json_object_object_add(f, "schema", llm_provider_raw_json(req->output_schema));
                json_object_object_add(oc, "format", f);
                json_object_object_add(body, "output_config", oc);
        }
        if (req->features & LLM_FEATURE_STOP)
                json_object_object_add(
                        body, "stop_sequences", llm_provider_string_array(req->stop, req->n_stop));
        if (req->features & LLM_FEATURE_TOP_K)
                json_object_object_add(body, "top_k", json_object_new_int64(req->top_k));
        if (req->features & LLM_FEATURE_USER) {
                json_object *md = json_object_new_object();
                if (!md)
                        return -ENOMEM;
                json_object_object_add(md, "user_id", json_object_new_string(req->user));
                json_object_object_add(body, "metadata", md);
        }
        return 0;
}

static int build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret) {
        _cleanup_json_ json_object *body = json_object_new_object();
        _cleanup_free_ char *system = NULL;
        json_object *messages = NULL;
        int r;

        if (!body)
                return -ENOMEM;
        r = messages_json(req, &messages, &system);
        if (r < 0)
                return r;
        json_object_object_add(body, "model", json_object_new_string(m->upstream));
        json_object_object_add(body, "messages", messages);
        if (system)
                json_object_object_add(body, "system", json_object_new_string(system));
        json_object_object_add(body, "max_tokens", json_object_new_int64(req->max_tokens));
        json_object_object_add(body, "stream", json_object_new_boolean(true));
        if (req->has_temperature) /* Anthropic's range is 0..1 */
                json_object_object_add(
                        body, "temperature", json_object_new_double(MIN(req->temperature, 1.0)));
        if (req->has_top_p)
                json_object_object_add(body, "top_p", json_object_new_double(req->top_p));
        r = add_options(body, req);
        if (r >= 0)
                r = llm_provider_finish(ret, b, "/v1/messages", body);
        if (r >= 0)
                r = llm_provider_add_header(ret, "anthropic-version: %s", b->anthropic_version);
        if (r >= 0)
                r = llm_provider_add_header(ret, "Accept: text/event-stream");
        if (r >= 0 && b->api_key)
                r = llm_provider_add_header(ret, "x-api-key: %s", b->api_key);
        return r;
}

static const char *stop_reason_to_openai(const char *s) {
        if (streq(s, "max_tokens"))
                return "length";
        if (streq(s, "tool_use"))
                return "tool_calls";
        if (streq(s, "refusal"))
                return "content_filter";
        return "stop";
}

/* The content block an event is about, NULL (ev->error set) when out of range. */
static int block_of(LlmParseState *st, json_object *o, LlmEvent *ev, size_t *ret) {
        json_object *v = llm_json_path(o, "index", NULL);

        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
            json_object_get_int64(v) >= LLM_PARSE_BLOCKS_MAX) {
                snprintf(
                        ev->error,
                        sizeof(ev->error),
                        "a content block index missing or beyond %d",
                        LLM_PARSE_BLOCKS_MAX - 1);
                return -EBADMSG;
        }
        *ret = (size_t) json_object_get_int64(v);
        return 0;
}

/* content_block_start, _delta, _stop: text, and tool_use blocks as tool call pieces
 * numbered in the order the blocks start. */
static int parse_block(LlmParseState *st, const char *t, json_object *o, LlmEvent *ev) {
        json_object *v, *kind;
        size_t i;
        int r;

        r = block_of(st, o, ev, &i);
        if (r < 0)
                return r;
        if (streq(t, "content_block_start")) {
                kind = llm_json_path(o, "content_block", "type", NULL);
                st->blocks[i].tool = streq_ptr(json_object_get_string(kind), "tool_use");
                if (!st->blocks[i].tool)
                        return 0;
                st->blocks[i].call = st->n_tools++;
                st->blocks[i].arguments = 0;
                ev->tools[0] = (LlmToolDelta){ .index = st->blocks[i].call };
                ev->n_tools = 1;
                if ((v = llm_json_path(o, "content_block", "id", NULL)) &&
                    json_object_is_type(v, json_type_string))
                        ev->tools[0].id = json_object_get_string(v);
                if ((v = llm_json_path(o, "content_block", "name", NULL)) &&
                    json_object_is_type(v, json_type_string))
                        ev->tools[0].name = json_object_get_string(v);
                return 0;
        }
        if (streq(t, "content_block_stop")) {
                /* A call without input streams no piece of it: its arguments are {}. */
                if (st->blocks[i].tool && st->blocks[i].arguments == 0) {
                        ev->tools[0] = (LlmToolDelta){ .index = st->blocks[i].call,
                                                       .arguments = "{}",
                                                       .arguments_len = 2 };
                        ev->n_tools = 1;
                }
                return 0;
        }
        kind = llm_json_path(o, "delta", "type", NULL);
        if (streq_ptr(json_object_get_string(kind), "input_json_delta")) {
                v = llm_json_path(o, "delta", "partial_json", NULL);
                if (!st->blocks[i].tool || !json_object_is_type(v, json_type_string)) {
                        snprintf(ev->error, sizeof(ev->error), "input_json_delta outside a tool_use block");
                        return -EBADMSG;
                }
                ev->tools[0] = (LlmToolDelta){
                        .index = st->blocks[i].call,
                        .arguments = json_object_get_string(v),
                        .arguments_len = (size_t) json_object_get_string_len(v),
                };
                ev->n_tools = ev->tools[0].arguments_len > 0;
                st->blocks[i].arguments += ev->tools[0].arguments_len;
                return 0;
        }
        v = llm_json_path(o, "delta", "text", NULL);
        if (v && json_object_is_type(v, json_type_string)) {
                ev->text = json_object_get_string(v);
                ev->text_len = (size_t) json_object_get_string_len(v);
        }
        return 0;
}

static int parse(LlmParseState *st, json_object *o, LlmEvent *ev) {
        json_object *type = llm_json_path(o, "type", NULL), *v;
        const char *t = json_object_is_type(type, json_type_string) ? json_object_get_string(type) : "";

        if (streq(t, "error")) {
                v = llm_json_path(o, "error", "message", NULL);
                snprintf(ev->error, sizeof(ev->error), "%s", v ? json_object_get_string(v) : "error event");
                return -EPROTO;
        }
        if (streq(t, "message_start")) {
                if ((v = llm_json_path(o, "message", "usage", "input_tokens", NULL)) &&
                    json_object_is_type(v, json_type_int))
                        ev->prompt_tokens = json_object_get_int64(v);
        } else if (startswith(t, "content_block_"))
                return parse_block(st, t, o, ev);
        else if (streq(t, "message_delta")) {
                if ((v = llm_json_path(o, "usage", "output_tokens", NULL)) &&
                    json_object_is_type(v, json_type_int))
                        ev->completion_tokens = json_object_get_int64(v);
                if ((v = llm_json_path(o, "delta", "stop_reason", NULL)) &&
                    json_object_is_type(v, json_type_string))
                        ev->finish_reason = stop_reason_to_openai(json_object_get_string(v));
        } else if (streq(t, "message_stop"))
                ev->done = true;
        return 0;
}

const LlmProviderOps llm_anthropic_ops = {
        .name = "anthropic",
        .stream_format = LLM_STREAM_SSE,
        .features = LLM_FEATURE_TOOLS | LLM_FEATURE_TOOL_REQUIRED | LLM_FEATURE_TOOL_NAMED |
                LLM_FEATURE_SERIAL_TOOLS | LLM_FEATURE_STRICT_TOOLS | LLM_FEATURE_TOOL_ERROR |
                LLM_FEATURE_JSON_SCHEMA | LLM_FEATURE_STOP | LLM_FEATURE_USER | LLM_FEATURE_TOP_K,
        .build = build,
        .parse = parse,
};
