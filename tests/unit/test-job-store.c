/* SPDX-License-Identifier: MIT */
/* test-job-store.c — the job store on its own (job-store*.c, audit.c's table, store-db.h):
 * jobs and events, the group commit, locks, keys, usage, tasks, schedules, audit rows and
 * the schema's version. The same cases run on SQLite (unit-job-store) and on a real
 * PostgreSQL when ORCH_TEST_DB_URL names one (unit-job-store-pg, through pg-cluster.sh);
 * the SQLite-only cases (the WAL checkpointer and writes, a database from before the
 * version table) are in the SQLite program only. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "check-run.h"
#include "job-store.h"
#include "json-util.h"
#include "orch-test.h"
#include "store-db-sqlite.h"
#include "time-util.h"

/* A fresh store for a case (orch-test.h): a file in a new tmpdir, or the PostgreSQL
 * database emptied. */
static void store_location(char buf[static 256]) {
        make_tmpdir();
        test_db_reset();
        if (test_db_url())
                snprintf(buf, 256, "%s", test_db_url());
        else
                snprintf(buf, 256, "%s/jobs.db", tmpdir);
}

static JobStore *open_fresh(void) {
        char path[256];
        JobStore *s = NULL;

        store_location(path);
        ck_assert_int_eq(job_store_open(path, &s), 0);
        ck_assert_int_eq(job_store_kind(s), test_db_url() ? STORE_DB_POSTGRESQL : STORE_DB_SQLITE);
        return s;
}

static void close_store(JobStore *s) {
        job_store_free(s);
        remove_tmpdir();
}

static int count_row(const JobRow *row, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

/* A pending nlp/tokenize job with n's id and whatever else n sets. */
static void insert_task(JobStore *s, JobNew n) {
        n.service = "nlp";
        n.task = "tokenize";
        n.priority = "medium";
        n.payload = "{\"text\":\"x\"}";
        ck_assert_int_eq(job_store_insert(s, &n), 0);
}

START_TEST(test_job_store) {
        JobStore *s = NULL;
        json_object *o = NULL, *ev = NULL, *list = NULL, *jobs;
        char path[256], *id = NULL, *hash = NULL;
        JobStatus st;
        int n = 0;

        store_location(path);
        ck_assert_int_eq(job_store_open(path, &s), 0);
        for (int i = 0; i < 5; i++) {
                char jid[16];

                snprintf(jid, sizeof(jid), "job-%d", i);
                insert_task(
                        s,
                        (JobNew){ .id = jid,
                                  .idempotency_key = i == 0 ? "key-0" : NULL,
                                  .request_hash = i == 0 ? "h0" : NULL });
        }
        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = "job-0",
                                   .service = "nlp",
                                   .task = "t",
                                   .priority = "low",
                                   .payload = "{}" }),
                -EEXIST);
        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = "job-x",
                                   .service = "nlp",
                                   .task = "t",
                                   .priority = "low",
                                   .payload = "{}",
                                   .idempotency_key = "key-0" }),
                -EEXIST);

        ck_assert_int_eq(job_store_transition(s, "job-0", JOB_RUNNING, NULL, NULL, 0), 0);
        ck_assert_int_eq(job_store_transition(s, "job-0", JOB_COMPLETED, "{\"tokens\":[1]}", NULL, 0), 0);
        /* The first terminal state wins. */
        ck_assert_int_eq(job_store_transition(s, "job-0", JOB_CANCELLED, NULL, "cancelled", 0), -ESTALE);
        ck_assert_int_eq(job_store_transition(s, "nope", JOB_RUNNING, NULL, NULL, 0), -ENOENT);
        ck_assert_int_eq(job_store_transition(s, "job-1", JOB_FAILED, NULL, "no backend", 503), 0);

        ck_assert_int_eq(job_store_get_json(s, "job-0", NULL, &o), 0);
        ck_assert_str_eq(jstr(o, "status"), "completed");
        ck_assert_str_eq(jstr(o, "job_id"), "job-0");
        ck_assert_ptr_nonnull(strstr(
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN), "\"result\":{\"tokens\":[1]}"));
        json_object_put(o);
        ck_assert_int_eq(job_store_get_json(s, "job-1", NULL, &o), 0);
        ck_assert_str_eq(jstr(o, "error"), "no backend");
        ck_assert_str_eq(jstr(o, "error_status"), "503");
        json_object_put(o);
        ck_assert_int_eq(job_store_get_json(s, "nope", NULL, &o), -ENOENT);

        ck_assert_int_eq(job_store_events_json(s, "job-0", NULL, 0, &ev, &st), 0);
        ck_assert_int_eq(st, JOB_COMPLETED);
        ck_assert_uint_eq(json_object_array_length(ev), 3);
        ck_assert_str_eq(jstr(json_object_array_get_idx(ev, 2), "id"), "3");
        json_object_put(ev);
        ck_assert_int_eq(job_store_events_json(s, "job-0", NULL, 2, &ev, NULL), 0);
        ck_assert_uint_eq(json_object_array_length(ev), 1);
        json_object_put(ev);

        /* Pages of two, newest first, then by status. */
        ck_assert_int_eq(job_store_list_json(s, NULL, -1, 2, 0, &list), 0);
        ck_assert(json_object_object_get_ex(list, "jobs", &jobs));
        ck_assert_uint_eq(json_object_array_length(jobs), 2);
        ck_assert_str_eq(jstr(json_object_array_get_idx(jobs, 0), "job_id"), "job-4");
        ck_assert_ptr_nonnull(jstr(list, "next_cursor"));
        {
                int64_t cursor = strtoll(jstr(list, "next_cursor"), NULL, 10);
                json_object *page2 = NULL, *j2;

                ck_assert_int_eq(job_store_list_json(s, NULL, -1, 2, cursor, &page2), 0);
                ck_assert(json_object_object_get_ex(page2, "jobs", &j2));
                ck_assert_str_eq(jstr(json_object_array_get_idx(j2, 0), "job_id"), "job-2");
                json_object_put(page2);
        }
        json_object_put(list);
        ck_assert_int_eq(job_store_list_json(s, NULL, JOB_FAILED, 10, 0, &list), 0);
        ck_assert(json_object_object_get_ex(list, "jobs", &jobs));
        ck_assert_uint_eq(json_object_array_length(jobs), 1);
        ck_assert_ptr_null(jstr(list, "next_cursor"));
        json_object_put(list);

        ck_assert_int_eq(job_store_find_key(s, "key-0", &id, &hash), 0);
        ck_assert_str_eq(id, "job-0");
        ck_assert_str_eq(hash, "h0");
        free(id);
        free(hash);
        ck_assert_int_eq(job_store_find_key(s, "key-9", &id, &hash), -ENOENT);

        ck_assert_int_eq(job_store_for_each_unfinished(s, "task", count_row, &n), 0);
        ck_assert_int_eq(n, 3);

        /* Retention: nothing is old yet; with age 0 the two finished jobs go. */
        unsigned deleted = 99;
        ck_assert_int_eq(job_store_cleanup(s, 3600 * 1000, &deleted), 0);
        ck_assert_uint_eq(deleted, 0);
        usleep(2000);
        ck_assert_int_eq(job_store_cleanup(s, 0, &deleted), 0);
        ck_assert_uint_eq(deleted, 2);
        ck_assert_int_eq(job_store_get_status(s, "job-0", &st), -ENOENT);
        ck_assert_int_eq(job_store_get_status(s, "job-2", &st), 0);
        ck_assert_int_eq(st, JOB_PENDING);
        job_store_free(s);
        remove_tmpdir();
}
END_TEST

/* The reads that take an owner answer that submitter's jobs only; NULL answers all. */
START_TEST(test_job_store_owner) {
        JobStore *s = NULL;
        json_object *o = NULL, *list = NULL, *jobs;
        char path[256];
        JobStatus st;

        store_location(path);
        ck_assert_int_eq(job_store_open(path, &s), 0);
        for (int i = 0; i < 4; i++) {
                char jid[16];

                snprintf(jid, sizeof(jid), "job-%d", i);
                insert_task(
                        s,
                        (JobNew){ .id = jid,
                                  .submitter = i < 3 ? (i % 2 ? "bob" : "alice") : NULL,
                                  .submitter_role = "operator" });
        }
        ck_assert_int_eq(job_store_get_json(s, "job-0", "alice", &o), 0);
        json_object_put(o);
        ck_assert_int_eq(job_store_get_json(s, "job-0", "bob", &o), -ENOENT);
        ck_assert_int_eq(job_store_get_json(s, "job-3", "bob", &o), -ENOENT); /* nobody's: admins' */
        ck_assert_int_eq(job_store_get_json(s, "job-3", NULL, &o), 0);
        json_object_put(o);
        ck_assert_int_eq(job_store_events_json(s, "job-1", "alice", 0, &o, &st), -ENOENT);
        ck_assert_int_eq(job_store_events_json(s, "job-1", "bob", 0, &o, &st), 0);
        json_object_put(o);
        ck_assert_int_eq(job_store_list_json(s, "alice", -1, 10, 0, &list), 0);
        ck_assert(json_object_object_get_ex(list, "jobs", &jobs));
        ck_assert_uint_eq(json_object_array_length(jobs), 2);
        ck_assert_str_eq(jstr(json_object_array_get_idx(jobs, 0), "job_id"), "job-2");
        ck_assert_str_eq(jstr(json_object_array_get_idx(jobs, 1), "job_id"), "job-0");
        json_object_put(list);
        ck_assert_int_eq(job_store_list_json(s, NULL, -1, 10, 0, &list), 0);
        ck_assert(json_object_object_get_ex(list, "jobs", &jobs));
        ck_assert_uint_eq(json_object_array_length(jobs), 4);
        json_object_put(list);
        job_store_free(s);
        remove_tmpdir();
}
END_TEST

/* WAL checkpoints run on the store's own thread (the writer has wal_autocheckpoint=0):
 * under a write loop the WAL file stays bounded, every job survives a reopen, and
 * job_store_free stops the thread at once rather than at its next 1 s tick. */
#define CKPT_JOBS 4000
START_TEST(test_job_store_checkpointer) {
        JobStore *s = NULL;
        uint64_t passive, restart;
        off_t wal_max = 0;
        char path[128], wal[136];
        struct stat sb;

        make_tmpdir();
        snprintf(path, sizeof(path), "%s/jobs.db", tmpdir);
        snprintf(wal, sizeof(wal), "%s-wal", path);
        ck_assert_int_eq(job_store_open(path, &s), 0);
        ck_assert_int_eq(job_store_set_checkpoint_pages(s, 64, 256), 0);
        for (int i = 0; i < CKPT_JOBS; i++) {
                char id[32], result[64];

                snprintf(id, sizeof(id), "ck-%d", i);
                snprintf(result, sizeof(result), "{\"n\":%d}", i);
                ck_assert_int_eq(
                        job_store_insert(
                                s,
                                &(JobNew){ .id = id,
                                           .service = "nlp",
                                           .task = "sentiment",
                                           .priority = "normal",
                                           .payload = "{\"text\":\"a fairly ordinary payload\"}",
                                           .running = true,
                                           .outcome = &(JobOutcome){ .status = JOB_COMPLETED,
                                                                     .result = result } }),
                        0);
                if (stat(wal, &sb) == 0 && sb.st_size > wal_max)
                        wal_max = sb.st_size;
        }
        ck_assert_int_eq(job_store_checkpoint_stats(s, &passive, &restart), 0);
        ck_assert_uint_gt(passive, 0);
        ck_assert_uint_gt(restart, 0); /* a write loop never lets the WAL be reused */
        /* ~10 frames of ~1 KiB per job: 40,000 frames (~40 MiB) without checkpoints. The
         * bound is 256 frames plus what commits add while a PASSIVE checkpoint holds the
         * checkpoint lock (a RESTART gets SQLITE_BUSY then; the next commit retries): up
         * to ~4 MiB on a loaded 2-core VM, hence the margin. */
        ck_assert_int_lt(wal_max, 10 * 1024 * 1024);

        /* Idle: after the last commit's checkpoint the thread sleeps with no timer. */
        usleep(2500 * 1000);
        ck_assert_int_eq(job_store_checkpoint_stats(s, &passive, &restart), 0);
        uint64_t settled = passive;
        usleep(2500 * 1000);
        ck_assert_int_eq(job_store_checkpoint_stats(s, &passive, &restart), 0);
        ck_assert_uint_eq(passive, settled);

        uint64_t t0 = time_now_ms(CLOCK_MONOTONIC);
        job_store_free(s);
        ck_assert_uint_lt(time_now_ms(CLOCK_MONOTONIC) - t0, 500);

        ck_assert_int_eq(job_store_open(path, &s), 0);
        for (int i = 0; i < CKPT_JOBS; i += 97) {
                JobStatus st;
                char id[32];

                snprintf(id, sizeof(id), "ck-%d", i);
                ck_assert_int_eq(job_store_get_status(s, id, &st), 0);
                ck_assert_int_eq(st, JOB_COMPLETED);
        }
        job_store_free(s);
        remove_tmpdir();
}
END_TEST

/* store-db-sqlite-vfs.c: each commit's WAL frames go out in one write; a reader on its
 * own connection with the plain unix VFS (as the sqlite3 tool) never reads a commit whose
 * frames are not in the file; a write that fails fails its commit, and the store stays
 * whole. */
enum { WAL_JOBS = 1500 };

typedef struct WalReader {
        const char *path;
        atomic_bool stop;
        int seen, bad;
} WalReader;

static void *wal_reader(void *userdata) {
        WalReader *w = userdata;
        sqlite3 *db = NULL;

        if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READWRITE, "unix") != SQLITE_OK) {
                w->bad++;
                return NULL;
        }
        (void) sqlite3_busy_timeout(db, 5000);
        while (!atomic_load(&w->stop)) {
                sqlite3_stmt *st = NULL;
                int rc;

                if (sqlite3_prepare_v2(
                            db, "SELECT id, result FROM jobs ORDER BY seq DESC LIMIT 20", -1, &st, NULL) !=
                    SQLITE_OK) {
                        w->bad++;
                        break;
                }
                while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                        char want[64];

                        snprintf(
                                want,
                                sizeof(want),
                                "{\"id\":\"%s\"}",
                                (const char *) sqlite3_column_text(st, 0));
                        if (streq_ptr((const char *) sqlite3_column_text(st, 1), want))
                                w->seen++;
                        else
                                w->bad++;
                }
                w->bad += rc != SQLITE_DONE;
                sqlite3_finalize(st);
        }
        sqlite3_close(db);
        return NULL;
}

static int insert_done(JobStore *s, const char *id) {
        char result[64];

        snprintf(result, sizeof(result), "{\"id\":\"%s\"}", id);
        return job_store_insert(
                s,
                &(JobNew){ .id = id,
                           .service = "nlp",
                           .task = "sentiment",
                           .priority = "medium",
                           .payload = "{\"text\":\"a fairly ordinary payload\"}",
                           .outcome = &(JobOutcome){ .status = JOB_COMPLETED, .result = result } });
}

START_TEST(test_job_store_wal_writes) {
        WalReader reader = {};
        struct rlimit old, tiny;
        sqlite3_stmt *st = NULL;
        sqlite3 *db = NULL;
        JobStore *s = NULL;
        pthread_t th;
        char path[128];
        JobStatus status;
        uint64_t passive, restart;
        int uneven = 0, restarts = 0;

        make_tmpdir();
        snprintf(path, sizeof(path), "%s/jobs.db", tmpdir);
        ck_assert_int_eq(job_store_open(path, &s), 0);
        ck_assert_int_eq(insert_done(s, "w-first"), 0);
        reader.path = path;
        ck_assert_int_eq(pthread_create(&th, NULL, wal_reader, &reader), 0);
        for (int i = 0; i < WAL_JOBS; i++) {
                uint64_t g0, i0, g1, i1;
                char id[32];

                snprintf(id, sizeof(id), "w-%d", i);
                store_db_sqlite_vfs_stats(&g0, &i0);
                ck_assert_int_eq(insert_done(s, id), 0);
                store_db_sqlite_vfs_stats(&g1, &i1);
                /* A job's commit is several frames, a header and a page each: one write.
                 * The first commit of a WAL started over (after a full checkpoint) writes
                 * and syncs the WAL's header before its frames: two. */
                if (g1 - g0 >= 4 && i1 - i0 == 2)
                        restarts++;
                else
                        uneven += !(g1 - g0 >= 4 && i1 - i0 == 1);
        }
        atomic_store(&reader.stop, true);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
        ck_assert_int_eq(uneven, 0);
        ck_assert_int_eq(job_store_checkpoint_stats(s, &passive, &restart), 0);
        ck_assert_uint_le(restarts, passive + restart);
        ck_assert_int_eq(reader.bad, 0);
        ck_assert_int_gt(reader.seen, 0);

        /* A commit larger than one write (the unix VFS writes at most 128 KiB at once). */
        size_t big_len = 1200 * 1000;
        _cleanup_free_ char *big = malloc(big_len + 16);
        json_object *o = NULL;

        ck_assert_ptr_nonnull(big);
        memcpy(big, "{\"big\":\"", 8);
        memset(big + 8, 'x', big_len);
        memcpy(big + 8 + big_len, "\"}", 3);
        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = "w-big",
                                   .service = "llm",
                                   .task = "chat",
                                   .priority = "medium",
                                   .payload = "{}",
                                   .outcome = &(JobOutcome){ .status = JOB_COMPLETED, .result = big } }),
                0);
        ck_assert_int_eq(job_store_get_json(s, "w-big", NULL, &o), 0);
        ck_assert_uint_eq(
                strlen(json_object_get_string(
                        json_object_object_get(json_object_object_get(o, "result"), "big"))),
                big_len);
        json_object_put(o);

        /* Past RLIMIT_FSIZE a write fails (EFBIG): only the WAL's 32-byte header fits. */
        signal(SIGXFSZ, SIG_IGN);
        ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
        tiny = (struct rlimit){ .rlim_cur = 32, .rlim_max = old.rlim_max };
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &tiny), 0);
        int r = insert_done(s, "w-lost");
        ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
        ck_assert_int_eq(r, -EIO);
        ck_assert_int_eq(job_store_get_status(s, "w-lost", &status), -ENOENT);
        ck_assert_int_eq(insert_done(s, "w-after"), 0);
        job_store_free(s);

        ck_assert_int_eq(job_store_open(path, &s), 0);
        ck_assert_int_eq(job_store_get_status(s, "w-after", &status), 0);
        ck_assert_int_eq(status, JOB_COMPLETED);
        ck_assert_int_eq(job_store_get_status(s, "w-lost", &status), -ENOENT);
        job_store_free(s);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_str_eq((const char *) sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM jobs", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), WAL_JOBS + 3);
        sqlite3_finalize(st);
        sqlite3_close(db);
        remove_tmpdir();
}
END_TEST

/* Group commit: many threads insert and finish jobs at once; every write is committed
 * with its own result (a taken id fails alone) and every job reads back as written. */
enum { GC_THREADS = 12, GC_JOBS = 150 };

typedef struct GcArgs {
        JobStore *s;
        int t;
        int failures;
} GcArgs;

static void *gc_worker(void *userdata) {
        GcArgs *a = userdata;

        for (int i = 0; i < GC_JOBS; i++) {
                char id[32], result[64];
                int k;

                snprintf(id, sizeof(id), "gc-%d-%d", a->t, i);
                snprintf(result, sizeof(result), "{\"n\":%d}", i);
                if (i % 3 == 2) { /* stored once with its outcome, as a fast sync job is */
                        k = job_store_insert(
                                a->s,
                                &(JobNew){ .id = id,
                                           .service = "nlp",
                                           .task = "tokenize",
                                           .priority = "medium",
                                           .payload = "{}",
                                           .outcome = &(JobOutcome){ .status = JOB_COMPLETED,
                                                                     .result = result } });
                        a->failures += k != 0;
                        continue;
                }
                k = job_store_insert(
                        a->s,
                        &(JobNew){ .id = id,
                                   .service = "nlp",
                                   .task = "tokenize",
                                   .priority = "medium",
                                   .payload = "{}",
                                   .running = true });
                a->failures += k != 0;
                /* A duplicate id fails alone, inside the same batches as the others. */
                k = job_store_insert(
                        a->s,
                        &(JobNew){ .id = id,
                                   .service = "nlp",
                                   .task = "t",
                                   .priority = "low",
                                   .payload = "{}" });
                a->failures += k != -EEXIST;
                k = i % 3 == 0 ? job_store_transition(a->s, id, JOB_COMPLETED, result, NULL, 0)
                               : job_store_transition(a->s, id, JOB_FAILED, NULL, "boom", 502);
                a->failures += k != 0;
                /* Already terminal: the first terminal state wins. */
                a->failures +=
                        job_store_transition(a->s, id, JOB_CANCELLED, NULL, "cancelled", 0) != -ESTALE;
        }
        return NULL;
}

START_TEST(test_job_store_group_commit) {
        JobStore *s = NULL;
        pthread_t th[GC_THREADS];
        GcArgs args[GC_THREADS];
        uint64_t commits, writes, counts[_JOB_STATUS_MAX];
        char path[256];

        store_location(path);
        ck_assert_int_eq(job_store_open(path, &s), 0);
        for (int t = 0; t < GC_THREADS; t++) {
                args[t] = (GcArgs){ .s = s, .t = t };
                ck_assert_int_eq(pthread_create(&th[t], NULL, gc_worker, &args[t]), 0);
        }
        for (int t = 0; t < GC_THREADS; t++) {
                ck_assert_int_eq(pthread_join(th[t], NULL), 0);
                ck_assert_int_eq(args[t].failures, 0);
        }
        job_store_commit_stats(s, &commits, &writes);
        ck_assert_uint_eq(writes, (uint64_t) GC_THREADS * (GC_JOBS / 3 + 4 * (GC_JOBS - GC_JOBS / 3)));
        ck_assert_uint_lt(commits, writes); /* writers shared transactions */
        ck_assert_int_eq(job_store_count_by_status(s, counts), 0);
        ck_assert_uint_eq(counts[JOB_COMPLETED], (uint64_t) GC_THREADS * (2 * GC_JOBS / 3));
        ck_assert_uint_eq(counts[JOB_FAILED], (uint64_t) GC_THREADS * (GC_JOBS / 3));
        ck_assert_uint_eq(counts[JOB_PENDING] + counts[JOB_RUNNING] + counts[JOB_CANCELLED], 0);
        job_store_free(s);

        /* Reopened (a restart): every job is there, with its state, result and events. */
        ck_assert_int_eq(job_store_open(path, &s), 0);
        for (int t = 0; t < GC_THREADS; t++)
                for (int i = 0; i < GC_JOBS; i++) {
                        json_object *o = NULL, *ev = NULL, *res;
                        JobStatus st;
                        char id[32];

                        snprintf(id, sizeof(id), "gc-%d-%d", t, i);
                        ck_assert_int_eq(job_store_get_json(s, id, NULL, &o), 0);
                        ck_assert_str_eq(jstr(o, "status"), i % 3 == 1 ? "failed" : "completed");
                        if (i % 3 != 1) {
                                ck_assert(json_object_object_get_ex(o, "result", &res));
                                ck_assert_int_eq(json_object_get_int(json_object_object_get(res, "n")), i);
                        } else
                                ck_assert_str_eq(jstr(o, "error"), "boom");
                        ck_assert_int_eq(job_store_events_json(s, id, NULL, 0, &ev, &st), 0);
                        /* pending, running, terminal: numbered 1..3 */
                        ck_assert_int_eq((int) json_object_array_length(ev), 3);
                        ck_assert_str_eq(
                                jstr(json_object_object_get(json_object_array_get_idx(ev, 1), "data"),
                                     "status"),
                                "running");
                        ck_assert_int_eq(
                                json_object_get_int(
                                        json_object_object_get(json_object_array_get_idx(ev, 2), "id")),
                                3);
                        json_object_put(ev);
                        json_object_put(o);
                }
        /* A failure stored with its outcome: the row and the last event carry the error. */
        json_object *o = NULL, *ev = NULL;

        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = "failed-at-once",
                                   .service = "nlp",
                                   .task = "t",
                                   .priority = "low",
                                   .payload = "{}",
                                   .outcome = &(JobOutcome){ .status = JOB_FAILED,
                                                             .error = "upstream said \"no\"",
                                                             .error_status = 502,
                                                             .redactions = "{\"email\":1}" } }),
                0);
        ck_assert_int_eq(job_store_get_json(s, "failed-at-once", NULL, &o), 0);
        ck_assert_str_eq(jstr(o, "status"), "failed");
        ck_assert_str_eq(jstr(o, "error"), "upstream said \"no\"");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "error_status")), 502);
        ck_assert_int_eq(
                json_object_get_int(
                        json_object_object_get(json_object_object_get(o, "redactions"), "email")),
                1);
        json_object_put(o);
        ck_assert_int_eq(job_store_events_json(s, "failed-at-once", NULL, 0, &ev, NULL), 0);
        ck_assert_int_eq((int) json_object_array_length(ev), 3);
        ck_assert_str_eq(
                jstr(json_object_object_get(json_object_array_get_idx(ev, 2), "data"), "error"),
                "upstream said \"no\"");
        json_object_put(ev);

        /* An outcome must be terminal. */
        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = "bad",
                                   .service = "nlp",
                                   .task = "t",
                                   .priority = "low",
                                   .payload = "{}",
                                   .outcome = &(JobOutcome){ .status = JOB_RUNNING } }),
                -EINVAL);
        job_store_free(s);
        remove_tmpdir();
}
END_TEST

/* The rows of schema_version: their count and the highest version. */
static int count_versions(StoreDb *db, void *userdata) {
        _cleanup_stmt_ StoreStmt *st = NULL;
        int r;

        r = store_db_prepare(db, "SELECT count(*), max(version) FROM schema_version", 0, &st);
        if (r < 0)
                return r;
        ck_assert_int_eq(store_step(st), 1);
        ((int64_t *) userdata)[0] = store_column_int64(st, 0);
        ((int64_t *) userdata)[1] = store_column_int64(st, 1);
        return 0;
}

START_TEST(test_job_store_migration) {
        int64_t v2[2];
        char path[160];
        sqlite3 *db = NULL;
        JobStore *s = NULL;
        json_object *job = NULL, *v;

        make_tmpdir();
        snprintf(path, sizeof(path), "%s/old.db", tmpdir);
        ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
        ck_assert_int_eq(
                sqlite3_exec(
                        db,
                        "CREATE TABLE jobs(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
                        " kind TEXT NOT NULL DEFAULT 'task', service TEXT NOT NULL, task TEXT NOT NULL,"
                        " status TEXT NOT NULL, priority TEXT NOT NULL, payload TEXT NOT NULL,"
                        " timeout_ms INTEGER NOT NULL DEFAULT 0, result TEXT, error TEXT,"
                        " error_status INTEGER, idempotency_key TEXT UNIQUE, request_hash TEXT,"
                        " created_at REAL NOT NULL, updated_at REAL NOT NULL,"
                        " last_event INTEGER NOT NULL DEFAULT 0);"
                        "INSERT INTO jobs(id, service, task, status, priority, payload, created_at,"
                        " updated_at) VALUES('old-1', 'nlp', 'analyze', 'completed', 'medium', '{}', 1, 1);",
                        NULL,
                        NULL,
                        NULL),
                SQLITE_OK);
        sqlite3_close(db);

        ck_assert_int_eq(job_store_open(path, &s), 0);
        ck_assert_int_eq(job_store_get_json(s, "old-1", NULL, &job), 0);
        ck_assert(!json_object_object_get_ex(job, "guardrails", NULL));
        ck_assert(!json_object_object_get_ex(job, "cached", NULL));
        json_object_put(job);
        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = "new-1",
                                   .service = "nlp",
                                   .task = "analyze",
                                   .priority = "medium",
                                   .payload = "{}",
                                   .guardrail_flags = "[\"sql_union\"]",
                                   .cached = true }),
                0);
        ck_assert_int_eq(job_store_set_redactions(s, "new-1", "{\"email\":1}"), 0);
        ck_assert_int_eq(job_store_get_json(s, "new-1", NULL, &job), 0);
        ck_assert(json_object_object_get_ex(job, "guardrails", &v));
        ck_assert_str_eq(
                json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), "{\"flagged\":[\"sql_union\"]}");
        ck_assert(json_object_object_get_ex(job, "redactions", &v));
        ck_assert_int_eq(json_object_get_int(json_object_object_get(v, "email")), 1);
        ck_assert(json_object_get_boolean(json_object_object_get(job, "cached")));
        json_object_put(job);
        job_store_free(s);
        /* Opening again is a no-op for the migration: versions 1 to 5 (2: leases, 3: webhook
         * replays, 4: shared limits, 5: finished jobs by age), each recorded once. */
        ck_assert_int_eq(job_store_open(path, &s), 0);
        ck_assert_int_eq(job_store_with_db(s, count_versions, v2), 0);
        ck_assert_int_eq(v2[0], 5);
        ck_assert_int_eq(v2[1], 5);
        ck_assert_int_eq(job_store_get_json(s, "old-1", NULL, &job), 0); /* the old row is kept */
        ck_assert_str_eq(jstr(job, "status"), "completed");
        json_object_put(job);
        job_store_free(s);
        remove_tmpdir();
}
END_TEST

/* The schema is created once and its version recorded; a reopen applies nothing again. */
START_TEST(test_job_store_schema_version) {
        char path[256];
        JobStore *s = NULL;
        int64_t v[2];

        store_location(path);
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(job_store_open(path, &s), 0);
                ck_assert_int_eq(job_store_with_db(s, count_versions, v), 0);
                ck_assert_int_eq(v[0], 5);
                ck_assert_int_eq(v[1], 5);
                job_store_free(s);
        }
        remove_tmpdir();
}
END_TEST

/* Each cleanup statement on jobs goes through jobs_finished, never a scan of every
 * finished job through jobs_status (2.6 s with a million jobs, the store held). On
 * PostgreSQL the planner is told not to scan the table, as it would for a few rows. */
static int check_cleanup_plans(StoreDb *db, void *userdata) {
        bool pg = store_db_kind(db) == STORE_DB_POSTGRESQL;
        int r;

        if (pg)
                ck_assert_int_eq(store_db_exec(db, "SET enable_seqscan = off"), 0);
        for (const JobStoreCleanup *c = job_store_cleanups; c->sql; c++) {
                _cleanup_stmt_ StoreStmt *st = NULL;
                _cleanup_free_ char *sql = NULL, *plan = strdup("");

                if (!strstr(c->sql, "FROM jobs"))
                        continue;
                ck_assert_int_gt(asprintf(&sql, "%s%s", pg ? "EXPLAIN " : "EXPLAIN QUERY PLAN ", c->sql), 0);
                ck_assert_int_eq(store_db_prepare(db, sql, 0, &st), 0);
                store_bind_double(st, 1, 0);
                while ((r = store_step(st)) > 0) {
                        char *more = NULL;

                        ck_assert_int_gt(
                                asprintf(&more, "%s%s\n", plan, store_column_text(st, pg ? 0 : 3)), 0);
                        free(plan);
                        plan = more;
                }
                ck_assert_int_eq(r, 0);
                ck_assert_msg(
                        strstr(plan, "jobs_finished") && !strstr(plan, "jobs_status"),
                        "%s:\n%s",
                        c->sql,
                        plan);
        }
        if (pg)
                ck_assert_int_eq(store_db_exec(db, "RESET enable_seqscan"), 0);
        return 0;
}

START_TEST(test_job_store_cleanup_plan) {
        JobStore *s = open_fresh();

        ck_assert_int_eq(job_store_with_db(s, check_cleanup_plans, NULL), 0);
        close_store(s);
}
END_TEST

/* The generic entry of the layer and the hook after each group commit. */
static void count_commit(StoreDb *db, void *userdata) {
        (*(int *) userdata)++;
}

static int run_statements(StoreDb *db, void *userdata) {
        const char *params[] = { "task", NULL };

        ck_assert_int_eq(store_db_run(db, "UPDATE jobs SET priority = 'low' WHERE kind = ?1", params, 1), 2);
        ck_assert_int_eq(
                store_db_run(
                        db,
                        "DELETE FROM jobs WHERE id = ?1 AND CAST(?2 AS TEXT) IS NULL",
                        (const char *[]){ "a", NULL },
                        2),
                1);
        return 0;
}

START_TEST(test_job_store_commit_hook_and_run) {
        JobStore *s = open_fresh();
        uint64_t commits, writes;
        json_object *o = NULL;
        int hooked = 0;

        job_store_set_commit_hook(s, count_commit, &hooked);
        insert_task(s, (JobNew){ .id = "a" });
        insert_task(s, (JobNew){ .id = "b" });
        ck_assert_int_eq(job_store_transition(s, "b", JOB_RUNNING, NULL, NULL, 0), 0);
        job_store_commit_stats(s, &commits, &writes);
        ck_assert_int_eq(hooked, (int) commits);
        ck_assert_int_eq(hooked, 3);
        ck_assert_int_eq(job_store_with_db(s, run_statements, NULL), 0);
        ck_assert_int_eq(job_store_get_json(s, "a", NULL, &o), -ENOENT);
        ck_assert_int_eq(job_store_get_json(s, "b", NULL, &o), 0);
        ck_assert_str_eq(jstr(o, "priority"), "low");
        json_object_put(o);
        close_store(s);
}
END_TEST

START_TEST(test_job_store_locks) {
        JobStore *s = open_fresh();
        json_object *o = NULL, *list = NULL;

        ck_assert_int_eq(job_store_lock_acquire(s, "deploy", "alice", 60000, &o), 0);
        ck_assert_str_eq(jstr(o, "owner"), "alice");
        json_object_put(o);
        o = NULL;
        ck_assert_int_eq(job_store_lock_acquire(s, "deploy", "bob", 60000, &o), -EBUSY);
        ck_assert_str_eq(jstr(o, "owner"), "alice"); /* the holder */
        json_object_put(o);
        ck_assert_int_eq(job_store_lock_acquire(s, "deploy", "alice", 60000, NULL), 0); /* renewal */
        ck_assert_int_eq(job_store_lock_release(s, "deploy", "bob"), -EPERM);
        ck_assert_int_eq(job_store_lock_release(s, "nothing", "bob"), -ENOENT);
        /* An expired lease is anyone's. */
        ck_assert_int_eq(job_store_lock_acquire(s, "short", "alice", 1, NULL), 0);
        usleep(20 * 1000);
        ck_assert_int_eq(job_store_lock_acquire(s, "short", "bob", 60000, NULL), 0);
        ck_assert_int_eq(job_store_lock_list(s, &list), 0);
        ck_assert_int_eq((int) json_object_array_length(list), 2);
        ck_assert_str_eq(jstr(json_object_array_get_idx(list, 1), "owner"), "bob");
        json_object_put(list);
        ck_assert_int_eq(job_store_lock_release(s, "deploy", "alice"), 0);
        ck_assert_int_eq(job_store_lock_release(s, "deploy", "alice"), -ENOENT);
        close_store(s);
}
END_TEST

START_TEST(test_job_store_keys) {
        JobStore *s = open_fresh();
        KeyNew k = { .id = "k1",
                     .name = "ci-bot",
                     .role = "operator",
                     .prefix = "ask_ab",
                     .created_by = "root",
                     .limits = { .budget_tokens_day = 5000000000LL, .rpm = 60 } };
        uint8_t other[KEY_HASH_SIZE];
        char name[64], role[16];
        json_object *list = NULL, *v;
        KeyLimits lim;

        for (size_t i = 0; i < KEY_HASH_SIZE; i++) {
                k.hash[i] = (uint8_t) (i * 7); /* a 0 byte and bytes past 0x7f: binary, not text */
                other[i] = (uint8_t) (i * 7 + 1);
        }
        ck_assert_int_eq(job_store_key_insert(s, &k), 0);
        k.id = "k2";
        ck_assert_int_eq(job_store_key_insert(s, &k), -EEXIST); /* the name is taken */
        ck_assert_int_eq(job_store_key_lookup(s, k.hash, name, sizeof(name), role, sizeof(role)), 0);
        ck_assert_str_eq(name, "ci-bot");
        ck_assert_str_eq(role, "operator");
        ck_assert_int_eq(job_store_key_lookup(s, other, name, sizeof(name), role, sizeof(role)), -ENOENT);
        ck_assert_int_eq(job_store_key_limits(s, "ci-bot", &lim), 0);
        ck_assert_int_eq(lim.budget_tokens_day, 5000000000LL);
        ck_assert_int_eq(lim.budget_tokens_month, 0);
        ck_assert_int_eq(lim.rpm, 60);
        ck_assert_int_eq(job_store_key_list(s, &list), 0);
        ck_assert_int_eq((int) json_object_array_length(list), 1);
        v = json_object_array_get_idx(list, 0);
        ck_assert_str_eq(jstr(v, "prefix"), "ask_ab");
        ck_assert(!json_object_get_boolean(json_object_object_get(v, "revoked")));
        ck_assert_ptr_nonnull(jstr(v, "last_used")); /* the lookup recorded it */
        ck_assert_ptr_null(json_object_object_get(v, "tpm"));
        json_object_put(list);
        ck_assert_int_eq(job_store_key_revoke(s, "k1", name, sizeof(name)), 0);
        ck_assert_int_eq(job_store_key_revoke(s, "k1", NULL, 0), -EALREADY);
        ck_assert_int_eq(job_store_key_revoke(s, "k9", NULL, 0), -ENOENT);
        ck_assert_int_eq(job_store_key_lookup(s, k.hash, name, sizeof(name), role, sizeof(role)), -ENOENT);
        ck_assert_int_eq(job_store_key_limits(s, "ci-bot", &lim), -ENOENT);
        close_store(s);
}
END_TEST

START_TEST(test_job_store_usage_and_tasks) {
        JobStore *s = open_fresh();
        json_object *list = NULL, *tasks = NULL;
        int64_t total;

        ck_assert_int_eq(job_store_usage_add(s, "alice", "2026-12-01", "m1", 10, 5), 0);
        ck_assert_int_eq(job_store_usage_add(s, "alice", "2026-12-01", "m1", 1, 2), 0);
        ck_assert_int_eq(job_store_usage_add(s, "alice", "2026-12-03", "m2", 100, 0), 0);
        ck_assert_int_eq(job_store_usage_add(s, "bob", "2026-12-02", "m1", 7, 7), 0);
        ck_assert_int_eq(job_store_usage_total(s, "alice", NULL, NULL, &total), 0);
        ck_assert_int_eq(total, 118);
        ck_assert_int_eq(job_store_usage_total(s, "alice", "2026-12-02", NULL, &total), 0);
        ck_assert_int_eq(total, 100);
        ck_assert_int_eq(job_store_usage_total(s, "carol", NULL, NULL, &total), 0);
        ck_assert_int_eq(total, 0);
        ck_assert_int_eq(job_store_usage_json(s, NULL, NULL, "2026-12-02", &list), 0);
        ck_assert_int_eq((int) json_object_array_length(list), 2);
        ck_assert_str_eq(jstr(json_object_array_get_idx(list, 0), "requests"), "2");
        ck_assert_str_eq(jstr(json_object_array_get_idx(list, 0), "total_tokens"), "18");
        ck_assert_str_eq(jstr(json_object_array_get_idx(list, 1), "principal"), "bob");
        json_object_put(list);

        ck_assert_int_eq(job_store_tasks_save(s, "nlp", "{\"tasks\":[]}"), 0);
        ck_assert_int_eq(job_store_tasks_save(s, "nlp", "{\"tasks\":[\"x\"]}"), 0);
        ck_assert_int_eq(job_store_tasks_save(s, "data", "{}"), 0);
        ck_assert_int_eq(job_store_tasks_load(s, &tasks), 0);
        ck_assert_int_eq(json_object_object_length(tasks), 2);
        ck_assert_str_eq(jstr(tasks, "nlp"), "{\"tasks\":[\"x\"]}");
        json_object_put(tasks);
        close_store(s);
}
END_TEST

static int count_due(const ScheduleRow *row, void *userdata) {
        ck_assert_str_eq(row->id, "s1");
        (*(int *) userdata)++;
        return 0;
}

static int count_delayed(const JobRow *row, void *userdata) {
        ck_assert_str_eq(row->id, "later");
        (*(int *) userdata)++;
        return 0;
}

START_TEST(test_job_store_schedules) {
        JobStore *s = open_fresh();
        ScheduleRow row = { .id = "s1",
                            .owner = "alice",
                            .owner_role = "operator",
                            .service = "nlp",
                            .task = "tokenize",
                            .priority = "low",
                            .payload = "{\"text\":\"x\"}",
                            .timeout_ms = 5000,
                            .every_ms = 60000,
                            .anchor = 1000,
                            .overlap = "skip",
                            .catch_up = "none",
                            .next_run_at = 1060,
                            .created_at = 1000 };
        json_object *o = NULL, *list = NULL, *jobs;
        double next = 0;
        bool held = true;
        int n = 0;

        ck_assert_int_eq(job_store_schedule_insert(s, &row), 0);
        ck_assert_int_eq(job_store_schedule_insert(s, &row), -EEXIST);
        ck_assert_int_eq(job_store_schedule_get_json(s, "s1", "bob", &o), -ENOENT);
        ck_assert_int_eq(job_store_schedule_for_each_due(s, 1059, count_due, &n, &next, &held), 0);
        ck_assert_int_eq(n, 0);
        ck_assert(next == 1060);
        ck_assert(!held);
        ck_assert_int_eq(job_store_schedule_for_each_due(s, 1060, count_due, &n, &next, &held), 0);
        ck_assert_int_eq(n, 1);
        /* Two orchestrators fire the same run: the second claim is stale. */
        ScheduleClaim c = { .id = "s1", .old_next = 1060, .new_next = 1120, .missed = 2 };
        ck_assert_int_eq(job_store_schedule_claim(s, &c), 0);
        ck_assert_int_eq(job_store_schedule_claim(s, &c), -ESTALE);
        c = (ScheduleClaim){ .id = "s1", .old_next = 1120, .new_next = 1180, .new_held = 1120 };
        ck_assert_int_eq(job_store_schedule_claim(s, &c), 0);
        c = (ScheduleClaim){ .id = "s1", .old_next = 1180, .old_held = 1120, .new_next = 1240 };
        ck_assert_int_eq(job_store_schedule_claim(s, &c), 0);
        insert_task(s, (JobNew){ .id = "run-1", .schedule_id = "s1", .run_at = 1120, .submitter = "alice" });
        ck_assert_int_eq(job_store_schedule_ran(s, "s1", "run-1", 1121), 0);
        ck_assert_int_eq(job_store_schedule_get_json(s, "s1", "alice", &o), 0);
        ck_assert_str_eq(jstr(o, "last_job_id"), "run-1");
        ck_assert_str_eq(jstr(o, "runs"), "1");
        ck_assert_str_eq(jstr(o, "missed"), "2");
        ck_assert(json_object_object_get_ex(o, "jobs", &jobs));
        ck_assert_str_eq(jstr(jobs, "pending"), "1");
        json_object_put(o);
        ck_assert_int_eq(job_store_schedule_set_paused(s, "s1", "bob", true, 0), -ENOENT);
        ck_assert_int_eq(job_store_schedule_set_paused(s, "s1", "alice", true, 0), 0);
        n = 0;
        ck_assert_int_eq(job_store_schedule_for_each_due(s, 99999, count_due, &n, &next, &held), 0);
        ck_assert_int_eq(n, 0); /* paused */
        ck_assert_int_eq(job_store_schedule_set_paused(s, "s1", NULL, false, 2000), 0);
        ck_assert_int_eq(job_store_schedule_list_json(s, "alice", &list), 0);
        ck_assert_str_eq(
                jstr(json_object_array_get_idx(json_object_object_get(list, "schedules"), 0), "schedule_id"),
                "s1");
        json_object_put(list);

        /* A delayed job waits for run_at, then is claimed once. */
        insert_task(s, (JobNew){ .id = "later", .run_at = 1500, .delayed = true });
        n = 0;
        ck_assert_int_eq(job_store_for_each_unfinished(s, "task", count_row, &n), 0);
        ck_assert_int_eq(n, 1); /* run-1 only */
        n = 0;
        ck_assert_int_eq(job_store_delayed_for_each_due(s, 1499, count_delayed, &n), 0);
        ck_assert_int_eq(n, 0);
        ck_assert_int_eq(job_store_schedule_for_each_due(s, 1400, count_due, &n, &next, &held), 0);
        ck_assert(next == 1500);
        ck_assert_int_eq(job_store_delayed_for_each_due(s, 1500, count_delayed, &n), 0);
        ck_assert_int_eq(n, 1);
        ck_assert_int_eq(job_store_delayed_claim(s, "later"), 0);
        ck_assert_int_eq(job_store_delayed_claim(s, "later"), -ESTALE);
        ck_assert_int_eq(job_store_schedule_delete(s, "s1", "alice"), 0);
        ck_assert_int_eq(job_store_schedule_delete(s, "s1", "alice"), -ENOENT);
        close_store(s);
}
END_TEST

START_TEST(test_audit_rows) {
        JobStore *s = open_fresh();
        AuditLog *a = NULL;
        json_object *o = NULL, *records;
        unsigned deleted = 99;
        char cursor[32];

        ck_assert_int_eq(audit_open(s, &a), 0);
        for (int i = 0; i < 5; i++)
                ck_assert_int_eq(
                        audit_write(
                                a,
                                &(AuditRecord){ .time = i == 0 ? 1000 : 0,
                                                .actor = i % 2 ? "bob" : "alice",
                                                .role = "operator",
                                                .action = "job.submit",
                                                .target = i == 1 ? NULL : "job-x",
                                                .result = 200 + i }),
                        0);
        ck_assert_int_eq(audit_query_json(a, &(AuditQuery){ .actor = "alice", .limit = 2 }, &o), 0);
        records = json_object_object_get(o, "records");
        ck_assert_int_eq((int) json_object_array_length(records), 2);
        ck_assert_str_eq(jstr(json_object_array_get_idx(records, 0), "result"), "204"); /* newest first */
        snprintf(cursor, sizeof(cursor), "%s", jstr(o, "next_cursor"));
        json_object_put(o);
        ck_assert_int_eq(
                audit_query_json(
                        a,
                        &(AuditQuery){ .actor = "alice", .limit = 2, .cursor = strtoll(cursor, NULL, 10) },
                        &o),
                0);
        records = json_object_object_get(o, "records");
        ck_assert_int_eq((int) json_object_array_length(records), 1);
        ck_assert_str_eq(jstr(json_object_array_get_idx(records, 0), "result"), "200");
        ck_assert_ptr_null(jstr(o, "next_cursor"));
        json_object_put(o);
        ck_assert_int_eq(audit_prune(a, 3600 * 1000, &deleted), 0);
        ck_assert_uint_eq(deleted, 1); /* the row from 1970 */
        ck_assert_int_eq(audit_query_json(a, &(AuditQuery){ .limit = 10 }, &o), 0);
        ck_assert_int_eq((int) json_object_array_length(json_object_object_get(o, "records")), 4);
        ck_assert_ptr_null(
                jstr(json_object_array_get_idx(json_object_object_get(o, "records"), 3), "target"));
        json_object_put(o);
        audit_free(a);
        close_store(s);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("job-store");
        TCase *tc = tcase_create("store");

        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_job_store);
        tcase_add_test(tc, test_job_store_owner);
        tcase_add_test(tc, test_job_store_group_commit);
        tcase_add_test(tc, test_job_store_schema_version);
        tcase_add_test(tc, test_job_store_cleanup_plan);
        tcase_add_test(tc, test_job_store_commit_hook_and_run);
        tcase_add_test(tc, test_job_store_locks);
        tcase_add_test(tc, test_job_store_keys);
        tcase_add_test(tc, test_job_store_usage_and_tasks);
        tcase_add_test(tc, test_job_store_schedules);
        tcase_add_test(tc, test_audit_rows);
        suite_add_tcase(s, tc);
        if (!test_db_url()) {
                TCase *lite = tcase_create("sqlite");

                tcase_add_test(lite, test_job_store_migration);
                tcase_add_test(lite, test_job_store_checkpointer);
                tcase_add_test(lite, test_job_store_wal_writes);
                suite_add_tcase(s, lite);
        }
        return s;
}

int main(void) {
        return check_run(suite());
}
