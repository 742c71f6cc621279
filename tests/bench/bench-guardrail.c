/* SPDX-License-Identifier: MIT */
/* bench-guardrail — cost per request of the input rules (all built-ins, default actions)
 * and of output redaction, on 1 KiB and 64 KiB texts: ordinary prose, and a worst case
 * dense with the rules' anchors (quotes, semicolons, pipes, "ignore", "system").
 * Prints the median in µs over N runs. Usage: bench-guardrail [runs] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guardrail.h"
#include "macro.h"
#include "redact.h"
#include "time-util.h"

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Pseudo-random words from a list (fixed seed): text with the shape of a real prompt. */
static void fill(char *buf, size_t n, const char *const *words, size_t n_words) {
        unsigned long x = 12345;
        size_t o = 0;

        while (o < n) {
                const char *w;

                x = x * 6364136223846793005UL + 1442695040888963407UL;
                w = words[(x >> 33) % n_words];
                for (const char *c = w; *c && o < n; c++)
                        buf[o++] = *c;
                if (o < n)
                        buf[o++] = (x >> 20) % 13 == 0 ? '\n' : ' ';
        }
}

static double median_check(const Guardrail *g, const char *s, size_t n, int runs) {
        double *t = calloc((size_t) runs, sizeof(double)), m;

        for (int i = 0; i < runs; i++) {
                GuardrailResult res;
                double t0 = time_now_s(CLOCK_MONOTONIC) * 1e6;

                guardrail_result_init(&res);
                (void) guardrail_check_text(g, "prompt", s, n, &res);
                t[i] = time_now_s(CLOCK_MONOTONIC) * 1e6 - t0;
        }
        qsort(t, (size_t) runs, sizeof(double), cmp_double);
        m = t[runs / 2];
        free(t);
        return m;
}

static double median_redact(const char *s, size_t n, int runs) {
        double *t = calloc((size_t) runs, sizeof(double)), m;

        for (int i = 0; i < runs; i++) {
                RedactCounts c = {};
                char *out = NULL;
                size_t len;
                double t0 = time_now_s(CLOCK_MONOTONIC) * 1e6;

                (void) redact_text(s, n, &c, &out, &len);
                t[i] = time_now_s(CLOCK_MONOTONIC) * 1e6 - t0;
                free(out);
        }
        qsort(t, (size_t) runs, sizeof(double), cmp_double);
        m = t[runs / 2];
        free(t);
        return m;
}

int main(int argc, char **argv) {
        static const char *const prose[] = {
                "the",        "report",  "summarize", "quarterly",   "revenue", "grew",
                "by",         "percent", "and",       "customers",   "in",      "Europe",
                "asked",      "for",     "a",         "translation", "of",      "our",
                "terms,",     "please",  "write",     "three",       "bullet",  "points",
                "about",      "it.",     "Thanks!",   "(draft)",     "mail",    "bob@example.org",
                "2024-05-01", "42",      "features",  "information", "system",
        };
        static const char *const dense[] = {
                "ignore", "system", "you",   "are",    "now",  "';",        "|",      "union",
                "`x`",    "$(",     "/etc/", "rm",     "-rf",  "developer", "hidden", "<|",
                "###",    "or",     "'or",   "forget", "skip", "act as",
        };
        int runs = argc > 1 ? atoi(argv[1]) : 2001;
        static char text[65537];
        Guardrail *g = NULL;
        const size_t sizes[] = { 1024, 65536 };

        if (runs < 11)
                runs = 11;
        if (guardrail_new(1024, &g) < 0) {
                fprintf(stderr, "setup failed\n");
                return 1;
        }
        for (size_t k = 0; k < ELEMENTSOF(sizes); k++) {
                fill(text, sizes[k], prose, ELEMENTSOF(prose));
                text[sizes[k]] = '\0';
                printf("guardrail_check_us prose %zu B: %.1f\n",
                       sizes[k],
                       median_check(g, text, sizes[k], runs));
                printf("redact_us prose %zu B: %.1f\n", sizes[k], median_redact(text, sizes[k], runs));
                fill(text, sizes[k], dense, ELEMENTSOF(dense));
                text[sizes[k]] = '\0';
                printf("guardrail_check_us anchor-dense %zu B: %.1f\n",
                       sizes[k],
                       median_check(g, text, sizes[k], MAX(runs / 10, 11)));
        }
        printf("(median of %d runs; %zu rules)\n", runs, guardrail_n_rules(g));
        guardrail_free(g);
        return 0;
}
