/* SPDX-License-Identifier: MIT */
/* llm-api-internal.h — what the endpoint files share: the validated request, the reply in
 * progress and the client formats. llm-api.c runs the one flow every generation endpoint
 * follows (parse, route, run the gateway, reply); llm-api-request.c and llm-api-content.c
 * validate the seed's and OpenAI's bodies, llm-api-messages.c Anthropic's; each client
 * format (llm-api-seed.c, llm-api-openai.c, llm-api-anthropic.c) writes answers, streamed
 * and not; llm-api-embed.c serves embeddings; llm-api-hybrid.c two backends at once. */
#pragma once

#include <time.h>

#include "llm-api.h"
#include "llm-text.h"

#define LLM_API_MAX_MESSAGES 4096
#define LLM_API_MAX_TEXT (8 * 1024 * 1024)
#define LLM_API_MAX_TOOLS 128
#define LLM_API_MAX_STOP 16
#define LLM_API_MAX_INPUTS 2048
#define LLM_API_FIELD_MAX 128 /* a field's name in an error: messages[12].content[3].source */

typedef enum ApiShape {
        SHAPE_SEED_COMPLETION, /* POST /completion */
        SHAPE_SEED_CHAT,       /* POST /chat */
        SHAPE_OPENAI_CHAT,     /* POST /v1/chat/completions */
        SHAPE_OPENAI_TEXT,     /* POST /v1/completions */
        SHAPE_MESSAGES,        /* POST /v1/messages (Anthropic's) */
        SHAPE_EMBEDDINGS,      /* POST /v1/embeddings */
} ApiShape;

typedef struct ApiFormat ApiFormat;

typedef struct ApiRequest {
        ApiShape shape;
        const ApiFormat *format;
        LlmCallRequest call;
        LlmMessage *messages; /* owned copies */
        size_t n_messages;
        LlmTool *tools;      /* owned; the strings are borrowed from the body */
        const char **stop;   /* owned; the strings are borrowed from the body */
        const char **inputs; /* embeddings; owned, the strings borrowed */
        const char *model;   /* borrowed from the body */
        const char *task;
        LlmPriority priority;
        bool stream;
        bool include_usage;
        bool base64;     /* embeddings: encoding_format base64 */
        size_t n_images; /* over all messages: routing then needs a vision model */
        bool hybrid;
        LlmHybridMode hybrid_mode;
        const char *hybrid_models[2]; /* borrowed; NULL: the top two backends of the route */
} ApiRequest;

/* One reply in progress: the request, what serves it and the answer so far. */
typedef struct ApiReply {
        HttpRequest *req;
        ApiRequest *a;
        const ApiFormat *format;
        const LlmRoute *route;
        LlmText text; /* the answer so far (non-streaming) */
        char id[64];
        time_t created;
        const LlmCandidate *c;
        LlmHybrid *h;         /* hybrid mode: both legs, read under h->lock */
        json_object *vectors; /* embeddings, a reference */
        /* Anthropic's stream: the open content block (-1 before the first), whether it is
         * text, and each tool call's block. */
        int block;
        bool block_is_text;
        int tool_block[LLM_TOOL_CALLS_MAX];
} ApiReply;

/* A client format: how answers are written for one family of endpoints. The stream_*
 * calls run after the response head went out with stream_type. */
struct ApiFormat {
        const char *stream_type;
        /* What opens a stream before any text (OpenAI's role chunk); NULL: nothing. */
        int (*stream_open)(ApiReply *x);
        int (*stream_text)(ApiReply *x, const char *text, size_t len);
        /* A piece of a tool call; NULL: the calls go out whole at the end. */
        int (*stream_tool)(ApiReply *x, const LlmToolDelta *d);
        /* Called about once a second while the backend is silent; NULL: nothing. */
        int (*stream_idle)(ApiReply *x);
        /* The end of a stream that produced an answer, then the stream's end. */
        int (*stream_close)(ApiReply *x, const LlmOutcome *out, const char *reason);
        /* The upstream failed after bytes went out: said in the stream's own format. */
        int (*stream_fail)(ApiReply *x, const LlmOutcome *out);
        /* The whole answer as one JSON reply. */
        int (*reply)(ApiReply *x, const LlmOutcome *out, const char *reason);
        /* The request field that asks for each LLM_FEATURE_* (bit i at index i), to name
         * in a 422 when no backend honours it. */
        const char *const *feature_fields;
};

/* The fields of OpenAI's API that ask for each LLM_FEATURE_*. */
extern const char *const llm_api_openai_fields[_LLM_FEATURE_COUNT];

extern const ApiFormat llm_api_seed_format;
extern const ApiFormat llm_api_openai_format;
extern const ApiFormat llm_api_anthropic_format;
extern const ApiFormat llm_api_embed_format;

/* llm-api-request.c: validates the body into a; on a validation error replies (422 or
 * 413) and returns -EINVAL (callers just return 0), -ENOMEM otherwise. */
int llm_api_request_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiShape shape, ApiRequest *a);
void llm_api_request_done(ApiRequest *a);
/* Shared with the other parsers: -EINVAL after naming each member of o that is not in
 * known (NULL-terminated) as not supported, prefix.member; 0 when all are known. */
int llm_api_request_members(
        json_object *o, const char *prefix, const char *const *known, json_object **errs);
/* tools: an array of 1 to LLM_API_MAX_TOOLS read by one (the protocol's shape of a tool)
 * into a->tools; -ENOMEM, else 0 with the errors in errs. */
int llm_api_request_tools(
        json_object *arr,
        ApiRequest *a,
        json_object **errs,
        int (*one)(json_object *t, const char *field, LlmTool *tool, json_object **errs));
/* A tool's name (1 to 64 of [A-Za-z0-9_-]), description, schema (under schema_key, kept
 * as its JSON text) and strict, from o. */
int llm_api_request_tool(
        json_object *o,
        const char *field,
        const char *schema_key,
        bool schema_required,
        LlmTool *tool,
        json_object **errs);
/* The start of every parser: a's defaults for shape, then -EINVAL after replying when
 * body is not an object; with known, each member not in it is named in errs. */
int llm_api_request_start(
        HttpRequest *req,
        LlmApi *api,
        json_object *body,
        ApiShape shape,
        const char *const *known,
        ApiRequest *a,
        json_object **errs);
/* The routing hints priority and task. */
void llm_api_request_hints(json_object *body, ApiRequest *a, json_object **errs);
/* Stop sequences: a string or an array of strings (borrowed) into a. */
int llm_api_request_stop(json_object *v, const char *field, ApiRequest *a, json_object **errs);
/* The 413 for images over LLM_MAX_IMAGE_BYTES. */
int llm_api_request_too_big(HttpRequest *req, LlmApi *api);
/* The end of every parser: the call's pointers into a, then 0, or the 422 of errs. */
int llm_api_request_end(HttpRequest *req, ApiRequest *a, json_object *errs);

/* llm-api-content.c: OpenAI's messages into a->messages (-EFBIG when the images pass
 * max_image_bytes, -EINVAL after naming the field). */
int llm_api_content_messages(json_object *arr, ApiRequest *a, uint64_t max_image_bytes, json_object **errs);
/* A content: a string, null, or text parts (joined) and, when images, image_url parts. */
int llm_api_content_parse(
        json_object *c,
        const char *field,
        bool images,
        json_object **errs,
        uint64_t *budget,
        LlmMessage *msg);
/* An image (image/png|jpeg|webp|gif, strict base64) appended to msg; budget: image bytes
 * the request may still carry, -EFBIG when exceeded. */
int llm_api_content_image(
        const char *media_type,
        const char *data,
        const char *field,
        json_object **errs,
        uint64_t *budget,
        LlmMessage *msg);
/* Every tool result answers a call of an earlier assistant message and takes its
 * function's name (Ollama wants it); -EINVAL naming the message otherwise. */
int llm_api_content_link_tools(ApiRequest *a, json_object **errs);
void llm_api_content_done(ApiRequest *a);

/* llm-api-messages.c: Anthropic's POST /v1/messages body into a, as above. */
int llm_api_messages_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiRequest *a);
/* llm-api-embed.c: the POST /v1/embeddings body into a, as above. */
int llm_api_embed_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiRequest *a);

/* llm-api.c: shared by the formats. */
int llm_api_write_json(ApiReply *x, const char *prefix, json_object *o, const char *suffix);
json_object *llm_api_usage_json(const LlmOutcome *o);
/* X-LLM-Backend, X-LLM-Model, X-LLM-Fallback(-From) naming the backend used. */
int llm_api_add_llm_headers(
        HttpRequest *req, const LlmCandidate *c, bool fallback, const char *fallback_from);
/* The assembled tool calls as OpenAI writes them: [{id, type: "function", function:
 * {name, arguments}}], NULL on allocation failure. */
json_object *llm_api_tool_calls_json(const LlmToolCalls *t);

/* llm-api-hybrid.c */
int llm_api_hybrid_serve(
        HttpRequest *req, LlmApi *api, ApiRequest *a, const LlmRoute *route, bool trim, ApiReply *x);
/* X-LLM-Hybrid, X-LLM-Hybrid-Backends and (mode first) X-LLM-Hybrid-Winner; nothing
 * without hybrid. */
int llm_api_hybrid_headers(ApiReply *x, const LlmCandidate *winner);
/* {mode, winner, answers: [...]}; with_text: false when streamed. */
json_object *llm_api_hybrid_json(LlmHybrid *h, bool with_text);

/* llm-api.c, for the other endpoint files: the sink that writes to the client, routing,
 * and the replies that end every request. */
void llm_api_sink(ApiReply *x, LlmSink *ret);
int llm_api_route(LlmApi *api, const ApiRequest *a, const char *model, bool trim, LlmRoute *ret);
/* Replies to a routing failure; field names what the client should change. */
int llm_api_reply_route_error(
        HttpRequest *req, const ApiRequest *a, int r, const LlmRoute *route, const char *field);
/* Replies to a request no backend answered. */
int llm_api_reply_failure(HttpRequest *req, const LlmOutcome *out, const LlmRoute *route);
int llm_api_finish(ApiReply *x, const LlmOutcome *out, const char *reason);
int llm_api_fail_stream(ApiReply *x, const LlmOutcome *out);
/* selection_reason: the route's reason, and what failed before a fallback. */
int llm_api_selection_reason(const LlmRoute *route, const LlmOutcome *o, char **ret);
