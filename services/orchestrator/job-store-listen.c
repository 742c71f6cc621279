/* SPDX-License-Identifier: MIT */
/* job-store-listen.c — on PostgreSQL, what other orchestrators commit wakes this one's
 * waiters (job_store_wait_change: the SSE streams) as its own commits do: every group
 * commit sends NOTIFY on JOB_STORE_CHANNEL inside its transaction, and this thread LISTENs
 * on a connection of its own and bumps the store's generation for each batch that arrives.
 * When that connection is lost it bumps the generation too (the waiters look again: what
 * was sent meanwhile is not lost to them, only its notice) and reconnects every second. */
#include <time.h>

#include "job-store-internal.h"
#include "time-util.h"

/* How long a wait for notifications lasts: the longest a stop waits for the thread. */
#define LISTEN_POLL_MS 250
#define LISTEN_RETRY_MS 1000

static void bump(JobStore *s) {
        pthread_mutex_lock(&s->lock);
        s->generation++;
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
}

static void *listen_thread(void *userdata) {
        JobStore *s = userdata;
        StoreDb *db = NULL;

        while (!atomic_load(&s->listener.stop)) {
                int k;

                if (!db) {
                        k = store_db_open(s->listener.location, &db);
                        if (k >= 0)
                                k = store_db_listen(db, JOB_STORE_CHANNEL);
                        if (k < 0) {
                                store_db_close(TAKE_PTR(db));
                                for (int i = 0;
                                     i < LISTEN_RETRY_MS / LISTEN_POLL_MS && !atomic_load(&s->listener.stop);
                                     i++)
                                        (void) nanosleep(
                                                &(struct timespec){ .tv_nsec = LISTEN_POLL_MS * 1000000L },
                                                NULL);
                                continue;
                        }
                        atomic_fetch_add(&s->listener.connects, 1);
                        bump(s); /* whatever was committed while nobody listened */
                }
                k = store_db_wait_notify(db, LISTEN_POLL_MS);
                if (k > 0) {
                        atomic_fetch_add(&s->listener.wakeups, 1);
                        bump(s);
                } else if (k < 0) {
                        store_db_close(TAKE_PTR(db));
                        bump(s);
                }
        }
        store_db_close(db);
        return NULL;
}

int job_store_listen_start(JobStore *s, const char *location) {
        int r;

        s->listener.location = strdup(location);
        if (!s->listener.location)
                return -ENOMEM;
        r = -pthread_create(&s->listener.thread, NULL, listen_thread, s);
        if (r < 0)
                return r;
        s->listener.started = true;
        return 0;
}

void job_store_listen_stop(JobStore *s) {
        if (s->listener.started) {
                atomic_store(&s->listener.stop, true);
                (void) pthread_join(s->listener.thread, NULL);
                s->listener.started = false;
        }
        free(s->listener.location);
        s->listener.location = NULL;
}

void job_store_listen_stats(JobStore *s, uint64_t *ret_connects, uint64_t *ret_wakeups) {
        *ret_connects = atomic_load(&s->listener.connects);
        *ret_wakeups = atomic_load(&s->listener.wakeups);
}
