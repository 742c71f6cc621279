/* SPDX-License-Identifier: MIT */
/* nlp-stopwords.c — stop words written for this project: English function words and
 * Japanese function-like nouns, verbs and adjectives (by MeCab base form) that carry no
 * topic. Sorted by strcmp for bsearch; test-nlp-tasks checks the order. */
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nlp-tokenize.h"

static const char *const stop_en[] = {
        "a",       "about",   "above",  "after",   "again",   "against", "all",     "also",     "am",
        "an",      "and",     "any",    "are",     "aren't",  "as",      "at",      "be",       "because",
        "been",    "before",  "being",  "below",   "between", "both",    "but",     "by",       "can",
        "can't",   "cannot",  "could",  "did",     "didn't",  "do",      "does",    "doesn't",  "doing",
        "don't",   "down",    "during", "each",    "even",    "ever",    "every",   "few",      "for",
        "from",    "further", "get",    "gets",    "got",     "had",     "has",     "have",     "having",
        "he",      "her",     "here",   "hers",    "herself", "him",     "himself", "his",      "how",
        "however", "i",       "i'm",    "if",      "in",      "into",    "is",      "isn't",    "it",
        "it's",    "its",     "itself", "just",    "let",     "like",    "made",    "make",     "many",
        "may",     "me",      "might",  "more",    "most",    "much",    "must",    "my",       "myself",
        "no",      "nor",     "not",    "now",     "of",      "off",     "often",   "on",       "once",
        "one",     "only",    "or",     "other",   "our",     "ours",    "out",     "over",     "own",
        "really",  "same",    "she",    "should",  "since",   "so",      "some",    "such",     "than",
        "that",    "that's",  "the",    "their",   "theirs",  "them",    "then",    "there",    "these",
        "they",    "this",    "those",  "through", "to",      "too",     "under",   "until",    "up",
        "upon",    "us",      "very",   "was",     "wasn't",  "we",      "were",    "what",     "when",
        "where",   "whether", "which",  "while",   "who",     "whom",    "why",     "will",     "with",
        "within",  "without", "would",  "yet",     "you",     "your",    "yours",   "yourself",
};

static const char *const stop_ja[] = {
        "ある", "いう",   "いる", "おる",   "こと", "これ", "さん",   "する", "そう", "それ",
        "ため", "できる", "とき", "ところ", "ない", "なる", "の",     "もの", "よう", "れる",
        "わけ", "事",     "人",   "今",     "他",   "以上", "出来る", "化",   "日",   "時",
        "様",   "物",     "的",   "私",     "者",   "自分", "行う",   "言う", "際",
};

static int cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

bool nlp_stopword(NlpLang lang, const char *word) {
        const char *const *list = lang == NLP_LANG_JA ? stop_ja : stop_en;
        size_t n = lang == NLP_LANG_JA ? ELEMENTSOF(stop_ja) : ELEMENTSOF(stop_en);

        return bsearch(&word, list, n, sizeof(*list), cmp) != NULL;
}
