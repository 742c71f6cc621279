/* SPDX-License-Identifier: MIT */
/* ai-semble-llm — the one door to the configured LLM backends (Ollama, OpenAI-compatible
 * servers, Anthropic): routing, fallback, breakers, streaming relay and token accounting.
 * With no backend configured every generation endpoint answers 503 naming what to set. */
#include <stddef.h>

#include "llm-api.h"
#include "llm-provider.h"
#include "llm-upstream.h"
#include "log.h"
#include "pod-services.h"
#include "service.h"
#include "version.h"

static LlmServiceConfig config;
static LlmApi api = { .config = &config };

static const char *const priority_choices[] = { "balanced", "quality", "speed", "cost", NULL };
static const char *const hybrid_choices[] = { "on", "local", "off", NULL };

#define LLM(field) offsetof(LlmServiceConfig, field)

/* clang-format off */
static const ConfigEntry config_table[] = {
        CONFIG_STR("LLM_BACKENDS_FILE", NULL, LLM(backends_file),
                "JSON file listing the backends (kind, base_url, "
                "api_key_file, models); unset = none (503)."),
        CONFIG_INT("LLM_DEFAULT_MAX_TOKENS", "1000", 1, 1000000, LLM(default_max_tokens),
                "max_tokens when a request names none."),
        CONFIG_ENUM("LLM_DEFAULT_PRIORITY", "balanced", priority_choices, LLM(default_priority),
                "Routing priority of model=auto when a request names none."),
        CONFIG_DURATION("LLM_RETRY_WAIT_MAX", "2s", 0, 60000, LLM(retry_wait_max_ms),
                "Longest backoff or upstream Retry-After waited "
                "for before trying the next backend instead."),
        CONFIG_SIZE("LLM_MAX_IMAGE_BYTES", "20M", 1024, 256LL * 1024 * 1024, LLM(max_image_bytes),
                "Largest total of decoded image bytes in one chat request (data: "
                "URLs in content parts; 413 above). Also needs HTTP_MAX_BODY."),
        CONFIG_ENUM("LLM_HYBRID", "on", hybrid_choices, LLM(hybrid),
                "Requests with a hybrid field (two backends at once, double "
                "the calls): on, local (only models with cost 0) or off (403)."),
};
/* clang-format on */

/* Each route and the task it is on GET /tasks: the one table of what the llm serves. LLM
 * calls cost tokens and answer differently run to run: not idempotent (never retried after
 * a possible start nor re-run after a restart); embeddings and the model list are. */
typedef struct LlmEndpoint {
        const char *method, *path;
        HttpHandler handler;
        const char *task;
        bool idempotent, stream;
        const char *const *fields;
} LlmEndpoint;

static const char *const completion_fields[] = { "prompt", "model?",  "max_tokens?", "temperature?",
                                                 "top_p?", "stream?", "hybrid?",     NULL };
static const char *const chat_fields[] = { "messages", "model?",           "max_tokens?", "temperature?",
                                           "tools?",   "response_format?", "stream?",     NULL };
static const char *const v1_chat_fields[] = { "model",  "messages", "max_tokens?",      "temperature?",
                                              "top_p?", "tools?",   "response_format?", "stream?",
                                              NULL };
static const char *const v1_completion_fields[] = { "model",        "prompt",  "max_tokens?",
                                                    "temperature?", "stream?", NULL };
static const char *const v1_messages_fields[] = { "model",  "messages", "max_tokens", "system?",
                                                  "tools?", "stream?",  NULL };
static const char *const v1_embeddings_fields[] = { "model", "input", NULL };

static const LlmEndpoint llm_endpoints[] = {
        { "POST", "/completion", llm_api_completion, "completion", false, true, completion_fields },
        { "POST", "/chat", llm_api_chat, "chat", false, true, chat_fields },
        { "POST",
          "/v1/chat/completions",
          llm_api_v1_chat_completions,
          "v1.chat.completions",
          false,
          true,
          v1_chat_fields },
        { "POST",
          "/v1/completions",
          llm_api_v1_completions,
          "v1.completions",
          false,
          true,
          v1_completion_fields },
        { "POST", "/v1/messages", llm_api_v1_messages, "v1.messages", false, true, v1_messages_fields },
        { "POST",
          "/v1/embeddings",
          llm_api_v1_embeddings,
          "v1.embeddings",
          true,
          false,
          v1_embeddings_fields },
        { "GET", "/v1/models", llm_api_v1_models, "v1.models", true, false, NULL },
};

static int llm_tasks(ServiceTasks *out, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(llm_endpoints); i++) {
                const LlmEndpoint *l = &llm_endpoints[i];
                int r = service_tasks_add(
                        out,
                        &(ServiceTask){
                                .name = l->task,
                                .method = l->method,
                                .path = l->path,
                                .idempotent = l->idempotent,
                                .stream = l->stream,
                                .body = streq(l->method, "POST") ? "application/json" : NULL,
                                .fields = l->fields,
                        });
                if (r < 0)
                        return r;
        }
        return 0;
}

static int setup(ServiceContext *ctx, void *userdata) {
        LlmApi *a = userdata;
        _cleanup_free_ char *error = NULL;
        HttpRoute routes[ELEMENTSOF(llm_endpoints)];
        int r;

        for (size_t i = 0; i < ELEMENTSOF(llm_endpoints); i++)
                routes[i] = (HttpRoute){
                        llm_endpoints[i].method, llm_endpoints[i].path, llm_endpoints[i].handler, 0, a
                };
        r = http_server_add_routes(service_http_server(ctx), routes, ELEMENTSOF(routes));
        if (r < 0)
                return r;

        r = llm_priority_from_string(config.default_priority);
        a->default_priority = r >= 0 ? (LlmPriority) r : LLM_PRIORITY_BALANCED;
        a->gateway.retry_wait_max_ms = config.retry_wait_max_ms;
        r = llm_hybrid_policy_from_string(config.hybrid);
        a->hybrid_policy = r >= 0 ? (LlmHybridPolicy) r : LLM_HYBRID_POLICY_ON;
        if (config.backends_file) {
                r = llm_config_load_file(config.backends_file, &a->gateway.config, &error);
                if (r < 0)
                        return log_error_errno(r, "LLM_BACKENDS_FILE: %s", error ?: "out of memory");
        }
        llm_gateway_init(&a->gateway);
        if (a->gateway.config.n_backends == 0)
                log_warning(
                        "No LLM backend is configured (LLM_BACKENDS_FILE); generation endpoints answer 503");
        else
                for (size_t i = 0; i < a->gateway.config.n_backends; i++)
                        log_info(
                                "backend %s: %s at %s, %zu models",
                                a->gateway.config.backends[i].name,
                                a->gateway.config.backends[i].ops->name,
                                a->gateway.config.backends[i].base_url,
                                a->gateway.config.backends[i].n_models);
        return llm_gateway_setup_metrics(&a->gateway, service_metrics(ctx));
}

static void teardown(void *userdata) {
        LlmApi *a = userdata;

        llm_gateway_done(&a->gateway);
        llm_upstream_pool_flush();
}

static const ServiceDefinition definition = {
        .name = "llm",
        .version = PROJECT_VERSION,
        .description = "LLM gateway: Ollama, OpenAI-compatible servers and Anthropic behind one API",
        .listen_env = "LLM_LISTEN",
        .listen_default = "127.0.0.1:" AI_SEMBLE_PORT_LLM_S,
        .config = config_table,
        .n_config = ELEMENTSOF(config_table),
        .config_data = &config,
        .userdata = &api,
        .tasks = llm_tasks,
        .setup = setup,
        .teardown = teardown,
};

int main(int argc, char **argv) {
        return service_main(&definition, argc, argv);
}
