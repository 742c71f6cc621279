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

typedef struct LlmCallRequest {
        const LlmMessage *messages; /* chat; NULL for a plain completion */
        size_t n_messages;
        const char *prompt; /* completion */
        int64_t max_tokens;
        double temperature, top_p;
        bool has_temperature, has_top_p;
} LlmCallRequest;

#define LLM_EVENT_ERROR_MAX 256

typedef struct LlmEvent {
        const char *text; /* delta, borrowed from the parsed JSON; NULL if none */
        size_t text_len;
        int64_t prompt_tokens, completion_tokens; /* -1 = not in this unit */
        const char *finish_reason;                /* borrowed; NULL if none */
        bool done;                                /* the backend's own end marker */
        char error[LLM_EVENT_ERROR_MAX];          /* set with -EPROTO */
} LlmEvent;

typedef enum LlmStreamFormat {
        LLM_STREAM_NDJSON,
        LLM_STREAM_SSE,
} LlmStreamFormat;

typedef struct LlmHttpCall {
        char *url;
        char *body;
        struct curl_slist *headers;
} LlmHttpCall;

struct LlmProviderOps {
        const char *name; /* the "kind" of LLM_BACKENDS_FILE */
        LlmStreamFormat stream_format;
        /* A data unit that ends the stream and is not JSON ("[DONE]"), or NULL. */
        const char *end_marker;
        int (*build)(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret);
        /* Fills ev from one parsed unit (a JSON object); -EPROTO with ev->error when the
         * backend reported an error in the stream. */
        int (*parse)(bool chat, json_object *o, LlmEvent *ev);
};

void llm_http_call_done(LlmHttpCall *c);

int llm_provider_build(const LlmBackend *b, const LlmModel *m, const LlmCallRequest *req, LlmHttpCall *ret);
/* Reads one unit: event is the SSE event name (NULL for NDJSON or when absent), data the
 * line or the data field. Returns 0 (ev filled; *ret_json keeps borrowed strings alive,
 * the caller puts it), -EBADMSG for malformed JSON, -EPROTO when the backend reported an
 * error in the stream (ev->error says what). */
int llm_provider_parse(
        const LlmProviderOps *ops,
        bool chat,
        const char *event,
        const char *data,
        size_t len,
        LlmEvent *ev,
        json_object **ret_json);

/* ---- helpers the kinds share ------------------------------------------------------ */

/* {role, content} objects, optionally leaving out system messages; a message with images
 * is filled by the kind's with_images, which sets its content in the kind's format. A
 * plain completion (no messages) becomes one user message with the prompt. */
int llm_provider_messages_json(
        const LlmCallRequest *req,
        bool skip_system,
        int (*with_images)(json_object *m, const LlmMessage *msg),
        json_object **ret);
/* Sets m's content to an array of parts: the text (when not empty) and each image as
 * image() makes it, the text first or last. */
int llm_provider_content_parts(
        json_object *m, const LlmMessage *msg, bool text_first, json_object *(*image)(const LlmImage *img));
int llm_provider_add_header(LlmHttpCall *c, const char *fmt, ...) _printf_(2, 3);
int llm_provider_finish(LlmHttpCall *c, const LlmBackend *b, const char *path, json_object *body);
/* The member of o at a path of keys ending with NULL ("0" indexes arrays), NULL if absent:
 * llm_json_path(o, "choices", "0", "delta", NULL). */
json_object *llm_json_path_v(json_object *o, const char *const *keys);
#define llm_json_path(o, ...) llm_json_path_v((o), (const char *const[]){ __VA_ARGS__ })
