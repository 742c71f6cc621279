/* SPDX-License-Identifier: MIT */
/* llm-client.h — a service asking the pod's llm service for one chat answer (POST
 * <url>/v1/chat/completions in the OpenAI format, temperature 0, not streamed): the nlp
 * service's Japanese sentiment and the vision service's neural tasks. The callers word
 * the errors: each names its own configuration. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "http-client.h"

typedef struct LlmClientRequest {
        const char *url; /* the llm service's base URL */
        const char *model;
        const char *system; /* the system prompt */
        json_object *user;  /* the user message's content: a string or an array of parts (borrowed) */
        int max_tokens;
        uint64_t timeout_ms;
        size_t max_reply;       /* larger answers fail with -EFBIG */
        const char *request_id; /* sent as X-Request-ID, or NULL */
} LlmClientRequest;

typedef struct LlmClientReply {
        char *endpoint;    /* the URL asked */
        long status;       /* the answer's HTTP status */
        json_object *body; /* its JSON (problem+json when it is not 200), or NULL */
        /* choices[0].message.content and model of the body when they are strings, else NULL
         * (borrowed from body) */
        const char *content, *model;
        char error[HTTP_CLIENT_ERROR_MAX]; /* the transport's message when no answer came */
} LlmClientReply;

/* 0 when an answer came (any status), else the transport's -errno (-ETIMEDOUT,
 * -ECONNREFUSED, -EFBIG above max_reply, ...) with ret->error; -ENOMEM. ret is set either
 * way; free it with llm_client_reply_done(). */
int llm_client_chat(const LlmClientRequest *req, LlmClientReply *ret);
void llm_client_reply_done(LlmClientReply *r);
/* The "detail" of the llm's problem+json answer, or "no detail". */
const char *llm_client_detail(const LlmClientReply *r);
