/* SPDX-License-Identifier: MIT */
/* data-pattern.c — PCRE2 with every bound set: the pattern's length and nesting, a
 * counting allocator for compile and match, and match, depth and heap limits. The
 * compiled code itself cannot pass 64 K code units (Debian's LINK_SIZE 2): nested
 * counted repeats are "too large", not gigabytes. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>

#include "data-pattern.h"

/* Compile options that keep POSIX ERE meaning: '.' matches a newline, '$' only the end,
 * bytes are bytes (no UTF or Unicode properties, even when asked from inside the
 * pattern), the match spans the whole value, and groups do not capture, so \1 is an
 * error rather than a back-reference. */
#define COMPILE_OPTIONS                                                                                     \
        (PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE | \
         PCRE2_NEVER_UTF | PCRE2_NEVER_UCP | PCRE2_NEVER_BACKSLASH_C)

struct DataPattern {
        size_t allocated; /* by PCRE2 through this pattern's contexts, now */
        pcre2_general_context *general;
        pcre2_match_context *match;
        pcre2_code *code;
        pcre2_match_data *data;
};

typedef struct Block {
        size_t size;
        max_align_t align[];
} Block;

static void *bounded_malloc(PCRE2_SIZE size, void *userdata) {
        DataPattern *p = userdata;
        Block *b;

        if (size > DATA_PATTERN_MAX_MEMORY || p->allocated + size > DATA_PATTERN_MAX_MEMORY)
                return NULL;
        b = malloc(sizeof(Block) + size);
        if (!b)
                return NULL;
        b->size = size;
        p->allocated += size;
        /* cppcheck-suppress memleak ; bounded_free() finds the block from the pointer */
        return b->align;
}

static void bounded_free(void *ptr, void *userdata) {
        DataPattern *p = userdata;
        Block *b;

        if (!ptr)
                return;
        b = (Block *) ((char *) ptr - offsetof(Block, align));
        p->allocated -= b->size;
        free(b);
}

void data_pattern_free(DataPattern *p) {
        if (!p)
                return;
        pcre2_match_data_free(p->data);
        pcre2_code_free(p->code);
        pcre2_match_context_free(p->match);
        pcre2_general_context_free(p->general);
        free(p);
}

int data_pattern_compile(const char *pattern, size_t len, DataPattern **ret, char *why, size_t why_size) {
        DataPattern *p = calloc(1, sizeof(DataPattern));
        pcre2_compile_context *cc = NULL;
        PCRE2_UCHAR msg[128];
        PCRE2_SIZE offset = 0;
        uint32_t backrefs = 0;
        int err = 0;

        if (!p)
                return -ENOMEM;
        if (len > DATA_PATTERN_MAX_LENGTH) {
                snprintf(why, why_size, "is longer than %d bytes", DATA_PATTERN_MAX_LENGTH);
                data_pattern_free(p);
                return -EINVAL;
        }
        p->general = pcre2_general_context_create(bounded_malloc, bounded_free, p);
        cc = p->general ? pcre2_compile_context_create(p->general) : NULL;
        p->match = p->general ? pcre2_match_context_create(p->general) : NULL;
        if (!cc || !p->match) {
                pcre2_compile_context_free(cc);
                data_pattern_free(p);
                return -ENOMEM;
        }
        (void) pcre2_set_max_pattern_length(cc, DATA_PATTERN_MAX_LENGTH);
        (void) pcre2_set_parens_nest_limit(cc, 50);
        (void) pcre2_set_match_limit(p->match, DATA_PATTERN_MAX_STEPS);
        (void) pcre2_set_depth_limit(p->match, DATA_PATTERN_MAX_STEPS);
        (void) pcre2_set_heap_limit(p->match, DATA_PATTERN_MAX_MEMORY / 1024);
        p->code = pcre2_compile((PCRE2_SPTR) pattern, len, COMPILE_OPTIONS, &err, &offset, cc);
        pcre2_compile_context_free(cc);
        if (!p->code) {
                if (err == PCRE2_ERROR_HEAP_FAILED || err == PCRE2_ERROR_NOMEMORY)
                        snprintf(
                                why,
                                why_size,
                                "needs more than %d bytes to compile",
                                DATA_PATTERN_MAX_MEMORY);
                else {
                        pcre2_get_error_message(err, msg, sizeof(msg));
                        snprintf(
                                why,
                                why_size,
                                "is not a pattern: %s at offset %zu",
                                (const char *) msg,
                                (size_t) offset);
                }
                data_pattern_free(p);
                return -EINVAL;
        }
        if (pcre2_pattern_info(p->code, PCRE2_INFO_BACKREFMAX, &backrefs) == 0 && backrefs > 0) {
                snprintf(why, why_size, "uses a back-reference, which is not supported");
                data_pattern_free(p);
                return -EINVAL;
        }
        p->data = pcre2_match_data_create_from_pattern(p->code, p->general);
        if (!p->data) {
                data_pattern_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

int data_pattern_match(DataPattern *p, const char *s, size_t len) {
        int r = pcre2_match(p->code, (PCRE2_SPTR) s, len, 0, 0, p->data, p->match);

        if (r >= 0)
                return 1;
        if (r == PCRE2_ERROR_NOMATCH)
                return 0;
        /* NOMEMORY: the counting allocator said no, as the heap limit would have. */
        if (r == PCRE2_ERROR_MATCHLIMIT || r == PCRE2_ERROR_DEPTHLIMIT || r == PCRE2_ERROR_HEAPLIMIT ||
            r == PCRE2_ERROR_NOMEMORY)
                return -E2BIG;
        return -EINVAL;
}
