/* SPDX-License-Identifier: MIT */
/* schedule.c — run times, catch-up and overlap of a schedule (see schedule.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "macro.h"
#include "schedule.h"

static const char *const overlap_names[_SCHEDULE_OVERLAP_MAX] = {
        [SCHEDULE_OVERLAP_SKIP] = "skip",
        [SCHEDULE_OVERLAP_QUEUE] = "queue",
        [SCHEDULE_OVERLAP_ALLOW] = "allow",
};

static const char *const catch_up_names[_SCHEDULE_CATCH_UP_MAX] = {
        [SCHEDULE_CATCH_UP_NONE] = "none",
        [SCHEDULE_CATCH_UP_ONE] = "one",
        [SCHEDULE_CATCH_UP_ALL] = "all",
};

const char *schedule_overlap_to_string(ScheduleOverlap o) {
        return o >= 0 && o < _SCHEDULE_OVERLAP_MAX ? overlap_names[o] : "skip";
}

int schedule_overlap_from_string(const char *s, ScheduleOverlap *ret) {
        for (int i = 0; i < _SCHEDULE_OVERLAP_MAX; i++)
                if (streq(s, overlap_names[i])) {
                        *ret = (ScheduleOverlap) i;
                        return 0;
                }
        return -EINVAL;
}

const char *schedule_catch_up_to_string(ScheduleCatchUp c) {
        return c >= 0 && c < _SCHEDULE_CATCH_UP_MAX ? catch_up_names[c] : "none";
}

int schedule_catch_up_from_string(const char *s, ScheduleCatchUp *ret) {
        for (int i = 0; i < _SCHEDULE_CATCH_UP_MAX; i++)
                if (streq(s, catch_up_names[i])) {
                        *ret = (ScheduleCatchUp) i;
                        return 0;
                }
        return -EINVAL;
}

int schedule_parse_every(const char *s, uint64_t *ret_ms) {
        static const struct {
                char unit;
                double ms;
        } units[] = { { 's', 1e3 }, { 'm', 60e3 }, { 'h', 3600e3 }, { 'd', 86400e3 } };
        char *end = NULL;
        double v, scale = 1e3;

        if (!s || !*s || *s == '-' || *s == '+')
                return -EINVAL;
        v = strtod(s, &end);
        if (end == s || !isfinite(v))
                return -EINVAL;
        if (*end) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(units); i++)
                        if (*end == units[i].unit && !end[1])
                                break;
                if (i == ELEMENTSOF(units))
                        return -EINVAL;
                scale = units[i].ms;
        }
        if (v * scale > 1e15)
                return -ERANGE;
        *ret_ms = (uint64_t) llround(v * scale);
        return 0;
}

int schedule_next_at(const ScheduleTiming *t, double at, double *ret) {
        if (t->cron_set) {
                int64_t next;
                /* The minute at itself counts: cron_next() answers strictly after. */
                int r = cron_next(&t->cron, (int64_t) ceil(MAX(at, t->anchor)) - 1, &next);

                if (r < 0)
                        return r;
                *ret = (double) next;
                return 0;
        }
        if (t->every_ms == 0)
                return -EINVAL;
        if (at <= t->anchor)
                *ret = t->anchor;
        else {
                double every = (double) t->every_ms / 1000.0;

                *ret = t->anchor + ceil((at - t->anchor) / every) * every;
        }
        return 0;
}

/* The run after the one at t. */
static int next_after(const ScheduleTiming *t, double at, double *ret) {
        if (!t->cron_set) {
                *ret = at + (double) t->every_ms / 1000.0;
                return 0;
        }
        return schedule_next_at(t, at + 1, ret);
}

int schedule_plan(
        const ScheduleTiming *t,
        ScheduleCatchUp catch_up,
        double next_run_at,
        double now,
        double *times,
        size_t max,
        SchedulePlan *ret) {
        SchedulePlan p = {};
        uint64_t due = 0;
        double at = next_run_at, last = 0;
        size_t keep = catch_up == SCHEDULE_CATCH_UP_ALL ? MIN(max, (size_t) SCHEDULE_CATCH_UP_MAX) : 1;
        int r;

        if (max == 0)
                return -EINVAL;
        /* every: the runs past the last keep ones are counted, not walked. */
        if (!t->cron_set && now - at > (double) (keep + 1) * (double) t->every_ms / 1000.0) {
                double every = (double) t->every_ms / 1000.0;
                uint64_t jump = (uint64_t) floor((now - at) / every) - keep;

                due += jump;
                at += (double) jump * every;
        }
        /* Walk the due runs, keeping the last keep of them in times[] (a ring). */
        while (at <= now) {
                times[due % keep] = at;
                last = at;
                due++;
                r = next_after(t, at, &at);
                if (r < 0)
                        return r;
        }
        p.next = at;
        if (due == 0) {
                *ret = p;
                return 0;
        }
        if (catch_up == SCHEDULE_CATCH_UP_ALL) {
                size_t n = (size_t) MIN(due, (uint64_t) keep);
                double *tmp = calloc(n, sizeof(double));

                if (!tmp)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) /* unroll the ring, oldest first */
                        tmp[i] = times[(due - n + i) % keep];
                for (size_t i = 0; i < n; i++)
                        times[i] = tmp[i];
                free(tmp);
                p.n = n;
        } else if (catch_up == SCHEDULE_CATCH_UP_ONE || now - last <= SCHEDULE_ON_TIME_S) {
                times[0] = last;
                p.n = 1;
        }
        p.missed = due - p.n;
        *ret = p;
        return 0;
}

ScheduleOverlapDecision
schedule_overlap_decide(ScheduleOverlap o, size_t n, bool previous_unfinished, bool held) {
        ScheduleOverlapDecision d = {};

        if (n == 0)
                return d;
        if (o == SCHEDULE_OVERLAP_ALLOW)
                d.fire = n;
        else if (!previous_unfinished)
                d.fire = 1;
        else if (o == SCHEDULE_OVERLAP_QUEUE && !held)
                d.hold = true;
        d.skipped = n - d.fire - (d.hold ? 1 : 0);
        return d;
}
