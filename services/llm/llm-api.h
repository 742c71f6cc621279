/* SPDX-License-Identifier: MIT */
/* llm-api.h — the HTTP endpoints: the seed's POST /completion and POST /chat (JSON, or
 * NDJSON in Ollama's style with "stream": true), the OpenAI-compatible
 * POST /v1/chat/completions, POST /v1/completions (SSE with "stream": true, ending with a
 * usage chunk and [DONE]), POST /v1/embeddings and GET /v1/models, and Anthropic's
 * POST /v1/messages (its SSE events with "stream": true). */
#pragma once

#include "http-server.h"
#include "llm-gateway.h"
#include "llm-hybrid.h"

typedef struct LlmServiceConfig {
        char *backends_file;
        int64_t default_max_tokens;
        char *default_priority;
        uint64_t retry_wait_max_ms;
        uint64_t max_image_bytes; /* decoded bytes of all images of one request */
        char *hybrid;             /* LLM_HYBRID: on | local | off */
} LlmServiceConfig;

typedef struct LlmApi {
        LlmGateway gateway;
        const LlmServiceConfig *config;
        LlmPriority default_priority;
        LlmHybridPolicy hybrid_policy;
} LlmApi;

int llm_api_completion(HttpRequest *req, void *userdata);
int llm_api_chat(HttpRequest *req, void *userdata);
int llm_api_v1_chat_completions(HttpRequest *req, void *userdata);
int llm_api_v1_completions(HttpRequest *req, void *userdata);
int llm_api_v1_messages(HttpRequest *req, void *userdata);
int llm_api_v1_embeddings(HttpRequest *req, void *userdata);
int llm_api_v1_models(HttpRequest *req, void *userdata);

/* The 503 detail when no backend is configured (names the variable to set). */
extern const char llm_api_unconfigured_detail[];
