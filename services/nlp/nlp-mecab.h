/* SPDX-License-Identifier: MIT */
/* nlp-mecab.h — MeCab in its thread-safe form: one model loaded at start-up, a tagger
 * and a lattice per thread (created on the thread's first use, freed at its exit). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef struct NlpMecabNode {
        const char *surface; /* points into the parsed text */
        size_t length;
        const char *feature; /* "品詞,細分類1,細分類2,細分類3,活用型,活用形,原形,読み,発音" */
} NlpMecabNode;

/* Loads the dictionary; dicdir NULL = the one rcfile names. -ENOENT/-EINVAL on failure. */
int nlp_mecab_init(const char *rcfile, const char *dicdir);
void nlp_mecab_done(void);
bool nlp_mecab_available(void);
/* Parses text[0..len) and calls fn for each morpheme (BOS/EOS skipped); fn returning < 0
 * stops the walk and is returned. -ENOTSUP when no dictionary was loaded. */
int nlp_mecab_parse(
        const char *text, size_t len, int (*fn)(const NlpMecabNode *node, void *userdata), void *userdata);
