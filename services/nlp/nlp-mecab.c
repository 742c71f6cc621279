/* SPDX-License-Identifier: MIT */
/* nlp-mecab.c — one mecab_model_t shared read-only by every thread; each HTTP handler
 * thread gets its own tagger and lattice through a pthread key, as MeCab's thread-safety notes
 * require (a tagger or lattice must never be shared between threads). */
#include <errno.h>
#include <mecab.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nlp-mecab.h"

typedef struct PerThread {
        mecab_t *tagger;
        mecab_lattice_t *lattice;
} PerThread;

static mecab_model_t *model;
static pthread_key_t key;
static bool key_created;

static void per_thread_free(void *p) {
        PerThread *t = p;

        if (!t)
                return;
        if (t->lattice)
                mecab_lattice_destroy(t->lattice);
        if (t->tagger)
                mecab_destroy(t->tagger);
        free(t);
}

int nlp_mecab_init(const char *rcfile, const char *dicdir) {
        char arg[1024];
        int n;

        if (model)
                return 0;
        if (dicdir && *dicdir)
                n = snprintf(arg, sizeof(arg), "mecab -r %s -d %s", rcfile, dicdir);
        else
                n = snprintf(arg, sizeof(arg), "mecab -r %s", rcfile);
        if (n < 0 || (size_t) n >= sizeof(arg) || strchr(rcfile, ' ') || (dicdir && strchr(dicdir, ' ')))
                return -EINVAL;
        model = mecab_model_new2(arg);
        if (!model)
                return -ENOENT;
        if (!key_created) {
                if (pthread_key_create(&key, per_thread_free) != 0) {
                        mecab_model_destroy(model);
                        model = NULL;
                        return -ENOMEM;
                }
                key_created = true;
        }
        return 0;
}

void nlp_mecab_done(void) {
        if (key_created) {
                per_thread_free(pthread_getspecific(key));
                pthread_setspecific(key, NULL);
        }
        if (model)
                mecab_model_destroy(model);
        model = NULL;
}

bool nlp_mecab_available(void) {
        return model != NULL;
}

static PerThread *per_thread_get(void) {
        PerThread *t = pthread_getspecific(key);

        if (t)
                return t;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->tagger = mecab_model_new_tagger(model);
        t->lattice = mecab_model_new_lattice(model);
        if (!t->tagger || !t->lattice || pthread_setspecific(key, t) != 0) {
                per_thread_free(t);
                return NULL;
        }
        return t;
}

int nlp_mecab_parse(
        const char *text, size_t len, int (*fn)(const NlpMecabNode *node, void *userdata), void *userdata) {
        PerThread *t;

        if (!model)
                return -ENOTSUP;
        t = per_thread_get();
        if (!t)
                return -ENOMEM;
        mecab_lattice_set_sentence2(t->lattice, text, len);
        if (!mecab_parse_lattice(t->tagger, t->lattice))
                return -EIO;
        for (const mecab_node_t *node = mecab_lattice_get_bos_node(t->lattice); node; node = node->next) {
                NlpMecabNode n;
                int r;

                if (node->stat == MECAB_BOS_NODE || node->stat == MECAB_EOS_NODE)
                        continue;
                n = (NlpMecabNode){ .surface = node->surface,
                                    .length = node->length,
                                    .feature = node->feature };
                r = fn(&n, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}
