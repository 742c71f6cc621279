/* SPDX-License-Identifier: MIT */
/* schedule-timer.c — applying the rules of schedule.c to the stored schedules: a run is
 * claimed in the store first (job_store_schedule_claim: only one orchestrator wins it),
 * then becomes an ordinary job with the schedule's id, queued like any other. A claimed
 * run whose job could not be made is lost, not repeated (at most once). */
#include <math.h>
#include <stdatomic.h>

#include "log.h"
#include "macro.h"
#include "schedule-timer.h"
#include "time-util.h"

/* The longest sleep with nothing due: schedules made by another orchestrator on the same
 * store (issue 19) are seen within it, should the one that made them be gone. */
#define SCHEDULE_TIMER_IDLE_S 60.0

struct ScheduleTimer {
        JobStore *store;
        JobRunner *runner;
        pthread_t thread;
        bool started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool stop;
        atomic_bool kicked; /* also the stop flag of job_store_wait_change() */
};

int schedule_timing_from_row(const ScheduleRow *row, ScheduleTiming *ret) {
        ScheduleTiming t = { .anchor = row->anchor };
        const char *field;

        if (row->cron) {
                if (cron_parse(row->cron, &t.cron, &field) < 0)
                        return -EINVAL;
                t.cron_set = true;
        } else if (row->every_ms < SCHEDULE_EVERY_MIN_MS)
                return -EINVAL;
        t.every_ms = row->every_ms;
        *ret = t;
        return 0;
}

typedef struct TickCtx {
        ScheduleTimer *timer;
        double now, next; /* next: the earliest new next_run_at of the claimed schedules */
} TickCtx;

/* The run of row due at due: a job with its schedule's id, stored, then queued. */
static int fire_run(ScheduleTimer *t, const ScheduleRow *row, double due, double now) {
        char id[37];
        int r;

        r = job_generate_id(id);
        if (r < 0)
                return r;
        r = job_store_insert(
                t->store,
                &(JobNew){
                        .id = id,
                        .kind = "task",
                        .service = row->service,
                        .task = row->task,
                        .priority = row->priority,
                        .payload = row->payload,
                        .timeout_ms = row->timeout_ms,
                        .submitter = row->owner,
                        .submitter_role = row->owner_role,
                        .created_at = now,
                        .schedule_id = row->id,
                        .run_at = due,
                });
        if (r >= 0)
                r = job_store_schedule_ran(t->store, row->id, id, now);
        if (r >= 0)
                r = job_runner_queue_row(
                        t->runner,
                        &(JobRow){
                                .id = id,
                                .service = row->service,
                                .task = row->task,
                                .priority = row->priority,
                                .payload = row->payload,
                                .submitter = row->owner,
                                .submitter_role = row->owner_role,
                                .schedule_id = row->id,
                                .status = JOB_PENDING,
                                .timeout_ms = row->timeout_ms,
                                .created_at = now,
                        });
        return r < 0 ? r : 0;
}

static int claim_and_fire(
        TickCtx *c, const ScheduleRow *row, const ScheduleClaim *claim, const double *times, size_t n) {
        int r = job_store_schedule_claim(c->timer->store, claim);

        if (r == -ESTALE) /* another orchestrator took it, or it was paused or deleted */
                return 0;
        if (r < 0)
                return r;
        if (claim->new_next > c->now && (c->next == 0 || claim->new_next < c->next))
                c->next = claim->new_next;
        for (size_t i = 0; i < n; i++) {
                int k = fire_run(c->timer, row, times[i], c->now);

                if (k < 0)
                        log_warning_errno(k, "Failed to start a run of schedule %s: %m", row->id);
        }
        return 0;
}

static bool previous_unfinished(ScheduleTimer *t, const ScheduleRow *row) {
        JobStatus st;

        /* A previous job no longer stored (past retention) is finished. */
        return row->last_job_id && job_store_get_status(t->store, row->last_job_id, &st) >= 0 &&
                !job_status_is_terminal(st);
}

static int tick_schedule(const ScheduleRow *row, void *userdata) {
        TickCtx *c = userdata;
        double times[SCHEDULE_CATCH_UP_MAX], held = row->held_at;
        bool busy = previous_unfinished(c->timer, row);
        ScheduleOverlap overlap = SCHEDULE_OVERLAP_SKIP;
        ScheduleCatchUp catch_up = SCHEDULE_CATCH_UP_NONE;
        ScheduleOverlapDecision d;
        ScheduleTiming timing;
        SchedulePlan plan;
        int r;

        (void) schedule_overlap_from_string(row->overlap, &overlap);
        (void) schedule_catch_up_from_string(row->catch_up, &catch_up);
        r = schedule_timing_from_row(row, &timing);
        if (r < 0)
                return log_warning_errno(r, "Schedule %s has an unusable timing; not run", row->id), 0;

        /* The run that waited for its previous one goes first. */
        if (held > 0 && !busy) {
                r = claim_and_fire(
                        c,
                        row,
                        &(ScheduleClaim){ .id = row->id,
                                          .old_next = row->next_run_at,
                                          .old_held = held,
                                          .new_next = row->next_run_at },
                        &held,
                        1);
                if (r < 0)
                        return r;
                busy = true;
                held = 0;
        }
        if (row->next_run_at > c->now)
                return 0;
        r = schedule_plan(&timing, catch_up, row->next_run_at, c->now, times, ELEMENTSOF(times), &plan);
        if (r < 0)
                return log_warning_errno(r, "Schedule %s has no next run; not run", row->id), 0;
        d = schedule_overlap_decide(overlap, plan.n, busy, held > 0);
        return claim_and_fire(
                c,
                row,
                &(ScheduleClaim){
                        .id = row->id,
                        .old_next = row->next_run_at,
                        .old_held = held,
                        .new_next = plan.next,
                        .new_held = d.hold ? times[plan.n - 1] : held,
                        .missed = plan.missed,
                        .skipped = d.skipped,
                },
                times + plan.n - d.fire,
                d.fire);
}

static int release_delayed(const JobRow *row, void *userdata) {
        ScheduleTimer *t = userdata;
        int r = job_store_delayed_claim(t->store, row->id);

        if (r == -ESTALE)
                return 0;
        return r < 0 ? r : MIN(job_runner_queue_row(t->runner, row), 0);
}

int schedule_timer_tick(ScheduleTimer *t, double now, double *ret_next, bool *ret_held) {
        TickCtx c = { .timer = t, .now = now };
        double next = 0;
        bool held = false;
        int r, k;

        r = job_store_schedule_for_each_due(t->store, now, tick_schedule, &c, &next, &held);
        k = job_store_delayed_for_each_due(t->store, now, release_delayed, t);
        if (r >= 0)
                r = k;
        if (c.next > 0 && (next == 0 || c.next < next))
                next = c.next;
        *ret_next = next;
        *ret_held = held;
        return r;
}

static void *timer_thread(void *userdata) {
        ScheduleTimer *t = userdata;

        pthread_mutex_lock(&t->lock);
        while (!t->stop) {
                uint64_t gen;
                double now, next = 0;
                bool held = false;
                int r;

                atomic_store(&t->kicked, false);
                pthread_mutex_unlock(&t->lock);
                gen = job_store_generation(t->store); /* before the pass: a commit during it wakes us */
                now = time_now_s(CLOCK_REALTIME);
                r = schedule_timer_tick(t, now, &next, &held);
                if (r < 0) {
                        log_warning_errno(r, "Failed to run the due schedules: %m");
                        next = now + 1; /* the store may be busy: look again in a second */
                }
                if (next <= 0 || next > now + SCHEDULE_TIMER_IDLE_S)
                        next = now + SCHEDULE_TIMER_IDLE_S;
                if (held) {
                        /* A queued run waits for its previous job: any commit may be its end. */
                        double wait = MAX(next - now, 0.0);

                        job_store_wait_change(t->store, gen, (uint64_t) ceil(wait * 1000.0), &t->kicked);
                        pthread_mutex_lock(&t->lock);
                        continue;
                }
                pthread_mutex_lock(&t->lock);
                while (!t->stop && !atomic_load(&t->kicked)) {
                        struct timespec ts;

                        ts.tv_sec = (time_t) next;
                        ts.tv_nsec = (long) ((next - floor(next)) * 1e9);
                        if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) != 0)
                                break; /* due */
                }
        }
        pthread_mutex_unlock(&t->lock);
        return NULL;
}

int schedule_timer_new(JobStore *store, JobRunner *runner, ScheduleTimer **ret) {
        ScheduleTimer *t = calloc(1, sizeof(ScheduleTimer));

        if (!t)
                return -ENOMEM;
        t->store = store;
        t->runner = runner;
        pthread_mutex_init(&t->lock, NULL);
        pthread_cond_init(&t->cond, NULL); /* CLOCK_REALTIME: the due times are wall-clock times */
        *ret = t;
        return 0;
}

int schedule_timer_start(ScheduleTimer *t) {
        int r = -pthread_create(&t->thread, NULL, timer_thread, t);

        t->started = r >= 0;
        return r;
}

void schedule_timer_kick(ScheduleTimer *t) {
        if (!t)
                return;
        pthread_mutex_lock(&t->lock);
        atomic_store(&t->kicked, true);
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
        job_store_wake(t->store); /* when it waits for a commit instead */
}

void schedule_timer_free(ScheduleTimer *t) {
        if (!t)
                return;
        pthread_mutex_lock(&t->lock);
        t->stop = true;
        pthread_mutex_unlock(&t->lock);
        schedule_timer_kick(t);
        if (t->started)
                pthread_join(t->thread, NULL);
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
}
