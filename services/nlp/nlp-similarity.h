/* SPDX-License-Identifier: MIT */
/* nlp-similarity.h — cosine similarity of TF-IDF vectors. */
#pragma once

#include <stdint.h>

#include "nlp-tokenize.h"

/* Cosine similarity between docs[0] and each of docs[1..n) into ret[0..n-1); the IDF is
 * computed over the n documents given (smoothed: ln((1 + n) / (1 + df)) + 1). */
int nlp_similarity(NlpDoc *const *docs, size_t n, uint64_t deadline, double *ret);
