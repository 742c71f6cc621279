/* SPDX-License-Identifier: MIT */
/* llm-text.h — a growable text buffer, always NUL-terminated: an answer being buffered, a
 * stream line being framed, tool-call arguments being assembled. */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef struct LlmText {
        char *p; /* NULL until the first append */
        size_t len, cap;
} LlmText;

/* Appends n bytes of s. -E2BIG when the text would pass max bytes (0: no bound; nothing
 * is appended then), -ENOMEM. */
int llm_text_append(LlmText *t, const char *s, size_t n, size_t max);
/* Empties the text, keeping its memory. */
void llm_text_clear(LlmText *t);
void llm_text_done(LlmText *t);

static inline const char *llm_text_str(const LlmText *t) {
        return t->p ? t->p : "";
}
