/* SPDX-License-Identifier: MIT */
/* llm-provider.h — what a backend kind is: a table of operations (its name in
 * LLM_BACKENDS_FILE, how its stream is framed, how a request is built — URL, headers,
 * JSON body, always streaming upstream — and how one streamed unit is read: an NDJSON
 * line for Ollama, an SSE event for OpenAI and Anthropic). One const instance per kind in
 * its own file (llm-ollama.c, llm-openai.c, llm-anthropic.c), listed in llm-kinds.c;
 * here also the helpers the kinds share. */
#pragma once

#include <curl/curl.h>
#include <json-c/json.h>

#include "llm-config.h"
#include "llm-tokens.h"

/* A tool (function) the model may call. */
typedef struct LlmTool {
        const char *name;
        const char *description; /* NULL when none */
        const char *parameters;  /* its JSON schema, as JSON text; NULL when none */
        bool strict;             /* the arguments must follow the schema exactly */
} LlmTool;

typedef enum LlmToolChoice {
        LLM_TOOL_CHOICE_AUTO,     /* the model decides (the default) */
        LLM_TOOL_CHOICE_NONE,     /* no tool call */
        LLM_TOOL_CHOICE_REQUIRED, /* at least one tool call */
        LLM_TOOL_CHOICE_NAMED,    /* a call of tool_choice_name */
} LlmToolChoice;

typedef enum LlmOutput {
        LLM_OUTPUT_TEXT,
        LLM_OUTPUT_JSON_OBJECT, /* any JSON object */
        LLM_OUTPUT_JSON_SCHEMA, /* JSON following output_schema */
} LlmOutput;

/* The optional parts a request may use. Each kind lists those it can honour; the router
 * passes over backends whose kind lacks one that the request uses, so that nothing a
 * client sends is silently dropped. */
typedef enum LlmFeature {
        LLM_FEATURE_TOOLS = 1u << 0,         /* tools, the model choosing (auto, none) */
        LLM_FEATURE_TOOL_REQUIRED = 1u << 1, /* at least one call required */
        LLM_FEATURE_TOOL_NAMED = 1u << 2,    /* a call of one named tool required */
        LLM_FEATURE_SERIAL_TOOLS = 1u << 3,  /* at most one call (no parallel calls) */
        LLM_FEATURE_STRICT_TOOLS = 1u << 4,  /* a tool with strict: true */
        LLM_FEATURE_TOOL_ERROR = 1u << 5,    /* a tool result marked as an error */
        LLM_FEATURE_JSON_OBJECT = 1u << 6,   /* output: any JSON object */
        LLM_FEATURE_JSON_SCHEMA = 1u << 7,   /* output: JSON following a schema */
        LLM_FEATURE_STOP = 1u << 8,          /* stop sequences */
        LLM_FEATURE_SEED = 1u << 9,
        LLM_FEATURE_PRESENCE_PENALTY = 1u << 10,
        LLM_FEATURE_FREQUENCY_PENALTY = 1u << 11,
        LLM_FEATURE_USER = 1u << 12, /* an end-user id */
        LLM_FEATURE_TOP_K = 1u << 13,
        LLM_FEATURE_DIMENSIONS = 1u << 14, /* embeddings of a given length */
        _LLM_FEATURE_COUNT = 15,
} LlmFeature;

typedef struct LlmCallRequest {
        const LlmMessage *messages; /* chat; NULL for a plain completion */
        size_t n_messages;
        const char *prompt; /* completion */
        int64_t max_tokens;
        double temperature, top_p;
        bool has_temperature, has_top_p;
        uint32_t features; /* LLM_FEATURE_*: which of the fields below are set */
        const LlmTool *tools;
        size_t n_tools;
        LlmToolChoice tool_choice;
        const char *tool_choice_name;
        LlmOutput output;
        const char *output_name;        /* json_schema's name */
        const char *output_description; /* NULL when none */
        const char *output_schema;      /* JSON text of the schema */
        bool output_strict;
        const char *const *stop;
        size_t n_stop;
        int64_t seed, top_k;
        double presence_penalty, frequency_penalty;
        const char *user;
        /* Embeddings: the texts to embed (then messages and prompt are NULL). */
        const char *const *inputs;
        size_t n_inputs;
        int64_t dimensions;
} LlmCallRequest;

/* What a call asks for, which decides how its answer is read. */
typedef enum LlmCallMode {
        LLM_CALL_COMPLETION,
        LLM_CALL_CHAT,
        LLM_CALL_EMBED,
} LlmCallMode;

#define LLM_EVENT_ERROR_MAX 256
#define LLM_EVENT_TOOLS_MAX 16

/* A piece of a tool call, as OpenAI streams them: the first piece of a call names it
 * (id, name), later ones add to its arguments. */
typedef struct LlmToolDelta {
        size_t index;          /* which call of the answer (the backend's numbering) */
        const char *id;        /* borrowed; NULL when not in this piece */
        const char *name;      /* borrowed; NULL when not in this piece */
        const char *arguments; /* a fragment of the arguments' JSON text; NULL if none */
        size_t arguments_len;
} LlmToolDelta;

typedef struct LlmEvent {
        const char *text; /* delta, borrowed from the parsed JSON; NULL if none */
        size_t text_len;
        LlmToolDelta tools[LLM_EVENT_TOOLS_MAX];
        size_t n_tools;
        json_object *embeddings;                  /* embeddings: an array of vectors; borrowed */
        int64_t prompt_tokens, completion_tokens; /* -1 = not in this unit */
        const char *finish_reason;                /* borrowed; NULL if none */
        bool done;                                /* the backend's own end marker */
        char error[LLM_EVENT_ERROR_MAX];          /* set with -EPROTO */
} LlmEvent;

typedef enum LlmStreamFormat {
        LLM_STREAM_NDJSON,
        LLM_STREAM_SSE,
        LLM_STREAM_WHOLE, /* not a stream: one JSON body (embeddings) */
} LlmStreamFormat;

typedef struct LlmHttpCall {
        char *url;
        char *body;
        struct curl_slist *headers;
        LlmCallMode mode;
        LlmStreamFormat format;
        size_t n_inputs;    /* embeddings: the vectors to expect */
        int64_t dimensions; /* embeddings: their length when asked for */
} LlmHttpCall;

#define LLM_PARSE_BLOCKS_MAX 64

/* What a kind's parser remembers between the units of one answer. */
typedef struct LlmParseState {
        LlmCallMode mode;
        size_t n_inputs;    /* embeddings: the vectors expected */
        int64_t dimensions; /* embeddings: their length, 0 = any (but all alike) */
        size_t n_tools;     /* tool calls begun so far */
        /* Anthropic: per content block, whether it is a tool_use block, which call it is
         * and how many bytes of arguments it has had. */
        struct {
                bool tool;
                size_t call, arguments;
        } blocks[LLM_PARSE_BLOCKS_MAX];
} LlmParseState;

struct LlmProviderOps {
        const char *name; /* the "kind" of LLM_BACKENDS_FILE */
        LlmStreamFormat stream_format;
        /* A data unit that ends the stream and is not JSON ("[DONE]"), or NULL. */
        const char *end_marker;
        uint32_t features; /* LLM_FEATURE_* it honours */
        int (*build)(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret);
        /* Fills ev from one parsed unit (a JSON object); -EPROTO with ev->error when the
         * backend reported an error in the stream, -EBADMSG with ev->error when it broke
         * its protocol. */
        int (*parse)(LlmParseState *st, json_object *o, LlmEvent *ev);
        /* Embeddings; NULL when the kind has none (its models cannot be marked so). */
        int (*build_embed)(
                const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret);
        /* The whole answer: ev->embeddings, one vector per input, and the usage. */
        int (*parse_embed)(json_object *o, LlmEvent *ev);
};

void llm_http_call_done(LlmHttpCall *c);

/* The call for req: embeddings when req->inputs, else a chat or a completion. */
int llm_provider_build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret);
/* Reads one unit: event is the SSE event name (NULL for NDJSON or when absent), data the
 * line, the data field or the whole body. Returns 0 (ev filled; *ret_json keeps borrowed
 * strings alive, the caller puts it), -EBADMSG for malformed JSON or a unit that breaks
 * the kind's protocol (ev->error says how, when known), -EPROTO when the backend reported
 * an error in the stream (ev->error says what). Embeddings are checked: one vector of
 * numbers per input, all of one length (st->dimensions when set). */
int llm_provider_parse(
        const LlmProviderOps *ops,
        LlmParseState *st,
        const char *event,
        const char *data,
        size_t len,
        LlmEvent *ev,
        json_object **ret_json);

/* ---- helpers the kinds share ------------------------------------------------------ */

/* The messages as {role, ...} objects that fill completes in the kind's format (content,
 * images, tool calls). A plain completion (no messages) becomes one user message with the
 * prompt. */
int llm_provider_messages_json(
        const LlmCallRequest *req, int (*fill)(json_object *m, const LlmMessage *msg), json_object **ret);
/* An assistant message's tool calls as OpenAI and Ollama take them: [{id, "type":
 * "function", "function": {name, arguments}}], the arguments as text (OpenAI) or as an
 * object (Ollama). NULL on allocation failure. */
json_object *llm_provider_tool_calls_json(const LlmMessage *msg, bool arguments_object);
/* {model, input: [...], dimensions} as OpenAI's and Ollama's embeddings take it. */
json_object *llm_provider_embed_body(const LlmModel *m, const LlmCallRequest *req);
/* stop, seed, presence_penalty and frequency_penalty when the request sets them, under
 * the names OpenAI's body and Ollama's options share. */
void llm_provider_add_sampling(json_object *o, const LlmCallRequest *req);
/* A new object appended to arr, NULL on allocation failure. */
json_object *llm_provider_append_object(json_object *arr);
/* The tools as OpenAI and Ollama take them: [{"type":"function","function":{name,
 * description, parameters, strict}}]. */
int llm_provider_function_tools(const LlmCallRequest *req, json_object **ret);
/* Sets m's content to an array of parts: the text (when not empty) and each image as
 * image() makes it, the text first or last. */
int llm_provider_content_parts(
        json_object *m, const LlmMessage *msg, bool text_first, json_object *(*image)(const LlmImage *img));
int llm_provider_add_header(LlmHttpCall *c, const char *fmt, ...) _printf_(2, 3);
/* The URL, body and JSON headers of the call; format and mode as the kind's request
 * builder decided (a chat stream unless said otherwise). */
int llm_provider_finish(LlmHttpCall *c, const LlmBackend *b, const char *path, json_object *body);
/* A JSON value whose text is json (valid JSON, borrowed: it must outlive the value's
 * serialization), to put already serialized schemas and arguments into a body as they
 * are, without parsing them again. NULL on allocation failure. */
json_object *llm_provider_raw_json(const char *json);
/* stop as a JSON array of strings. */
json_object *llm_provider_string_array(const char *const *v, size_t n);
/* The feature names as the OpenAI API calls the fields ("tool_choice", "seed", ...). */
const char *llm_feature_to_string(LlmFeature f);
/* The member of o at a path of keys ending with NULL ("0" indexes arrays), NULL if absent:
 * llm_json_path(o, "choices", "0", "delta", NULL). */
json_object *llm_json_path_v(json_object *o, const char *const *keys);
#define llm_json_path(o, ...) llm_json_path_v((o), (const char *const[]){ __VA_ARGS__ })
