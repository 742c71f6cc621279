/* SPDX-License-Identifier: MIT */
/* bench-job-store — the job store's commit path on its own: synchronous jobs stored with
 * their outcome (one insert = pending, running and the result in one commit, as a job that
 * finished within the grace period), then async jobs (insert, running, completed: three
 * writes), by 1 and by 8 threads. Prints jobs per second, the best of R rounds. A fourth
 * argument, sync or async, runs only that half (one mode to profile under callgrind).
 * Usage: bench-job-store [database path or postgresql:// URL] [jobs per round] [rounds] [mode] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "job-store.h"
#include "macro.h"
#include "time-util.h"

typedef struct Worker {
        JobStore *s;
        int t, n, round;
        bool async;
        int failures;
} Worker;

static void *work(void *userdata) {
        Worker *w = userdata;

        for (int i = 0; i < w->n; i++) {
                char id[64];
                JobNew n = { .id = id,
                             .service = "nlp",
                             .task = "sentiment",
                             .priority = "medium",
                             .payload = "{\"text\":\"a fairly ordinary tweet-length payload\"}" };

                snprintf(id, sizeof(id), "b-%d-%d-%d-%d", w->async, w->round, w->t, i);
                if (!w->async) {
                        n.outcome = &(JobOutcome){ .status = JOB_COMPLETED, .result = "{\"score\":0.5}" };
                        int r = job_store_insert(w->s, &n);

                        if (r != 0 && w->failures++ == 0)
                                fprintf(stderr, "%s: %s\n", id, strerror(-r));
                        continue;
                }
                w->failures += job_store_insert(w->s, &n) != 0;
                w->failures += job_store_transition(w->s, id, JOB_RUNNING, NULL, NULL, 0) != 0;
                w->failures +=
                        job_store_transition(w->s, id, JOB_COMPLETED, "{\"score\":0.5}", NULL, 0) != 0;
        }
        return NULL;
}

static double run(JobStore *s, int threads, int jobs, int round, bool async) {
        pthread_t th[8];
        Worker w[8];
        uint64_t t0 = time_now_usec(CLOCK_MONOTONIC);
        int failures = 0;

        for (int t = 0; t < threads; t++) {
                w[t] = (Worker){ .s = s, .t = t, .n = jobs / threads, .round = round, .async = async };
                if (pthread_create(&th[t], NULL, work, &w[t]) != 0)
                        abort();
        }
        for (int t = 0; t < threads; t++) {
                pthread_join(th[t], NULL);
                failures += w[t].failures;
        }
        if (failures > 0) {
                fprintf(stderr, "%d writes failed\n", failures);
                exit(EXIT_FAILURE);
        }
        return (double) jobs / ((double) (time_now_usec(CLOCK_MONOTONIC) - t0) / 1e6);
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/bench-job-store.XXXXXX", path[64];
        const char *db = argc > 1 && argv[1][0] ? argv[1] : NULL;
        int jobs = argc > 2 ? atoi(argv[2]) : 4000, rounds = argc > 3 ? atoi(argv[3]) : 3;
        const char *mode = argc > 4 ? argv[4] : NULL;
        JobStore *s = NULL;
        int r;

        if (!db) {
                if (!mkdtemp(dir))
                        return EXIT_FAILURE;
                snprintf(path, sizeof(path), "%s/jobs.db", dir);
                db = path;
        }
        r = job_store_open(db, &s);
        if (r < 0) {
                fprintf(stderr, "job_store_open(%s): %s\n", db, strerror(-r));
                return EXIT_FAILURE;
        }
        for (int a = 0; a < 2; a++)
                for (int threads = 1; threads <= 8; threads *= 8) {
                        double best = 0;

                        if (mode && !streq(mode, a ? "async" : "sync"))
                                continue;

                        for (int k = 0; k < rounds; k++) {
                                double v = run(s, threads, jobs, k * 16 + threads, a);

                                best = MAX(best, v);
                        }
                        printf("%-5s %d thread%s %8.0f jobs/s\n",
                               a ? "async" : "sync",
                               threads,
                               threads > 1 ? "s" : " ",
                               best);
                }
        job_store_free(s);
        if (db == path) {
                char wal[80], shm[80];

                snprintf(wal, sizeof(wal), "%s-wal", path);
                snprintf(shm, sizeof(shm), "%s-shm", path);
                (void) unlink(path);
                (void) unlink(wal);
                (void) unlink(shm);
                (void) rmdir(dir);
        }
        return EXIT_SUCCESS;
}
