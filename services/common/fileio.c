/* SPDX-License-Identifier: MIT */
/* fileio.c — whole-file reads with a size cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fileio.h"
#include "macro.h"

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        if (!f)
                return -errno;
        errno = 0;
        for (;;) {
                size_t n;

                if (len == cap) {
                        size_t ncap = cap ? cap * 2 : 4096;
                        char *nb;

                        nb = realloc(buf, ncap + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (len > max)
                        return -EFBIG;
                if (n == 0)
                        break;
        }
        if (ferror(f))
                return errno > 0 ? -errno : -EIO; /* e.g. EISDIR */
        if (!buf && !(buf = malloc(1)))
                return -ENOMEM;
        buf[len] = 0;
        if (ret_size)
                *ret_size = len;
        *ret = TAKE_PTR(buf);
        return 0;
}
