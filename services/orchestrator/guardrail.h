/* SPDX-License-Identifier: MIT */
/* guardrail.h — input rules on the text fields of a request (prompt, text, messages[].content):
 * built-in pattern sets (prompt injection, shell and SQL injection markers, oversized
 * repetition) plus operator rules from a file. Each rule blocks the request or flags the job.
 * Rules are compiled once at start; checking is read-only and thread-safe. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUARDRAIL_RULES_MAX 128
#define GUARDRAIL_NAME_MAX 48

typedef enum GuardrailAction {
        GUARDRAIL_OFF,
        GUARDRAIL_FLAG,
        GUARDRAIL_BLOCK,
        _GUARDRAIL_ACTION_MAX,
} GuardrailAction;

typedef enum GuardrailSet {
        GUARDRAIL_SET_INJECTION,
        GUARDRAIL_SET_SHELL,
        GUARDRAIL_SET_SQL,
        GUARDRAIL_SET_REPETITION,
        GUARDRAIL_SET_CUSTOM, /* operator rules from ORCH_GUARDRAIL_RULES_FILE */
        _GUARDRAIL_SET_MAX,
} GuardrailSet;

typedef struct Guardrail Guardrail;

/* What one check found: hit[i] for rule i, and the first blocking rule (if any). */
typedef struct GuardrailResult {
        bool hit[GUARDRAIL_RULES_MAX];
        unsigned n_hits;
        int blocked;            /* rule index, -1 = none */
        char blocked_field[96]; /* the field that held it, e.g. "messages[1].content" */
} GuardrailResult;

/* The built-in rules with their sets' default actions; repeat_bytes is the length from
 * which a stretch made of one unit (1-64 bytes) repeated back to back counts as oversized. */
int guardrail_new(size_t repeat_bytes, Guardrail **ret);
void guardrail_free(Guardrail *g);
static inline void guardrail_freep(Guardrail **g) {
        if (*g)
                guardrail_free(*g);
}

/* "set=action,rule=action,..." with set in injection, shell, sql, repetition, custom and
 * action in block, flag, off; a rule name overrides its set. -EINVAL with *ret_error (if non-NULL; owned
 * by the caller) naming the bad item. Applied in order. */
int guardrail_set_actions(Guardrail *g, const char *spec, char **ret_error);
/* Operator rules, one per line: "name action regex" (POSIX extended, case-insensitive);
 * blank lines and lines starting with # are skipped. -EINVAL with *ret_error naming the
 * line ("line 3: ..."); -errno if the file cannot be read. */
int guardrail_load_file(Guardrail *g, const char *path, char **ret_error);
/* Same from text (tests). */
int guardrail_load_rules(Guardrail *g, const char *text, char **ret_error);

/* Call once, then guardrail_check_text() per field (or guardrail_check_json()). */
void guardrail_result_init(GuardrailResult *res);
/* Checks one text against the enabled rules; stops at the first blocking rule.
 * Returns true when the request is to be blocked. text[len] must be a NUL (json-c strings
 * are); NULs inside the text are text. */
bool guardrail_check_text(
        const Guardrail *g, const char *field, const char *text, size_t len, GuardrailResult *res);
/* Checks a request body: its "prompt", "text", "input" and "system" and messages[].content,
 * each a string or an array of strings and {type, text} parts (OpenAI's and Anthropic's
 * shapes). prefix goes before the field names ("payload."). */
bool guardrail_check_json(const Guardrail *g, json_object *body, const char *prefix, GuardrailResult *res);

size_t guardrail_n_rules(const Guardrail *g);
const char *guardrail_rule_name(const Guardrail *g, size_t i);
GuardrailAction guardrail_rule_action(const Guardrail *g, size_t i);
GuardrailSet guardrail_rule_set(const Guardrail *g, size_t i);
/* The flagged rules of res as a JSON array text (["sql_union",...]); NULL (no error) when
 * nothing was flagged. */
int guardrail_result_flags_json(const Guardrail *g, const GuardrailResult *res, char **ret);

const char *guardrail_action_to_string(GuardrailAction a);
const char *guardrail_set_to_string(GuardrailSet s);
