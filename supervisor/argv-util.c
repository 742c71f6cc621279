/* SPDX-License-Identifier: MIT */
/* argv-util.c — NULL-terminated string vectors. */
#include <stdarg.h>
#include <stdio.h>

#include "argv-util.h"

char **argv_free(char **v) {
        if (!v)
                return NULL;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
        return NULL;
}

size_t argv_length(char *const *v) {
        size_t n = 0;

        if (v)
                while (v[n])
                        n++;
        return n;
}

static int argv_consume(char ***v, char *s) {
        size_t n = argv_length(*v);
        char **nv;

        if (!s)
                return -ENOMEM;
        nv = realloc(*v, sizeof(char *) * (n + 2));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int argv_push(char ***v, const char *s) {
        return argv_consume(v, strdup(s));
}

int argv_pushf(char ***v, const char *format, ...) {
        va_list ap;
        char *s = NULL;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return argv_consume(v, s);
}

int argv_push_many_internal(char ***v, ...) {
        va_list ap;
        int r = 0;

        va_start(ap, v);
        for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *)) {
                r = argv_push(v, s);
                if (r < 0)
                        break;
        }
        va_end(ap);
        return r;
}

int argv_push_split(char ***v, const char *s) {
        _cleanup_free_ char *word = malloc(strlen(s) + 1);
        const char *p = s;
        int r;

        if (!word)
                return -ENOMEM;
        for (;;) {
                size_t n = 0;
                char quote = 0;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        return 0;
                for (; *p; p++) {
                        if (quote) {
                                if (*p == quote)
                                        quote = 0;
                                else
                                        word[n++] = *p;
                        } else if (*p == '"' || *p == '\'')
                                quote = *p;
                        else if (*p == ' ' || *p == '\t')
                                break;
                        else
                                word[n++] = *p;
                }
                if (quote)
                        return -EINVAL; /* unterminated quote */
                word[n] = 0;
                r = argv_push(v, word);
                if (r < 0)
                        return r;
        }
}

char *argv_join(char *const *v, const char *sep) {
        size_t len = 1, sl = strlen(sep);
        char *s, *p;

        for (size_t i = 0; v && v[i]; i++)
                len += strlen(v[i]) + sl;
        s = p = malloc(len);
        if (!s)
                return NULL;
        *p = 0;
        for (size_t i = 0; v && v[i]; i++) {
                if (i > 0)
                        p = stpcpy(p, sep);
                p = stpcpy(p, v[i]);
        }
        return s;
}
