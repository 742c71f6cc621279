/* SPDX-License-Identifier: MIT */
/* data-exec.c — one executor thread per request, and its watchdog on the caller's. */
#include <errno.h>
#include <time.h>

#include "data-exec.h"
#include "time-util.h"

typedef struct Exec {
        DataGuard *guard;
        int (*fn)(void *userdata);
        void *userdata;
        int result;
        bool done; /* under guard->lock */
} Exec;

static void *exec_main(void *userdata) {
        Exec *e = userdata;
        int r = e->fn(e->userdata);

        pthread_mutex_lock(&e->guard->lock);
        e->result = r;
        e->done = true;
        pthread_cond_broadcast(&e->guard->changed);
        pthread_mutex_unlock(&e->guard->lock);
        return NULL;
}

/* Sleeps until the work is done, interrupting its statement once the armed deadline has
 * passed. The guard's lock orders this against arming: a statement is only interrupted
 * while it is the one armed. */
static void watch(Exec *e) {
        DataGuard *g = e->guard;

        pthread_mutex_lock(&g->lock);
        while (!e->done) {
                uint64_t deadline = atomic_load(&g->deadline);

                if (deadline == 0 || atomic_load(&g->timed_out))
                        pthread_cond_wait(&g->changed, &g->lock);
                else if (time_now_usec(CLOCK_MONOTONIC) >= deadline) {
                        atomic_store(&g->timed_out, true);
                        if (g->db)
                                sqlite3_interrupt(g->db);
                } else {
                        struct timespec ts = {
                                .tv_sec = (time_t) (deadline / 1000000u),
                                .tv_nsec = (long) (deadline % 1000000u) * 1000L,
                        };
                        (void) pthread_cond_timedwait(&g->changed, &g->lock, &ts);
                }
        }
        pthread_mutex_unlock(&g->lock);
}

int data_exec_run(DataGuard *g, int (*fn)(void *userdata), void *userdata) {
        Exec e = { .guard = g, .fn = fn, .userdata = userdata };
        pthread_attr_t attr;
        pthread_t t;
        int r;

        r = pthread_attr_init(&attr);
        if (r != 0)
                return -r;
        r = pthread_attr_setstacksize(&attr, DATA_EXEC_STACK);
        if (r == 0)
                r = pthread_create(&t, &attr, exec_main, &e);
        pthread_attr_destroy(&attr);
        if (r != 0)
                return -r;
        watch(&e);
        (void) pthread_join(t, NULL);
        return e.result;
}
