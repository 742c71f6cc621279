/* SPDX-License-Identifier: MIT */
/* test-job-store-lease.c — leases of several orchestrators on one store, as separate
 * connections to one database: a live lease is not taken, an expired one is taken by
 * exactly one instance, a restart under the same name takes its own jobs back at once,
 * finished and delayed jobs are never taken, and two instances taking at the same time
 * never take the same job; a webhook delivery accepted through one is a replay through
 * the other, and a principal's rate and a key's RPM/TPM count across them. On SQLite (a file two connections
 * share) and, through pg-cluster.sh, on PostgreSQL (unit-job-store-lease-pg). */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apikey.h"
#include "check-run.h"
#include "job-store.h"
#include "macro.h"
#include "orch-test.h"
#include "ratelimit.h"
#include "sha256.h"
#include "time-util.h"
#include "webhook.h"

static void lease_setup(void) {
        make_tmpdir();
        snprintf(db_path, sizeof(db_path), "%s/orch.db", tmpdir);
        test_db_reset();
}

static void lease_teardown(void) {
        remove_tmpdir();
}

static JobStore *open_as(const char *instance, uint64_t lease_ms) {
        JobStore *s;

        ck_assert_int_eq(job_store_open(test_db_location(), &s), 0);
        if (instance)
                ck_assert_int_eq(job_store_set_lease(s, instance, lease_ms), 0);
        return s;
}

static void insert(JobStore *s, const char *id, bool running, bool delayed) {
        ck_assert_int_eq(
                job_store_insert(
                        s,
                        &(JobNew){ .id = id,
                                   .service = "nlp",
                                   .task = "tokenize",
                                   .priority = "normal",
                                   .payload = "{}",
                                   .running = running,
                                   .delayed = delayed,
                                   .run_at = delayed ? 4e9 : 0 }),
                0);
}

typedef struct Taken {
        pthread_mutex_t lock;
        char ids[512][40];
        unsigned n;
} Taken;

static int collect(const JobRow *row, void *userdata) {
        Taken *t = userdata;

        pthread_mutex_lock(&t->lock);
        ck_assert_uint_lt(t->n, ELEMENTSOF(t->ids));
        snprintf(t->ids[t->n++], sizeof(t->ids[0]), "%s", row->id);
        pthread_mutex_unlock(&t->lock);
        return 0;
}

static unsigned take(JobStore *s, bool at_start, Taken *t) {
        unsigned n;

        ck_assert_int_eq(job_store_lease_take(s, "task", at_start, 100, collect, t, &n), 0);
        return n;
}

START_TEST(test_lease_expiry_and_takeover) {
        JobStore *a = open_as("a", 3600 * 1000), *b = open_as("b", 3600 * 1000);
        Taken t = { .lock = PTHREAD_MUTEX_INITIALIZER };

        insert(a, "p1", false, false);
        insert(a, "r1", true, false);
        insert(a, "done", true, false);
        ck_assert_int_eq(job_store_transition(a, "done", JOB_COMPLETED, "{}", NULL, 0), 0);
        insert(a, "later", false, true);
        ck_assert(job_store_leasing(a));

        /* a's leases are live: b takes nothing, even at its own start */
        ck_assert_uint_eq(take(b, false, &t), 0);
        ck_assert_uint_eq(take(b, true, &t), 0);

        /* a renews with 1 ms leases and then stops (as if killed): they run out */
        ck_assert_int_eq(job_store_set_lease(a, "a", 1), 0);
        ck_assert_int_eq(job_store_lease_renew(a), 0);
        usleep(20 * 1000);
        ck_assert_uint_eq(take(b, false, &t), 2);
        ck_assert_str_eq(t.ids[0], "p1"); /* oldest first */
        ck_assert_str_eq(t.ids[1], "r1");
        /* b holds them now: a's next renewal does not win them back, nor does a take */
        ck_assert_int_eq(job_store_lease_renew(a), 0);
        ck_assert_uint_eq(take(a, false, &t), 0);
        ck_assert_uint_eq(take(b, false, &t), 0);
        ck_assert_uint_eq(t.n, 2);
        job_store_free(a);
        job_store_free(b);
}
END_TEST

START_TEST(test_lease_restart_same_name) {
        JobStore *none = open_as(NULL, 0), *a = open_as("a", 3600 * 1000), *b = open_as("b", 3600 * 1000),
                 *a2;
        Taken t = { .lock = PTHREAD_MUTEX_INITIALIZER };

        insert(none, "old", false, false); /* before leases: no owner */
        insert(a, "mine", true, false);
        ck_assert(!job_store_leasing(none));
        ck_assert_int_eq(job_store_lease_take(none, "task", true, 10, collect, &t, NULL), -EINVAL);

        /* a restarts under its name: its own live job and the unowned one come back */
        job_store_free(a);
        a2 = open_as("a", 3600 * 1000);
        ck_assert_uint_eq(take(a2, true, &t), 2);
        ck_assert_str_eq(t.ids[0], "old");
        ck_assert_str_eq(t.ids[1], "mine");
        ck_assert_uint_eq(take(b, true, &t), 0);
        job_store_free(a2);
        job_store_free(b);
        job_store_free(none);
}
END_TEST

typedef struct Racer {
        JobStore *s;
        Taken *t;
        unsigned taken;
} Racer;

static void *race(void *userdata) {
        Racer *r = userdata;
        unsigned n;

        do {
                ck_assert_int_eq(job_store_lease_take(r->s, "task", false, 7, collect, r->t, &n), 0);
                r->taken += n;
        } while (n > 0);
        return NULL;
}

START_TEST(test_lease_take_race) {
        JobStore *dead = open_as("dead", 1), *b = open_as("b", 3600 * 1000), *c = open_as("c", 3600 * 1000);
        static Taken t = { .lock = PTHREAD_MUTEX_INITIALIZER };
        Racer rb = { b, &t, 0 }, rc = { c, &t, 0 };
        pthread_t tb, tc;

        for (int i = 0; i < 200; i++) {
                char id[16];

                snprintf(id, sizeof(id), "j%03d", i);
                insert(dead, id, i % 2, false);
        }
        usleep(20 * 1000);
        ck_assert_int_eq(pthread_create(&tb, NULL, race, &rb), 0);
        ck_assert_int_eq(pthread_create(&tc, NULL, race, &rc), 0);
        ck_assert_int_eq(pthread_join(tb, NULL), 0);
        ck_assert_int_eq(pthread_join(tc, NULL), 0);
        ck_assert_uint_eq(rb.taken + rc.taken, 200);
        ck_assert_uint_eq(t.n, 200);
        for (unsigned i = 0; i < t.n; i++)
                for (unsigned j = i + 1; j < t.n; j++)
                        ck_assert_str_ne(t.ids[i], t.ids[j]);
        job_store_free(dead);
        job_store_free(b);
        job_store_free(c);
}
END_TEST

/* PostgreSQL: a commit through one store wakes the waiters of another (LISTEN/NOTIFY). */
START_TEST(test_listen_across_stores) {
        JobStore *a = open_as(NULL, 0), *b = open_as(NULL, 0);
        uint64_t connects = 0, wakeups, gen, t0;

        for (int i = 0; i < 250 && connects == 0; i++) {
                job_store_listen_stats(b, &connects, &wakeups);
                usleep(20 * 1000);
        }
        ck_assert_uint_eq(connects, 1);
        gen = job_store_generation(b);
        t0 = time_now_ms(CLOCK_MONOTONIC);
        insert(a, "seen-elsewhere", false, false);
        job_store_wait_change(b, gen, 10000, NULL);
        ck_assert_uint_ne(job_store_generation(b), gen);
        ck_assert_uint_lt(time_now_ms(CLOCK_MONOTONIC) - t0, 2000);
        job_store_listen_stats(b, &connects, &wakeups);
        ck_assert_uint_ge(wakeups, 1);
        job_store_free(a);
        job_store_free(b);
}
END_TEST

static int remember_in(const unsigned char mac[static 32], int64_t expires, int64_t now, void *userdata) {
        char hex[SHA256_HEX_SIZE];

        sha256_to_hex(mac, hex);
        return job_store_replay_remember(userdata, hex, (double) expires, (double) now);
}

/* The webhook replay memory on the store: a delivery accepted through one orchestrator's
 * verifier is a replay through another's, until its window ends. */
START_TEST(test_webhook_replay_across_stores) {
        static const char secret[] = "a webhook secret of the tests, 32+ bytes";
        static const char body[] = "{\"type\":\"order.created\"}";
        JobStore *a = open_as(NULL, 0), *b = open_as(NULL, 0);
        WebhookVerifier *va, *vb;
        unsigned char mac[32];
        unsigned len = 32;
        char hub[80] = "sha256=";
        const char *why;
        int64_t now = time(NULL);
        unsigned deleted;

        HMAC(EVP_sha256(),
             secret,
             (int) strlen(secret),
             (const unsigned char *) body,
             strlen(body),
             mac,
             &len);
        sha256_to_hex(mac, hub + 7);
        ck_assert_int_eq(webhook_verifier_new(secret, strlen(secret), 60, 0, &va), 0);
        ck_assert_int_eq(webhook_verifier_new(secret, strlen(secret), 60, 0, &vb), 0);
        webhook_verifier_set_memory(va, remember_in, a);
        webhook_verifier_set_memory(vb, remember_in, b);
        ck_assert_int_eq(webhook_verify(va, hub, NULL, body, strlen(body), now, &why), WEBHOOK_VALID);
        ck_assert_int_eq(webhook_verify(vb, hub, NULL, body, strlen(body), now, &why), WEBHOOK_REPLAY);
        ck_assert_int_eq(webhook_verify(va, hub, NULL, body, strlen(body), now + 1, &why), WEBHOOK_REPLAY);
        /* past its window it is accepted again (a hub signature has no timestamp) */
        ck_assert_int_eq(webhook_verify(vb, hub, NULL, body, strlen(body), now + 61, &why), WEBHOOK_VALID);
        ck_assert_int_eq(webhook_verify(va, hub, NULL, body, strlen(body), now + 62, &why), WEBHOOK_REPLAY);

        /* the store on its own: remembered, live, expired and revived, swept */
        ck_assert_int_eq(job_store_replay_remember(a, "00ff", (double) now - 5, (double) now - 10), 0);
        ck_assert_int_eq(job_store_replay_remember(b, "00ff", (double) now - 5, (double) now - 9), 1);
        ck_assert_int_eq(job_store_cleanup(a, 3600 * 1000, &deleted), 0);
        ck_assert_int_eq(job_store_replay_remember(b, "00ff", (double) now + 60, (double) now - 9), 0);
        webhook_verifier_free(va);
        webhook_verifier_free(vb);
        job_store_free(a);
        job_store_free(b);
}
END_TEST

/* A principal's rate and a key's minute windows count across two orchestrators' stores. */
START_TEST(test_limits_across_stores) {
        JobStore *a = open_as(NULL, 0), *b = open_as(NULL, 0);
        RateLimiter *la, *lb;
        ApiKeyMeter *ma, *mb;
        RateLimitDecision d;
        ApiKeyDecision k;
        KeyLimits rpm = { .rpm = 3 }, tpm = { .tpm = 10 };
        double now = (double) time(NULL);

        /* 1 token a second, burst 3: three requests pass across both, the fourth waits */
        ck_assert_int_eq(ratelimit_new(1.0, 3, &la), 0);
        ck_assert_int_eq(ratelimit_new(1.0, 3, &lb), 0);
        ratelimit_share(la, a);
        ratelimit_share(lb, b);
        for (int i = 0; i < 3; i++) {
                ratelimit_take(i % 2 ? lb : la, "alice", 0, &d);
                ck_assert(d.allowed);
                ck_assert_uint_eq(d.limit, 3);
                ck_assert_uint_eq(d.remaining, (unsigned) (2 - i));
        }
        ratelimit_take(lb, "alice", 0, &d);
        ck_assert(!d.allowed);
        ck_assert_uint_ge(d.retry_after_s, 1);
        ratelimit_take(la, "bob", 0, &d); /* another principal's bucket is full */
        ck_assert(d.allowed);
        ck_assert_uint_eq(d.remaining, 2);

        /* RPM 3 in this minute across both; TPM counts the tokens either one added */
        ck_assert_int_eq(apikey_meter_new(&ma), 0);
        ck_assert_int_eq(apikey_meter_new(&mb), 0);
        apikey_meter_share(ma, a);
        apikey_meter_share(mb, b);
        for (int i = 0; i < 3; i++) {
                apikey_meter_take(i % 2 ? mb : ma, "ci", &rpm, now, &k);
                ck_assert_ptr_null(k.limit);
                ck_assert_int_eq(k.remaining, 2 - i);
        }
        apikey_meter_take(mb, "ci", &rpm, now, &k);
        ck_assert_str_eq(k.limit, "rpm");
        apikey_meter_take(ma, "ci", &rpm, now + 60, &k); /* the next minute */
        ck_assert_ptr_null(k.limit);
        apikey_meter_take(ma, "tok", &tpm, now, &k);
        ck_assert_ptr_null(k.limit);
        apikey_meter_add_tokens(ma, "tok", 10, now);
        apikey_meter_take(mb, "tok", &tpm, now, &k);
        ck_assert_str_eq(k.limit, "tpm");

        ratelimit_free(la);
        ratelimit_free(lb);
        apikey_meter_free(ma);
        apikey_meter_free(mb);
        job_store_free(a);
        job_store_free(b);
}
END_TEST

int main(void) {
        Suite *s = suite_create("job-store-lease");
        TCase *tc = tcase_create("lease");

        tcase_add_checked_fixture(tc, lease_setup, lease_teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_lease_expiry_and_takeover);
        tcase_add_test(tc, test_lease_restart_same_name);
        tcase_add_test(tc, test_lease_take_race);
        tcase_add_test(tc, test_webhook_replay_across_stores);
        tcase_add_test(tc, test_limits_across_stores);
        if (test_db_url()) /* the SQLite program has one process's waiters only */
                tcase_add_test(tc, test_listen_across_stores);
        suite_add_tcase(s, tc);
        return check_run(s);
}
