/* SPDX-License-Identifier: MIT */
/* nlp-llm.h — Japanese sentiment through the llm service's OpenAI-compatible
 * POST /v1/chat/completions when no polarity lexicon is configured: a strict JSON verdict
 * {label, score} asked for at temperature 0, validated before any of it is reported. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "problem.h"

typedef struct NlpLlmVerdict {
        const char *label; /* static: "positive" | "negative" | "neutral" | "mixed" */
        double score;      /* [-1, 1]; >= 0 for positive, <= 0 for negative */
} NlpLlmVerdict;

/* Validates a model's reply (a JSON object, optionally inside a ``` or ```json fence).
 * Returns 0 with *ret set, -EBADMSG with *ret_error saying what was wrong (owned by the
 * caller), or -ENOMEM. */
int nlp_llm_verdict_parse(const char *content, NlpLlmVerdict *ret, char **ret_error);

/* Asks the llm service at base_url (e.g. http://127.0.0.1:8081) for the sentiment of
 * text with model (e.g. "auto"), waiting at most timeout_ms. Returns 0 with
 * *ret = {method: "llm:<model used>", label, score}; or an HTTP status with *ret_problem:
 * 502 (the llm or the model answered something that does not validate), 503 (the llm
 * service has no backend, or cannot be reached), 504 (timeout), 413 (text too long for
 * the model's window); or -ENOMEM. */
int nlp_llm_sentiment(
        const char *base_url,
        const char *model,
        uint64_t timeout_ms,
        const char *text,
        size_t len,
        json_object **ret,
        Problem **ret_problem);
