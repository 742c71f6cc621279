/* SPDX-License-Identifier: MIT */
/* llm-tokens.c — token estimate and history trimming. */
#include <errno.h>
#include <string.h>

#include "llm-tokens.h"

#define MESSAGE_OVERHEAD 4
#define REPLY_PRIMING 3

int64_t llm_tokens_estimate_text(const char *s, size_t len) {
        return s ? (int64_t) ((len + 3) / 4) : 0;
}

static int64_t estimate(const char *s) {
        return llm_tokens_estimate_text(s, s ? strlen(s) : 0);
}

static int64_t message_tokens(const LlmMessage *m) {
        int64_t t = MESSAGE_OVERHEAD + estimate(m->content);

        for (size_t i = 0; i < m->n_tool_calls; i++)
                t += estimate(m->tool_calls[i].name) + estimate(m->tool_calls[i].arguments);
        return t;
}

int64_t llm_tokens_estimate_messages(const LlmMessage *m, size_t n) {
        int64_t t = REPLY_PRIMING;

        for (size_t i = 0; i < n; i++)
                t += message_tokens(&m[i]);
        return t;
}

static bool is_system(const LlmMessage *m) {
        return m->role && strcmp(m->role, "system") == 0;
}

static bool is_tool(const LlmMessage *m) {
        return m->role && strcmp(m->role, "tool") == 0;
}

int llm_tokens_trim(
        const LlmMessage *m,
        size_t n,
        int64_t budget,
        bool *keep,
        size_t *ret_dropped,
        int64_t *ret_tokens) {
        int64_t used = REPLY_PRIMING;
        size_t dropped = 0;
        bool newest = true;

        for (size_t i = 0; i < n; i++) {
                keep[i] = is_system(&m[i]);
                if (keep[i])
                        used += message_tokens(&m[i]);
        }
        for (size_t i = n; i > 0; i--) {
                const LlmMessage *x = &m[i - 1];

                if (is_system(x))
                        continue;
                if (used + message_tokens(x) <= budget) {
                        keep[i - 1] = true;
                        used += message_tokens(x);
                } else {
                        if (newest)
                                return -E2BIG;
                        /* Once one message is dropped every older one goes too: a history
                         * with holes would misrepresent the conversation. */
                        for (size_t j = i; j > 0; j--)
                                if (!is_system(&m[j - 1])) {
                                        keep[j - 1] = false;
                                        dropped++;
                                }
                        break;
                }
                newest = false;
        }
        /* A tool result whose assistant message was dropped would answer a call nobody made. */
        for (size_t i = 0; i < n; i++) {
                if (!keep[i] || is_system(&m[i]))
                        continue;
                if (!is_tool(&m[i]))
                        break;
                if (i == n - 1)
                        return -E2BIG; /* the newest message cannot go without its call */
                keep[i] = false;
                used -= message_tokens(&m[i]);
                dropped++;
        }
        if (used > budget)
                return -E2BIG; /* the system messages alone are too long */
        *ret_dropped = dropped;
        *ret_tokens = used;
        return 0;
}
