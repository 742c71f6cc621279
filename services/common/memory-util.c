/* SPDX-License-Identifier: MIT */
/* memory-util.c — hints to the kernel about large allocations. */
#include <stdint.h>
#include <sys/mman.h>

#include "memory-util.h"

void memory_want_huge_pages(void *p, size_t n) {
        const uintptr_t huge = 2 * 1024 * 1024;
        uintptr_t start = ((uintptr_t) p + huge - 1) & ~(huge - 1), end = ((uintptr_t) p + n) & ~(huge - 1);

        if (end > start)
                (void) madvise((void *) start, end - start, MADV_HUGEPAGE);
}
