/* SPDX-License-Identifier: MIT */
/* nlp-summarize.h — extractive summaries by TextRank (Mihalcea & Tarau, 2004). */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "nlp-tokenize.h"

/* TextRank's graph is dense: 1000 sentences = 8 MB of weights per request. */
#define NLP_SUMMARY_MAX_SENTENCES 1000

/* -E2BIG above NLP_SUMMARY_MAX_SENTENCES sentences. Picks `count` sentences (clamped to 1..n) in their
 * original order: {method:"textrank", summary, sentences:[{index, text, score}], total_sentences}. */
int nlp_summarize(const NlpDoc *d, size_t count, uint64_t deadline, json_object **ret);
