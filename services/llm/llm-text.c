/* SPDX-License-Identifier: MIT */
/* llm-text.c — the growable text buffer. */
#include "llm-text.h"

int llm_text_append(LlmText *t, const char *s, size_t n, size_t max) {
        if (max > 0 && t->len + n > max)
                return -E2BIG;
        if (t->len + n + 1 > t->cap) {
                size_t cap = MAX(MAX(t->cap * 2, t->len + n + 1), (size_t) 256);
                char *p = realloc(t->p, cap);

                if (!p)
                        return -ENOMEM;
                t->p = p;
                t->cap = cap;
        }
        memcpy(t->p + t->len, s, n);
        t->len += n;
        t->p[t->len] = '\0';
        return 0;
}

void llm_text_clear(LlmText *t) {
        t->len = 0;
        if (t->p)
                t->p[0] = '\0';
}

void llm_text_done(LlmText *t) {
        free(t->p);
        *t = (LlmText){};
}
