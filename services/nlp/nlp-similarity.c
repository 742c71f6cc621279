/* SPDX-License-Identifier: MIT */
/* nlp-similarity.c — term frequencies over content words (English stems, Japanese base
 * forms), smoothed IDF over the documents of the request, cosine of the weighted
 * vectors. The IDF cannot come from a background corpus we do not have, so it only
 * discounts terms shared by the texts compared; that is stated in docs/nlp.md. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "macro.h"
#include "nlp-deadline.h"
#include "nlp-similarity.h"
#include "nlp-vocab.h"

int nlp_similarity(NlpDoc *const *docs, size_t n, uint64_t deadline, double *ret) {
        NlpVocab vocab = {};
        _cleanup_free_ double *tf = NULL, *df = NULL;
        size_t terms;
        int r;

        /* First pass: the vocabulary. */
        for (size_t d = 0; d < n; d++)
                for (size_t k = 0; k < docs[d]->n_tokens; k++)
                        if (docs[d]->tokens[k].content) {
                                r = nlp_vocab_id(&vocab, docs[d]->tokens[k].stem);
                                if (r < 0)
                                        goto finish;
                        }
        terms = vocab.n;
        tf = calloc(n * terms + 1, sizeof(double));
        df = calloc(terms + 1, sizeof(double));
        if (!tf || !df) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t d = 0; d < n; d++)
                for (size_t k = 0; k < docs[d]->n_tokens; k++)
                        if (docs[d]->tokens[k].content) {
                                int id = nlp_vocab_find(&vocab, docs[d]->tokens[k].stem);
                                if (tf[d * terms + id] == 0)
                                        df[id] += 1;
                                tf[d * terms + id] += 1;
                        }
        for (size_t t = 0; t < terms; t++) {
                double idf = log((1.0 + n) / (1.0 + df[t])) + 1.0;
                for (size_t d = 0; d < n; d++)
                        tf[d * terms + t] *= idf;
        }
        for (size_t d = 1; d < n; d++) {
                double dot = 0, na = 0, nb = 0;
                r = nlp_deadline_check(deadline);
                if (r < 0)
                        goto finish;
                for (size_t t = 0; t < terms; t++) {
                        double a = tf[t], b = tf[d * terms + t];
                        dot += a * b;
                        na += a * a;
                        nb += b * b;
                }
                ret[d - 1] = na > 0 && nb > 0 ? round(dot / sqrt(na * nb) * 1e6) / 1e6 : 0.0;
        }
        r = 0;
finish:
        nlp_vocab_done(&vocab);
        return r;
}
