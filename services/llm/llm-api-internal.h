/* SPDX-License-Identifier: MIT */
/* llm-api-internal.h — what the endpoint files share: the validated request, the reply in
 * progress and the client formats. llm-api.c runs the one flow every generation endpoint
 * follows (parse, route, run the gateway, reply); llm-api-request.c validates bodies;
 * each client format (llm-api-seed.c, llm-api-openai.c) writes answers, streamed and
 * not; llm-api-hybrid.c serves two backends at once. */
#pragma once

#include <time.h>

#include "llm-api.h"
#include "llm-text.h"

#define LLM_API_MAX_MESSAGES 4096
#define LLM_API_MAX_TEXT (8 * 1024 * 1024)

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

typedef struct ApiFormat ApiFormat;

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
        LlmHybrid *h; /* hybrid mode: both legs, read under h->lock */
} ApiReply;

/* A client format: how answers are written for one family of endpoints. The stream_*
 * calls run after the response head went out with stream_type. */
struct ApiFormat {
        const char *stream_type;
        /* What opens a stream before any text (OpenAI's role chunk); NULL: nothing. */
        int (*stream_open)(ApiReply *x);
        int (*stream_text)(ApiReply *x, const char *text, size_t len);
        /* Called about once a second while the backend is silent; NULL: nothing. */
        int (*stream_idle)(ApiReply *x);
        /* The end of a stream that produced an answer, then the stream's end. */
        int (*stream_close)(ApiReply *x, const LlmOutcome *out, const char *reason);
        /* The upstream failed after bytes went out: said in the stream's own format. */
        int (*stream_fail)(ApiReply *x, const LlmOutcome *out);
        /* The whole answer as one JSON reply. */
        int (*reply)(ApiReply *x, const LlmOutcome *out, const char *reason);
};

extern const ApiFormat llm_api_seed_format;
extern const ApiFormat llm_api_openai_format;

/* llm-api-request.c: validates the body into a; on a validation error replies (422 or
 * 413) and returns -EINVAL (callers just return 0), -ENOMEM otherwise. */
int llm_api_request_parse(HttpRequest *req, LlmApi *api, json_object *body, ApiShape shape, ApiRequest *a);
void llm_api_request_done(ApiRequest *a);

/* llm-api.c: shared by the formats. */
int llm_api_write_json(ApiReply *x, const char *prefix, json_object *o, const char *suffix);
json_object *llm_api_usage_json(const LlmOutcome *o);
/* X-LLM-Backend, X-LLM-Model, X-LLM-Fallback(-From) naming the backend used. */
int llm_api_add_llm_headers(
        HttpRequest *req, const LlmCandidate *c, bool fallback, const char *fallback_from);

/* llm-api-hybrid.c */
int llm_api_hybrid_serve(
        HttpRequest *req, LlmApi *api, ApiRequest *a, const LlmRoute *route, bool trim, ApiReply *x);
/* X-LLM-Hybrid, X-LLM-Hybrid-Backends and (mode first) X-LLM-Hybrid-Winner; nothing
 * without hybrid. */
int llm_api_hybrid_headers(ApiReply *x, const LlmCandidate *winner);
/* {mode, winner, answers: [...]}; with_text: false when streamed. */
json_object *llm_api_hybrid_json(LlmHybrid *h, bool with_text);

/* llm-api.c, for llm-api-hybrid.c: the sink that writes to the client, routing, and the
 * replies that end every request. */
void llm_api_sink(ApiReply *x, LlmSink *ret);
int llm_api_route(LlmApi *api, const ApiRequest *a, const char *model, bool trim, LlmRoute *ret);
/* Replies to a routing failure; field names what the client should change. */
int llm_api_reply_route_error(HttpRequest *req, int r, const LlmRoute *route, const char *field);
int llm_api_finish(ApiReply *x, const LlmOutcome *out, const char *reason);
int llm_api_fail_stream(ApiReply *x, const LlmOutcome *out);
