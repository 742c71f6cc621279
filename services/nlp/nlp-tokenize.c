/* SPDX-License-Identifier: MIT */
/* nlp-tokenize.c — documents as tokens and sentences. English (and any language we only
 * detect) is split on Unicode character classes with word-internal apostrophes, hyphens
 * and digit separators kept, then stemmed with Snowball's English stemmer (one stemmer
 * per thread: sb_stemmer objects are not thread-safe). Japanese goes through MeCab line
 * by line, exactly as the mecab command reads its input. */
#include <errno.h>
#include <libstemmer.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "nlp-mecab.h"
#include "nlp-tokenize.h"
#include "nlp-utf8.h"

/* ---- Snowball, one stemmer per thread -------------------------------------------- */
static pthread_key_t stemmer_key;
static pthread_once_t stemmer_once = PTHREAD_ONCE_INIT;

static void stemmer_free(void *p) {
        if (p)
                sb_stemmer_delete(p);
}

static void stemmer_key_init(void) {
        (void) pthread_key_create(&stemmer_key, stemmer_free);
}

static struct sb_stemmer *stemmer_get(void) {
        struct sb_stemmer *s;

        pthread_once(&stemmer_once, stemmer_key_init);
        s = pthread_getspecific(stemmer_key);
        if (s)
                return s;
        s = sb_stemmer_new("english", "UTF_8");
        if (s && pthread_setspecific(stemmer_key, s) != 0) {
                sb_stemmer_delete(s);
                return NULL;
        }
        return s;
}

/* ---- document storage -------------------------------------------------------------- */
void nlp_doc_free(NlpDoc *d) {
        for (size_t i = 0; i < d->n_tokens; i++) {
                NlpToken *t = &d->tokens[i];
                if (t->stem != t->norm)
                        free(t->stem);
                free(t->norm);
                free(t->pos);
                free(t->reading);
        }
        free(d->tokens);
        free(d->sentences);
        free(d);
}

static int doc_add_token(NlpDoc *d, size_t *cap, NlpToken **ret) {
        if (d->n_tokens == *cap) {
                size_t n = *cap ? *cap * 2 : 64;
                NlpToken *t = reallocarray(d->tokens, n, sizeof(NlpToken));
                if (!t)
                        return -ENOMEM;
                d->tokens = t;
                *cap = n;
        }
        *ret = &d->tokens[d->n_tokens++];
        **ret = (NlpToken){};
        return 0;
}

static bool is_terminal(const NlpDoc *d, const NlpToken *t) {
        const char *s = d->text + t->start;

        if (t->word)
                return false;
        if (t->len == 1)
                return *s == '.' || *s == '!' || *s == '?';
        return (t->len == 3 &&
                (!memcmp(s, "。", 3) || !memcmp(s, "！", 3) || !memcmp(s, "？", 3) || !memcmp(s, "…", 3)));
}

static bool is_closing(const NlpDoc *d, const NlpToken *t) {
        const char *s = d->text + t->start;

        if (t->word)
                return false;
        /* ASCII quotes open and close: closing only when glued to what precedes. */
        if (t->len == 1)
                return strchr("\"')]", *s) != NULL && t->start > 0 &&
                        nlp_utf8_class((unsigned char) s[-1]) != NLP_CHAR_SPACE;
        return t->len == 3 &&
                (!memcmp(s, "」", 3) || !memcmp(s, "』", 3) || !memcmp(s, "）", 3) || !memcmp(s, "”", 3) ||
                 !memcmp(s, "’", 3));
}

static bool is_abbreviation(const NlpDoc *d, const NlpToken *t) {
        static const char *const abbr[] = { "mr",  "mrs", "ms",     "dr",   "prof", "st",  "jr",  "sr",
                                            "vs",  "etc", "e.g",    "i.e",  "inc",  "ltd", "co",  "corp",
                                            "no",  "fig", "approx", "jan",  "feb",  "mar", "apr", "jun",
                                            "jul", "aug", "sep",    "sept", "oct",  "nov", "dec", "u.s",
                                            "u.k", "mt",  "gen",    "gov" };

        if (!t->word || !t->norm)
                return false;
        if (t->len == 1 && nlp_utf8_class((unsigned char) d->text[t->start]) == NLP_CHAR_LETTER)
                return true; /* an initial or a dotted abbreviation: "J. Smith", "5 p.m. on" */
        for (size_t i = 0; i < ELEMENTSOF(abbr); i++)
                if (streq(t->norm, abbr[i]))
                        return true;
        return false;
}

/* Sentences: after terminal punctuation (and any closing quotes), not after a known
 * abbreviation, and at blank lines (any newline for Japanese). */
static int doc_split_sentences(NlpDoc *d) {
        size_t cap = 0, first = 0;

        for (size_t i = 0; i <= d->n_tokens; i++) {
                bool end = i == d->n_tokens;

                if (!end && i > first) {
                        const NlpToken *prev = &d->tokens[i - 1], *cur = &d->tokens[i];
                        size_t gap_start = prev->start + prev->len;
                        const char *nl = memchr(d->text + gap_start, '\n', cur->start - gap_start);
                        bool blank = nl && memchr(nl + 1, '\n', d->text + cur->start - nl - 1);

                        if (blank || (nl && d->lang == NLP_LANG_JA))
                                end = true;
                        else if (is_terminal(d, prev) && !is_terminal(d, cur) && !is_closing(d, cur)) {
                                size_t k = i - 1;
                                while (k > first && is_terminal(d, &d->tokens[k]))
                                        k--;
                                end = !(d->text[prev->start] == '.' && k + 2 == i &&
                                        is_abbreviation(d, &d->tokens[k]));
                        } else if (
                                is_closing(d, prev) && !is_closing(d, cur) && !is_terminal(d, cur) &&
                                i >= 2) {
                                size_t k = i - 1;
                                while (k > first && is_closing(d, &d->tokens[k]))
                                        k--;
                                end = is_terminal(d, &d->tokens[k]);
                        }
                }
                if (!end || i == first)
                        continue;
                if (d->n_sentences == cap) {
                        size_t n = cap ? cap * 2 : 16;
                        NlpSentence *s = reallocarray(d->sentences, n, sizeof(NlpSentence));
                        if (!s)
                                return -ENOMEM;
                        d->sentences = s;
                        cap = n;
                }
                d->sentences[d->n_sentences] = (NlpSentence){
                        .start = d->tokens[first].start,
                        .end = d->tokens[i - 1].start + d->tokens[i - 1].len,
                        .first_token = first,
                        .n_tokens = i - first,
                };
                for (size_t k = first; k < i; k++)
                        d->tokens[k].sentence = d->n_sentences;
                d->n_sentences++;
                first = i;
        }
        return 0;
}

/* ---- Unicode word splitting ---------------------------------------------------------- */
static bool joins_word(const char *text, size_t len, size_t at, size_t *ret_next) {
        uint32_t c, next;
        size_t n, m;
        NlpCharClass nc;

        n = nlp_utf8_decode(text + at, len - at, &c);
        if (at + n >= len)
                return false;
        m = nlp_utf8_decode(text + at + n, len - at - n, &next);
        nc = nlp_utf8_class(next);
        (void) m;
        if ((c == '\'' || c == 0x2019) && nc == NLP_CHAR_LETTER)
                goto yes;
        if ((c == '-' || c == '_') && (nc == NLP_CHAR_LETTER || nc == NLP_CHAR_DIGIT))
                goto yes;
        if ((c == '.' || c == ',') && nc == NLP_CHAR_DIGIT && at > 0 &&
            nlp_utf8_class((unsigned char) text[at - 1]) == NLP_CHAR_DIGIT)
                goto yes;
        return false;
yes:
        *ret_next = at + n;
        return true;
}

static int doc_split_words(NlpDoc *d) {
        size_t cap = 0;
        struct sb_stemmer *stemmer = d->lang == NLP_LANG_EN ? stemmer_get() : NULL;

        if (d->lang == NLP_LANG_EN && !stemmer)
                return -ENOMEM;
        for (size_t i = 0; i < d->len;) {
                uint32_t cp;
                size_t n = nlp_utf8_decode(d->text + i, d->len - i, &cp), start = i, next;
                NlpCharClass cls = nlp_utf8_class(cp);
                NlpToken *t;
                int r;

                if (cls == NLP_CHAR_SPACE) {
                        i += n;
                        continue;
                }
                i += n;
                if (cls != NLP_CHAR_PUNCT)
                        for (;;) {
                                if (i >= d->len)
                                        break;
                                n = nlp_utf8_decode(d->text + i, d->len - i, &cp);
                                cls = nlp_utf8_class(cp);
                                if (cls == NLP_CHAR_LETTER || cls == NLP_CHAR_DIGIT)
                                        i += n;
                                else if (joins_word(d->text, d->len, i, &next))
                                        i = next;
                                else
                                        break;
                        }
                r = doc_add_token(d, &cap, &t);
                if (r < 0)
                        return r;
                t->start = start;
                t->len = i - start;
                nlp_utf8_decode(d->text + start, d->len - start, &cp);
                t->word = nlp_utf8_class(cp) != NLP_CHAR_PUNCT;
                t->norm = nlp_utf8_lower_dup(d->text + start, t->len);
                if (!t->norm)
                        return -ENOMEM;
                if (stemmer && t->word) {
                        const sb_symbol *s =
                                sb_stemmer_stem(stemmer, (const sb_symbol *) t->norm, strlen(t->norm));
                        if (!s)
                                return -ENOMEM;
                        t->stem = strndup((const char *) s, sb_stemmer_length(stemmer));
                        if (!t->stem)
                                return -ENOMEM;
                } else
                        t->stem = t->norm;
                t->content = t->word && !nlp_stopword(d->lang, t->norm) &&
                        (nlp_utf8_count(t->norm, strlen(t->norm)) > 1 || cp > 0x2FFF);
        }
        return 0;
}

/* ---- MeCab ---------------------------------------------------------------------------- */
typedef struct MecabWalk {
        NlpDoc *doc;
        size_t cap;
} MecabWalk;

typedef struct Span {
        const char *s;
        size_t len;
} Span;

/* Splits MeCab's CSV feature into at most n fields (a field may be "quoted"), as spans
 * into the feature string: no copies, this runs once per morpheme. */
static size_t feature_split(const char *f, Span *fields, size_t n) {
        size_t k = 0;

        while (k < n) {
                bool quoted = *f == '"';
                const char *start;

                if (quoted)
                        f++;
                start = f;
                while (*f && (quoted ? *f != '"' : *f != ','))
                        f++;
                fields[k++] = (Span){ start, (size_t) (f - start) };
                if (quoted && *f == '"')
                        f++;
                if (*f != ',')
                        break;
                f++;
        }
        for (size_t i = k; i < n; i++)
                fields[i] = (Span){ "", 0 };
        return k;
}

static bool span_eq(Span a, const char *lit) {
        size_t n = strlen(lit);
        return a.len == n && memcmp(a.s, lit, n) == 0;
}

static bool span_set(Span a) {
        return a.len > 0 && !span_eq(a, "*");
}

static int mecab_node_cb(const NlpMecabNode *node, void *userdata) {
        MecabWalk *w = userdata;
        NlpDoc *d = w->doc;
        Span f[9];
        size_t pos_len = 0;
        NlpToken *t;
        bool noun;
        int r;

        r = doc_add_token(d, &w->cap, &t);
        if (r < 0)
                return r;
        t->start = node->surface - d->text;
        t->len = node->length;
        /* Borrowed: MeCab's features live in the dictionary, which outlives every document. */
        t->feature = node->feature;
        feature_split(node->feature, f, ELEMENTSOF(f));
        for (size_t i = 0; i < 4 && span_set(f[i]); i++)
                pos_len += f[i].len + 1;
        t->pos = malloc(pos_len + 1);
        if (!t->pos)
                return -ENOMEM;
        pos_len = 0;
        for (size_t i = 0; i < 4 && span_set(f[i]); i++) {
                if (i > 0)
                        t->pos[pos_len++] = '-';
                memcpy(t->pos + pos_len, f[i].s, f[i].len);
                pos_len += f[i].len;
        }
        t->pos[pos_len] = 0;
        t->norm = span_set(f[6]) ? strndup(f[6].s, f[6].len) : strndup(node->surface, node->length);
        if (!t->norm)
                return -ENOMEM;
        if (span_set(f[7])) {
                t->reading = strndup(f[7].s, f[7].len);
                if (!t->reading)
                        return -ENOMEM;
        }
        t->stem = t->norm;
        noun = span_eq(f[0], "名詞");
        t->word = !span_eq(f[0], "記号");
        t->proper = noun && span_eq(f[1], "固有名詞");
        t->noun = noun && !span_eq(f[1], "非自立") && !span_eq(f[1], "代名詞") && !span_eq(f[1], "数") &&
                !span_eq(f[1], "接尾") && !span_eq(f[1], "副詞可能");
        t->content =
                (t->noun || ((span_eq(f[0], "動詞") || span_eq(f[0], "形容詞")) && span_eq(f[1], "自立"))) &&
                !nlp_stopword(NLP_LANG_JA, t->norm);
        return 0;
}

static int doc_mecab(NlpDoc *d) {
        MecabWalk w = { .doc = d };

        for (size_t i = 0; i < d->len;) {
                const char *nl = memchr(d->text + i, '\n', d->len - i);
                size_t end = nl ? (size_t) (nl - d->text) : d->len;
                int r;

                if (end > i) {
                        r = nlp_mecab_parse(d->text + i, end - i, mecab_node_cb, &w);
                        if (r < 0)
                                return r;
                }
                i = end + 1;
        }
        return 0;
}

int nlp_doc_new(const char *text, size_t len, NlpLang lang, NlpDoc **ret) {
        _cleanup_(nlp_doc_freep) NlpDoc *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->text = text;
        d->len = len;
        d->lang = lang;
        r = lang == NLP_LANG_JA ? doc_mecab(d) : doc_split_words(d);
        if (r < 0)
                return r;
        r = doc_split_sentences(d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d);
        return 0;
}

int nlp_tokenize_to_json(const NlpDoc *d, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array_ext(d->n_tokens);
        size_t chars = 0, pos = 0;

        if (!o || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(
                o,
                "method",
                json_object_new_string(
                        d->lang == NLP_LANG_JA           ? "mecab-ipadic"
                                : d->lang == NLP_LANG_EN ? "unicode+snowball-english"
                                                         : "unicode"));
        json_object_object_add(o, "tokens", arr);
        for (size_t i = 0; i < d->n_tokens; i++) {
                const NlpToken *t = &d->tokens[i];
                json_object *j = json_object_new_object();
                size_t c0, c1;

                if (!j)
                        return -ENOMEM;
                chars += nlp_utf8_count(d->text + pos, t->start - pos);
                c0 = chars;
                c1 = c0 + nlp_utf8_count(d->text + t->start, t->len);
                chars = c1;
                pos = t->start + t->len;
                json_object_array_add(arr, j);
                json_object_object_add(j, "surface", json_object_new_string_len(d->text + t->start, t->len));
                if (d->lang == NLP_LANG_JA) {
                        json_object_object_add(j, "base", json_object_new_string(t->norm));
                        json_object_object_add(j, "pos", json_object_new_string(t->pos));
                        json_object_object_add(
                                j, "reading", t->reading ? json_object_new_string(t->reading) : NULL);
                        json_object_object_add(j, "features", json_object_new_string(t->feature));
                } else {
                        json_object_object_add(j, "norm", json_object_new_string(t->norm));
                        if (t->word && t->stem != t->norm)
                                json_object_object_add(j, "stem", json_object_new_string(t->stem));
                        json_object_object_add(
                                j, "type", json_object_new_string(t->word ? "word" : "punct"));
                }
                json_object_object_add(j, "start", json_object_new_int64(c0));
                json_object_object_add(j, "end", json_object_new_int64(c1));
        }
        json_object_object_add(o, "count", json_object_new_int64(d->n_tokens));
        *ret = TAKE_PTR(o);
        return 0;
}
