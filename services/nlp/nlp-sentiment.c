/* SPDX-License-Identifier: MIT */
/* nlp-sentiment.c — a C port of vaderSentiment 3.3.2's SentimentIntensityAnalyzer
 * (MIT, C.J. Hutto): the same constants, booster and negation lists, special cases and
 * rules (negation, "but", ALL-CAPS, boosters with distance damping, "least", "never
 * so", punctuation emphasis). Differences from the Python original: emoji are not
 * translated into words first, and _but_check scales by position (what the original
 * meant; its list.index() lookup mis-scales repeated values). The lexicon is loaded
 * once into an open-addressing table and is read-only afterwards. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "macro.h"
#include "nlp-json.h"
#include "nlp-sentiment.h"

#define B_INCR 0.293
#define B_DECR -0.293
#define C_INCR 0.733
#define N_SCALAR -0.74

/* ---- a read-only string → double table ------------------------------------------- */
typedef struct Entry {
        char *key;
        uint32_t len;
        double value;
} Entry;

typedef struct Table {
        Entry *slots;
        size_t mask;
        char *storage;
} Table;

static uint32_t hash(const char *s, size_t len) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char) s[i]) * 16777619u;
        return h;
}

/* Keys are never owned one by one: they point into storage or at string literals. */
static void table_free(Table *t) {
        free(t->slots);
        free(t->storage);
        *t = (Table){};
}

static int table_alloc(Table *t, size_t n) {
        size_t cap = 16;
        while (cap < n * 2)
                cap <<= 1;
        t->slots = calloc(cap, sizeof(Entry));
        if (!t->slots)
                return -ENOMEM;
        t->mask = cap - 1;
        return 0;
}

/* key must outlive the table (points into storage or a string literal). */
static void table_put(Table *t, char *key, size_t len, double value) {
        size_t i = hash(key, len) & t->mask;
        while (t->slots[i].key) {
                if (t->slots[i].len == len && memcmp(t->slots[i].key, key, len) == 0) {
                        t->slots[i].value = value;
                        return;
                }
                i = (i + 1) & t->mask;
        }
        t->slots[i] = (Entry){ .key = key, .len = len, .value = value };
}

static bool table_get(const Table *t, const char *key, size_t len, double *ret) {
        size_t i;

        if (!t->slots)
                return false;
        i = hash(key, len) & t->mask;
        while (t->slots[i].key) {
                if (t->slots[i].len == len && memcmp(t->slots[i].key, key, len) == 0) {
                        if (ret)
                                *ret = t->slots[i].value;
                        return true;
                }
                i = (i + 1) & t->mask;
        }
        return false;
}

/* ---- VADER's lists ------------------------------------------------------------------- */
static const char *const negate_words[] = {
        "aint",   "arent",    "cannot",  "cant",     "couldnt",  "darent",   "didnt",   "doesnt",
        "ain't",  "aren't",   "can't",   "couldn't", "daren't",  "didn't",   "doesn't", "dont",
        "hadnt",  "hasnt",    "havent",  "isnt",     "mightnt",  "mustnt",   "neither", "don't",
        "hadn't", "hasn't",   "haven't", "isn't",    "mightn't", "mustn't",  "neednt",  "needn't",
        "never",  "none",     "nope",    "nor",      "not",      "nothing",  "nowhere", "oughtnt",
        "shant",  "shouldnt", "uhuh",    "wasnt",    "werent",   "oughtn't", "shan't",  "shouldn't",
        "uh-uh",  "wasn't",   "weren't", "without",  "wont",     "wouldnt",  "won't",   "wouldn't",
        "rarely", "seldom",   "despite",
};

static const struct {
        const char *word;
        double value;
} boosters[] = {
        { "absolutely", B_INCR },    { "amazingly", B_INCR },    { "awfully", B_INCR },
        { "completely", B_INCR },    { "considerable", B_INCR }, { "considerably", B_INCR },
        { "decidedly", B_INCR },     { "deeply", B_INCR },       { "effing", B_INCR },
        { "enormous", B_INCR },      { "enormously", B_INCR },   { "entirely", B_INCR },
        { "especially", B_INCR },    { "exceptional", B_INCR },  { "exceptionally", B_INCR },
        { "extreme", B_INCR },       { "extremely", B_INCR },    { "fabulously", B_INCR },
        { "flipping", B_INCR },      { "flippin", B_INCR },      { "frackin", B_INCR },
        { "fracking", B_INCR },      { "fricking", B_INCR },     { "frickin", B_INCR },
        { "frigging", B_INCR },      { "friggin", B_INCR },      { "fully", B_INCR },
        { "fuckin", B_INCR },        { "fucking", B_INCR },      { "fuggin", B_INCR },
        { "fugging", B_INCR },       { "greatly", B_INCR },      { "hella", B_INCR },
        { "highly", B_INCR },        { "hugely", B_INCR },       { "incredible", B_INCR },
        { "incredibly", B_INCR },    { "intensely", B_INCR },    { "major", B_INCR },
        { "majorly", B_INCR },       { "more", B_INCR },         { "most", B_INCR },
        { "particularly", B_INCR },  { "purely", B_INCR },       { "quite", B_INCR },
        { "really", B_INCR },        { "remarkably", B_INCR },   { "so", B_INCR },
        { "substantially", B_INCR }, { "thoroughly", B_INCR },   { "total", B_INCR },
        { "totally", B_INCR },       { "tremendous", B_INCR },   { "tremendously", B_INCR },
        { "uber", B_INCR },          { "unbelievably", B_INCR }, { "unusually", B_INCR },
        { "utter", B_INCR },         { "utterly", B_INCR },      { "very", B_INCR },
        { "almost", B_DECR },        { "barely", B_DECR },       { "hardly", B_DECR },
        { "just enough", B_DECR },   { "kind of", B_DECR },      { "kinda", B_DECR },
        { "kindof", B_DECR },        { "kind-of", B_DECR },      { "less", B_DECR },
        { "little", B_DECR },        { "marginal", B_DECR },     { "marginally", B_DECR },
        { "occasional", B_DECR },    { "occasionally", B_DECR }, { "partly", B_DECR },
        { "scarce", B_DECR },        { "scarcely", B_DECR },     { "slight", B_DECR },
        { "slightly", B_DECR },      { "somewhat", B_DECR },     { "sort of", B_DECR },
        { "sorta", B_DECR },         { "sortof", B_DECR },       { "sort-of", B_DECR },
};

static const struct {
        const char *words;
        double value;
} special_cases[] = {
        { "the shit", 3 },        { "the bomb", 3 },        { "bad ass", 1.5 },        { "badass", 1.5 },
        { "bus stop", 0.0 },      { "yeah right", -2 },     { "kiss of death", -1.5 }, { "to die for", 3 },
        { "beating heart", 3.1 }, { "broken heart", -2.9 },
};

static Table lexicon, booster_table, negate_table;

bool nlp_sentiment_available(void) {
        return lexicon.slots != NULL;
}

void nlp_sentiment_done(void) {
        table_free(&lexicon);
        table_free(&booster_table);
        table_free(&negate_table);
}

int nlp_sentiment_init(const char *path) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0, n = 0;
        int r;

        if (lexicon.slots)
                return 0;
        r = read_full_file(path, SIZE_MAX, &buf, &size);
        if (r < 0)
                return r;
        for (size_t i = 0; i < size; i++)
                if (buf[i] == '\n')
                        n++;
        r = table_alloc(&lexicon, n + 1);
        if (r < 0)
                return r;
        for (char *line = buf; line && *line;) {
                char *nl = strchr(line, '\n'), *tab, *end;
                double v;

                if (nl)
                        *nl = 0;
                tab = strchr(line, '\t');
                if (tab && tab > line) {
                        *tab = 0;
                        v = strtod(tab + 1, &end);
                        if (end == tab + 1) {
                                table_free(&lexicon);
                                return -EBADMSG;
                        }
                        table_put(&lexicon, line, tab - line, v);
                } else if (*line && *line != '\r') {
                        table_free(&lexicon);
                        return -EBADMSG;
                }
                line = nl ? nl + 1 : NULL;
        }
        lexicon.storage = TAKE_PTR(buf);

        if (table_alloc(&booster_table, ELEMENTSOF(boosters)) < 0 ||
            table_alloc(&negate_table, ELEMENTSOF(negate_words)) < 0) {
                nlp_sentiment_done();
                return -ENOMEM;
        }
        for (size_t i = 0; i < ELEMENTSOF(boosters); i++)
                table_put(
                        &booster_table,
                        (char *) boosters[i].word,
                        strlen(boosters[i].word),
                        boosters[i].value);
        for (size_t i = 0; i < ELEMENTSOF(negate_words); i++)
                table_put(&negate_table, (char *) negate_words[i], strlen(negate_words[i]), 1);
        return 0;
}

/* ---- the analyser ---------------------------------------------------------------------- */
typedef struct Word {
        const char *s; /* original spelling */
        const char *l; /* lower-cased */
        uint32_t len;
        bool upper; /* Python's str.isupper() */
} Word;

static bool is_punct(char c) {
        return c > 0 && ispunct((unsigned char) c);
}

static bool lw_eq(const Word *w, const char *s) {
        size_t n = strlen(s);
        return w->len == n && memcmp(w->l, s, n) == 0;
}

static bool in_lexicon(const Word *w) {
        return table_get(&lexicon, w->l, w->len, NULL);
}

static bool negated(const Word *w) {
        if (table_get(&negate_table, w->l, w->len, NULL))
                return true;
        for (size_t i = 0; i + 3 <= w->len; i++)
                if (memcmp(w->l + i, "n't", 3) == 0)
                        return true;
        return false;
}

static double scalar_inc_dec(const Word *w, double valence, bool is_cap_diff) {
        double scalar = 0.0;

        if (table_get(&booster_table, w->l, w->len, &scalar)) {
                if (valence < 0)
                        scalar *= -1;
                if (w->upper && is_cap_diff)
                        scalar += valence > 0 ? C_INCR : -C_INCR;
        }
        return scalar;
}

static double negation_check(double valence, const Word *w, int start_i, size_t i) {
        if (start_i == 0) {
                if (negated(&w[i - 1]))
                        valence *= N_SCALAR;
        } else if (start_i == 1) {
                if (lw_eq(&w[i - 2], "never") && (lw_eq(&w[i - 1], "so") || lw_eq(&w[i - 1], "this")))
                        valence *= 1.25;
                else if (lw_eq(&w[i - 2], "without") && lw_eq(&w[i - 1], "doubt"))
                        ;
                else if (negated(&w[i - 2]))
                        valence *= N_SCALAR;
        } else {
                if ((lw_eq(&w[i - 3], "never") && (lw_eq(&w[i - 2], "so") || lw_eq(&w[i - 2], "this"))) ||
                    lw_eq(&w[i - 1], "so") || lw_eq(&w[i - 1], "this"))
                        valence *= 1.25;
                else if (
                        lw_eq(&w[i - 3], "without") &&
                        (lw_eq(&w[i - 2], "doubt") || lw_eq(&w[i - 1], "doubt")))
                        ;
                else if (negated(&w[i - 3]))
                        valence *= N_SCALAR;
        }
        return valence;
}

/* Joins lower-cased words [from, to] with spaces into buf; false if it does not fit. */
static bool join(const Word *w, size_t from, size_t to, char *buf, size_t size, size_t *ret_len) {
        size_t n = 0;

        for (size_t k = from; k <= to; k++) {
                if (n + w[k].len + 1 >= size)
                        return false;
                if (k > from)
                        buf[n++] = ' ';
                memcpy(buf + n, w[k].l, w[k].len);
                n += w[k].len;
        }
        buf[n] = 0;
        *ret_len = n;
        return true;
}

static bool special_case(const Word *w, size_t from, size_t to, double *ret) {
        char buf[256];
        size_t n;

        if (!join(w, from, to, buf, sizeof(buf), &n))
                return false;
        for (size_t k = 0; k < ELEMENTSOF(special_cases); k++)
                if (streq(buf, special_cases[k].words)) {
                        *ret = special_cases[k].value;
                        return true;
                }
        return false;
}

static double special_idioms_check(double valence, const Word *w, size_t n, size_t i) {
        /* onezero, twoonezero, twoone, threetwoone, threetwo: the first match wins. */
        const size_t seq[5][2] = {
                { i - 1, i }, { i - 2, i }, { i - 2, i - 1 }, { i - 3, i - 1 }, { i - 3, i - 2 }
        };
        double v;
        char buf[256];
        size_t len;

        for (size_t k = 0; k < 5; k++)
                if (special_case(w, seq[k][0], seq[k][1], &v)) {
                        valence = v;
                        break;
                }
        if (n - 1 > i && special_case(w, i, i + 1, &v))
                valence = v;
        if (n - 1 > i + 1 && special_case(w, i, i + 2, &v))
                valence = v;
        /* Multi-word boosters before the word: threetwoone, threetwo, twoone. */
        {
                const size_t ngrams[3][2] = { { i - 3, i - 1 }, { i - 3, i - 2 }, { i - 2, i - 1 } };
                for (size_t k = 0; k < 3; k++)
                        if (join(w, ngrams[k][0], ngrams[k][1], buf, sizeof(buf), &len) &&
                            table_get(&booster_table, buf, len, &v))
                                valence += v;
        }
        return valence;
}

static double least_check(double valence, const Word *w, size_t i) {
        if (i > 1 && !in_lexicon(&w[i - 1]) && lw_eq(&w[i - 1], "least")) {
                if (!lw_eq(&w[i - 2], "at") && !lw_eq(&w[i - 2], "very"))
                        valence *= N_SCALAR;
        } else if (i > 0 && !in_lexicon(&w[i - 1]) && lw_eq(&w[i - 1], "least"))
                valence *= N_SCALAR;
        return valence;
}

static double sentiment_valence(const Word *w, size_t n, size_t i, bool is_cap_diff) {
        double valence, base;

        if (!table_get(&lexicon, w[i].l, w[i].len, &base))
                return 0.0;
        valence = base;
        if (lw_eq(&w[i], "no") && i != n - 1 && in_lexicon(&w[i + 1]))
                valence = 0.0;
        if ((i > 0 && lw_eq(&w[i - 1], "no")) || (i > 1 && lw_eq(&w[i - 2], "no")) ||
            (i > 2 && lw_eq(&w[i - 3], "no") && (lw_eq(&w[i - 1], "or") || lw_eq(&w[i - 1], "nor"))))
                valence = base * N_SCALAR;
        if (w[i].upper && is_cap_diff)
                valence += valence > 0 ? C_INCR : -C_INCR;
        for (int start_i = 0; start_i < 3; start_i++)
                if (i > (size_t) start_i && !in_lexicon(&w[i - (start_i + 1)])) {
                        double s = scalar_inc_dec(&w[i - (start_i + 1)], valence, is_cap_diff);
                        if (start_i == 1 && s != 0)
                                s *= 0.95;
                        if (start_i == 2 && s != 0)
                                s *= 0.9;
                        valence += s;
                        valence = negation_check(valence, w, start_i, i);
                        if (start_i == 2)
                                valence = special_idioms_check(valence, w, n, i);
                }
        return least_check(valence, w, i);
}

static double normalize(double score) {
        double norm = score / sqrt(score * score + 15.0);
        return CLAMP(norm, -1.0, 1.0);
}

static double round_to(double v, double scale) {
        return round(v * scale) / scale;
}

/* Python's string.punctuation strip, keeping the token when 2 or fewer chars remain. */
static void word_span(const char *s, size_t len, size_t *ret_off, size_t *ret_len) {
        size_t a = 0, b = len;

        while (a < b && is_punct(s[a]))
                a++;
        while (b > a && is_punct(s[b - 1]))
                b--;
        if (b - a <= 2) {
                *ret_off = 0;
                *ret_len = len;
        } else {
                *ret_off = a;
                *ret_len = b - a;
        }
}

static bool is_space(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
}

int nlp_sentiment_vader(const char *text, size_t len, NlpSentimentScores *ret) {
        Word stack_words[128];
        char stack_lower[2048];
        _cleanup_free_ Word *heap_words = NULL;
        _cleanup_free_ char *heap_lower = NULL;
        _cleanup_free_ double *heap_sent = NULL;
        double stack_sent[128];
        Word *w = stack_words;
        char *lower = stack_lower;
        double *sent = stack_sent;
        size_t n = 0, max_words = len / 2 + 1, n_upper = 0, ep = 0, qm = 0, but = SIZE_MAX;
        double sum = 0, pos_sum = 0, neg_sum = 0, neu_count = 0, amp;
        bool is_cap_diff;

        if (!lexicon.slots)
                return -ENOTSUP;
        if (max_words > ELEMENTSOF(stack_words)) {
                w = heap_words = calloc(max_words, sizeof(Word));
                sent = heap_sent = calloc(max_words, sizeof(double));
                if (!w || !sent)
                        return -ENOMEM;
        }
        if (len + 1 > sizeof(stack_lower)) {
                lower = heap_lower = malloc(len + 1);
                if (!lower)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < len; i++) {
                char c = text[i];
                lower[i] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
                if (c == '!')
                        ep++;
                else if (c == '?')
                        qm++;
        }
        for (size_t i = 0; i < len;) {
                size_t start, off, wl;
                bool cased = false, has_lower = false;

                while (i < len && is_space(text[i]))
                        i++;
                if (i >= len)
                        break;
                start = i;
                while (i < len && !is_space(text[i]))
                        i++;
                word_span(text + start, i - start, &off, &wl);
                for (size_t k = start + off; k < start + off + wl; k++) {
                        char c = text[k];
                        if (c >= 'a' && c <= 'z')
                                has_lower = cased = true;
                        else if (c >= 'A' && c <= 'Z')
                                cased = true;
                }
                w[n] = (Word){ .s = text + start + off,
                               .l = lower + start + off,
                               .len = wl,
                               .upper = cased && !has_lower };
                n_upper += w[n].upper;
                n++;
        }
        is_cap_diff = n_upper > 0 && n_upper < n;

        for (size_t i = 0; i < n; i++) {
                if (table_get(&booster_table, w[i].l, w[i].len, NULL) ||
                    (i < n - 1 && lw_eq(&w[i], "kind") && lw_eq(&w[i + 1], "of")))
                        sent[i] = 0.0;
                else
                        sent[i] = sentiment_valence(w, n, i, is_cap_diff);
                if (but == SIZE_MAX && lw_eq(&w[i], "but"))
                        but = i;
        }
        if (but != SIZE_MAX)
                for (size_t i = 0; i < n; i++)
                        sent[i] *= i < but ? 0.5 : i > but ? 1.5 : 1.0;

        if (n == 0) {
                *ret = (NlpSentimentScores){};
                return 0;
        }
        amp = MIN(ep, (size_t) 4) * 0.292 + (qm > 1 ? (qm <= 3 ? qm * 0.18 : 0.96) : 0);
        for (size_t i = 0; i < n; i++) {
                sum += sent[i];
                if (sent[i] > 0)
                        pos_sum += sent[i] + 1;
                else if (sent[i] < 0)
                        neg_sum += sent[i] - 1;
                else
                        neu_count += 1;
        }
        if (sum > 0)
                sum += amp;
        else if (sum < 0)
                sum -= amp;
        if (pos_sum > fabs(neg_sum))
                pos_sum += amp;
        else if (pos_sum < fabs(neg_sum))
                neg_sum -= amp;
        {
                double total = pos_sum + fabs(neg_sum) + neu_count;
                *ret = (NlpSentimentScores){
                        .compound = round_to(normalize(sum), 1e4),
                        .pos = round_to(fabs(pos_sum / total), 1e3),
                        .neg = round_to(fabs(neg_sum / total), 1e3),
                        .neu = round_to(fabs(neu_count / total), 1e3),
                };
        }
        return 0;
}

int nlp_sentiment_to_json(const NlpSentimentScores *s, json_object **ret) {
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "method", json_object_new_string("vader"));
        json_object_object_add(o, "compound", nlp_json_double(s->compound));
        json_object_object_add(o, "pos", nlp_json_double(s->pos));
        json_object_object_add(o, "neg", nlp_json_double(s->neg));
        json_object_object_add(o, "neu", nlp_json_double(s->neu));
        /* VADER's documented thresholds. */
        json_object_object_add(
                o,
                "label",
                json_object_new_string(
                        s->compound >= 0.05            ? "positive"
                                : s->compound <= -0.05 ? "negative"
                                                       : "neutral"));
        *ret = o;
        return 0;
}
