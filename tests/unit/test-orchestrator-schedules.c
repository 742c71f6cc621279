/* SPDX-License-Identifier: MIT */
/* test-orchestrator-schedules.c — schedules and delayed jobs through the real routes,
 * store, timer and runner against the fake upstream. The rules are driven on an injected
 * clock (ORCH config schedules_manual: no timer thread, schedule_timer_tick() by hand):
 * runs as jobs linked to their schedule, pause, catch-up none/one/all across a restart,
 * the overlap rules, two timers on one store. The thread itself: an every-1s schedule and
 * a delayed job that survives a restart. */
#include <math.h>

#include "check-run.h"
#include "orch-test.h"

/* A due time a day ahead on a whole minute, so that the real clock never reaches it. */
static double future_t0(void) {
        return floor(time_now_s(CLOCK_REALTIME) / 60.0) * 60.0 + 86400.0;
}

static void rfc3339(double t, char buf[static 32]) {
        job_format_time(t, buf);
}

/* POST /schedules with extra (the timing and options) on an nlp task: the schedule id. */
static char *create(const char *extra, const char *text, const char *const *headers) {
        char body[1024];
        Reply r;
        char *id;

        snprintf(
                body,
                sizeof(body),
                "{\"service\": \"nlp\", \"task\": \"sentiment\", \"payload\": {\"text\": \"%s\"}, %s}",
                text,
                extra);
        r = request("POST", "/schedules", body, headers);
        ck_assert_msg(r.status == 201, "POST /schedules %s: %ld %s", body, r.status, r.raw);
        ck_assert(strstr(r.headers, "Location: /schedules/"));
        id = strdup(jstr(r.body, "schedule_id"));
        reply_done(&r);
        return id;
}

static json_object *get_schedule(const char *id) {
        return get_object("/schedules/", id);
}

static int64_t num(json_object *o, const char *key) {
        return json_object_get_int64(json_object_object_get(o, key));
}

static int64_t schedule_num(const char *id, const char *key) {
        json_object *o = get_schedule(id);
        int64_t v = num(o, key);

        json_object_put(o);
        return v;
}

static void tick(double now) {
        double next;
        bool held;

        ck_assert_int_eq(schedule_timer_tick(orch.schedules, now, &next, &held), 0);
}

/* The schedule's last job, waited for until it is completed. */
static void wait_last_completed(const char *id) {
        json_object *s = get_schedule(id), *j;

        ck_assert_ptr_nonnull(jstr(s, "last_job_id"));
        j = wait_job(jstr(s, "last_job_id"), "completed");
        json_object_put(j);
        json_object_put(s);
}

static void start_manual(void) {
        orch.config.schedules_manual = true;
        start_orchestrator(4, 64);
}

/* Every bad field is a 422 naming that field. */
START_TEST(test_validation) {
        static const struct {
                const char *extra, *field;
        } cases[] = {
                { "\"cron\": \"61 * * * *\"", "cron" },
                { "\"cron\": \"* * * *\"", "cron" },
                { "\"every\": 0.5", "every" },
                { "\"every\": \"10 minutes\"", "every" },
                { "\"every\": \"1s\", \"overlap\": \"sometimes\"", "overlap" },
                { "\"every\": \"1s\", \"catch_up\": true", "catch_up" },
                { "\"every\": \"1s\", \"catch_up\": \"most\"", "catch_up" },
                { "\"every\": \"1s\", \"start_at\": \"tomorrow\"", "start_at" },
                { "\"priority\": \"urgent\", \"every\": 5", "priority" },
                { "\"cron\": \"0 0 30 feb *\"", "cron" },
                { "\"cron\": \"* * * * *\", \"every\": 5", "every" },
                { "\"timeout\": 1", "cron" },
        };
        start_manual();
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char body[512];
                Reply r;

                snprintf(
                        body,
                        sizeof(body),
                        "{\"service\": \"nlp\", \"task\": \"sentiment\", \"payload\": {\"text\": \"x\"}, %s}",
                        cases[i].extra);
                r = request("POST", "/schedules", body, NULL);
                ck_assert_msg(r.status == 422, "%s: %ld", body, r.status);
                ck_assert_str_eq(
                        jstr(json_object_array_get_idx(json_object_object_get(r.body, "errors"), 0),
                             "field"),
                        cases[i].field);
                reply_done(&r);
        }
        ck_assert_int_eq(
                request_status(
                        "POST",
                        "/schedules",
                        "{\"service\": \"nlp\", \"task\": \"nope\", \"every\": 5}",
                        NULL),
                422);
        ck_assert_int_eq(
                request_status("GET", "/schedules/0190a0a0-0000-7000-8000-000000000000", NULL, NULL), 404);
        ck_assert_int_eq(
                request_status("DELETE", "/schedules/0190a0a0-0000-7000-8000-000000000000", NULL, NULL),
                404);
}
END_TEST

/* Runs become jobs with the schedule's id and due time; pause stops them; the schedule
 * counts them; delete leaves the jobs. */
START_TEST(test_runs_are_linked_jobs) {
        double t0 = future_t0();
        char start[32], extra[128], due[32], path[128];
        _cleanup_free_ char *id = NULL;
        json_object *s, *j;
        Reply r;

        start_manual();
        rfc3339(t0, start);
        snprintf(extra, sizeof(extra), "\"every\": \"10s\", \"start_at\": \"%s\"", start);
        id = create(extra, "good", NULL);
        s = get_schedule(id);
        ck_assert_str_eq(jstr(s, "next_run_at"), start);
        ck_assert_str_eq(jstr(s, "overlap"), "skip");
        ck_assert_str_eq(jstr(s, "catch_up"), "none");
        ck_assert_int_eq(num(s, "runs"), 0);
        json_object_put(s);

        tick(t0 - 1);
        ck_assert_int_eq(schedule_num(id, "runs"), 0);
        tick(t0);
        s = get_schedule(id);
        ck_assert_int_eq(num(s, "runs"), 1);
        rfc3339(t0 + 10, due);
        ck_assert_str_eq(jstr(s, "next_run_at"), due);
        j = wait_job(jstr(s, "last_job_id"), "completed");
        ck_assert_str_eq(jstr(j, "schedule_id"), id);
        ck_assert_str_eq(jstr(j, "run_at"), start);
        ck_assert_str_eq(jstr(j, "service"), "nlp");
        ck_assert_str_eq(jstr(j, "task"), "sentiment");
        json_object_put(j);
        json_object_put(s);

        tick(t0 + 10);
        wait_last_completed(id);
        tick(t0 + 20);
        wait_last_completed(id);
        s = get_schedule(id);
        ck_assert_int_eq(num(s, "runs"), 3);
        ck_assert_int_eq(num(json_object_object_get(s, "jobs"), "completed"), 3);
        json_object_put(s);

        snprintf(path, sizeof(path), "/schedules/%s/pause", id);
        r = request("POST", path, "{}", NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert(json_object_get_boolean(json_object_object_get(r.body, "paused")));
        reply_done(&r);
        tick(t0 + 30);
        tick(t0 + 40);
        ck_assert_int_eq(schedule_num(id, "runs"), 3);

        r = request("GET", "/schedules", NULL, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.body, "schedules")), 1);
        reply_done(&r);
        snprintf(path, sizeof(path), "/schedules/%s", id);
        ck_assert_int_eq(request_status("DELETE", path, NULL, NULL), 200);
        ck_assert_int_eq(request_status("GET", path, NULL, NULL), 404);
        tick(t0 + 50);
        r = request("GET", "/jobs?limit=100", NULL, NULL);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.body, "jobs")), 3);
        reply_done(&r);
}
END_TEST

/* One run at t0, the orchestrator down until t0 + 645 (runs due at 60, 120 ... 600, the
 * last 45 s late): after the restart none fires nothing, one the latest, all every one. */
static void catch_up_case(const char *mode, int64_t fired, int64_t missed) {
        double t0 = future_t0();
        char start[32], extra[160];
        _cleanup_free_ char *id = NULL;
        json_object *s;

        start_manual();
        rfc3339(t0, start);
        snprintf(
                extra,
                sizeof(extra),
                "\"every\": 60, \"start_at\": \"%s\", \"catch_up\": \"%s\", \"overlap\": \"allow\"",
                start,
                mode);
        id = create(extra, "good", NULL);
        tick(t0);
        ck_assert_int_eq(schedule_num(id, "runs"), 1);
        stop_orchestrator();

        start_manual();
        tick(t0 + 645);
        s = get_schedule(id);
        ck_assert_msg(num(s, "runs") == 1 + fired, "%s: %" PRId64 " runs", mode, num(s, "runs"));
        ck_assert_int_eq(num(s, "missed"), missed);
        {
                char next[32];

                rfc3339(t0 + 660, next);
                ck_assert_str_eq(jstr(s, "next_run_at"), next);
        }
        json_object_put(s);
        /* Nothing more at the next look: each run is claimed once. */
        tick(t0 + 646);
        ck_assert_int_eq(schedule_num(id, "runs"), 1 + fired);
}

START_TEST(test_catch_up_none) {
        catch_up_case("none", 0, 10);
}
END_TEST

START_TEST(test_catch_up_one) {
        catch_up_case("one", 1, 9);
}
END_TEST

START_TEST(test_catch_up_all) {
        catch_up_case("all", 10, 0);
}
END_TEST

/* A run of 1.5 s (fake upstream "sleep:1500") still running at the next due time. */
START_TEST(test_overlap_rules) {
        double t0 = future_t0();
        char start[32], extra[160];
        _cleanup_free_ char *skip = NULL, *queue = NULL, *allow = NULL;
        json_object *s;

        start_manual();
        rfc3339(t0, start);
        snprintf(extra, sizeof(extra), "\"every\": 10, \"start_at\": \"%s\", \"overlap\": \"skip\"", start);
        skip = create(extra, "sleep:1500", NULL);
        snprintf(extra, sizeof(extra), "\"every\": 10, \"start_at\": \"%s\", \"overlap\": \"queue\"", start);
        queue = create(extra, "sleep:1500", NULL);
        snprintf(extra, sizeof(extra), "\"every\": 10, \"start_at\": \"%s\", \"overlap\": \"allow\"", start);
        allow = create(extra, "sleep:1500", NULL);

        tick(t0);
        tick(t0 + 10); /* every first run is still running */
        ck_assert_int_eq(schedule_num(skip, "runs"), 1);
        ck_assert_int_eq(schedule_num(skip, "skipped"), 1);
        ck_assert_int_eq(schedule_num(allow, "runs"), 2);
        s = get_schedule(queue);
        ck_assert_int_eq(num(s, "runs"), 1);
        ck_assert_int_eq(num(s, "skipped"), 0);
        ck_assert_ptr_nonnull(jstr(s, "held_run_at"));
        json_object_put(s);
        tick(t0 + 20); /* queue holds one run at most */
        ck_assert_int_eq(schedule_num(queue, "skipped"), 1);
        ck_assert_int_eq(schedule_num(queue, "runs"), 1);

        wait_last_completed(queue);
        tick(t0 + 21); /* the held run goes once its previous one is done */
        s = get_schedule(queue);
        ck_assert_int_eq(num(s, "runs"), 2);
        ck_assert_ptr_null(jstr(s, "held_run_at"));
        json_object_put(s);
        wait_last_completed(skip);
        tick(t0 + 30);
        ck_assert_int_eq(schedule_num(skip, "runs"), 2);
}
END_TEST

/* Two timers on one store (two orchestrators, issue 19): each run fires once. */
START_TEST(test_two_timers_one_store) {
        double t0 = future_t0();
        char start[32], extra[160];
        _cleanup_free_ char *id = NULL;
        ScheduleTimer *other = NULL;
        double next;
        bool held;

        start_manual();
        rfc3339(t0, start);
        snprintf(extra, sizeof(extra), "\"every\": 10, \"start_at\": \"%s\", \"overlap\": \"allow\"", start);
        id = create(extra, "good", NULL);
        ck_assert_int_eq(schedule_timer_new(orch.store, orch.runner, &other), 0);
        for (int i = 0; i < 5; i++) {
                tick(t0 + 10 * i);
                ck_assert_int_eq(schedule_timer_tick(other, t0 + 10 * i, &next, &held), 0);
        }
        schedule_timer_free(other);
        ck_assert_int_eq(schedule_num(id, "runs"), 5);
}
END_TEST

/* The thread: an every-1s schedule runs about once a second; pause stops it. */
START_TEST(test_timer_thread_every_second) {
        _cleanup_free_ char *id = NULL;
        char path[128];
        int64_t runs;
        double t0;

        orch.config.schedules_manual = false;
        start_orchestrator(4, 64);
        t0 = time_now_s(CLOCK_MONOTONIC);
        id = create("\"every\": \"1s\"", "good", NULL);
        /* Its runs fall 1, 2 and 3 s after it was made: 3 runs take at least 3 s. */
        while ((runs = schedule_num(id, "runs")) < 3 && time_now_s(CLOCK_MONOTONIC) - t0 < 8)
                usleep(50 * 1000);
        ck_assert_int_ge(runs, 3);
        ck_assert_double_ge(time_now_s(CLOCK_MONOTONIC) - t0, 2.95);
        snprintf(path, sizeof(path), "/schedules/%s/pause", id);
        ck_assert_int_eq(request_status("POST", path, "{}", NULL), 200);
        usleep(200 * 1000); /* a run claimed just before the pause is counted once its job is stored */
        runs = schedule_num(id, "runs");
        usleep(1500 * 1000);
        ck_assert_int_eq(schedule_num(id, "runs"), runs);
        snprintf(path, sizeof(path), "/schedules/%s/resume", id);
        ck_assert_int_eq(request_status("POST", path, "{}", NULL), 200);
        usleep(1500 * 1000);
        ck_assert_int_gt(schedule_num(id, "runs"), runs);
}
END_TEST

/* run_at: the job waits in the store, through a restart, and runs once due. */
START_TEST(test_delayed_job_survives_restart) {
        double at = ceil(time_now_s(CLOCK_REALTIME)) + 2;
        char body[256], when[32], job_id[64];
        json_object *j;
        Reply r;

        orch.config.schedules_manual = false;
        start_orchestrator(4, 64);
        ck_assert_int_eq(
                request_status(
                        "POST",
                        "/dispatch",
                        "{\"service\": \"nlp\", \"task\": \"sentiment\", \"payload\": {\"text\": \"x\"}, \"run_at\": \"soon\"}",
                        NULL),
                422);
        rfc3339(at, when);
        snprintf(
                body,
                sizeof(body),
                "{\"service\": \"nlp\", \"task\": \"sentiment\", \"payload\": {\"text\": \"x\"}, \"run_at\": \"%s\"}",
                when);
        r = request("POST", "/dispatch", body, NULL); /* not async: run_at answers 202 anyway */
        ck_assert_int_eq(r.status, 202);
        ck_assert_str_eq(jstr(r.body, "run_at"), when);
        snprintf(job_id, sizeof(job_id), "%s", jstr(r.body, "job_id"));
        reply_done(&r);
        stop_orchestrator();
        start_orchestrator(4, 64);
        j = get_job(job_id);
        ck_assert_str_eq(jstr(j, "status"), "pending");
        ck_assert_str_eq(jstr(j, "run_at"), when);
        json_object_put(j);
        j = wait_job(job_id, "completed");
        ck_assert(time_now_s(CLOCK_REALTIME) >= at);
        json_object_put(j);

        /* A delayed job cancelled before its time never runs. */
        rfc3339(at + 600, when);
        snprintf(
                body,
                sizeof(body),
                "{\"service\": \"nlp\", \"task\": \"sentiment\", \"payload\": {\"text\": \"x\"}, \"run_at\": \"%s\"}",
                when);
        r = request("POST", "/dispatch", body, NULL);
        ck_assert_int_eq(r.status, 202);
        snprintf(job_id, sizeof(job_id), "%s", jstr(r.body, "job_id"));
        reply_done(&r);
        {
                char path[128];

                snprintf(path, sizeof(path), "/jobs/%s", job_id);
                ck_assert_int_eq(request_status("DELETE", path, NULL, NULL), 200);
        }
        orch.config.schedules_manual = true;
        stop_orchestrator();
        start_orchestrator(4, 64);
        {
                double next;
                bool held;

                ck_assert_int_eq(schedule_timer_tick(orch.schedules, at + 601, &next, &held), 0);
        }
        j = get_job(job_id);
        ck_assert_str_eq(jstr(j, "status"), "cancelled");
        json_object_put(j);
}
END_TEST

/* A principal's schedules are its own: another operator gets 404, a viewer may not make
 * one, an admin sees every one; the runs are the creator's jobs. */
START_TEST(test_scoped_to_principal) {
        char alice[1024], bob[1024], viewer[1024], admin[1024], path[128];
        _cleanup_free_ char *id = NULL;
        const char *ha[] = { alice, NULL }, *hb[] = { bob, NULL }, *hv[] = { viewer, NULL },
                   *hadm[] = { admin, NULL };
        Reply r;

        orch.config.schedules_manual = true;
        start_with_auth();
        bearer(alice, sizeof(alice), "alice", "operator");
        bearer(bob, sizeof(bob), "bob", "operator");
        bearer(viewer, sizeof(viewer), "vera", "viewer");
        bearer(admin, sizeof(admin), "root", "admin");
        id = create("\"every\": 60", "good", ha);
        snprintf(path, sizeof(path), "/schedules/%s", id);
        ck_assert_int_eq(request_status("GET", path, NULL, hb), 404);
        ck_assert_int_eq(request_status("DELETE", path, NULL, hb), 404);
        ck_assert_int_eq(
                request_status(
                        "POST",
                        "/schedules",
                        "{\"service\": \"nlp\", \"task\": \"sentiment\", \"every\": 5}",
                        hv),
                403);
        r = request("GET", "/schedules", NULL, hb);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.body, "schedules")), 0);
        reply_done(&r);
        r = request("GET", path, NULL, hadm);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(jstr(json_object_object_get(r.body, "created_by"), "sub"), "alice");
        reply_done(&r);
        ck_assert_int_eq(request_status("DELETE", path, NULL, ha), 200);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("orchestrator-schedules");
        TCase *tc = tcase_create("schedules");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_validation);
        tcase_add_test(tc, test_runs_are_linked_jobs);
        tcase_add_test(tc, test_catch_up_none);
        tcase_add_test(tc, test_catch_up_one);
        tcase_add_test(tc, test_catch_up_all);
        tcase_add_test(tc, test_overlap_rules);
        tcase_add_test(tc, test_two_timers_one_store);
        tcase_add_test(tc, test_timer_thread_every_second);
        tcase_add_test(tc, test_delayed_job_survives_restart);
        tcase_add_test(tc, test_scoped_to_principal);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
