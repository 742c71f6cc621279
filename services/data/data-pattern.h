/* SPDX-License-Identifier: MIT */
/* data-pattern.h — validate's patterns: regular expressions compiled and matched by PCRE2
 * under bounds on the pattern, the memory either step may take and the steps one match
 * may spend. glibc's regcomp() has none: a 29-byte pattern of nested counted repeats took
 * 6.8 s and gigabytes to compile. Patterns match the whole value, bytes as bytes; POSIX
 * ERE patterns mean what they meant, back-references are refused. */
#pragma once

#include <stddef.h>

typedef struct DataPattern DataPattern;

#define DATA_PATTERN_MAX_LENGTH 1000      /* bytes of a pattern */
#define DATA_PATTERN_MAX_MEMORY (1 << 20) /* bytes PCRE2 may allocate to compile or match */
#define DATA_PATTERN_MAX_STEPS 100000     /* backtracking steps of one match */

/* Compiles pattern; -EINVAL with why set (PCRE2's message and where) when it is not a
 * pattern or passes a bound. */
int data_pattern_compile(const char *pattern, size_t len, DataPattern **ret, char *why, size_t why_size);
void data_pattern_free(DataPattern *p);
/* 1 when s[0..len) matches as a whole, 0 when not, -E2BIG when the match would take more
 * steps or memory than allowed. */
int data_pattern_match(DataPattern *p, const char *s, size_t len);
