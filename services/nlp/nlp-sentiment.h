/* SPDX-License-Identifier: MIT */
/* nlp-sentiment.h — VADER (Hutto & Gilbert, ICWSM 2014): its lexicon and rules for
 * English. Japanese has no openly licensed polarity lexicon available here, so the
 * service answers 501 for it rather than a score no method backs. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct NlpSentimentScores {
        double compound, pos, neg, neu;
} NlpSentimentScores;

/* Loads vader_lexicon.txt (token TAB mean TAB ...). -ENOENT, -EBADMSG on a bad line. */
int nlp_sentiment_init(const char *lexicon_path);
void nlp_sentiment_done(void);
bool nlp_sentiment_available(void);
/* VADER's polarity_scores() on text (valid UTF-8); -ENOTSUP without a lexicon. */
int nlp_sentiment_vader(const char *text, size_t len, NlpSentimentScores *ret);
/* {method:"vader", compound, pos, neg, neu, label} */
int nlp_sentiment_to_json(const NlpSentimentScores *s, json_object **ret);
