/* SPDX-License-Identifier: MIT */
/* nlp-summarize.c — TextRank over sentences: edge weight = shared content words /
 * (log |Si| + log |Sj|) (the paper's similarity, on stems or MeCab base forms),
 * weighted PageRank with d = 0.85 until the scores move less than 1e-6. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nlp-deadline.h"
#include "nlp-json.h"
#include "nlp-summarize.h"
#include "nlp-vocab.h"

#define DAMPING 0.85
#define MAX_ITERATIONS 200

typedef struct Bag {
        int *ids; /* sorted, unique */
        size_t n;
} Bag;

static int cmp_int(const void *a, const void *b) {
        int x = *(const int *) a, y = *(const int *) b;
        return (x > y) - (x < y);
}

static double overlap(const Bag *a, const Bag *b) {
        size_t i = 0, j = 0, common = 0;
        double denom;

        if (a->n == 0 || b->n == 0)
                return 0;
        while (i < a->n && j < b->n) {
                if (a->ids[i] == b->ids[j]) {
                        common++;
                        i++;
                        j++;
                } else if (a->ids[i] < b->ids[j])
                        i++;
                else
                        j++;
        }
        if (!common)
                return 0;
        denom = log((double) a->n) + log((double) b->n);
        return denom > 0 ? common / denom : (double) common;
}

typedef struct Ranked {
        size_t index;
        double score;
} Ranked;

static int cmp_ranked(const void *a, const void *b) {
        const Ranked *x = a, *y = b;
        if (x->score != y->score)
                return x->score < y->score ? 1 : -1;
        return (x->index > y->index) - (x->index < y->index);
}

static int cmp_index(const void *a, const void *b) {
        const Ranked *x = a, *y = b;
        return (x->index > y->index) - (x->index < y->index);
}

static int summarize(const NlpDoc *d, size_t n, size_t count, uint64_t deadline, json_object **ret) {
        _cleanup_free_ Bag *bags = NULL;
        _cleanup_free_ double *w = NULL, *wsum = NULL, *score = NULL, *next = NULL;
        _cleanup_free_ Ranked *ranked = NULL;
        _cleanup_free_ char *summary = NULL;
        NlpVocab vocab = {};
        json_object *o = NULL, *arr;
        size_t summary_len = 0;
        int r = 0;

        bags = calloc(n + 1, sizeof(Bag));
        score = calloc(n + 1, sizeof(double));
        next = calloc(n + 1, sizeof(double));
        wsum = calloc(n + 1, sizeof(double));
        ranked = calloc(n + 1, sizeof(Ranked));
        w = calloc(n * n + 1, sizeof(double));
        if (!bags || !score || !next || !wsum || !ranked || !w)
                return -ENOMEM;
        for (size_t s = 0; s < n; s++) {
                const NlpSentence *se = &d->sentences[s];
                bags[s].ids = calloc(se->n_tokens + 1, sizeof(int));
                if (!bags[s].ids) {
                        r = -ENOMEM;
                        goto finish;
                }
                for (size_t k = se->first_token; k < se->first_token + se->n_tokens; k++) {
                        if (!d->tokens[k].content)
                                continue;
                        r = nlp_vocab_id(&vocab, d->tokens[k].stem);
                        if (r < 0)
                                goto finish;
                        bags[s].ids[bags[s].n++] = r;
                }
                qsort(bags[s].ids, bags[s].n, sizeof(int), cmp_int);
                size_t u = 0;
                for (size_t k = 0; k < bags[s].n; k++)
                        if (u == 0 || bags[s].ids[u - 1] != bags[s].ids[k])
                                bags[s].ids[u++] = bags[s].ids[k];
                bags[s].n = u;
        }
        for (size_t i = 0; i < n; i++) {
                r = nlp_deadline_check(deadline);
                if (r < 0)
                        goto finish;
                for (size_t j = i + 1; j < n; j++) {
                        double v = overlap(&bags[i], &bags[j]);
                        w[i * n + j] = w[j * n + i] = v;
                        wsum[i] += v;
                        wsum[j] += v;
                }
        }
        for (size_t i = 0; i < n; i++)
                score[i] = 1.0;
        for (int it = 0; it < MAX_ITERATIONS; it++) {
                double delta = 0;
                r = nlp_deadline_check(deadline);
                if (r < 0)
                        goto finish;
                for (size_t i = 0; i < n; i++) {
                        double sum = 0;
                        for (size_t j = 0; j < n; j++)
                                if (w[j * n + i] > 0)
                                        sum += w[j * n + i] / wsum[j] * score[j];
                        next[i] = (1 - DAMPING) + DAMPING * sum;
                        delta = MAX(delta, fabs(next[i] - score[i]));
                }
                memcpy(score, next, n * sizeof(double));
                if (delta < 1e-6)
                        break;
        }

        for (size_t i = 0; i < n; i++)
                ranked[i] = (Ranked){ .index = i, .score = score[i] };
        qsort(ranked, n, sizeof(Ranked), cmp_ranked);
        count = n == 0 ? 0 : CLAMP(count, (size_t) 1, n);
        qsort(ranked, count, sizeof(Ranked), cmp_index);

        o = json_object_new_object();
        arr = json_object_new_array();
        summary = calloc(d->len + n + 1, 1);
        if (!o || !arr || !summary) {
                json_object_put(arr);
                r = -ENOMEM;
                goto finish;
        }
        json_object_object_add(o, "method", json_object_new_string("textrank"));
        json_object_object_add(o, "sentences", arr);
        for (size_t k = 0; k < count; k++) {
                const NlpSentence *se = &d->sentences[ranked[k].index];
                json_object *j = json_object_new_object();

                if (!j) {
                        r = -ENOMEM;
                        goto finish;
                }
                json_object_array_add(arr, j);
                json_object_object_add(j, "index", json_object_new_int64(ranked[k].index));
                json_object_object_add(
                        j, "text", json_object_new_string_len(d->text + se->start, se->end - se->start));
                json_object_object_add(j, "score", nlp_json_double(round(ranked[k].score * 1e6) / 1e6));
                if (k > 0 && d->lang != NLP_LANG_JA)
                        summary[summary_len++] = ' ';
                memcpy(summary + summary_len, d->text + se->start, se->end - se->start);
                summary_len += se->end - se->start;
        }
        json_object_object_add(o, "summary", json_object_new_string_len(summary, summary_len));
        json_object_object_add(o, "total_sentences", json_object_new_int64(n));
        *ret = TAKE_PTR(o);
        r = 0;
finish:
        for (size_t s = 0; s < n; s++)
                free(bags[s].ids);
        nlp_vocab_done(&vocab);
        json_object_put(o);
        return r;
}

int nlp_summarize(const NlpDoc *d, size_t count, uint64_t deadline, json_object **ret) {
        size_t n = d->n_sentences;

        /* The graph is dense (n² weights): bound it rather than let one request take gigabytes. */
        if (n > NLP_SUMMARY_MAX_SENTENCES)
                return -E2BIG;
        return summarize(d, n, count, deadline, ret);
}
