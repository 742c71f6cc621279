/* SPDX-License-Identifier: MIT */
/* llm-config.h — the configured backends (LLM_BACKENDS_FILE, JSON): name, kind, base URL,
 * API key read from a file (a Podman secret), timeouts, retry and breaker settings, and
 * the models each serves with their context window and routing weights. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* A backend kind's table of operations (llm-provider.h), one per kind (llm-kinds.h). */
typedef struct LlmProviderOps LlmProviderOps;

#define LLM_MAX_BACKENDS 32
#define LLM_MAX_MODELS 64 /* per backend */
#define LLM_MAX_TASKS 8
#define LLM_MAX_FALLBACKS 8

typedef struct LlmModel {
        char *name;             /* what clients ask for */
        char *upstream;         /* what the backend calls it (defaults to name) */
        int64_t context_window; /* tokens */
        double quality;         /* 0..10, higher is better */
        double speed;           /* 0..10, higher is faster */
        double cost;            /* USD per million tokens (0 = local) */
        char *tasks[LLM_MAX_TASKS];
        size_t n_tasks;
        char *fallbacks[LLM_MAX_FALLBACKS]; /* model names tried after this one fails */
        size_t n_fallbacks;
        bool in_auto;    /* may model="auto" choose it (default true) */
        bool vision;     /* accepts images in chat messages ("vision": true; default false) */
        bool embeddings; /* an embeddings model: serves POST /v1/embeddings, nothing else */
} LlmModel;

typedef struct LlmBackend {
        char *name;
        const LlmProviderOps *ops; /* its kind */
        char *base_url;            /* without trailing slash */
        char *api_key;             /* read from api_key_file; NULL = none */
        char *anthropic_version;   /* anthropic-version header */
        uint64_t connect_timeout_ms;
        uint64_t first_byte_timeout_ms; /* until the first token arrives */
        uint64_t idle_timeout_ms;       /* between two chunks of a stream */
        uint64_t timeout_ms;            /* whole request */
        int64_t retries;                /* extra attempts before the first byte */
        int64_t allowed_fails;          /* consecutive failures that open the breaker */
        uint64_t cooldown_ms;           /* how long an open breaker stays open */
        LlmModel models[LLM_MAX_MODELS];
        size_t n_models;
} LlmBackend;

typedef struct LlmConfig {
        LlmBackend backends[LLM_MAX_BACKENDS];
        size_t n_backends;
} LlmConfig;

/* Parses the backends file text. On a bad file returns -EINVAL with *ret_error naming
 * the offending field ("backends[1].models[0].context_window: ..."), owned by the caller.
 * base_dir is unused for now; key files are read relative to the working directory. */
int llm_config_parse(const char *text, size_t len, LlmConfig *cfg, char **ret_error);
int llm_config_load_file(const char *path, LlmConfig *cfg, char **ret_error);
void llm_config_done(LlmConfig *cfg);

/* Finds a model by client name on one backend, NULL if absent. */
const LlmModel *llm_backend_find_model(const LlmBackend *b, const char *name);
