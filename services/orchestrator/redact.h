/* SPDX-License-Identifier: MIT */
/* redact.h — output redaction: secrets and personal data in a job's result are replaced by
 * "[REDACTED:<kind>]" and counted. Hand-written scanners, one pass, ASCII-only matches, so
 * UTF-8 text stays valid. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum RedactKind {
        REDACT_OPENAI_KEY,     /* sk-..., sk-proj-... */
        REDACT_ANTHROPIC_KEY,  /* sk-ant-... */
        REDACT_AWS_ACCESS_KEY, /* AKIA/ASIA + 16 */
        REDACT_GITHUB_TOKEN,   /* ghp_/gho_/ghu_/ghs_/ghr_, github_pat_ */
        REDACT_SLACK_TOKEN,    /* xox[baprs]- */
        REDACT_GOOGLE_API_KEY, /* AIza + 35 */
        REDACT_PRIVATE_KEY,    /* PEM -----BEGIN ... PRIVATE KEY----- block */
        REDACT_JWT,            /* eyJ... . ... . ... */
        REDACT_EMAIL,
        REDACT_CARD, /* 13-19 digits, spaces/dashes allowed, Luhn-valid */
        _REDACT_KIND_MAX,
} RedactKind;

typedef struct RedactCounts {
        unsigned n[_REDACT_KIND_MAX];
} RedactCounts;

const char *redact_kind_to_string(RedactKind k);
static inline unsigned redact_counts_total(const RedactCounts *c) {
        unsigned t = 0;

        for (int i = 0; i < _REDACT_KIND_MAX; i++)
                t += c->n[i];
        return t;
}

/* Redacts s[0..len). Returns 1 and *ret (NUL-terminated, owned by the caller, *ret_len)
 * when something was replaced, 0 and *ret untouched when nothing was; counts are added to. */
int redact_text(const char *s, size_t len, RedactCounts *counts, char **ret, size_t *ret_len);
/* Redacts every string value of o in place, recursively (object keys are left alone).
 * Returns the number of replacements. A top-level string cannot be replaced in place:
 * wrap it, or use redact_text(). */
int redact_json(json_object *o, RedactCounts *counts);
/* {"email":2,"card":1}: the kinds with a count > 0. */
json_object *redact_counts_to_json(const RedactCounts *c);
bool redact_luhn_valid(const char *digits, size_t n);
