/* SPDX-License-Identifier: MIT */
/* bench-nlp.c — the NLP service's hot paths in one thread (= per core), for
 * tests/bench/nlp.sh:
 *   bench-nlp sentiment LEXICON FILE SECONDS   VADER on each line of FILE, docs/s
 *   bench-nlp tokenize-ja RC DICDIR FILE RUNS  nlp_doc_new() on FILE as Japanese, MB/s */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nlp-deadline.h"
#include "nlp-mecab.h"
#include "nlp-sentiment.h"
#include "nlp-tokenize.h"
#include "time-util.h"

static char *slurp(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                perror(path);
                exit(1);
        }
        buf = malloc(n + 1);
        if (!buf || fread(buf, 1, n, f) != (size_t) n)
                exit(1);
        buf[n] = 0;
        fclose(f);
        *ret_len = n;
        return buf;
}

static int bench_sentiment(const char *lexicon, const char *file, double seconds) {
        size_t len, n_lines = 0, total = 0, bytes = 0;
        char *buf, **lines;
        uint64_t t0, t;
        double check = 0;

        if (nlp_sentiment_init(lexicon) < 0) {
                fprintf(stderr, "cannot load %s\n", lexicon);
                return 1;
        }
        buf = slurp(file, &len);
        lines = calloc(len + 1, sizeof(char *));
        if (!lines)
                return 1;
        for (char *p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"))
                lines[n_lines++] = p;
        for (size_t i = 0; i < n_lines; i++)
                bytes += strlen(lines[i]);
        t0 = time_now_usec(CLOCK_MONOTONIC);
        do {
                for (size_t i = 0; i < n_lines; i++) {
                        NlpSentimentScores s;
                        nlp_sentiment_vader(lines[i], strlen(lines[i]), &s);
                        check += s.compound;
                }
                total += n_lines;
                t = time_now_usec(CLOCK_MONOTONIC);
        } while (t - t0 < seconds * 1e6);
        printf("sentiment_docs_per_s %.0f\nmean_doc_bytes %.0f\nchecksum %.3f\n",
               total / ((t - t0) / 1e6),
               (double) bytes / n_lines,
               check);
        nlp_sentiment_done();
        free(lines);
        free(buf);
        return 0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

static int bench_tokenize_ja(const char *rc, const char *dicdir, const char *file, int runs) {
        size_t len, tokens = 0;
        char *buf;
        uint64_t t0;
        double mbs[15];

        if (runs < 1 || runs > (int) ELEMENTSOF(mbs))
                runs = 5;
        if (nlp_mecab_init(rc, dicdir) < 0) {
                fprintf(stderr, "cannot load MeCab's dictionary %s\n", dicdir);
                return 1;
        }
        buf = slurp(file, &len);
        for (int r = 0; r < runs; r++) {
                NlpDoc *d = NULL;

                t0 = time_now_usec(CLOCK_MONOTONIC);
                if (nlp_doc_new(buf, len, NLP_LANG_JA, &d) < 0) {
                        free(buf);
                        return 1;
                }
                mbs[r] = len / 1e6 / ((time_now_usec(CLOCK_MONOTONIC) - t0) / 1e6);
                tokens = d->n_tokens;
                nlp_doc_free(d);
        }
        qsort(mbs, runs, sizeof(double), cmp_double);
        printf("tokenize_ja_mb_per_s %.2f\ntokens %zu\nbytes %zu\n", mbs[runs / 2], tokens, len);
        nlp_mecab_done();
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 5 && strcmp(argv[1], "sentiment") == 0)
                return bench_sentiment(argv[2], argv[3], atof(argv[4]));
        if (argc == 6 && strcmp(argv[1], "tokenize-ja") == 0)
                return bench_tokenize_ja(argv[2], argv[3], argv[4], atoi(argv[5]));
        fprintf(stderr,
                "usage: bench-nlp sentiment LEXICON FILE SECONDS | tokenize-ja RC DICDIR FILE RUNS\n");
        return 2;
}
