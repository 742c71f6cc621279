/* SPDX-License-Identifier: MIT */
/* nlp-vocab.c — open addressing over FNV-1a; ids are insertion order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nlp-vocab.h"

static uint32_t hash(const char *s) {
        uint32_t h = 2166136261u;
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 16777619u;
        return h;
}

static int grow(NlpVocab *v) {
        size_t cap = v->slots ? (v->mask + 1) * 2 : 64;
        uint32_t *slots = calloc(cap, sizeof(uint32_t));
        const char **keys = realloc(v->keys, cap / 2 * sizeof(char *));

        if (!slots || !keys) {
                free(slots);
                if (keys)
                        v->keys = keys;
                return -ENOMEM;
        }
        v->keys = keys;
        for (size_t id = 0; id < v->n; id++) {
                size_t i = hash(keys[id]) & (cap - 1);
                while (slots[i])
                        i = (i + 1) & (cap - 1);
                slots[i] = id + 1;
        }
        free(v->slots);
        v->slots = slots;
        v->mask = cap - 1;
        return 0;
}

int nlp_vocab_find(const NlpVocab *v, const char *key) {
        size_t i;

        if (!v->slots)
                return -ENOENT;
        for (i = hash(key) & v->mask; v->slots[i]; i = (i + 1) & v->mask)
                if (strcmp(v->keys[v->slots[i] - 1], key) == 0)
                        return v->slots[i] - 1;
        return -ENOENT;
}

int nlp_vocab_id(NlpVocab *v, const char *key) {
        size_t i;
        int r = nlp_vocab_find(v, key);

        if (r >= 0)
                return r;
        if (!v->slots || v->n + 1 > (v->mask + 1) / 2) {
                r = grow(v);
                if (r < 0)
                        return r;
        }
        for (i = hash(key) & v->mask; v->slots[i]; i = (i + 1) & v->mask)
                ;
        v->keys[v->n] = key;
        v->slots[i] = ++v->n;
        return v->n - 1;
}

void nlp_vocab_done(NlpVocab *v) {
        free(v->keys);
        free(v->slots);
        *v = (NlpVocab){};
}
