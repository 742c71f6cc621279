/* SPDX-License-Identifier: MIT */
/* guardrail.c — the input rules. A rule is a POSIX extended regex (case-insensitive,
 * compiled once) or, for oversized repetition, a hand-written scanner. glibc's regexec
 * runs at ~120 MB/s, so a built-in rule also names literal anchors that every match
 * contains. The text is normalized once (ASCII lowercase, every whitespace run one space,
 * so "IGNORE\n  previous" reads as "ignore previous"), the anchors are found in it with
 * memmem, and the regex only runs on windows around them. Operator rules have no anchors
 * and see the original text. */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error-message.h"
#include "guardrail.h"
#include "json-util.h"
#include "macro.h"

/* How far a built-in match may reach from its anchor; the patterns are short phrases. */
#define ANCHOR_REACH 160
#define REPEAT_UNIT_MAX 64
#define ANCHORS_MAX 8 /* + a NULL terminator */

typedef struct GuardrailRule {
        char name[GUARDRAIL_NAME_MAX + 1];
        GuardrailSet set;
        GuardrailAction action;
        bool is_regex;
        regex_t re;
        const char *anchors[ANCHORS_MAX + 1]; /* lowercase literals; none = scan everything */
} GuardrailRule;

struct Guardrail {
        GuardrailRule rules[GUARDRAIL_RULES_MAX];
        size_t n_rules;
        size_t repeat_bytes;
};

typedef struct BuiltinRule {
        const char *name;
        GuardrailSet set;
        const char *regex; /* NULL = the repetition scanner */
        const char *anchors[ANCHORS_MAX + 1];
} BuiltinRule;

#define SP "[[:space:]]+"
#define OSP "[[:space:]]*"
#define SHELL_CMD \
        "(curl|wget|bash|sh|zsh|nc|ncat|python[23]?|perl|ruby|php|rm|cat|id|whoami|uname|base64|chmod|chown)"

/* Phrases from public prompt-injection corpora (e.g. the "ignore previous instructions"
 * family, DAN jailbreaks, chat-template tokens smuggled into user text). Each needs a verb
 * or marker next to its noun, so "the previous instructions were clear" does not fire. */
static const BuiltinRule builtin_rules[] = {
        { "injection_ignore_instructions",
          GUARDRAIL_SET_INJECTION,
          "(ignore|disregard|forget|override|bypass|skip)" SP
          "((all|any|every|the|your|my|of|these|those)" SP
          ")*(previous|prior|above|earlier|preceding|former|initial|original)" SP
          "(instructions?|prompts?|rules|directions|guidelines|context|messages?|commands?)",
          { "ignore", "disregard", "forget", "override", "bypass", "skip" } },
        { "injection_system_prompt",
          GUARDRAIL_SET_INJECTION,
          "((ignore|disregard|forget|override|bypass)" SP "((the|your|my|all)" SP ")*(system|developer)" SP
          "(prompt|message|instructions?)|(reveal|print|show|repeat|output|leak|dump)" SP "((me|us)" SP
          ")?((the|your)" SP ")?(system|hidden|initial)" SP "(prompt|instructions))",
          { "system prompt",
            "system message",
            "system instruction",
            "developer ",
            "hidden prompt",
            "hidden instruction",
            "initial prompt",
            "initial instruction" } },
        { "injection_role_override",
          GUARDRAIL_SET_INJECTION,
          "(you are now|from now on you are|act as|pretend to be|you will now be)" SP "(an?" SP
          ")?(dan|jailbroken|unrestricted|unfiltered|uncensored|evil|in developer mode)"
          "|do anything now|developer mode (enabled|activated|on)",
          { "you are now",
            "from now on",
            "act as",
            "pretend to be",
            "you will now",
            "do anything now",
            "developer mode" } },
        { "injection_chat_template",
          GUARDRAIL_SET_INJECTION,
          "<\\|(im_start|im_end|system|endoftext)\\|>|\\[/?inst\\]|<</?sys>>|###" OSP "system" OSP ":",
          { "<|", "[inst]", "[/inst]", "<<sys>>", "<</sys>>", "###" } },
        { "shell_rm_rf",
          GUARDRAIL_SET_SHELL,
          "([;&|`]|\\$\\()" OSP "(sudo" SP ")?rm" SP "-[[:alpha:]]*(r[[:alpha:]]*f|f[[:alpha:]]*r)",
          { "rm " } },
        { "shell_substitution",
          GUARDRAIL_SET_SHELL,
          "(\\$\\(|`)" OSP SHELL_CMD "([[:space:]`)]|$)",
          { "$(", "`" } },
        { "shell_pipe_to_shell",
          GUARDRAIL_SET_SHELL,
          "\\|" OSP "(sudo" SP ")?(ba|z|da|k)?sh([[:space:];&|]|$)",
          { "|" } },
        { "shell_sensitive_path",
          GUARDRAIL_SET_SHELL,
          "/etc/(passwd|shadow|sudoers)|/proc/self/environ|\\.ssh/(id_|authorized_keys)|/dev/tcp/",
          { "/etc/", "/proc/", ".ssh/", "/dev/tcp/" } },
        { "sql_tautology",
          GUARDRAIL_SET_SQL,
          "'" OSP "or" SP "('[^']{0,32}'|[0-9]+)" OSP "=" OSP "('[^']{0,32}'?|[0-9]+)",
          { "'or", "' or" } },
        { "sql_union", GUARDRAIL_SET_SQL, "union(" SP "all)?" SP "select[[:space:](]", { "union" } },
        { "sql_stacked_query",
          GUARDRAIL_SET_SQL,
          ";" OSP "(drop" SP "(table|database)|truncate" SP "table|delete" SP "from|insert" SP
          "into|alter" SP "table|shutdown|exec(ute)?" SP "(xp_|sp_))",
          { ";" } },
        { "sql_comment_after_quote",
          GUARDRAIL_SET_SQL,
          "[[:alnum:]]';?" OSP "(--|#|/\\*)",
          { "'-", "' -", "';", "'#", "' #", "'/", "' /" } },
        { "repetition_oversized", GUARDRAIL_SET_REPETITION, NULL, {} },
};

static const char *const action_names[_GUARDRAIL_ACTION_MAX] = {
        [GUARDRAIL_OFF] = "off",
        [GUARDRAIL_FLAG] = "flag",
        [GUARDRAIL_BLOCK] = "block",
};

static const char *const set_names[_GUARDRAIL_SET_MAX] = {
        [GUARDRAIL_SET_INJECTION] = "injection",
        [GUARDRAIL_SET_SHELL] = "shell",
        [GUARDRAIL_SET_SQL] = "sql",
        [GUARDRAIL_SET_REPETITION] = "repetition",
        [GUARDRAIL_SET_CUSTOM] = "custom",
};

/* Flag what merely looks suspicious; block only what is abuse whatever its intent. */
static const GuardrailAction set_defaults[_GUARDRAIL_SET_MAX] = {
        [GUARDRAIL_SET_INJECTION] = GUARDRAIL_FLAG, [GUARDRAIL_SET_SHELL] = GUARDRAIL_FLAG,
        [GUARDRAIL_SET_SQL] = GUARDRAIL_FLAG,       [GUARDRAIL_SET_REPETITION] = GUARDRAIL_BLOCK,
        [GUARDRAIL_SET_CUSTOM] = GUARDRAIL_FLAG,
};

const char *guardrail_action_to_string(GuardrailAction a) {
        return a >= 0 && a < _GUARDRAIL_ACTION_MAX ? action_names[a] : "unknown";
}

const char *guardrail_set_to_string(GuardrailSet s) {
        return s >= 0 && s < _GUARDRAIL_SET_MAX ? set_names[s] : "unknown";
}

static int action_from_string(const char *s, size_t n, GuardrailAction *ret) {
        for (int i = 0; i < _GUARDRAIL_ACTION_MAX; i++)
                if (strlen(action_names[i]) == n && strncmp(s, action_names[i], n) == 0) {
                        *ret = (GuardrailAction) i;
                        return 0;
                }
        return -EINVAL;
}

void guardrail_free(Guardrail *g) {
        if (!g)
                return;
        for (size_t i = 0; i < g->n_rules; i++)
                if (g->rules[i].is_regex)
                        regfree(&g->rules[i].re);
        free(g);
}

static int rule_compile(GuardrailRule *rule, const char *regex, bool icase, char *err, size_t errsize) {
        int rc = regcomp(&rule->re, regex, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));

        if (rc != 0) {
                (void) regerror(rc, &rule->re, err, errsize);
                return -EINVAL;
        }
        rule->is_regex = true;
        return 0;
}

int guardrail_new(size_t repeat_bytes, Guardrail **ret) {
        _cleanup_(guardrail_freep) Guardrail *g = calloc(1, sizeof(Guardrail));
        char err[128];
        int r;

        if (!g)
                return -ENOMEM;
        g->repeat_bytes = MAX(repeat_bytes, (size_t) 2 * REPEAT_UNIT_MAX + 2);
        for (size_t i = 0; i < ELEMENTSOF(builtin_rules); i++) {
                const BuiltinRule *b = &builtin_rules[i];
                GuardrailRule *rule = &g->rules[g->n_rules];

                snprintf(rule->name, sizeof(rule->name), "%s", b->name);
                rule->set = b->set;
                rule->action = set_defaults[b->set];
                memcpy(rule->anchors, b->anchors, sizeof(rule->anchors));
                if (b->regex) {
                        /* Lowercase patterns on lowered text: REG_ICASE would only cost. */
                        r = rule_compile(rule, b->regex, false, err, sizeof(err));
                        if (r < 0)
                                return r; /* a bug in the table above; the unit test catches it */
                }
                g->n_rules++;
        }
        *ret = TAKE_PTR(g);
        return 0;
}

static GuardrailRule *rule_find(Guardrail *g, const char *name, size_t n) {
        for (size_t i = 0; i < g->n_rules; i++)
                if (strlen(g->rules[i].name) == n && strncmp(g->rules[i].name, name, n) == 0)
                        return &g->rules[i];
        return NULL;
}

/* The message for the caller to log; ret may be NULL when the caller does not want it. */
int guardrail_set_actions(Guardrail *g, const char *spec, char **ret_error) {
        const char *p = spec ?: "";

        while (*p) {
                const char *end = strchrnul(p, ','), *eq = memchr(p, '=', (size_t) (end - p));
                const char *key = p;
                GuardrailAction action;
                size_t klen;
                bool found = false;

                while (*key == ' ')
                        key++;
                if (key == end) {
                        p = *end ? end + 1 : end;
                        continue;
                }
                klen = eq ? (size_t) (eq - key) : 0;
                while (klen > 0 && key[klen - 1] == ' ')
                        klen--;
                if (!eq || klen == 0 || action_from_string(eq + 1, (size_t) (end - eq - 1), &action) < 0) {
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "\"%.*s\" is not set=action or rule=action with action block, flag or off",
                                (int) (end - key),
                                key);
                }
                for (int s = 0; s < _GUARDRAIL_SET_MAX; s++)
                        if (strlen(set_names[s]) == klen && strncmp(key, set_names[s], klen) == 0) {
                                for (size_t i = 0; i < g->n_rules; i++)
                                        if (g->rules[i].set == (GuardrailSet) s)
                                                g->rules[i].action = action;
                                found = true;
                        }
                if (!found) {
                        GuardrailRule *rule = rule_find(g, key, klen);

                        if (!rule) {
                                return error_message(
                                        ret_error,
                                        -EINVAL,
                                        "unknown rule set or rule \"%.*s\"",
                                        (int) klen,
                                        key);
                        }
                        rule->action = action;
                }
                p = *end ? end + 1 : end;
        }
        return 0;
}

static bool name_valid(const char *s, size_t n) {
        if (n == 0 || n > GUARDRAIL_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char) s[i]) && !isdigit((unsigned char) s[i]) && s[i] != '_')
                        return false;
        return true;
}

static int load_line(Guardrail *g, char *line, char *err, size_t errsize) {
        char *name, *action, *regex, *save = NULL;
        GuardrailRule *rule;
        GuardrailAction a;
        int r;

        name = strtok_r(line, " \t", &save);
        action = strtok_r(NULL, " \t", &save);
        regex = save;
        while (regex && (*regex == ' ' || *regex == '\t'))
                regex++;
        if (!name || !action || !regex || !*regex) {
                snprintf(err, errsize, "expected \"name action regex\"");
                return -EINVAL;
        }
        if (!name_valid(name, strlen(name))) {
                snprintf(
                        err,
                        errsize,
                        "rule name \"%.64s\" must be 1-%d of [a-z0-9_]",
                        name,
                        GUARDRAIL_NAME_MAX);
                return -EINVAL;
        }
        if (rule_find(g, name, strlen(name))) {
                snprintf(err, errsize, "rule \"%s\" is defined twice", name);
                return -EINVAL;
        }
        if (action_from_string(action, strlen(action), &a) < 0) {
                snprintf(err, errsize, "action \"%.32s\" must be block, flag or off", action);
                return -EINVAL;
        }
        if (g->n_rules >= GUARDRAIL_RULES_MAX) {
                snprintf(err, errsize, "more than %d rules", GUARDRAIL_RULES_MAX);
                return -E2BIG;
        }
        rule = &g->rules[g->n_rules];
        *rule = (GuardrailRule){ .set = GUARDRAIL_SET_CUSTOM, .action = a };
        snprintf(rule->name, sizeof(rule->name), "%s", name);
        r = rule_compile(rule, regex, true, err, errsize);
        if (r < 0)
                return r;
        g->n_rules++;
        return 0;
}

int guardrail_load_rules(Guardrail *g, const char *text, char **ret_error) {
        unsigned lineno = 0;

        for (const char *p = text; p && *p;) {
                const char *end = strchrnul(p, '\n');
                _cleanup_free_ char *line = strndup(p, (size_t) (end - p));
                char err[256], *s;
                size_t n;
                int r;

                lineno++;
                p = *end ? end + 1 : end;
                if (!line)
                        return -ENOMEM;
                n = strlen(line);
                while (n > 0 && isspace((unsigned char) line[n - 1]))
                        line[--n] = 0;
                for (s = line; isspace((unsigned char) *s); s++)
                        ;
                if (!*s || *s == '#')
                        continue;
                r = load_line(g, s, err, sizeof(err));
                if (r < 0) {
                        return error_message(
                                ret_error, r == -E2BIG ? -EINVAL : r, "line %u: %s", lineno, err);
                }
        }
        return 0;
}

int guardrail_load_file(Guardrail *g, const char *path, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        size_t size = 0;
        ssize_t n;

        if (!f)
                return -errno;
        n = getdelim(&text, &size, '\0', f);
        if (n < 0)
                return ferror(f) ? -EIO : 0; /* an empty file: no rules */
        if (memchr(text, 0, (size_t) n)) {
                return error_message(ret_error, -EINVAL, "the file contains a NUL byte");
        }
        return guardrail_load_rules(g, text, ret_error);
}

/* ---- checking -------------------------------------------------------------------- */

/* A stretch of at least min bytes that is one unit of 1-64 bytes repeated back to back.
 * Probing: a run R where s[j] == s[j+p] gives a stretch of |R|+p bytes; one of at least
 * min has |R| >= min-64 = 2*step, so it covers a whole aligned window [k*step, k*step+step):
 * comparing those windows (one memcmp per period, failing at once on normal text) finds
 * every candidate, which is then measured exactly. */
static bool repetition_hit(const char *s, size_t n, size_t min) {
        size_t step = (min - REPEAT_UNIT_MAX) / 2;

        if (n < min)
                return false;
        for (size_t k = 0; k + step <= n; k += step)
                for (size_t p = 1; p <= REPEAT_UNIT_MAX && k + step + p <= n; p++) {
                        size_t a, b;

                        if (memcmp(s + k, s + k + p, step) != 0)
                                continue;
                        for (a = k; a > 0 && s[a - 1] == s[a - 1 + p]; a--)
                                ;
                        for (b = k + step; b + p < n && s[b] == s[b + p]; b++)
                                ;
                        if (b - a + p >= min)
                                return true;
                }
        return false;
}

static bool regex_hit(const regex_t *re, const char *s, size_t from, size_t to) {
        regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t) (to - from) };

        /* REG_STARTEND (glibc, BSD): no NUL terminator needed, embedded NULs are text. The
         * window is passed as its own string: glibc's cost follows the offset otherwise. */
        return regexec(re, s + from, 1, &m, REG_STARTEND | (from > 0 ? REG_NOTBOL : 0)) == 0;
}

/* glibc's memmem is slow for needles of 2-3 bytes; most short anchors start with
 * punctuation, rare in prose, which memchr skips to at SIMD speed. */
static const char *find_anchor(const char *s, size_t n, const char *a, size_t al) {
        if (al > n)
                return NULL;
        if (al >= 4 || isalpha((unsigned char) a[0]))
                return memmem(s, n, a, al);
        for (const char *p = s, *end = s + n - al + 1; p < end; p++) {
                p = memchr(p, a[0], (size_t) (end - p));
                if (!p)
                        return NULL;
                if (memcmp(p + 1, a + 1, al - 1) == 0)
                        return p;
        }
        return NULL;
}

/* Runs the rule's regex on the windows around its anchors in the normalized text,
 * merged where they overlap, so that each byte is matched about once per rule. */
static bool anchored_hit(const GuardrailRule *rule, const char *norm, size_t n) {
        size_t win_from = 0, win_to = 0, next[ANCHORS_MAX] = {};
        bool have = false, searched[ANCHORS_MAX] = {};

        for (size_t pos = 0; pos < n;) {
                size_t best = SIZE_MAX, best_len = 0, from, to;

                /* The next occurrence of any anchor at or after pos; each anchor's is kept
                 * until pos passes it, so the text is searched once per anchor. */
                for (size_t k = 0; rule->anchors[k]; k++) {
                        size_t al = strlen(rule->anchors[k]);

                        if (!searched[k] || (next[k] != SIZE_MAX && next[k] < pos)) {
                                const char *hit = find_anchor(norm + pos, n - pos, rule->anchors[k], al);

                                next[k] = hit ? (size_t) (hit - norm) : SIZE_MAX;
                                searched[k] = true;
                        }
                        if (next[k] < best) {
                                best = next[k];
                                best_len = al;
                        }
                }
                if (best == SIZE_MAX)
                        break;
                from = best > ANCHOR_REACH ? best - ANCHOR_REACH : 0;
                to = MIN(n, best + best_len + ANCHOR_REACH);
                if (have && from <= win_to)
                        win_to = MAX(win_to, to);
                else {
                        if (have && regex_hit(&rule->re, norm, win_from, win_to))
                                return true;
                        win_from = from;
                        win_to = to;
                        have = true;
                }
                pos = best + 1;
        }
        return have && regex_hit(&rule->re, norm, win_from, win_to);
}

void guardrail_result_init(GuardrailResult *res) {
        *res = (GuardrailResult){ .blocked = -1 };
}

/* ASCII lowercase with each whitespace run as one space; returns the new length. */
static size_t normalize(char *dst, const char *src, size_t n) {
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
                char c = src[i];

                if (c == ' ' || (c >= '\t' && c <= '\r')) {
                        if (m > 0 && dst[m - 1] == ' ')
                                continue;
                        c = ' ';
                } else if (c >= 'A' && c <= 'Z')
                        c = (char) (c + 32);
                dst[m++] = c;
        }
        return m;
}

bool guardrail_check_text(
        const Guardrail *g, const char *field, const char *text, size_t len, GuardrailResult *res) {
        _cleanup_free_ char *norm = NULL;
        size_t norm_len = 0;

        if (res->blocked >= 0)
                return true;
        if (!text || len == 0)
                return false;
        for (size_t i = 0; i < g->n_rules; i++) {
                const GuardrailRule *rule = &g->rules[i];
                bool hit;

                if (rule->action == GUARDRAIL_OFF || (res->hit[i] && rule->action != GUARDRAIL_BLOCK))
                        continue;
                if (!rule->is_regex)
                        hit = repetition_hit(text, len, g->repeat_bytes);
                else if (!rule->anchors[0])
                        hit = regex_hit(&rule->re, text, 0, len);
                else {
                        /* NUL-terminated although REG_STARTEND bounds the match: sanitizers'
                         * regexec interceptors read the string up to its NUL. */
                        if (!norm && (norm = malloc(len + 1))) {
                                norm_len = normalize(norm, text, len);
                                norm[norm_len] = '\0';
                        }
                        /* Without memory for the copy, the slow way: the whole original. */
                        hit = norm ? anchored_hit(rule, norm, norm_len) : regex_hit(&rule->re, text, 0, len);
                }
                if (!hit)
                        continue;
                if (!res->hit[i]) {
                        res->hit[i] = true;
                        res->n_hits++;
                }
                if (rule->action == GUARDRAIL_BLOCK) {
                        res->blocked = (int) i;
                        snprintf(res->blocked_field, sizeof(res->blocked_field), "%s", field);
                        return true;
                }
        }
        return false;
}

static bool check_string(
        const Guardrail *g, json_object *v, const char *prefix, const char *field, GuardrailResult *res) {
        char name[96];

        if (!json_object_is_type(v, json_type_string))
                return false;
        snprintf(name, sizeof(name), "%s%s", prefix, field);
        return guardrail_check_text(
                g, name, json_object_get_string(v), (size_t) json_object_get_string_len(v), res);
}

/* A string, or an array of strings and of {text} parts (OpenAI's prompt lists and content
 * parts, Anthropic's system blocks). */
static bool check_text_or_parts(
        const Guardrail *g, json_object *v, const char *prefix, const char *field, GuardrailResult *res) {
        if (check_string(g, v, prefix, field, res))
                return true;
        if (!json_object_is_type(v, json_type_array))
                return false;
        for (size_t k = 0; k < json_object_array_length(v); k++) {
                json_object *item = json_object_array_get_idx(v, k), *text;
                char part[96];

                if (json_object_is_type(item, json_type_string)) {
                        snprintf(part, sizeof(part), "%s[%zu]", field, k);
                        text = item;
                } else if (json_object_object_get_ex(item, "text", &text))
                        snprintf(part, sizeof(part), "%s[%zu].text", field, k);
                else
                        continue;
                if (check_string(g, text, prefix, part, res))
                        return true;
        }
        return false;
}

bool guardrail_check_json(const Guardrail *g, json_object *body, const char *prefix, GuardrailResult *res) {
        static const char *const fields[] = { "prompt", "text", "input", "system" };
        json_object *v, *msgs;

        if (!json_object_is_type(body, json_type_object))
                return false;
        prefix = prefix ?: "";
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (json_object_object_get_ex(body, fields[i], &v) &&
                    check_text_or_parts(g, v, prefix, fields[i], res))
                        return true;
        if (!json_object_object_get_ex(body, "messages", &msgs) ||
            !json_object_is_type(msgs, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(msgs); i++) {
                json_object *content;
                char field[48];

                if (!json_object_object_get_ex(json_object_array_get_idx(msgs, i), "content", &content))
                        continue;
                snprintf(field, sizeof(field), "messages[%zu].content", i);
                if (check_text_or_parts(g, content, prefix, field, res))
                        return true;
        }
        return false;
}

size_t guardrail_n_rules(const Guardrail *g) {
        return g->n_rules;
}

const char *guardrail_rule_name(const Guardrail *g, size_t i) {
        return i < g->n_rules ? g->rules[i].name : NULL;
}

GuardrailAction guardrail_rule_action(const Guardrail *g, size_t i) {
        return i < g->n_rules ? g->rules[i].action : GUARDRAIL_OFF;
}

GuardrailSet guardrail_rule_set(const Guardrail *g, size_t i) {
        return i < g->n_rules ? g->rules[i].set : GUARDRAIL_SET_CUSTOM;
}

int guardrail_result_flags_json(const Guardrail *g, const GuardrailResult *res, char **ret) {
        _cleanup_json_ json_object *a = NULL;
        const char *txt;

        *ret = NULL;
        for (size_t i = 0; i < g->n_rules; i++) {
                if (!res->hit[i] || g->rules[i].action != GUARDRAIL_FLAG)
                        continue;
                if (!a && !(a = json_object_new_array()))
                        return -ENOMEM;
                if (json_object_array_add(a, json_object_new_string(g->rules[i].name)) < 0)
                        return -ENOMEM;
        }
        if (!a)
                return 0;
        txt = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        *ret = txt ? strdup(txt) : NULL;
        return *ret ? 0 : -ENOMEM;
}
