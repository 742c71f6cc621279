/* SPDX-License-Identifier: MIT */
/* nlp-sentiment-ja.c — lexicon look-up on MeCab base forms, with the one rule Japanese
 * needs most: a negating auxiliary (ない, ぬ, ん, ず) within the next five morphemes of
 * the same sentence flips the polarity (良く|ない, 好き|で|は|あり|ませ|ん). Scores are summed and
 * normalised exactly as VADER does (x / sqrt(x² + 15)), and pos/neg/neu are VADER's
 * proportions over the sentence's words, so the figures read like the English ones. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nlp-json.h"
#include "nlp-sentiment-ja.h"
#include "nlp-vocab.h"

static NlpVocab lexicon;
static double *values;
static char *storage;

bool nlp_sentiment_ja_available(void) {
        return values != NULL;
}

void nlp_sentiment_ja_done(void) {
        nlp_vocab_done(&lexicon);
        free(values);
        free(storage);
        values = NULL;
        storage = NULL;
}

int nlp_sentiment_ja_init(const char *path) {
        FILE *f;
        long sz;
        size_t cap = 256, n = 0;
        int r = 0;

        if (values)
                return 0;
        if (isempty(path))
                return -ENOENT;
        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        if (fseek(f, 0, SEEK_END) < 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
                r = negative_errno();
        else if (!(storage = malloc((size_t) sz + 1)) || !(values = malloc(cap * sizeof(double))))
                r = -ENOMEM;
        else if (fread(storage, 1, (size_t) sz, f) != (size_t) sz)
                r = -EIO;
        fclose(f);
        if (r < 0)
                goto fail;
        storage[sz] = 0;
        for (char *line = storage, *next; line && *line; line = next) {
                char *tab, *end;
                double v;
                int id;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                line[strcspn(line, "\r")] = 0;
                if (*line == '#' || *line == 0)
                        continue;
                tab = strchr(line, '\t');
                if (!tab || tab == line) {
                        r = -EBADMSG;
                        goto fail;
                }
                *tab = 0;
                v = strtod(tab + 1, &end);
                if (end == tab + 1 || !isfinite(v) || v < -4 || v > 4) {
                        r = -EBADMSG;
                        goto fail;
                }
                id = nlp_vocab_id(&lexicon, line);
                if (id < 0) {
                        r = id;
                        goto fail;
                }
                if ((size_t) id >= cap) {
                        double *nv = realloc(values, (cap *= 2) * sizeof(double));
                        if (!nv) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        values = nv;
                }
                values[id] = v;
                n++;
        }
        if (n == 0) {
                r = -EBADMSG;
                goto fail;
        }
        return 0;
fail:
        nlp_sentiment_ja_done();
        return r;
}

static bool negator(const NlpToken *t) {
        return t->pos && (startswith(t->pos, "助動詞") || startswith(t->pos, "形容詞")) &&
                (streq(t->norm, "ない") || streq(t->norm, "ぬ") || streq(t->norm, "ん") ||
                 streq(t->norm, "ず"));
}

int nlp_sentiment_ja(const NlpDoc *d, json_object **ret) {
        double sum = 0, pos_sum = 0, neg_sum = 0, neu = 0, total, compound;
        size_t matched = 0;
        json_object *o;

        if (!values)
                return -ENOTSUP;
        for (size_t i = 0; i < d->n_tokens; i++) {
                const NlpToken *t = &d->tokens[i];
                int id;
                double v;

                if (!t->word)
                        continue;
                id = nlp_vocab_find(&lexicon, t->norm);
                if (id < 0 || negator(t)) {
                        neu += 1;
                        continue;
                }
                v = values[id];
                for (size_t k = i + 1; k < MIN(d->n_tokens, i + 6) && d->tokens[k].sentence == t->sentence;
                     k++)
                        if (negator(&d->tokens[k])) {
                                v = -v * 0.74; /* VADER's N_SCALAR: "not good" is milder than "bad" */
                                break;
                        }
                matched++;
                sum += v;
                if (v > 0)
                        pos_sum += v + 1;
                else if (v < 0)
                        neg_sum += v - 1;
                else
                        neu += 1;
        }
        compound = sum / sqrt(sum * sum + 15.0);
        total = pos_sum + fabs(neg_sum) + neu;
        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "method", json_object_new_string("polarity-lexicon"));
        json_object_object_add(o, "compound", nlp_json_double(round(compound * 1e4) / 1e4));
        json_object_object_add(
                o, "pos", nlp_json_double(total > 0 ? round(pos_sum / total * 1e3) / 1e3 : 0));
        json_object_object_add(
                o, "neg", nlp_json_double(total > 0 ? round(fabs(neg_sum) / total * 1e3) / 1e3 : 0));
        json_object_object_add(o, "neu", nlp_json_double(total > 0 ? round(neu / total * 1e3) / 1e3 : 0));
        json_object_object_add(
                o,
                "label",
                json_object_new_string(
                        compound >= 0.05            ? "positive"
                                : compound <= -0.05 ? "negative"
                                                    : "neutral"));
        json_object_object_add(o, "matched", json_object_new_int64(matched));
        *ret = o;
        return 0;
}
