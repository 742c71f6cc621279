/* SPDX-License-Identifier: MIT */
/* error-message.c — see error-message.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "error-message.h"

int error_message(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        int k;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        k = vasprintf(ret_error, fmt, ap);
        va_end(ap);
        if (k < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return r;
}

int error_message_buf(char *buf, size_t size, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        return r;
}
