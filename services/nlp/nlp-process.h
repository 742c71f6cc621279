/* SPDX-License-Identifier: MIT */
/* nlp-process.h — POST /process: validation of {text, task, language, options}, language
 * detection, dispatch to the task modules and the seed's response shape
 * {task, results, language_detected, processing_time}. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "http-server.h"
#include "metrics.h"
#include "problem.h"
#include "service-tasks.h"

typedef struct NlpConfig {
        uint64_t max_text;      /* bytes of "text" (413 above) */
        uint64_t time_limit_ms; /* per request; 0 = none */
        char *mecab_rc;
        char *mecab_dicdir;
        char *textcat_conf;
        char *textcat_dir;
        char *vader_lexicon;
        char *ja_sentiment_lexicon; /* optional */
        char *llm_url;              /* optional: Japanese sentiment through the llm service */
        char *llm_model;
        uint64_t llm_timeout_ms;
} NlpConfig;

/* Loads every resource it can; each one missing is logged by the caller from
 * *ret_missing (a comma-separated list of config names, NULL when all loaded). */
int nlp_resources_load(const NlpConfig *c, char **ret_missing);
void nlp_resources_free(void);
/* Readiness details: {mecab, textcat, vader} → "loaded" | "missing", ja_sentiment → "loaded" |
 * "llm" (NLP_LLM_URL is set; not probed: readiness never waits on the llm) | "not configured". */
int nlp_resources_status(json_object *response, bool *ret_ready);

/* Processes a parsed request body. Returns 0 with *ret_result set, or a 4xx/5xx status
 * with *ret_problem set, or -errno. */
int nlp_process(const NlpConfig *c, json_object *body, json_object **ret_result, Problem **ret_problem);

/* nlp_requests_total{task,status}, nlp_processing_seconds{task},
 * nlp_language_detected_total{language}; the handler counts into them once set up. */
int nlp_process_setup_metrics(MetricsRegistry *registry);

/* GET /tasks (ServiceDefinition.tasks): the tasks POST /process runs. */
int nlp_process_tasks(ServiceTasks *out, void *userdata);

/* The route handler (userdata = const NlpConfig *). */
int nlp_process_handler(HttpRequest *req, void *userdata);
