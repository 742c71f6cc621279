/* SPDX-License-Identifier: MIT */
/* nlp-keywords.c — RAKE: word score = degree / frequency over the candidate phrases
 * (words as written, lower-cased, as in the paper), phrase score = sum of its word
 * scores; repeated phrases are merged (English by stems, so "neural networks" and
 * "neural network" are one phrase, scored by its first spelling). Phrases longer than RAKE_MAX_WORDS are
 * dropped, as RAKE's authors advise. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nlp-json.h"
#include "nlp-keywords.h"
#include "nlp-utf8.h"
#include "nlp-vocab.h"

#define RAKE_MAX_WORDS 4

typedef struct Phrase {
        size_t first, n; /* token range of the first occurrence */
        size_t count;
        double score;
        char *key;
} Phrase;

static bool candidate(const NlpDoc *d, const NlpToken *t) {
        if (d->lang == NLP_LANG_JA)
                return t->noun && t->content;
        if (!t->content)
                return false;
        /* Bare numbers are no key phrases. */
        for (const char *p = t->norm; *p; p++)
                if (!(*p >= '0' && *p <= '9') && *p != '.' && *p != ',')
                        return true;
        return false;
}

static int cmp_phrase(const void *a, const void *b) {
        const Phrase *x = a, *y = b;
        if (x->score != y->score)
                return x->score < y->score ? 1 : -1;
        if (x->count != y->count)
                return x->count < y->count ? 1 : -1;
        return x->first < y->first ? -1 : x->first > y->first;
}

int nlp_keywords(const NlpDoc *d, size_t max, json_object **ret) {
        _cleanup_free_ double *deg = NULL, *freq = NULL;
        _cleanup_free_ Phrase *phrases = NULL;
        _cleanup_free_ int *word_id = NULL;
        NlpVocab words = {}, keys = {};
        size_t n_phrases = 0;
        json_object *o = NULL, *arr;
        int r = 0;

        word_id = calloc(d->n_tokens + 1, sizeof(int));
        phrases = calloc(d->n_tokens + 1, sizeof(Phrase));
        if (!word_id || !phrases)
                return -ENOMEM;
        for (size_t i = 0; i < d->n_tokens; i++) {
                r = nlp_vocab_id(&words, d->tokens[i].norm);
                if (r < 0)
                        goto finish;
                word_id[i] = r;
        }
        deg = calloc(words.n + 1, sizeof(double));
        freq = calloc(words.n + 1, sizeof(double));
        if (!deg || !freq) {
                r = -ENOMEM;
                goto finish;
        }

        /* Candidate phrases, with their word co-occurrence degrees. */
        for (size_t i = 0; i < d->n_tokens;) {
                size_t j = i, len;
                char *key;
                int id;

                while (j < d->n_tokens && candidate(d, &d->tokens[j]) &&
                       (j == i || d->tokens[j].sentence == d->tokens[i].sentence))
                        j++;
                if (j == i) {
                        i++;
                        continue;
                }
                if (j - i > RAKE_MAX_WORDS) {
                        i = j;
                        continue;
                }
                for (size_t k = i; k < j; k++) {
                        deg[word_id[k]] += j - i;
                        freq[word_id[k]] += 1;
                }
                len = 0;
                for (size_t k = i; k < j; k++)
                        len += strlen(d->tokens[k].stem) + 1;
                key = malloc(len + 1);
                if (!key) {
                        r = -ENOMEM;
                        goto finish;
                }
                key[0] = 0;
                for (size_t k = i; k < j; k++) {
                        if (k > i)
                                strcat(key, " ");
                        strcat(key, d->tokens[k].stem);
                }
                id = nlp_vocab_find(&keys, key);
                if (id >= 0) {
                        phrases[id].count++;
                        free(key);
                } else {
                        id = nlp_vocab_id(&keys, key);
                        if (id < 0) {
                                free(key);
                                r = id;
                                goto finish;
                        }
                        phrases[id] = (Phrase){ .first = i, .n = j - i, .count = 1, .key = key };
                        n_phrases++;
                }
                i = j;
        }
        for (size_t p = 0; p < n_phrases; p++)
                for (size_t k = phrases[p].first; k < phrases[p].first + phrases[p].n; k++)
                        phrases[p].score += deg[word_id[k]] / freq[word_id[k]];
        qsort(phrases, n_phrases, sizeof(Phrase), cmp_phrase);

        o = json_object_new_object();
        arr = json_object_new_array();
        if (!o || !arr) {
                json_object_put(arr);
                r = -ENOMEM;
                goto finish;
        }
        json_object_object_add(o, "method", json_object_new_string("rake"));
        json_object_object_add(o, "keywords", arr);
        for (size_t p = 0; p < MIN(n_phrases, max); p++) {
                const Phrase *ph = &phrases[p];
                json_object *k = json_object_new_object();
                const NlpToken *a = &d->tokens[ph->first], *b = &d->tokens[ph->first + ph->n - 1];
                char *text;

                if (!k) {
                        r = -ENOMEM;
                        goto finish;
                }
                json_object_array_add(arr, k);
                if (d->lang == NLP_LANG_JA) /* the surface as written */
                        text = strndup(d->text + a->start, b->start + b->len - a->start);
                else
                        text = nlp_utf8_lower_dup(d->text + a->start, b->start + b->len - a->start);
                if (!text) {
                        r = -ENOMEM;
                        goto finish;
                }
                json_object_object_add(k, "phrase", json_object_new_string(text));
                free(text);
                json_object_object_add(k, "score", nlp_json_double(ph->score));
                json_object_object_add(k, "count", json_object_new_int64(ph->count));
        }
        *ret = TAKE_PTR(o);
        r = 0;
finish:
        for (size_t p = 0; p < keys.n; p++)
                free((char *) keys.keys[p]);
        nlp_vocab_done(&keys);
        nlp_vocab_done(&words);
        json_object_put(o);
        return r;
}
