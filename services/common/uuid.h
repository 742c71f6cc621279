/* SPDX-License-Identifier: MIT */
/* uuid.h — RFC 9562 identifiers as 36-character strings: random ones (v4) for
 * request ids, time-ordered ones (v7) for ids a database indexes. */
#pragma once

#include <stdint.h>

#include "macro.h"

#define UUID_STRING_MAX 37 /* 36 characters and the NUL */

/* n random bytes from the thread's pool (n <= 256): for ids of other shapes (trace.c). */
int uuid_random_bytes(uint8_t *b, size_t n);
int uuid_v4_string(char ret[static UUID_STRING_MAX]);
int uuid_v7_string(char ret[static UUID_STRING_MAX]);
