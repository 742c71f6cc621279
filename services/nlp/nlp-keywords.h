/* SPDX-License-Identifier: MIT */
/* nlp-keywords.h — key phrases by RAKE (Rose et al., 2010): candidate phrases are runs of
 * content words between stop words and punctuation (runs of nouns for Japanese). */
#pragma once

#include <json-c/json.h>

#include "nlp-tokenize.h"

/* {method:"rake", keywords:[{phrase, score, count}]} with at most max entries. */
int nlp_keywords(const NlpDoc *d, size_t max, json_object **ret);
