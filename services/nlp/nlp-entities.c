/* SPDX-License-Identifier: MIT */
/* nlp-entities.c — hand-written scanners (no regex engine: each pattern is a few lines
 * and runs in one pass over the bytes). Patterns claim bytes in priority order (url,
 * email, money, date, phone, then names) so that one span is never two entities. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nlp-entities.h"
#include "nlp-utf8.h"
#include "nlp-vocab.h"

typedef struct Entity {
        size_t start, end; /* bytes */
        const char *type;
} Entity;

typedef struct Scan {
        const NlpDoc *d;
        const char *s;
        size_t len;
        bool *taken;
        Entity *ents;
        size_t n, cap;
} Scan;

static bool is_d(const Scan *sc, size_t i) {
        return i < sc->len && sc->s[i] >= '0' && sc->s[i] <= '9';
}

static bool is_alnum_at(const Scan *sc, size_t i) {
        return i < sc->len && isalnum((unsigned char) sc->s[i]);
}

static bool at(const Scan *sc, size_t i, const char *lit) {
        size_t n = strlen(lit);
        return i + n <= sc->len && memcmp(sc->s + i, lit, n) == 0;
}

static bool at_ci(const Scan *sc, size_t i, const char *lit) {
        size_t n = strlen(lit);
        return i + n <= sc->len && strncasecmp(sc->s + i, lit, n) == 0;
}

static size_t digits(const Scan *sc, size_t i) {
        size_t j = i;
        while (is_d(sc, j))
                j++;
        return j - i;
}

static bool free_span(const Scan *sc, size_t a, size_t b) {
        for (size_t i = a; i < b; i++)
                if (sc->taken[i])
                        return false;
        return true;
}

static int add(Scan *sc, size_t a, size_t b, const char *type) {
        if (b <= a || !free_span(sc, a, b))
                return 0;
        if (sc->n == sc->cap) {
                size_t cap = sc->cap ? sc->cap * 2 : 16;
                Entity *e = reallocarray(sc->ents, cap, sizeof(Entity));
                if (!e)
                        return -ENOMEM;
                sc->ents = e;
                sc->cap = cap;
        }
        sc->ents[sc->n++] = (Entity){ a, b, type };
        memset(sc->taken + a, 1, b - a);
        return 1;
}

/* ---- url, email --------------------------------------------------------------------- */
static int scan_urls(Scan *sc) {
        for (size_t i = 0; i < sc->len; i++) {
                size_t j;
                int r;

                if (!(at_ci(sc, i, "http://") || at_ci(sc, i, "https://") || at_ci(sc, i, "www.")) ||
                    (i > 0 && is_alnum_at(sc, i - 1)))
                        continue;
                for (j = i; j < sc->len; j++) {
                        unsigned char c = sc->s[j];
                        if (c <= ' ' || c >= 0x80 || strchr("<>\"'`{}|\\^", c))
                                break;
                }
                while (j > i && strchr(".,;:!?)]", sc->s[j - 1]))
                        j--;
                if (j - i <= 8)
                        continue;
                r = add(sc, i, j, "url");
                if (r < 0)
                        return r;
                i = j;
        }
        return 0;
}

static bool email_local(char c) {
        return isalnum((unsigned char) c) || strchr("._%+-", c);
}

static int scan_emails(Scan *sc) {
        for (size_t i = 1; i + 1 < sc->len; i++) {
                size_t a = i, b = i + 1, dot = 0;
                int r;

                if (sc->s[i] != '@')
                        continue;
                while (a > 0 && (unsigned char) sc->s[a - 1] < 0x80 && email_local(sc->s[a - 1]))
                        a--;
                while (b < sc->len && (is_alnum_at(sc, b) || sc->s[b] == '-' || sc->s[b] == '.')) {
                        if (sc->s[b] == '.')
                                dot = b;
                        b++;
                }
                while (b > i + 1 && sc->s[b - 1] == '.')
                        b--;
                if (a == i || dot == 0 || dot >= b - 2 || dot == i + 1)
                        continue;
                r = add(sc, a, b, "email");
                if (r < 0)
                        return r;
                i = b;
        }
        return 0;
}

/* ---- money ---------------------------------------------------------------------------- */
/* A number "1,234.50" at i; returns its end or i. */
static size_t number(const Scan *sc, size_t i) {
        size_t j = i;

        if (!is_d(sc, j))
                return i;
        while (is_d(sc, j) || ((sc->s[j] == ',' || sc->s[j] == '.') && is_d(sc, j + 1)))
                j++;
        return j;
}

static size_t scale_word(const Scan *sc, size_t j) {
        static const char *const w[] = {
                " million", " billion", " trillion", " thousand", "万", "億", "千"
        };
        for (size_t k = 0; k < ELEMENTSOF(w); k++)
                if (at_ci(sc, j, w[k]))
                        return j + strlen(w[k]);
        return j;
}

static int scan_money(Scan *sc) {
        static const char *const prefix[] = { "US$", "$", "€", "£", "¥", "￥" };
        static const char *const suffix[] = { "円",   "ドル", "ユーロ", "ポンド", " dollars", " dollar",
                                              " USD", " EUR", " JPY",   " euros", " yen",     " GBP" };

        for (size_t i = 0; i < sc->len; i++) {
                size_t j, k;
                int r;

                for (k = 0; k < ELEMENTSOF(prefix); k++)
                        if (at(sc, i, prefix[k]))
                                break;
                if (k < ELEMENTSOF(prefix)) {
                        size_t p = i + strlen(prefix[k]);
                        if (sc->s[p] == ' ')
                                p++;
                        j = number(sc, p);
                        if (j > p) {
                                j = scale_word(sc, j);
                                r = add(sc, i, j, "money");
                                if (r < 0)
                                        return r;
                                i = j - 1;
                                continue;
                        }
                }
                if (!is_d(sc, i) ||
                    (i > 0 && (is_alnum_at(sc, i - 1) || sc->s[i - 1] == '.' || sc->s[i - 1] == ',')))
                        continue;
                j = scale_word(sc, number(sc, i));
                for (k = 0; k < ELEMENTSOF(suffix); k++)
                        if (at(sc, j, suffix[k]) && !is_alnum_at(sc, j + strlen(suffix[k]))) {
                                size_t e = j + strlen(suffix[k]);
                                r = add(sc, i, e, "money");
                                if (r < 0)
                                        return r;
                                break;
                        }
                i = j > i ? j - 1 : i;
        }
        return 0;
}

/* ---- dates ----------------------------------------------------------------------------- */
static const char *const months[] = { "january", "february", "march",     "april",   "may",      "june",
                                      "july",    "august",   "september", "october", "november", "december",
                                      "jan",     "feb",      "mar",       "apr",     "jun",      "jul",
                                      "aug",     "sep",      "sept",      "oct",     "nov",      "dec" };

static size_t month_at(const Scan *sc, size_t i) {
        if (i > 0 && isalpha((unsigned char) sc->s[i - 1]))
                return i;
        for (size_t k = 0; k < ELEMENTSOF(months); k++) {
                size_t n = strlen(months[k]);
                if (at_ci(sc, i, months[k]) && isupper((unsigned char) sc->s[i]) &&
                    !isalpha((unsigned char) sc->s[i + n])) {
                        size_t j = i + n;
                        if (k >= 12 && j < sc->len && sc->s[j] == '.')
                                j++;
                        return j;
                }
        }
        return i;
}

/* "5", "5th", "21st" */
static size_t day_at(const Scan *sc, size_t i) {
        size_t n = digits(sc, i), j = i + n;
        if (n < 1 || n > 2)
                return i;
        if (at_ci(sc, j, "st") || at_ci(sc, j, "nd") || at_ci(sc, j, "rd") || at_ci(sc, j, "th"))
                j += 2;
        return is_alnum_at(sc, j) ? i : j;
}

static size_t year_after_comma(const Scan *sc, size_t j) {
        size_t p = j;
        if (p < sc->len && sc->s[p] == ',')
                p++;
        if (p < sc->len && sc->s[p] == ' ')
                p++;
        return digits(sc, p) == 4 && !is_alnum_at(sc, p + 4) ? p + 4 : j;
}

static int scan_dates(Scan *sc) {
        for (size_t i = 0; i < sc->len; i++) {
                size_t j = i, n;
                int r;

                if (i > 0 && (is_alnum_at(sc, i - 1)))
                        goto next_month;
                n = digits(sc, i);
                /* 2024-01-05, 2024/1/5, 2024.01.05 */
                if (n == 4 && strchr("-/.", sc->s[i + 4]) && digits(sc, i + 5) >= 1 &&
                    digits(sc, i + 5) <= 2) {
                        size_t m = i + 5 + digits(sc, i + 5);
                        if (m < sc->len && sc->s[m] == sc->s[i + 4] && digits(sc, m + 1) >= 1 &&
                            digits(sc, m + 1) <= 2 && !is_d(sc, m + 1 + digits(sc, m + 1))) {
                                j = m + 1 + digits(sc, m + 1);
                                goto found;
                        }
                }
                /* 1/5/2024 */
                if (n >= 1 && n <= 2 && sc->s[i + n] == '/' && digits(sc, i + n + 1) >= 1 &&
                    digits(sc, i + n + 1) <= 2) {
                        size_t m = i + n + 1 + digits(sc, i + n + 1);
                        if (m < sc->len && sc->s[m] == '/' && digits(sc, m + 1) == 4 && !is_d(sc, m + 5)) {
                                j = m + 5;
                                goto found;
                        }
                }
                /* 2024年1月5日, 1月5日, 2024年1月 */
                if (n >= 1 && n <= 4) {
                        size_t p = i + n;
                        bool year = false, month = false, day = false;
                        if (at(sc, p, "年")) {
                                year = true;
                                p += strlen("年");
                        }
                        if (year && digits(sc, p) >= 1 && digits(sc, p) <= 2 &&
                            at(sc, p + digits(sc, p), "月")) {
                                p += digits(sc, p) + strlen("月");
                                month = true;
                        } else if (!year && n <= 2 && at(sc, p, "月")) {
                                p += strlen("月");
                                month = true;
                        }
                        if (month && digits(sc, p) >= 1 && digits(sc, p) <= 2 &&
                            at(sc, p + digits(sc, p), "日")) {
                                p += digits(sc, p) + strlen("日");
                                day = true;
                        }
                        if ((year && month) || (month && day)) {
                                j = p;
                                goto found;
                        }
                }
                /* 5 January 2024 */
                if (day_at(sc, i) > i && sc->s[day_at(sc, i)] == ' ') {
                        size_t m = month_at(sc, day_at(sc, i) + 1);
                        if (m > day_at(sc, i) + 1) {
                                j = m;
                                if (sc->s[j] == ' ' && digits(sc, j + 1) == 4 && !is_alnum_at(sc, j + 5))
                                        j += 5;
                                goto found;
                        }
                }
next_month:
                /* January 5, 2024 / Jan. 5th / March 2024 */
                j = month_at(sc, i);
                if (j > i && sc->s[j] == ' ') {
                        size_t dd = day_at(sc, j + 1);
                        if (dd > j + 1) {
                                j = year_after_comma(sc, dd);
                                goto found;
                        }
                        if (digits(sc, j + 1) == 4 && !is_alnum_at(sc, j + 5)) {
                                j += 5;
                                goto found;
                        }
                }
                continue;
found:
                r = add(sc, i, j, "date");
                if (r < 0)
                        return r;
                i = j - 1;
        }
        return 0;
}

/* ---- phone -------------------------------------------------------------------------------- */
static int scan_phones(Scan *sc) {
        for (size_t i = 0; i < sc->len; i++) {
                size_t j = i, nd = 0, groups = 0, last_sep = 0;
                bool plus = sc->s[i] == '+', paren = sc->s[i] == '(';
                int r;

                if (!(plus || paren || is_d(sc, i)) ||
                    (i > 0 && (is_alnum_at(sc, i - 1) || sc->s[i - 1] == '+')))
                        continue;
                if (plus || paren)
                        j++;
                while (j < sc->len) {
                        size_t n = digits(sc, j);
                        if (n == 0)
                                break;
                        nd += n;
                        groups++;
                        j += n;
                        if (j < sc->len && sc->s[j] == ')')
                                j++;
                        if (j + 1 < sc->len && strchr("-. ", sc->s[j]) && is_d(sc, j + 1)) {
                                last_sep = j;
                                j++;
                        } else if (j + 1 < sc->len && sc->s[j] == ' ' && sc->s[j + 1] == '(') {
                                j += 2;
                        } else
                                break;
                }
                (void) last_sep;
                /* Phone-like: 9-15 digits in 2+ groups (or a leading +), not glued to a word. */
                if (nd < 9 || nd > 15 || (groups < 2 && !plus) || is_alnum_at(sc, j))
                        continue;
                r = add(sc, i, j, "phone");
                if (r < 0)
                        return r;
                i = j - 1;
        }
        return 0;
}

/* ---- names ---------------------------------------------------------------------------------- */
static const char *ja_type(const NlpToken *t) {
        if (strstr(t->pos, "人名"))
                return "person";
        if (strstr(t->pos, "地域"))
                return "location";
        if (strstr(t->pos, "組織"))
                return "organization";
        return "proper_noun";
}

static bool capitalised(const NlpDoc *d, const NlpToken *t) {
        uint32_t cp;
        if (!t->word)
                return false;
        nlp_utf8_decode(d->text + t->start, t->len, &cp);
        return nlp_utf8_is_upper(cp);
}

/* A sentence-initial capital says nothing on its own: such a single word counts when the
 * same word also appears capitalised inside a sentence (set built once, by norm). */
static int mid_sentence_capitals(const NlpDoc *d, NlpVocab *ret) {
        for (size_t k = 0; k < d->n_tokens; k++) {
                const NlpToken *t = &d->tokens[k];
                if (k != d->sentences[t->sentence].first_token && capitalised(d, t)) {
                        int r = nlp_vocab_id(ret, t->norm);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int scan_names(Scan *sc) {
        const NlpDoc *d = sc->d;
        _cleanup_(nlp_vocab_done) NlpVocab capitals = {};
        int r;

        if (d->lang != NLP_LANG_JA) {
                r = mid_sentence_capitals(d, &capitals);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < d->n_tokens;) {
                size_t j = i;
                const char *type = "proper_noun";

                if (d->lang == NLP_LANG_JA) {
                        if (!d->tokens[i].proper) {
                                i++;
                                continue;
                        }
                        type = ja_type(&d->tokens[i]);
                        while (j < d->n_tokens && d->tokens[j].proper &&
                               d->tokens[j].sentence == d->tokens[i].sentence &&
                               d->tokens[j].start ==
                                       (j == i ? d->tokens[j].start
                                               : d->tokens[j - 1].start + d->tokens[j - 1].len))
                                j++;
                } else {
                        const NlpToken *t = &d->tokens[i];
                        bool initial = i == d->sentences[t->sentence].first_token;

                        if (!capitalised(d, t) || (t->len == 1 && d->text[t->start] == 'I')) {
                                i++;
                                continue;
                        }
                        j = i + 1;
                        while (j < d->n_tokens && d->tokens[j].sentence == t->sentence) {
                                if (capitalised(d, &d->tokens[j]))
                                        j++;
                                else if (
                                        (streq(d->tokens[j].norm, "of") || streq(d->tokens[j].norm, "de")) &&
                                        j + 1 < d->n_tokens && capitalised(d, &d->tokens[j + 1]))
                                        j += 2;
                                else
                                        break;
                        }
                        if (initial &&
                            (nlp_stopword(NLP_LANG_EN, t->norm) ||
                             (j == i + 1 && nlp_vocab_find(&capitals, t->norm) < 0))) {
                                /* Drop the sentence-initial word; keep the rest of the span. */
                                if (j == i + 1) {
                                        i++;
                                        continue;
                                }
                                i++;
                        }
                }
                r = add(sc, d->tokens[i].start, d->tokens[j - 1].start + d->tokens[j - 1].len, type);
                if (r < 0)
                        return r;
                i = j;
        }
        return 0;
}

static int cmp_entity(const void *a, const void *b) {
        const Entity *x = a, *y = b;
        return (x->start > y->start) - (x->start < y->start);
}

int nlp_entities(const NlpDoc *d, json_object **ret) {
        _cleanup_free_ bool *taken = calloc(d->len + 1, sizeof(bool));
        Scan sc = { .d = d, .s = d->text, .len = d->len, .taken = taken };
        json_object *o, *arr;
        size_t chars = 0, pos = 0;
        int r;

        if (!taken)
                return -ENOMEM;
        r = scan_urls(&sc);
        if (r >= 0)
                r = scan_emails(&sc);
        if (r >= 0)
                r = scan_money(&sc);
        if (r >= 0)
                r = scan_dates(&sc);
        if (r >= 0)
                r = scan_phones(&sc);
        if (r >= 0)
                r = scan_names(&sc);
        if (r < 0) {
                free(sc.ents);
                return r;
        }
        if (sc.n > 0) /* qsort() must not see the NULL of an empty list */
                qsort(sc.ents, sc.n, sizeof(Entity), cmp_entity);
        o = json_object_new_object();
        arr = json_object_new_array();
        if (!o || !arr) {
                json_object_put(o);
                json_object_put(arr);
                free(sc.ents);
                return -ENOMEM;
        }
        json_object_object_add(
                o, "method", json_object_new_string(d->lang == NLP_LANG_JA ? "rules+mecab" : "rules"));
        json_object_object_add(o, "entities", arr);
        for (size_t k = 0; k < sc.n; k++) {
                const Entity *e = &sc.ents[k];
                json_object *j = json_object_new_object();
                size_t c0;

                if (!j) {
                        free(sc.ents);
                        json_object_put(o);
                        return -ENOMEM;
                }
                chars += nlp_utf8_count(d->text + pos, e->start - pos);
                c0 = chars;
                chars += nlp_utf8_count(d->text + e->start, e->end - e->start);
                pos = e->end;
                json_object_object_add(
                        j, "text", json_object_new_string_len(d->text + e->start, e->end - e->start));
                json_object_object_add(j, "type", json_object_new_string(e->type));
                json_object_object_add(j, "start", json_object_new_int64(c0));
                json_object_object_add(j, "end", json_object_new_int64(chars));
                json_object_array_add(arr, j);
        }
        free(sc.ents);
        *ret = o;
        return 0;
}
