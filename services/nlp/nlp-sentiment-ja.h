/* SPDX-License-Identifier: MIT */
/* nlp-sentiment-ja.h — Japanese sentiment from a polarity lexicon the operator supplies
 * (NLP_JA_SENTIMENT_LEXICON): none openly licensed is obtainable for the image, so
 * without one the service answers 501 and names this setting. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "nlp-tokenize.h"

/* Loads "base form TAB polarity" lines (VADER's scale, -4..+4; '#' comments).
 * -ENOENT, -EBADMSG on a malformed line or a polarity outside -4..+4. */
int nlp_sentiment_ja_init(const char *path);
void nlp_sentiment_ja_done(void);
bool nlp_sentiment_ja_available(void);
/* {method:"polarity-lexicon", compound, pos, neg, neu, label, matched} for a Japanese
 * document; -ENOTSUP without a lexicon. */
int nlp_sentiment_ja(const NlpDoc *d, json_object **ret);
