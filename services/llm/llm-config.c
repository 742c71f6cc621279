/* SPDX-License-Identifier: MIT */
/* llm-config.c — parsing of the backends file (strict JSON, every field type-checked,
 * unknown kinds and duplicate names rejected) and reading of API key files. */
#include <stdarg.h>
#include <sys/stat.h>

#include "error-message.h"
#include "fileio.h"
#include "json-util.h"
#include "llm-config.h"
#include "llm-kinds.h"

#define LLM_CONFIG_FILE_MAX (1024 * 1024)
#define LLM_KEY_FILE_MAX 8192

const LlmModel *llm_backend_find_model(const LlmBackend *b, const char *name) {
        for (size_t i = 0; i < b->n_models; i++)
                if (streq(b->models[i].name, name))
                        return &b->models[i];
        return NULL;
}

/* Turns the first {field, message} of errs into "prefix.field: message". */
static int error_from(json_object *errs, const char *prefix, char **ret_error) {
        json_object *e = json_object_array_get_idx(errs, 0), *f = NULL, *m = NULL;

        json_object_object_get_ex(e, "field", &f);
        json_object_object_get_ex(e, "message", &m);
        if (asprintf(
                    ret_error,
                    "%s%s%s: %s",
                    prefix,
                    !isempty(prefix) && !isempty(json_object_get_string(f)) ? "." : "",
                    strempty(json_object_get_string(f)),
                    strempty(json_object_get_string(m))) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

static int copy_string_array(
        json_object *arr, char **out, size_t max, size_t *ret_n, const char *where, char **ret_error) {
        size_t n = json_object_array_length(arr);

        if (n > max)
                return error_message(ret_error, -EINVAL, "%s: at most %zu entries", where, max);
        for (size_t i = 0; i < n; i++) {
                json_object *v = json_object_array_get_idx(arr, i);
                if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
                        return error_message(
                                ret_error, -EINVAL, "%s[%zu]: must be a non-empty string", where, i);
                out[i] = strdup(json_object_get_string(v));
                if (!out[i])
                        return -ENOMEM;
                *ret_n = i + 1;
        }
        return 0;
}

static int parse_model(json_object *o, LlmModel *m, const char *prefix, char **ret_error) {
        _cleanup_json_ json_object *errs = NULL;
        json_object *tasks = NULL, *fallbacks = NULL;
        const char *name = NULL, *upstream = NULL;
        char where[160];
        int r;

        m->context_window = 4096;
        m->quality = 5;
        m->speed = 5;
        m->cost = 0;
        (void) json_get_string_bounded(o, "name", true, 1, 200, &errs, &name);
        (void) json_get_string_bounded(o, "upstream_name", false, 1, 200, &errs, &upstream);
        (void) json_get_int(o, "context_window", false, 256, 100000000, &errs, &m->context_window);
        (void) json_get_double(o, "quality", false, 0, 10, &errs, &m->quality);
        (void) json_get_double(o, "speed", false, 0, 10, &errs, &m->speed);
        (void) json_get_double(o, "cost", false, 0, 1e6, &errs, &m->cost);
        (void) json_get_array(o, "tasks", false, &errs, &tasks);
        (void) json_get_array(o, "fallback", false, &errs, &fallbacks);
        m->in_auto = true;
        (void) json_get_bool(o, "auto", false, &errs, &m->in_auto);
        (void) json_get_bool(o, "vision", false, &errs, &m->vision);
        (void) json_get_bool(o, "embeddings", false, &errs, &m->embeddings);
        if (errs)
                return error_from(errs, prefix, ret_error);
        if (streq(name, "auto"))
                return error_message(
                        ret_error, -EINVAL, "%s.name: \"auto\" is reserved for routing", prefix);
        m->name = strdup(name);
        m->upstream = strdup(upstream ?: name);
        if (!m->name || !m->upstream)
                return -ENOMEM;
        if (tasks) {
                snprintf(where, sizeof(where), "%s.tasks", prefix);
                r = copy_string_array(tasks, m->tasks, LLM_MAX_TASKS, &m->n_tasks, where, ret_error);
                if (r < 0)
                        return r;
        }
        if (fallbacks) {
                snprintf(where, sizeof(where), "%s.fallback", prefix);
                r = copy_string_array(
                        fallbacks, m->fallbacks, LLM_MAX_FALLBACKS, &m->n_fallbacks, where, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int read_key_file(const char *path, char **ret) {
        _cleanup_free_ char *key = NULL;
        size_t len;
        int r;

        r = read_full_file(path, LLM_KEY_FILE_MAX, &key, &len);
        if (r < 0)
                return r;
        while (len > 0 && strchr(" \t\r\n", key[len - 1]))
                key[--len] = '\0';
        if (len == 0 || strpbrk(key, "\r\n"))
                return -EBADMSG; /* would be an empty or header-splitting key */
        *ret = TAKE_PTR(key);
        return 0;
}

static int parse_backend(json_object *o, LlmBackend *b, const char *prefix, char **ret_error) {
        _cleanup_json_ json_object *errs = NULL;
        const char *name = NULL, *kind = NULL, *url = NULL, *key_file = NULL, *version = NULL;
        int64_t connect_ms = 2000, first_byte_ms = 60000, idle_ms = 60000, total_ms = 600000;
        int64_t cooldown_s = 5;
        json_object *models = NULL;
        size_t len;
        int r;

        b->retries = 1;
        b->allowed_fails = 3;
        (void) json_get_string_bounded(o, "name", true, 1, 64, &errs, &name);
        (void) json_get_string(o, "kind", true, &errs, &kind);
        (void) json_get_string_bounded(o, "base_url", true, 8, 2048, &errs, &url);
        (void) json_get_string_bounded(o, "api_key_file", false, 1, 4096, &errs, &key_file);
        (void) json_get_string_bounded(o, "anthropic_version", false, 1, 64, &errs, &version);
        (void) json_get_int(o, "connect_timeout_ms", false, 10, 600000, &errs, &connect_ms);
        (void) json_get_int(o, "first_byte_timeout_ms", false, 10, 3600000, &errs, &first_byte_ms);
        (void) json_get_int(o, "idle_timeout_ms", false, 10, 3600000, &errs, &idle_ms);
        (void) json_get_int(o, "timeout_ms", false, 10, 86400000, &errs, &total_ms);
        (void) json_get_int(o, "retries", false, 0, 10, &errs, &b->retries);
        (void) json_get_int(o, "allowed_fails", false, 1, 1000, &errs, &b->allowed_fails);
        (void) json_get_int(o, "cooldown_s", false, 0, 86400, &errs, &cooldown_s);
        (void) json_get_array(o, "models", true, &errs, &models);
        if (errs)
                return error_from(errs, prefix, ret_error);

        b->ops = llm_kinds_find(kind);
        if (!b->ops) {
                char names[128];
                llm_kinds_names(names, sizeof(names));
                return error_message(
                        ret_error, -EINVAL, "%s.kind: \"%s\" is not one of %s", prefix, kind, names);
        }
        if (!startswith(url, "http://") && !startswith(url, "https://"))
                return error_message(
                        ret_error, -EINVAL, "%s.base_url: must start with http:// or https://", prefix);
        b->connect_timeout_ms = (uint64_t) connect_ms;
        b->first_byte_timeout_ms = (uint64_t) first_byte_ms;
        b->idle_timeout_ms = (uint64_t) idle_ms;
        b->timeout_ms = (uint64_t) total_ms;
        b->cooldown_ms = (uint64_t) cooldown_s * 1000u;
        b->name = strdup(name);
        b->base_url = strdup(url);
        b->anthropic_version = strdup(version ?: "2023-06-01");
        if (!b->name || !b->base_url || !b->anthropic_version)
                return -ENOMEM;
        len = strlen(b->base_url);
        while (len > 0 && b->base_url[len - 1] == '/')
                b->base_url[--len] = '\0';
        if (key_file) {
                r = read_key_file(key_file, &b->api_key);
                if (r < 0)
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s.api_key_file: cannot read \"%s\": %s",
                                prefix,
                                key_file,
                                r == -EBADMSG ? "empty or multi-line key" : strerror(-r));
        }
        if (json_object_array_length(models) == 0)
                return error_message(
                        ret_error, -EINVAL, "%s.models: at least one model is required", prefix);
        if (json_object_array_length(models) > LLM_MAX_MODELS)
                return error_message(
                        ret_error, -EINVAL, "%s.models: at most %d models", prefix, LLM_MAX_MODELS);
        for (size_t i = 0; i < json_object_array_length(models); i++) {
                char where[128];

                snprintf(where, sizeof(where), "%s.models[%zu]", prefix, i);
                r = parse_model(json_object_array_get_idx(models, i), &b->models[i], where, ret_error);
                b->n_models = i + 1;
                if (r < 0)
                        return r;
                if (b->models[i].embeddings && !b->ops->build_embed)
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s.embeddings: a backend of kind %s has no embeddings API",
                                where,
                                b->ops->name);
                if (llm_backend_find_model(b, b->models[i].name) != &b->models[i])
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s.name: duplicate model \"%s\"",
                                where,
                                b->models[i].name);
        }
        return 0;
}

int llm_config_parse(const char *text, size_t len, LlmConfig *cfg, char **ret_error) {
        _cleanup_json_ json_object *root = NULL, *errs = NULL;
        _cleanup_free_ char *perr = NULL;
        json_object *backends = NULL;
        int r;

        *cfg = (LlmConfig){};
        r = json_parse_strict(text, len, &root, &perr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return error_message(ret_error, -EINVAL, "not valid JSON: %s", strempty(perr));
        (void) json_get_array(root, "backends", true, &errs, &backends);
        if (errs)
                return error_from(errs, "", ret_error);
        if (json_object_array_length(backends) > LLM_MAX_BACKENDS)
                return error_message(ret_error, -EINVAL, "backends: at most %d backends", LLM_MAX_BACKENDS);
        for (size_t i = 0; i < json_object_array_length(backends); i++) {
                char prefix[32];

                snprintf(prefix, sizeof(prefix), "backends[%zu]", i);
                r = parse_backend(
                        json_object_array_get_idx(backends, i), &cfg->backends[i], prefix, ret_error);
                cfg->n_backends = i + 1;
                if (r < 0) {
                        llm_config_done(cfg);
                        return r;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(cfg->backends[j].name, cfg->backends[i].name)) {
                                r = error_message(
                                        ret_error,
                                        -EINVAL,
                                        "%s.name: duplicate backend \"%s\"",
                                        prefix,
                                        cfg->backends[i].name);
                                llm_config_done(cfg);
                                return r;
                        }
        }
        return 0;
}

int llm_config_load_file(const char *path, LlmConfig *cfg, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ char *err = NULL;
        size_t len;
        int r;

        r = read_full_file(path, LLM_CONFIG_FILE_MAX, &text, &len);
        if (r < 0)
                return error_message(ret_error, -EINVAL, "cannot read \"%s\": %s", path, strerror(-r));
        r = llm_config_parse(text, len, cfg, &err);
        if (r < 0) {
                if (err && asprintf(ret_error, "%s: %s", path, err) < 0)
                        *ret_error = NULL;
                return r;
        }
        return 0;
}

static void model_done(LlmModel *m) {
        free(m->name);
        free(m->upstream);
        for (size_t i = 0; i < m->n_tasks; i++)
                free(m->tasks[i]);
        for (size_t i = 0; i < m->n_fallbacks; i++)
                free(m->fallbacks[i]);
}

void llm_config_done(LlmConfig *cfg) {
        for (size_t i = 0; i < cfg->n_backends; i++) {
                LlmBackend *b = &cfg->backends[i];

                for (size_t j = 0; j < b->n_models; j++)
                        model_done(&b->models[j]);
                free(b->name);
                free(b->base_url);
                if (b->api_key)
                        explicit_bzero(b->api_key, strlen(b->api_key));
                free(b->api_key);
                free(b->anthropic_version);
        }
        *cfg = (LlmConfig){};
}
