/* SPDX-License-Identifier: MIT */
/* test-store-db-pg.c — the PostgreSQL engine of store-db.h when its connection goes away,
 * on the real server of pg-cluster.sh (ORCH_TEST_DB_URL; PG_CLUSTER_DATA and
 * PG_CLUSTER_BINDIR to stop and start it): a connection the server closed while idle is
 * replaced before anything is sent; a read lost while it runs is sent again once; a write
 * lost while it runs fails with -ECONNRESET and is not applied twice; inside a transaction
 * everything fails until the rollback, COMMIT included; with the server down a request
 * fails, and once it is back the next one works. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check-run.h"
#include "job-store.h"
#include "store-db.h"
#include "time-util.h"

static const char *db_url;

static StoreDb *open_db(void) {
        StoreDb *db = NULL;

        ck_assert_int_eq(store_db_open(db_url, &db), 0);
        return db;
}

static int64_t query_int(StoreDb *db, const char *sql, const char *param) {
        _cleanup_stmt_ StoreStmt *st = NULL;

        ck_assert_int_eq(store_db_prepare(db, sql, 0, &st), 0);
        store_bind_text(st, 1, param);
        ck_assert_int_eq(store_step(st), 1);
        return store_column_int64(st, 0);
}

/* From a connection of its own: ends every other client connection whose query is like
 * `like` and is running (active) or idle, once one is, and waits until they are gone. */
typedef struct Terminator {
        const char *state, *like;
        pthread_t thread;
} Terminator;

static void *terminate(void *userdata) {
        Terminator *t = userdata;
        StoreDb *db = open_db();
        char pid[32] = "";

        for (int i = 0; i < 500 && !pid[0]; i++) {
                _cleanup_stmt_ StoreStmt *st = NULL;

                ck_assert_int_eq(
                        store_db_prepare(
                                db,
                                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                                "AND backend_type = 'client backend' AND state = ?1 "
                                "AND query LIKE ?2",
                                0,
                                &st),
                        0);
                store_bind_text(st, 1, t->state);
                store_bind_text(st, 2, t->like);
                if (store_step(st) > 0)
                        snprintf(pid, sizeof(pid), "%s", store_column_text(st, 0));
                else
                        usleep(10 * 1000);
        }
        ck_assert_msg(pid[0], "no connection %s with %s", t->state, t->like);
        ck_assert_int_eq(query_int(db, "SELECT pg_terminate_backend(CAST(?1 AS INTEGER))", pid), 1);
        /* Gone: the server has closed its end. */
        for (int i = 0; i < 500; i++) {
                if (query_int(
                            db,
                            "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(?1 AS INTEGER)",
                            pid) == 0)
                        break;
                usleep(10 * 1000);
        }
        store_db_close(db);
        return NULL;
}

static void terminate_start(Terminator *t) {
        ck_assert_int_eq(pthread_create(&t->thread, NULL, terminate, t), 0);
}

static void terminate_join(Terminator *t) {
        ck_assert_int_eq(pthread_join(t->thread, NULL), 0);
}

static void fresh_table(StoreDb *db) {
        ck_assert_int_eq(store_db_exec(db, "DROP TABLE IF EXISTS t; CREATE TABLE t(v bigint)"), 0);
}

/* Idle: the server ended the connection between two statements (a restart, an admin). */
START_TEST(test_idle_connection_replaced) {
        StoreDb *db = open_db();
        StoreStmt *ins = NULL;
        Terminator t = { .state = "idle", .like = "%INSERT INTO t%" };

        fresh_table(db);
        ck_assert_int_eq(
                store_db_prepare(db, "INSERT INTO t(v) VALUES(?1)", STORE_PREPARE_PERSISTENT, &ins), 0);
        store_bind_int64(ins, 1, 1);
        ck_assert_int_eq(store_step(ins), 0);
        terminate_start(&t);
        terminate_join(&t);
        /* A write: sent once, on the new connection, with its statement prepared again. */
        store_stmt_reset(ins);
        store_bind_int64(ins, 1, 2);
        ck_assert_int_eq(store_step(ins), 0);
        ck_assert_int_eq(store_db_changes(db), 1);
        ck_assert_int_eq(query_int(db, "SELECT sum(v) FROM t", NULL), 3);
        store_stmt_finalize(ins);
        store_db_close(db);
}
END_TEST

/* A read lost while it runs is sent again once, on a new connection. */
START_TEST(test_read_retried) {
        StoreDb *db = open_db();
        Terminator t = { .state = "active", .like = "%pg_sleep(0.3)%" };

        terminate_start(&t);
        ck_assert_int_eq(query_int(db, "SELECT 7 FROM pg_sleep(0.3)", NULL), 7);
        terminate_join(&t);
        store_db_close(db);
}
END_TEST

/* A write lost while it runs: its outcome is unknown to the client, so it is not sent
 * again (here the server had not committed it: no row, and none added twice). */
START_TEST(test_write_not_retried) {
        StoreDb *db = open_db();
        StoreStmt *st = NULL;
        Terminator t = { .state = "active", .like = "%pg_sleep(0.3)%" };

        fresh_table(db);
        ck_assert_int_eq(store_db_prepare(db, "INSERT INTO t(v) SELECT 5 FROM pg_sleep(0.3)", 0, &st), 0);
        terminate_start(&t);
        ck_assert_int_eq(store_step(st), -ECONNRESET);
        terminate_join(&t);
        store_stmt_finalize(st);
        ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t", NULL), 0); /* the next statement works */
        store_db_close(db);
}
END_TEST

/* Inside a transaction: every statement fails until the rollback, COMMIT included (never
 * applied on a new connection as if nothing happened), then the next one works. */
START_TEST(test_lost_in_transaction) {
        StoreDb *db = open_db();
        Terminator t = { .state = "idle in transaction", .like = "%INSERT INTO t(v) VALUES(1)%" };

        fresh_table(db);
        ck_assert_int_eq(store_db_begin(db), 0);
        ck_assert_int_eq(store_db_exec(db, "INSERT INTO t(v) VALUES(1)"), 0);
        terminate_start(&t);
        terminate_join(&t);
        ck_assert_int_eq(store_db_exec(db, "INSERT INTO t(v) VALUES(2)"), -ECONNRESET);
        ck_assert_int_eq(store_db_savepoint(db), -ECONNRESET);
        ck_assert_int_eq(store_db_commit(db), -ECONNRESET);
        ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t", NULL), 0);
        store_db_close(db);
}
END_TEST

static void pg_ctl(const char *verb) {
        char cmd[1024];

        snprintf(
                cmd,
                sizeof(cmd),
                "%s '%s/pg_ctl' -D '%s' -w -m fast %s >/dev/null",
                geteuid() == 0 ? "runuser -u postgres --" : "",
                getenv("PG_CLUSTER_BINDIR"),
                getenv("PG_CLUSTER_DATA"),
                verb);
        ck_assert_int_eq(system(cmd), 0);
}

static int insert_job(JobStore *s, const char *id) {
        return job_store_insert(
                s, &(JobNew){ .id = id, .service = "nlp", .task = "t", .priority = "low", .payload = "{}" });
}

/* The server stopped and started again under a job store: reads and writes fail with
 * -ECONNRESET while it is down (a request answers 503), and work again once it is up,
 * with nothing lost of what was committed before. */
START_TEST(test_server_restart) {
        JobStore *s = NULL;
        JobStatus st;
        StoreDb *db = open_db();

        ck_assert_int_eq(store_db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
        store_db_close(db);
        ck_assert_int_eq(job_store_open(db_url, &s), 0);
        ck_assert_int_eq(insert_job(s, "before"), 0);
        pg_ctl("stop");
        ck_assert_int_eq(job_store_get_status(s, "before", &st), -ECONNRESET);
        ck_assert_int_eq(insert_job(s, "during"), -ECONNRESET);
        pg_ctl("start");
        ck_assert_int_eq(job_store_get_status(s, "before", &st), 0);
        ck_assert_int_eq(st, JOB_PENDING);
        ck_assert_int_eq(insert_job(s, "after"), 0);
        ck_assert_int_eq(job_store_transition(s, "after", JOB_RUNNING, NULL, NULL, 0), 0);
        ck_assert_int_eq(job_store_get_status(s, "during", &st), -ENOENT);
        job_store_free(s);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("store-db-pg");
        TCase *tc = tcase_create("connection");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_idle_connection_replaced);
        tcase_add_test(tc, test_read_retried);
        tcase_add_test(tc, test_write_not_retried);
        tcase_add_test(tc, test_lost_in_transaction);
        tcase_add_test(tc, test_server_restart);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        db_url = getenv("ORCH_TEST_DB_URL");
        if (!db_url || !*db_url || !getenv("PG_CLUSTER_DATA") || !getenv("PG_CLUSTER_BINDIR")) {
                fprintf(stderr,
                        "test-store-db-pg: run through tests/unit/pg-cluster.sh (no ORCH_TEST_DB_URL)\n");
                return EXIT_FAILURE;
        }
        /* One test at a time on one server: a restart must not cut another test's connection. */
        return check_run(suite());
}
