/* SPDX-License-Identifier: MIT */
/* argv-util.h — NULL-terminated string vectors, used for podman command lines and
 * lists of unit names. Every function returns 0 or -errno and leaves the vector valid. */
#pragma once

#include <stddef.h>

#include "macro.h"

char **argv_free(char **v);
static inline void argv_freep(char ***v) {
        argv_free(*v);
}
#define _cleanup_argv_free_ _cleanup_(argv_freep)

size_t argv_length(char *const *v);
/* Appends a copy of s. */
int argv_push(char ***v, const char *s);
int argv_pushf(char ***v, const char *format, ...) _printf_(2, 3);
/* Appends copies of several strings; the macro adds the typed NULL sentinel. */
int argv_push_many_internal(char ***v, ...);
#define argv_push_many(v, ...) argv_push_many_internal((v), __VA_ARGS__, (const char *) NULL)
/* Appends every word of s split on blanks, honouring "double" and 'single' quotes. */
int argv_push_split(char ***v, const char *s);
/* Joins with sep; returns NULL on OOM. */
char *argv_join(char *const *v, const char *sep);
