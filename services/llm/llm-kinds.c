/* SPDX-License-Identifier: MIT */
/* llm-kinds.c — the table of backend kinds, looked up by the "kind" of LLM_BACKENDS_FILE:
 * a name that is not here is an error at start, never a default. */
#include <stdio.h>

#include "llm-kinds.h"

static const LlmProviderOps *const kinds[] = {
        &llm_ollama_ops,
        &llm_openai_ops,
        &llm_anthropic_ops,
};

const LlmProviderOps *llm_kinds_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
                if (streq_ptr(name, kinds[i]->name))
                        return kinds[i];
        return NULL;
}

void llm_kinds_names(char *buf, size_t size) {
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ELEMENTSOF(kinds) && n < size; i++) {
                int k = snprintf(buf + n, size - n, "%s%s", i > 0 ? ", " : "", kinds[i]->name);
                if (k < 0)
                        break;
                n += (size_t) k;
        }
}
