/* SPDX-License-Identifier: MIT */
/* nlp-test-util.h — shared bits of the test-nlp-* programs: where the test data and the
 * packaged resources are (meson passes them in the environment), TSV reading, and a
 * helper that runs one /process request through nlp_process(). */
#pragma once

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "nlp-process.h"

static inline const char *nlp_test_env(const char *name, const char *def) {
        const char *v = getenv(name);
        return v && *v ? v : def;
}

static inline NlpConfig nlp_test_config(void) {
        return (NlpConfig){
                .max_text = 4096,
                .time_limit_ms = 10000,
                .mecab_rc = (char *) nlp_test_env("NLP_MECAB_RC", "/etc/mecabrc"),
                .mecab_dicdir = (char *) nlp_test_env("NLP_MECAB_DICDIR", "/var/lib/mecab/dic/ipadic-utf8"),
                .textcat_conf =
                        (char *) nlp_test_env("NLP_TEXTCAT_CONF", "/usr/share/ai-semble/nlp/fpdb.conf"),
                .textcat_dir = (char *) nlp_test_env("NLP_TEXTCAT_DIR", "/usr/share/libexttextcat"),
                .vader_lexicon = (char *) nlp_test_env("NLP_VADER_LEXICON", ""),
        };
}

/* Calls fn(label, text, userdata) for each "label TAB text" line ('#' comments). */
static inline int
nlp_test_tsv(const char *name, void (*fn)(const char *, const char *, void *), void *userdata) {
        char path[1024], line[4096];
        FILE *f;
        int n = 0;

        snprintf(path, sizeof(path), "%s/%s", nlp_test_env("NLP_TEST_DATA", "tests/data/nlp"), name);
        f = fopen(path, "re");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        while (fgets(line, sizeof(line), f)) {
                char *tab;
                line[strcspn(line, "\n")] = 0;
                if (line[0] == '#' || !(tab = strchr(line, '\t')))
                        continue;
                *tab = 0;
                fn(line, tab + 1, userdata);
                n++;
        }
        fclose(f);
        return n;
}

/* Runs body (JSON text) through nlp_process(); returns the status (200 on success) and
 * the result or the problem as JSON in *ret. */
static inline int nlp_test_request(const NlpConfig *c, const char *body, json_object **ret) {
        _cleanup_json_ json_object *req = NULL;
        Problem *p = NULL;
        int r;

        ck_assert_int_eq(json_parse_strict(body, strlen(body), &req, NULL), 0);
        r = nlp_process(c, req, ret, &p);
        ck_assert_int_ge(r, 0);
        if (r == 0)
                return 200;
        ck_assert_int_eq(problem_to_json(p, NULL, ret), 0);
        problem_free(p);
        return r;
}

static inline const char *nlp_test_path(json_object *o, const char *path) {
        char buf[256], *save = NULL;
        json_object *cur = o;

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
                if (json_object_is_type(cur, json_type_array))
                        cur = json_object_array_get_idx(cur, atoi(k));
                else if (!json_object_object_get_ex(cur, k, &cur))
                        return NULL;
                if (!cur)
                        return NULL;
        }
        return json_object_get_string(cur);
}
