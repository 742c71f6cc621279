/* SPDX-License-Identifier: MIT */
/* nlp-tokenize.h — a document split into tokens and sentences: Japanese through MeCab
 * (surface, base form, part of speech, reading), other languages with a Unicode-aware
 * word splitter and Snowball stems. Every task works on this one representation. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum NlpLang {
        NLP_LANG_EN,
        NLP_LANG_JA,
        NLP_LANG_OTHER, /* detected but without language-specific resources */
} NlpLang;

typedef struct NlpToken {
        size_t start, len; /* bytes in the document's text */
        char *norm;        /* lower-cased surface (en) or base form (ja) */
        char *stem;        /* Snowball stem (en), = norm otherwise; owned separately */
        char *pos; /* ja: "名詞-固有名詞-人名-名" (MeCab's levels without '*'); NULL otherwise */
        char *reading;       /* ja: katakana reading, NULL when MeCab has none */
        const char *feature; /* ja: MeCab's feature string as the mecab command prints it (borrowed from
                              * the dictionary, valid while MeCab is loaded) */
        size_t sentence;
        bool word;    /* letters or digits, not punctuation */
        bool content; /* counts for keywords, similarity and TextRank (not a stop word) */
        bool proper;  /* ja: 固有名詞 */
        bool noun;    /* ja: a noun that may start or continue a key phrase */
} NlpToken;

typedef struct NlpSentence {
        size_t start, end; /* bytes */
        size_t first_token, n_tokens;
} NlpSentence;

typedef struct NlpDoc {
        const char *text; /* borrowed */
        size_t len;
        NlpLang lang;
        NlpToken *tokens;
        size_t n_tokens;
        NlpSentence *sentences;
        size_t n_sentences;
} NlpDoc;

/* Tokenizes text (valid UTF-8). -ENOTSUP for Japanese without MeCab's dictionary. */
int nlp_doc_new(const char *text, size_t len, NlpLang lang, NlpDoc **ret);
void nlp_doc_free(NlpDoc *d);
static inline void nlp_doc_freep(NlpDoc **d) {
        if (*d)
                nlp_doc_free(*d);
}

/* results of the tokenize task: {method, tokens:[{surface, base?, pos?, reading?, stem?, start, end}]} */
int nlp_tokenize_to_json(const NlpDoc *d, json_object **ret);

/* Stop words (lower-case en, base form ja). */
bool nlp_stopword(NlpLang lang, const char *word);
