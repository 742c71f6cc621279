/* SPDX-License-Identifier: MIT */
/* cron.c — the cron parser and the next-minute search: day by day, then hour and minute
 * within a matching day (a year is at most 366 steps, not 525,600). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cron.h"
#include "macro.h"

typedef struct CronField {
        const char *name;
        int lo, hi;
        const char *const *names; /* names[i] is the value lo + i; NULL = numbers only */
} CronField;

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
                                           "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const CronField fields[5] = {
        { "minute", 0, 59, NULL },          { "hour", 0, 23, NULL },
        { "day of month", 1, 31, NULL },    { "month", 1, 12, month_names },
        { "day of week", 0, 7, dow_names }, /* 7 = Sunday */
};

/* A number or a name at *p; advances p. */
static int read_value(const CronField *f, const char **p, int *ret) {
        const char *s = *p;

        if (isdigit((unsigned char) *s)) {
                long v = 0;

                for (; isdigit((unsigned char) *s); s++) {
                        v = v * 10 + (*s - '0');
                        if (v > 1000)
                                return -EINVAL;
                }
                *ret = (int) v;
                *p = s;
                return 0;
        }
        for (size_t i = 0; f->names && f->names[i]; i++)
                if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char) s[3])) {
                        *ret = f->lo + (int) i;
                        *p = s + 3;
                        return 0;
                }
        return -EINVAL;
}

/* One comma-separated field of length len into bits. */
static int parse_field(const CronField *f, const char *s, size_t len, uint64_t *ret, bool *ret_any) {
        _cleanup_free_ char *copy = strndup(s, len);
        uint64_t bits = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        *ret_any = streq(copy, "*");
        if (len == 0 || copy[0] == ',' || copy[len - 1] == ',' || strstr(copy, ",,"))
                return -EINVAL; /* strtok_r() would skip an empty item */
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                const char *p = item;
                int a, b, step = 1;

                if (*p == '*') {
                        a = f->lo;
                        b = f->hi == 7 ? 6 : f->hi;
                        p++;
                } else {
                        if (read_value(f, &p, &a) < 0)
                                return -EINVAL;
                        b = a;
                        if (*p == '-') {
                                p++;
                                if (read_value(f, &p, &b) < 0)
                                        return -EINVAL;
                        } else if (*p == '/')
                                b = f->hi == 7 ? 6 : f->hi; /* "a/n": from a to the end */
                }
                if (*p == '/') {
                        const char *q = ++p;

                        step = 0;
                        for (; isdigit((unsigned char) *p) && step <= 1000; p++)
                                step = step * 10 + (*p - '0');
                        if (p == q || step < 1 || step > f->hi)
                                return -EINVAL;
                }
                if (*p || a < f->lo || b > f->hi || a > b)
                        return -EINVAL;
                for (int v = a; v <= b; v += step)
                        bits |= UINT64_C(1) << (f->hi == 7 && v == 7 ? 0 : v);
        }
        if (bits == 0)
                return -EINVAL;
        *ret = bits;
        return 0;
}

int cron_parse(const char *expr, CronSpec *ret, const char **ret_field) {
        uint64_t bits[5];
        bool any[5];
        const char *p = expr;
        size_t n = 0;

        *ret_field = "cron";
        if (!expr)
                return -EINVAL;
        for (;;) {
                const char *start;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (!*p)
                        break;
                if (n == 5) {
                        *ret_field = "cron";
                        return -EINVAL;
                }
                start = p;
                while (*p && *p != ' ' && *p != '\t')
                        p++;
                *ret_field = fields[n].name;
                if (parse_field(&fields[n], start, (size_t) (p - start), &bits[n], &any[n]) < 0)
                        return -EINVAL;
                n++;
        }
        if (n != 5) {
                *ret_field = "cron";
                return -EINVAL;
        }
        *ret = (CronSpec){
                .minute = bits[0],
                .hour = (uint32_t) bits[1],
                .dom = (uint32_t) bits[2],
                .month = (uint16_t) bits[3],
                .dow = (uint8_t) bits[4],
                .dom_any = any[2],
                .dow_any = any[4],
        };
        *ret_field = NULL;
        return 0;
}

static bool day_matches(const CronSpec *c, const struct tm *tm) {
        bool dom = c->dom & (UINT32_C(1) << tm->tm_mday), dow = c->dow & (1u << tm->tm_wday);

        if (!(c->month & (1u << (tm->tm_mon + 1))))
                return false;
        if (c->dom_any || c->dow_any)
                return (c->dom_any || dom) && (c->dow_any || dow);
        return dom || dow;
}

int cron_next(const CronSpec *c, int64_t after, int64_t *ret) {
        time_t t = (time_t) (after - (after % 60 + 60) % 60 + 60); /* the next whole minute */
        struct tm tm;

        if (!gmtime_r(&t, &tm))
                return -ERANGE;
        for (int day = 0; day < 5 * 366 + 1; day++) {
                if (day_matches(c, &tm))
                        for (int h = tm.tm_hour; h < 24; h++) {
                                if (!(c->hour & (UINT32_C(1) << h)))
                                        continue;
                                for (int m = h == tm.tm_hour ? tm.tm_min : 0; m < 60; m++)
                                        if (c->minute & (UINT64_C(1) << m)) {
                                                tm.tm_hour = h;
                                                tm.tm_min = m;
                                                tm.tm_sec = 0;
                                                *ret = (int64_t) timegm(&tm);
                                                return 0;
                                        }
                        }
                /* The next day at 00:00; timegm() normalizes the month and year. */
                tm.tm_mday++;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                t = timegm(&tm);
                if (t == (time_t) -1 || !gmtime_r(&t, &tm))
                        return -ERANGE;
        }
        return -ERANGE;
}
