/* SPDX-License-Identifier: MIT */
/* redact.c — one left-to-right pass: at each position the key scanners (by their fixed
 * prefixes), then e-mail, then card numbers; the first match wins and the scan resumes
 * after it, so overlapping candidates are replaced once. Every scanner matches ASCII
 * only, so replacements never split a UTF-8 sequence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "redact.h"

static const char *const kind_names[_REDACT_KIND_MAX] = {
        [REDACT_OPENAI_KEY] = "openai_key",
        [REDACT_ANTHROPIC_KEY] = "anthropic_key",
        [REDACT_AWS_ACCESS_KEY] = "aws_access_key",
        [REDACT_GITHUB_TOKEN] = "github_token",
        [REDACT_SLACK_TOKEN] = "slack_token",
        [REDACT_GOOGLE_API_KEY] = "google_api_key",
        [REDACT_PRIVATE_KEY] = "private_key",
        [REDACT_JWT] = "jwt",
        [REDACT_EMAIL] = "email",
        [REDACT_CARD] = "card",
};

const char *redact_kind_to_string(RedactKind k) {
        return k >= 0 && k < _REDACT_KIND_MAX ? kind_names[k] : "unknown";
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}
static bool is_upper(char c) {
        return c >= 'A' && c <= 'Z';
}
static bool is_alpha(char c) {
        return is_upper(c) || (c >= 'a' && c <= 'z');
}
static bool is_alnum(char c) {
        return is_alpha(c) || is_digit(c);
}
/* Characters of API tokens (and base64url). */
static bool is_tok(char c) {
        return is_alnum(c) || c == '_' || c == '-';
}
static bool is_local(char c) {
        return is_alnum(c) || (c && strchr("._%+-", c));
}

static bool has_prefix(const char *s, size_t n, const char *p) {
        size_t l = strlen(p);
        return n >= l && memcmp(s, p, l) == 0;
}

static size_t span(const char *s, size_t n, bool (*ok)(char)) {
        size_t i = 0;

        while (i < n && ok(s[i]))
                i++;
        return i;
}

static bool is_key_body(char c) {
        return is_alnum(c);
}
static bool is_upper_digit(char c) {
        return is_upper(c) || is_digit(c);
}
static bool is_pat_body(char c) {
        return is_alnum(c) || c == '_';
}
static bool is_slack_body(char c) {
        return is_alnum(c) || c == '-';
}

/* A token of prefix + at least min body chars, not followed by a token char. */
static size_t token(const char *s, size_t n, const char *prefix, bool (*body)(char), size_t min) {
        size_t l = strlen(prefix), b;

        if (!has_prefix(s, n, prefix))
                return 0;
        b = span(s + l, n - l, body);
        if (b < min || (l + b < n && is_tok(s[l + b])))
                return 0;
        return l + b;
}

/* A PEM private key block; a block cut off before its END line is redacted to the end. */
static size_t pem_private_key(const char *s, size_t n) {
        static const char begin[] = "-----BEGIN ", tail[] = "PRIVATE KEY-----", end[] = "-----END ";
        size_t i = sizeof(begin) - 1;
        const char *e, *t;

        if (!has_prefix(s, n, begin))
                return 0;
        /* "RSA ", "EC ", "OPENSSH ", "ENCRYPTED " or nothing before PRIVATE KEY. */
        t = memmem(s + i, MIN(n - i, (size_t) 64), tail, sizeof(tail) - 1);
        if (!t)
                return 0;
        for (; s + i < t; i++)
                if (!is_upper(s[i]) && s[i] != ' ')
                        return 0;
        i += sizeof(tail) - 1;
        e = memmem(s + i, n - i, end, sizeof(end) - 1);
        if (!e)
                return n;
        t = memmem(e, n - (size_t) (e - s), tail, sizeof(tail) - 1);
        if (!t || t - e > 64)
                return n;
        return (size_t) (t - s) + sizeof(tail) - 1;
}

static bool is_b64url(char c) {
        return is_alnum(c) || c == '_' || c == '-';
}

/* header.payload.signature, the header starting eyJ ('{"' in base64url). */
static size_t jwt(const char *s, size_t n) {
        size_t a, b, c;

        if (!has_prefix(s, n, "eyJ"))
                return 0;
        a = span(s, n, is_b64url);
        if (a < 10 || a >= n || s[a] != '.')
                return 0;
        b = span(s + a + 1, n - a - 1, is_b64url);
        if (b < 4 || a + 1 + b >= n || s[a + 1 + b] != '.')
                return 0;
        c = span(s + a + 2 + b, n - a - 2 - b, is_b64url);
        return a + 2 + b + c;
}

static size_t email(const char *s, size_t n) {
        size_t l = span(s, n, is_local), i, last_dot = 0, end;

        if (l == 0 || l > 64 || l >= n || s[l] != '@' || s[0] == '.')
                return 0;
        i = l + 1;
        end = i;
        /* Labels of [A-Za-z0-9-] joined by dots; the last one (the TLD) alphabetic, >= 2. */
        for (;;) {
                size_t lab = span(s + i, n - i, is_slack_body), tld;

                if (lab == 0)
                        break;
                tld = span(s + i, lab, is_alpha);
                if (last_dot && tld == lab && lab >= 2)
                        end = i + lab;
                i += lab;
                if (i + 1 < n && s[i] == '.' && is_alnum(s[i + 1])) {
                        last_dot = i++;
                        continue;
                }
                break;
        }
        return end > l + 1 ? end : 0;
}

bool redact_luhn_valid(const char *digits, size_t n) {
        unsigned sum = 0;

        for (size_t i = 0; i < n; i++) {
                unsigned d = (unsigned) (digits[n - 1 - i] - '0');

                if (i % 2 == 1) {
                        d *= 2;
                        if (d > 9)
                                d -= 9;
                }
                sum += d;
        }
        return n > 0 && sum % 10 == 0;
}

/* 13-19 digits, single spaces or dashes between them allowed, Luhn-valid. */
static size_t card(const char *s, size_t n) {
        char digits[20];
        size_t nd = 0, i = 0, end = 0;

        while (i < n) {
                if (is_digit(s[i])) {
                        if (nd == 19)
                                return 0; /* a longer number is not a card */
                        digits[nd++] = s[i++];
                        end = i;
                } else if ((s[i] == ' ' || s[i] == '-') && nd > 0 && i + 1 < n && is_digit(s[i + 1]))
                        i++;
                else
                        break;
        }
        if (nd < 13 || (end < n && is_alnum(s[end])))
                return 0;
        return redact_luhn_valid(digits, nd) ? end : 0;
}

/* The match starting at s[i] (the text before it is s[0..i)), or 0. */
static size_t match_at(const char *s, size_t n, size_t i, RedactKind *ret) {
        const char *p = s + i;
        size_t m = n - i, l;
        char prev = i > 0 ? s[i - 1] : 0;

        if (is_tok(prev)) {
                /* Inside a token: only the e-mail scanner has its own boundary rule. */
                goto mail;
        }
        switch (*p) {
        case 's':
                if ((l = token(p, m, "sk-ant-", is_tok, 20))) {
                        *ret = REDACT_ANTHROPIC_KEY;
                        return l;
                }
                if ((l = token(p, m, "sk-", is_tok, 20))) {
                        *ret = REDACT_OPENAI_KEY; /* sk-proj-... included */
                        return l;
                }
                break;
        case 'A':
                if ((l = token(p, m, "AKIA", is_upper_digit, 16)) == 20 ||
                    (l = token(p, m, "ASIA", is_upper_digit, 16)) == 20) {
                        *ret = REDACT_AWS_ACCESS_KEY;
                        return l;
                }
                if ((l = token(p, m, "AIza", is_tok, 35)) == 39) {
                        *ret = REDACT_GOOGLE_API_KEY;
                        return l;
                }
                break;
        case 'g':
                if ((l = token(p, m, "github_pat_", is_pat_body, 22)) ||
                    (l = token(p, m, "ghp_", is_key_body, 30)) ||
                    (l = token(p, m, "gho_", is_key_body, 30)) ||
                    (l = token(p, m, "ghu_", is_key_body, 30)) ||
                    (l = token(p, m, "ghs_", is_key_body, 30)) ||
                    (l = token(p, m, "ghr_", is_key_body, 30))) {
                        *ret = REDACT_GITHUB_TOKEN;
                        return l;
                }
                break;
        case 'x':
                if (m > 5 && has_prefix(p, m, "xox") && strchr("baprs", p[3]) && p[4] == '-' &&
                    (l = token(p + 5, m - 5, "", is_slack_body, 10))) {
                        *ret = REDACT_SLACK_TOKEN;
                        return l + 5;
                }
                break;
        case 'e':
                if ((l = jwt(p, m))) {
                        *ret = REDACT_JWT;
                        return l;
                }
                break;
        case '-':
                if ((l = pem_private_key(p, m))) {
                        *ret = REDACT_PRIVATE_KEY;
                        return l;
                }
                break;
        default:
                if (is_digit(*p) && !is_alnum(prev) && prev != '.' && (l = card(p, m))) {
                        *ret = REDACT_CARD;
                        return l;
                }
        }
mail:
        if (!is_local(prev) && is_local(*p) && (l = email(p, m))) {
                *ret = REDACT_EMAIL;
                return l;
        }
        return 0;
}

int redact_text(const char *s, size_t len, RedactCounts *counts, char **ret, size_t *ret_len) {
        _cleanup_free_ char *out = NULL;
        size_t cap = 0, o = 0, copied = 0;

        for (size_t i = 0; i < len;) {
                RedactKind kind;
                size_t l = match_at(s, len, i, &kind);
                char tag[40];
                int tl;

                if (l == 0) {
                        i++;
                        continue;
                }
                tl = snprintf(tag, sizeof(tag), "[REDACTED:%s]", kind_names[kind]);
                /* The text between matches, then the tag; at most len + one tag per byte. */
                if (o + (i - copied) + (size_t) tl + 1 > cap) {
                        size_t ncap = MAX(cap * 2, o + (i - copied) + (size_t) tl + 1 + len / 2);
                        char *n = realloc(out, ncap);

                        if (!n)
                                return -ENOMEM;
                        out = n;
                        cap = ncap;
                }
                memcpy(out + o, s + copied, i - copied);
                o += i - copied;
                memcpy(out + o, tag, (size_t) tl);
                o += (size_t) tl;
                i += l;
                copied = i;
                counts->n[kind]++;
        }
        if (!out)
                return 0;
        if (o + (len - copied) + 1 > cap) {
                char *n = realloc(out, o + (len - copied) + 1);

                if (!n)
                        return -ENOMEM;
                out = n;
        }
        memcpy(out + o, s + copied, len - copied);
        o += len - copied;
        out[o] = 0;
        *ret_len = o;
        *ret = TAKE_PTR(out);
        return 1;
}

int redact_json(json_object *o, RedactCounts *counts) {
        int total = 0, r;

        switch (json_object_get_type(o)) {
        case json_type_string: {
                _cleanup_free_ char *out = NULL;
                RedactCounts c = {};
                size_t len = 0;

                r = redact_text(
                        json_object_get_string(o), (size_t) json_object_get_string_len(o), &c, &out, &len);
                if (r <= 0)
                        return r;
                if (!json_object_set_string_len(o, out, (int) len))
                        return -ENOMEM;
                for (int k = 0; k < _REDACT_KIND_MAX; k++)
                        counts->n[k] += c.n[k];
                return (int) redact_counts_total(&c);
        }
        case json_type_object: {
                json_object_object_foreach(o, key, v) {
                        (void) key;
                        r = redact_json(v, counts);
                        if (r < 0)
                                return r;
                        total += r;
                }
                return total;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++) {
                        r = redact_json(json_object_array_get_idx(o, i), counts);
                        if (r < 0)
                                return r;
                        total += r;
                }
                return total;
        default:
                return 0;
        }
}

json_object *redact_counts_to_json(const RedactCounts *c) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (int k = 0; k < _REDACT_KIND_MAX; k++)
                if (c->n[k] > 0)
                        json_object_object_add(o, kind_names[k], json_object_new_int64(c->n[k]));
        return o;
}
