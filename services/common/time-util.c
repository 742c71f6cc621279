/* SPDX-License-Identifier: MIT */
/* time-util.c — RFC 3339 timestamps (the clocks are inline in time-util.h). */
#include <errno.h>
#include <stdio.h>

#include "time-util.h"

int time_format_rfc3339(time_t secs, int ms, char *buf, size_t size) {
        struct tm tm;
        int k;

        if (!gmtime_r(&secs, &tm))
                return -EINVAL;
        if (ms >= 0)
                k = snprintf(
                        buf,
                        size,
                        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                        tm.tm_year + 1900,
                        tm.tm_mon + 1,
                        tm.tm_mday,
                        tm.tm_hour,
                        tm.tm_min,
                        tm.tm_sec,
                        ms % 1000);
        else
                k = snprintf(
                        buf,
                        size,
                        "%04d-%02d-%02dT%02d:%02d:%02dZ",
                        tm.tm_year + 1900,
                        tm.tm_mon + 1,
                        tm.tm_mday,
                        tm.tm_hour,
                        tm.tm_min,
                        tm.tm_sec);
        return k < 0 || (size_t) k >= size ? -ENOBUFS : 0;
}
