/* SPDX-License-Identifier: MIT */
/* memory-util.h — hints to the kernel about large allocations. */
#pragma once

#include <stddef.h>

/* Asks for transparent huge pages over the 2 MiB pages that [p, p + n) covers whole, so
 * that filling a large fresh buffer takes one fault per 2 MiB instead of one per 4 KiB
 * (hosts in THP "madvise" mode only give them when asked). Only a hint: nothing fails. */
void memory_want_huge_pages(void *p, size_t n);
