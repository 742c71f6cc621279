/* SPDX-License-Identifier: MIT */
/* llm-tools.c — assembly and checking of an answer's tool calls. */
#include <stdio.h>
#include <sys/random.h>

#include "json-util.h"
#include "llm-tools.h"

static int new_id(char **ret) {
        uint8_t rnd[12];
        char id[5 + 2 * sizeof(rnd) + 1] = "call_";

        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                return -EIO;
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(id + 5 + 2 * i, 3, "%02x", rnd[i]);
        *ret = strdup(id);
        return *ret ? 0 : -ENOMEM;
}

/* The call the backend numbers index, the latest one so numbered; NULL if none. */
static LlmToolCallText *find(LlmToolCalls *t, size_t index) {
        for (size_t i = t->n; i > 0; i--)
                if (t->calls[i - 1].backend_index == index)
                        return &t->calls[i - 1];
        return NULL;
}

static int begin(LlmToolCalls *t, LlmToolDelta *d, LlmToolCallText **ret) {
        LlmToolCallText *calls, *c;
        int r;

        if (isempty(d->name) || t->n >= LLM_TOOL_CALLS_MAX)
                return -EPROTO;
        calls = reallocarray(t->calls, t->n + 1, sizeof(*calls));
        if (!calls)
                return -ENOMEM;
        t->calls = calls;
        c = &calls[t->n];
        *c = (LlmToolCallText){ .backend_index = d->index, .name = strdup(d->name) };
        if (!c->name)
                return -ENOMEM;
        r = d->id ? ((c->id = strdup(d->id)) ? 0 : -ENOMEM) : new_id(&c->id);
        if (r < 0) {
                free(c->name);
                return r;
        }
        t->n++;
        d->id = c->id;
        d->name = c->name;
        *ret = c;
        return 1;
}

int llm_tool_calls_add(LlmToolCalls *t, LlmToolDelta *d) {
        LlmToolCallText *c = find(t, d->index);
        int r = 0;

        if (!c || (d->id && !streq(d->id, c->id)))
                r = begin(t, d, &c);
        else
                d->id = d->name = NULL;
        if (r < 0)
                return r;
        d->index = (size_t) (c - t->calls);
        if (d->arguments_len > 0 &&
            llm_text_append(&c->arguments, d->arguments, d->arguments_len, LLM_TOOL_ARGUMENTS_MAX) < 0)
                return -EPROTO;
        return r;
}

int llm_tool_calls_check(LlmToolCalls *t, char *error, size_t size) {
        for (size_t i = 0; i < t->n; i++) {
                LlmToolCallText *c = &t->calls[i];
                _cleanup_json_ json_object *o = NULL;
                int r;

                if (c->arguments.len == 0) {
                        if (llm_text_append(&c->arguments, "{}", 2, 0) < 0)
                                return -ENOMEM;
                        continue;
                }
                r = json_parse_strict(c->arguments.p, c->arguments.len, &o, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 || !json_object_is_type(o, json_type_object)) {
                        snprintf(
                                error,
                                size,
                                "the arguments of tool call %zu (%s) are not a JSON object",
                                i,
                                c->name);
                        return -EBADMSG;
                }
        }
        return 0;
}

void llm_tool_calls_clear(LlmToolCalls *t) {
        for (size_t i = 0; i < t->n; i++) {
                free(t->calls[i].id);
                free(t->calls[i].name);
                llm_text_done(&t->calls[i].arguments);
        }
        free(t->calls);
        *t = (LlmToolCalls){};
}
