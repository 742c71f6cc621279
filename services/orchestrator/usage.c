/* SPDX-License-Identifier: MIT */
/* usage.c — see usage.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json-util.h"
#include "macro.h"
#include "usage.h"

static bool get_count(json_object *o, const char *a, const char *b, int64_t *ret) {
        json_object *v;

        if ((json_object_object_get_ex(o, a, &v) || (b && json_object_object_get_ex(o, b, &v))) &&
            json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0) {
                *ret = json_object_get_int64(v);
                return true;
        }
        return false;
}

static void take_model(json_object *o, UsageCount *u) {
        json_object *v;

        if (u->model[0])
                return;
        if ((json_object_object_get_ex(o, "model", &v) || json_object_object_get_ex(o, "model_used", &v)) &&
            json_object_is_type(v, json_type_string))
                snprintf(u->model, sizeof(u->model), "%s", json_object_get_string(v));
}

/* One answer object or stream event: its usage (or its message's, as Anthropic's
 * message_start carries it). Counts are the largest seen: a stream reports them
 * cumulatively (Anthropic's message_delta) or once at its end (OpenAI). */
static bool scan(json_object *o, UsageCount *u) {
        json_object *usage = NULL, *message;
        bool found = false;
        int64_t n;

        if (!json_object_is_type(o, json_type_object))
                return false;
        if (json_object_object_get_ex(o, "message", &message) &&
            json_object_is_type(message, json_type_object)) {
                take_model(message, u);
                found = scan(message, u);
        }
        take_model(o, u);
        if (json_object_object_get_ex(o, "usage", &usage) && json_object_is_type(usage, json_type_object)) {
                if (get_count(usage, "prompt_tokens", "input_tokens", &n)) {
                        u->prompt = MAX(u->prompt, n);
                        found = true;
                }
                if (get_count(usage, "completion_tokens", "output_tokens", &n)) {
                        u->completion = MAX(u->completion, n);
                        found = true;
                }
        } else if (get_count(o, "tokens_used", NULL, &n)) {
                /* An answer with a total only: counted as completion. */
                u->completion = MAX(u->completion, n);
                found = true;
        }
        return found;
}

int usage_from_answer(json_object *parsed, const char *body, size_t len, UsageCount *ret) {
        UsageCount u = {};
        bool found = false;

        if (parsed)
                found = scan(parsed, &u);
        else
                for (const char *p = body, *end = body ? body + len : NULL; p && p < end;) {
                        const char *eol = memchr(p, '\n', (size_t) (end - p)) ?: end;

                        if ((size_t) (eol - p) > 6 && strncmp(p, "data: ", 6) == 0 && p[6] == '{') {
                                _cleanup_json_ json_object *o = NULL;

                                if (json_parse_strict(p + 6, (size_t) (eol - p - 6), &o, NULL) >= 0)
                                        found = scan(o, &u) || found;
                        }
                        p = eol + 1;
                }
        if (!found)
                return 0;
        *ret = u;
        return 1;
}

void usage_day(double t, char ret[static 11]) {
        time_t secs = (time_t) t;
        struct tm tm;

        if (!gmtime_r(&secs, &tm) || strftime(ret, 11, "%Y-%m-%d", &tm) != 10)
                snprintf(ret, 11, "1970-01-01");
}
