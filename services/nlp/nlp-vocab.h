/* SPDX-License-Identifier: MIT */
/* nlp-vocab.h — a growable string → dense id map (borrowed keys), the shared piece of
 * keywords, summaries and similarity. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct NlpVocab {
        const char **keys; /* by id, borrowed */
        size_t n;
        uint32_t *slots; /* id + 1, 0 = empty */
        size_t mask;
} NlpVocab;

/* The id of key, added when new; -ENOMEM. */
int nlp_vocab_id(NlpVocab *v, const char *key);
/* The id of key or -ENOENT. */
int nlp_vocab_find(const NlpVocab *v, const char *key);
void nlp_vocab_done(NlpVocab *v);
