/* SPDX-License-Identifier: MIT */
/* usage.h — the token usage an llm answer reports, read from what the orchestrator relays:
 * a JSON answer (OpenAI's usage {prompt_tokens, completion_tokens}, Anthropic's
 * {input_tokens, output_tokens}, the seed's tokens_used) or an SSE stream (OpenAI's usage
 * chunk, Anthropic's message_start and message_delta events). */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#define USAGE_MODEL_MAX 128

typedef struct UsageCount {
        int64_t prompt, completion;
        char model[USAGE_MODEL_MAX + 1]; /* "" when the answer does not say */
} UsageCount;

/* From a parsed JSON answer (parsed != NULL) or the text of an SSE stream. 1 when the
 * answer reports usage (*ret filled), 0 when it does not. */
int usage_from_answer(json_object *parsed, const char *body, size_t len, UsageCount *ret);

/* "YYYY-MM-DD" of Unix time t in UTC. */
void usage_day(double t, char ret[static 11]);
