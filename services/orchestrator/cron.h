/* SPDX-License-Identifier: MIT */
/* cron.h — five-field cron expressions ("m h dom mon dow", UTC): lists, ranges, steps and
 * the names jan-dec and sun-sat; the next matching minute after a time. As in Vixie cron,
 * when both day fields are restricted a day matches either of them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct CronSpec {
        uint64_t minute; /* bit n: minute n (0-59) */
        uint32_t hour;   /* 0-23 */
        uint32_t dom;    /* 1-31 */
        uint16_t month;  /* 1-12 */
        uint8_t dow;     /* 0-6, Sunday 0 (7 is read as Sunday too) */
        bool dom_any, dow_any;
} CronSpec;

/* -EINVAL with the name of the first bad field in *ret_field ("minute", "hour",
 * "day of month", "month", "day of week"; "cron" when there are not five fields). */
int cron_parse(const char *expr, CronSpec *ret, const char **ret_field);
/* The first matching minute strictly after after (Unix seconds). -ERANGE when none comes
 * within five years (Feb 30). */
int cron_next(const CronSpec *c, int64_t after, int64_t *ret);
