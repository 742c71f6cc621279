/* SPDX-License-Identifier: MIT */
/* test-orchestrator-keys.c — API keys, token usage and budgets end to end: the real
 * handlers and SQLite store against the fake llm, whose /v1/chat/completions reports usage
 * (7 + 5 tokens as JSON, 7 + 3 streamed). A key is created, used, metered, refused when
 * over its budget or RPM (and then never reaches the backend), and revoked. */
#include <check.h>
#include <fcntl.h>
#include <sys/wait.h>

#include "apikey.h"
#include "check-run.h"
#include "orch-test.h"
#include "usage.h"

#define CHAT "{\"model\":\"fake\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
#define CHAT_STREAM \
        "{\"model\":\"fake\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi gap:1\"}]}"

static char admin[1024];

/* The minute windows and the UTC day are wall-clock periods: a test that counts within one
 * starts at least 5 s before the next, so that its requests all fall in the same one. */
static void away_from_minute_end(void) {
        while (60 - time(NULL) % 60 < 5)
                usleep(200 * 1000);
}

static void start_keys(void) {
        start_with_auth();
        bearer(admin, sizeof(admin), "root", "admin");
}

/* POST /keys with body as admin: 201 expected; the key in ret_key, its id in ret_id. */
static void create_key(const char *body, char ret_key[static APIKEY_SECRET_MAX], char ret_id[static 64]) {
        const char *h[] = { admin, NULL };
        Reply r = request("POST", "/keys", body, h);

        ck_assert_msg(r.status == 201, "%ld %s", r.status, r.raw);
        ck_assert_ptr_nonnull(jstr(r.body, "key"));
        snprintf(ret_key, APIKEY_SECRET_MAX, "%s", jstr(r.body, "key"));
        snprintf(ret_id, 64, "%s", jstr(r.body, "id"));
        ck_assert(startswith(ret_key, "ais_"));
        ck_assert_uint_eq(strlen(ret_key), 4 + 43);
        ck_assert(strncmp(jstr(r.body, "prefix"), ret_key, strlen(jstr(r.body, "prefix"))) == 0);
        ck_assert_uint_lt(strlen(jstr(r.body, "prefix")), 16);
        reply_done(&r);
}

static const char *key_header(char *buf, size_t size, const char *key) {
        snprintf(buf, size, "Authorization: Bearer %s", key);
        return buf;
}

static json_object *usage_totals(Reply *r) {
        json_object *t = json_object_object_get(r->body, "totals");

        ck_assert_ptr_nonnull(t);
        return t;
}

static int64_t jint(json_object *o, const char *field) {
        json_object *v;

        ck_assert_msg(json_object_object_get_ex(o, field, &v), "no %s", field);
        return json_object_get_int64(v);
}

static bool file_contains(const char *path, const char *needle) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        FILE *f = fopen(path, "re");
        bool found;

        if (!f)
                return false;
        text = malloc(64 << 20);
        ck_assert_ptr_nonnull(text);
        len = fread(text, 1, 64 << 20, f);
        fclose(f);
        found = memmem(text, len, needle, strlen(needle)) != NULL;
        return found;
}

/* Does the job store hold needle anywhere: the SQLite file or its WAL, or on PostgreSQL
 * any row of the tables a key or a request could reach, as text? */
static bool store_contains(const char *needle) {
        char wal[160];

        if (test_db_url()) {
                _cleanup_stmt_ StoreStmt *st = NULL;
                StoreDb *db = NULL;
                bool found;

                ck_assert_int_eq(store_db_open(test_db_url(), &db), 0);
                ck_assert_int_eq(
                        store_db_prepare(
                                db,
                                "SELECT count(*) FROM (SELECT k::text AS t FROM api_keys k "
                                "UNION ALL SELECT a::text FROM audit a UNION ALL SELECT j::text FROM jobs j "
                                "UNION ALL SELECT e::text FROM job_events e UNION ALL SELECT u::text FROM usage u) x "
                                "WHERE strpos(t, ?1) > 0",
                                0,
                                &st),
                        0);
                store_bind_text(st, 1, needle);
                ck_assert_int_eq(store_step(st), 1);
                found = store_column_int64(st, 0) > 0;
                store_stmt_finalize(TAKE_PTR(st));
                store_db_close(db);
                return found;
        }
        snprintf(wal, sizeof(wal), "%s-wal", db_path);
        return file_contains(db_path, needle) || file_contains(wal, needle);
}

static bool header_is(const Reply *r, const char *name, const char *value) {
        char want[256];

        snprintf(want, sizeof(want), "\n%s: %s\r\n", name, value);
        return strcasestr(r->headers, want) != NULL;
}

/* A chat with the key's header refused with 429 naming limit (of max), with Retry-After
 * and RateLimit-*, before any backend call. */
static void expect_limited(const char *const *hk, const char *limit, const char *max, const char *detail) {
        unsigned calls = fake_upstream_calls();
        Reply r = request("POST", "/v1/chat/completions", CHAT, hk);

        ck_assert_msg(r.status == 429, "%ld %s", r.status, r.raw);
        ck_assert_str_eq(jstr(r.body, "limit"), limit);
        ck_assert_msg(strstr(jstr(r.body, "detail"), detail), "%s", r.raw);
        ck_assert_msg(header_is(&r, "RateLimit-Limit", max), "%s", r.headers);
        ck_assert_msg(header_is(&r, "RateLimit-Remaining", "0"), "%s", r.headers);
        ck_assert_ptr_nonnull(strcasestr(r.headers, "\nRetry-After: "));
        ck_assert_ptr_nonnull(strcasestr(r.headers, "\nRateLimit-Reset: "));
        ck_assert_ptr_nonnull(strcasestr(r.headers, "Content-Type: application/problem+json"));
        reply_done(&r);
        ck_assert_uint_eq(fake_upstream_calls(), calls);
}

/* ---- the life of a key ----------------------------------------------------------------- */

START_TEST(test_key_create_use_budget_revoke) {
        char key[APIKEY_SECRET_MAX], id[64], kh[256], log_path[192], path[128];
        const char *hk[] = { NULL, NULL }, *ha[] = { admin, NULL };
        unsigned calls;
        int saved_stderr, fd;
        Reply r;

        /* Everything the orchestrator logs during the test, to look for the key in. */
        snprintf(log_path, sizeof(log_path), "%s/stderr.log", tmpdir);
        fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        saved_stderr = dup(STDERR_FILENO);
        ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);

        away_from_minute_end();
        start_keys();
        create_key("{\"name\":\"ci-bot\",\"role\":\"operator\",\"budget_tokens_day\":20}", key, id);
        hk[0] = key_header(kh, sizeof(kh), key);

        /* Listed with its prefix and budget, never the key or its hash. */
        r = request("GET", "/keys", NULL, ha);
        ck_assert_int_eq(r.status, 200);
        ck_assert_ptr_null(strstr(r.raw, key));
        ck_assert_ptr_null(strstr(r.raw, "hash"));
        {
                json_object *k = json_object_array_get_idx(json_object_object_get(r.body, "keys"), 0);

                ck_assert_str_eq(jstr(k, "name"), "ci-bot");
                ck_assert_str_eq(jstr(k, "role"), "operator");
                ck_assert_str_eq(jstr(k, "id"), id);
                ck_assert_int_eq(jint(k, "budget_tokens_day"), 20);
                ck_assert(!json_object_get_boolean(json_object_object_get(k, "revoked")));
                ck_assert_ptr_null(json_object_object_get(k, "key"));
        }
        reply_done(&r);

        /* Used as a bearer token: 12 tokens (JSON), then 10 more streamed. */
        r = request("POST", "/v1/chat/completions", CHAT, hk);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.raw);
        reply_done(&r);
        r = request("GET", "/keys", NULL, ha);
        ck_assert_ptr_nonnull(
                jstr(json_object_array_get_idx(json_object_object_get(r.body, "keys"), 0), "last_used"));
        reply_done(&r);
        r = request("GET", "/usage", NULL, hk);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(jstr(r.body, "principal"), "key:ci-bot");
        ck_assert_int_eq(jint(usage_totals(&r), "prompt_tokens"), 7);
        ck_assert_int_eq(jint(usage_totals(&r), "completion_tokens"), 5);
        ck_assert_int_eq(jint(usage_totals(&r), "requests"), 1);
        {
                json_object *row = json_object_array_get_idx(json_object_object_get(r.body, "usage"), 0);

                ck_assert_str_eq(jstr(row, "model"), "fake");
                ck_assert_str_eq(jstr(row, "principal"), "key:ci-bot");
        }
        reply_done(&r);
        r = request("POST", "/v1/chat/completions", CHAT_STREAM, hk);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.raw);
        ck_assert_ptr_nonnull(strstr(r.raw, "data: [DONE]"));
        reply_done(&r);
        r = request("GET", "/usage", NULL, hk);
        ck_assert_int_eq(jint(usage_totals(&r), "prompt_tokens"), 14);
        ck_assert_int_eq(jint(usage_totals(&r), "completion_tokens"), 8);
        ck_assert_int_eq(jint(usage_totals(&r), "total_tokens"), 22);
        reply_done(&r);

        /* 22 >= 20: the day's budget is spent; refused before a job or a backend call. */
        expect_limited(hk, "budget_tokens_day", "20", "budget_tokens_day of 20 tokens");
        r = request("GET", "/jobs", NULL, hk);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.body, "jobs")), 2);
        reply_done(&r);

        /* The admin sees it under the key's principal; the metrics count it per key. */
        r = request("GET", "/usage?principal=key%3Aci-bot&since=2000-01-01", NULL, ha);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(jint(usage_totals(&r), "total_tokens"), 22);
        reply_done(&r);
        {
                _cleanup_free_ char *text = NULL;
                size_t size;

                ck_assert_int_eq(metrics_registry_render(registry, &text, &size), 0);
                ck_assert_ptr_nonnull(
                        strstr(text, "orch_key_tokens_total{key=\"ci-bot\",kind=\"prompt\"} 14\n"));
                ck_assert_ptr_nonnull(
                        strstr(text, "orch_key_tokens_total{key=\"ci-bot\",kind=\"completion\"} 8\n"));
                ck_assert_ptr_nonnull(strstr(
                        text, "orch_key_limited_total{key=\"ci-bot\",limit=\"budget_tokens_day\"} 1\n"));
        }

        /* Revoked: 401 at once, and the backend is not called. */
        snprintf(path, sizeof(path), "/keys/%s", id);
        r = request("DELETE", path, NULL, ha);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.raw);
        ck_assert(json_object_get_boolean(json_object_object_get(r.body, "revoked")));
        reply_done(&r);
        calls = fake_upstream_calls();
        r = request("POST", "/v1/chat/completions", CHAT, hk);
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_nonnull(strstr(r.headers, "revoked API key"));
        reply_done(&r);
        ck_assert_int_eq(request_status("GET", "/usage", NULL, hk), 401);
        ck_assert_uint_eq(fake_upstream_calls(), calls);
        r = request("GET", "/keys", NULL, ha);
        ck_assert(json_object_get_boolean(json_object_object_get(
                json_object_array_get_idx(json_object_object_get(r.body, "keys"), 0), "revoked")));
        reply_done(&r);
        ck_assert_int_eq(
                request_status("DELETE", "/keys/00000000-0000-0000-0000-000000000000", NULL, ha), 404);

        /* Both changes are in the audit log, naming the key's name and id. */
        audit_wait(admin, 4);
        r = audit_rows(admin, "?action=key.create");
        ck_assert_str_eq(jstr(find_row(&r, "key.create", 201), "target"), "ci-bot");
        reply_done(&r);
        r = audit_rows(admin, "?action=key.revoke");
        ck_assert_str_eq(jstr(find_row(&r, "key.revoke", 200), "target"), id);
        reply_done(&r);

        /* The key is in neither the database (nor its WAL) nor the logs. */
        stop_orchestrator();
        ck_assert_int_eq(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
        close(saved_stderr);
        ck_assert(file_contains(log_path, "bearer auth on")); /* the capture worked */
        ck_assert(!file_contains(log_path, key));
        ck_assert(!file_contains(log_path, key + 4));
        ck_assert(store_contains("ci-bot")); /* the search would find text */
        ck_assert(!store_contains(key + 4));
}
END_TEST

START_TEST(test_key_rpm_and_x_api_key) {
        char key[APIKEY_SECRET_MAX], id[64], kh[256], xk[256];
        const char *hk[] = { NULL, NULL }, *hx[] = { NULL, NULL };
        unsigned calls;

        away_from_minute_end();
        start_keys();
        create_key("{\"name\":\"agent.1\",\"rpm\":2}", key, id);
        hk[0] = key_header(kh, sizeof(kh), key);
        snprintf(xk, sizeof(xk), "x-api-key: %s", key);
        hx[0] = xk;
        calls = fake_upstream_calls();
        ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, hk), 200);
        /* Anthropic's header carries a key as it carries a JWT. */
        ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, hx), 200);
        ck_assert_uint_eq(fake_upstream_calls(), calls + 2);
        expect_limited(hk, "rpm", "2", "rpm of 2 requests");
        ck_assert_uint_eq(fake_upstream_calls(), calls + 2);
        /* Reading is not metered: the key still sees its jobs and usage. */
        ck_assert_int_eq(request_status("GET", "/jobs", NULL, hk), 200);
        ck_assert_int_eq(request_status("GET", "/usage", NULL, hk), 200);
}
END_TEST

/* TPM counts the tokens answers reported this minute; a month budget the usage table. */
START_TEST(test_key_tpm_and_month_budget) {
        char key[APIKEY_SECRET_MAX], id[64], kh[256];
        const char *hk[] = { NULL, NULL };

        away_from_minute_end();
        start_keys();
        create_key("{\"name\":\"tpm\",\"tpm\":10}", key, id);
        hk[0] = key_header(kh, sizeof(kh), key);
        ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, hk), 200); /* 12 tokens */
        expect_limited(hk, "tpm", "10", "tpm of 10 tokens");

        create_key("{\"name\":\"month\",\"budget_tokens_month\":5}", key, id);
        hk[0] = key_header(kh, sizeof(kh), key);
        ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, hk), 200);
        expect_limited(hk, "budget_tokens_month", "5", "budget_tokens_month of 5 tokens");
}
END_TEST

/* A stream longer than what its job keeps (JOB_RELAY_KEEP) is counted all the same: its
 * usage chunk comes last. */
START_TEST(test_usage_of_a_long_stream) {
        char op[1024];
        const char *ho[] = { op, NULL };
        Reply r;

        /* A client reading 1.2 MB under ASan on a busy machine may take longer than 5 s. */
        orch.config.upstream.timeout_ms[UPSTREAM_LLM] = 60000;
        start_keys();
        bearer(op, sizeof(op), "long", "operator");
        r = request(
                "POST",
                "/v1/chat/completions",
                "{\"model\":\"fake\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"gap:1 "
                "big:1200\"}]}",
                ho);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_gt(strlen(r.raw), JOB_RELAY_KEEP);
        ck_assert_msg(strstr(r.raw + JOB_RELAY_KEEP, "\"usage\""), "%s", r.raw + strlen(r.raw) - 100);
        reply_done(&r);
        r = request("GET", "/usage", NULL, ho);
        ck_assert_int_eq(jint(usage_totals(&r), "prompt_tokens"), 7);
        ck_assert_int_eq(jint(usage_totals(&r), "completion_tokens"), 3);
        reply_done(&r);
}
END_TEST

START_TEST(test_key_unknown_never_reaches_backend) {
        char kh[256];
        const char *hk[] = { NULL, NULL };
        unsigned calls;
        Reply r;

        start_keys();
        hk[0] = key_header(kh, sizeof(kh), "ais_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        calls = fake_upstream_calls();
        r = request("POST", "/v1/chat/completions", CHAT, hk);
        ck_assert_int_eq(r.status, 401);
        ck_assert_ptr_nonnull(strstr(r.headers, "unknown or revoked API key"));
        reply_done(&r);
        ck_assert_int_eq(
                request_status("POST", "/ai/nlp/process", "{\"text\":\"x\",\"task\":\"sentiment\"}", hk),
                401);
        ck_assert_uint_eq(fake_upstream_calls(), calls);
}
END_TEST

/* ---- who may do what ------------------------------------------------------------------- */

START_TEST(test_key_roles) {
        char key[APIKEY_SECRET_MAX], id[64], kh[256], op[1024], path[128];
        const char *hk[] = { NULL, NULL }, *ho[] = { op, NULL }, *ha[] = { admin, NULL };
        unsigned calls;
        Reply r;

        start_keys();
        bearer(op, sizeof(op), "alice", "operator");
        create_key("{\"name\":\"dashboard\",\"role\":\"viewer\"}", key, id);
        hk[0] = key_header(kh, sizeof(kh), key);

        /* A viewer key reads but cannot submit. */
        calls = fake_upstream_calls();
        ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, hk), 403);
        ck_assert_uint_eq(fake_upstream_calls(), calls);
        ck_assert_int_eq(request_status("GET", "/jobs", NULL, hk), 200);
        /* Keys are admin business, for keys and operators alike. */
        ck_assert_int_eq(request_status("POST", "/keys", "{\"name\":\"mine\"}", hk), 403);
        ck_assert_int_eq(request_status("POST", "/keys", "{\"name\":\"mine\"}", ho), 403);
        ck_assert_int_eq(request_status("GET", "/keys", NULL, ho), 403);
        snprintf(path, sizeof(path), "/keys/%s", id);
        ck_assert_int_eq(request_status("DELETE", path, NULL, ho), 403);

        /* Usage: one's own only; an admin names anyone. */
        ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, ho), 200);
        r = request("GET", "/usage", NULL, ho);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(jstr(r.body, "principal"), "alice");
        ck_assert_int_eq(jint(usage_totals(&r), "total_tokens"), 12);
        reply_done(&r);
        ck_assert_int_eq(request_status("GET", "/usage?principal=alice", NULL, ho), 200);
        ck_assert_int_eq(request_status("GET", "/usage?principal=root", NULL, ho), 403);
        r = request("GET", "/usage", NULL, hk);
        ck_assert_int_eq(jint(usage_totals(&r), "total_tokens"), 0);
        reply_done(&r);
        r = request("GET", "/usage?principal=alice", NULL, ha);
        ck_assert_int_eq(jint(usage_totals(&r), "total_tokens"), 12);
        reply_done(&r);
        r = request("GET", "/usage?until=1999-12-31", NULL, ha);
        ck_assert_int_eq(jint(usage_totals(&r), "total_tokens"), 0);
        reply_done(&r);
        r = request("GET", "/usage?since=2026-13-01", NULL, ha);
        ck_assert_int_eq(r.status, 422);
        ck_assert_ptr_nonnull(strstr(r.raw, "\"since\""));
        reply_done(&r);
}
END_TEST

START_TEST(test_key_validation) {
        static const struct {
                const char *body, *field;
        } bad[] = {
                { "{\"name\":\"\"}", "name" },
                { "{\"name\":\"has space\"}", "name" },
                { "{\"name\":\"x/y\"}", "name" },
                { "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                  "name" },
                { "{\"role\":\"operator\"}", "name" },
                { "{\"name\":\"other\"}", "name" }, /* the metrics' overflow label */
                { "{\"name\":\"ok\",\"role\":\"admin\"}", "role" },
                { "{\"name\":\"ok\",\"rpm\":0}", "rpm" },
                { "{\"name\":\"ok\",\"tpm\":\"10\"}", "tpm" },
                { "{\"name\":\"ok\",\"budget_tokens_month\":-1}", "budget_tokens_month" },
        };
        char key[APIKEY_SECRET_MAX], id[64], want[64];
        const char *ha[] = { admin, NULL };
        Reply r;

        start_keys();
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r = request("POST", "/keys", bad[i].body, ha);
                snprintf(want, sizeof(want), "\"field\": \"%s\"", bad[i].field);
                ck_assert_msg(r.status == 422, "%s: %ld %s", bad[i].body, r.status, r.raw);
                ck_assert_msg(
                        strstr(r.raw, want) ||
                                (snprintf(want, sizeof(want), "\"field\":\"%s\"", bad[i].field),
                                 strstr(r.raw, want)),
                        "%s: %s",
                        bad[i].body,
                        r.raw);
                reply_done(&r);
        }
        /* 64 characters is the longest name. */
        create_key(
                "{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", key, id);
        create_key("{\"name\":\"dup\"}", key, id);
        r = request("POST", "/keys", "{\"name\":\"dup\",\"role\":\"viewer\"}", ha);
        ck_assert_int_eq(r.status, 409);
        ck_assert_ptr_nonnull(strstr(r.raw, "dup"));
        reply_done(&r);
        r = request("GET", "/keys", NULL, ha);
        ck_assert_uint_eq(json_object_array_length(json_object_object_get(r.body, "keys")), 2);
        reply_done(&r);
}
END_TEST

START_TEST(test_key_metrics_bounded_and_promtool) {
        char key[APIKEY_SECRET_MAX], id[64], kh[256], name[64], body[128],
                path[] = "/tmp/test-keys-metrics-XXXXXX", cmd[512];
        const char *hk[] = { NULL, NULL };
        _cleanup_free_ char *text = NULL;
        size_t size;
        int fd, status;

        start_keys();
        /* One key more than get a label of their own: the last one counts under "other". */
        for (int i = 0; i <= APIKEY_METRICS_KEYS; i++) {
                snprintf(name, sizeof(name), "k%02d", i);
                snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
                create_key(body, key, id);
                hk[0] = key_header(kh, sizeof(kh), key);
                ck_assert_int_eq(request_status("POST", "/v1/chat/completions", CHAT, hk), 200);
        }
        ck_assert_int_eq(metrics_registry_render(registry, &text, &size), 0);
        snprintf(name, sizeof(name), "key=\"k%02d\"", APIKEY_METRICS_KEYS - 1);
        ck_assert_ptr_nonnull(strstr(text, name));
        snprintf(name, sizeof(name), "key=\"k%02d\"", APIKEY_METRICS_KEYS);
        ck_assert_ptr_null(strstr(text, name));
        ck_assert_ptr_nonnull(strstr(text, "orch_key_tokens_total{key=\"other\",kind=\"prompt\"} 7\n"));

        fd = mkostemp(path, O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        close(fd);
        snprintf(cmd, sizeof(cmd), "%s check metrics < %s", PROMTOOL, path);
        status = system(cmd);
        unlink(path);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool rejected:\n%s", text);
}
END_TEST

/* ---- reading usage from answers -------------------------------------------------------- */

START_TEST(test_usage_from_answers) {
        static const struct {
                const char *text;
                bool json;
                int64_t prompt, completion;
                const char *model;
        } cases[] = {
                { "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
                  true,
                  3,
                  4,
                  "m" },
                { "{\"type\":\"message\",\"model\":\"claude\","
                  "\"usage\":{\"input_tokens\":9,\"output_tokens\":2}}",
                  true,
                  9,
                  2,
                  "claude" },
                { "{\"object\":\"list\",\"model\":\"e\",\"usage\":{\"prompt_tokens\":5,\"total_tokens\":5}}",
                  true,
                  5,
                  0,
                  "e" },
                { "{\"text\":\"hi\",\"model_used\":\"s\",\"tokens_used\":6}", true, 0, 6, "s" },
                /* OpenAI's stream: the usage chunk at its end. */
                { "data: {\"model\":\"o\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                  "data: {\"model\":\"o\",\"choices\":[],"
                  "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":1}}\n\n"
                  "data: [DONE]\n\n",
                  false,
                  11,
                  1,
                  "o" },
                /* Anthropic's: input in message_start, output counted up in message_delta. */
                { "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"c\","
                  "\"usage\":{\"input_tokens\":8,\"output_tokens\":1}}}\n\n"
                  "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n"
                  "event: message_delta\n"
                  "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\n",
                  false,
                  8,
                  15,
                  "c" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_object *o = NULL;
                UsageCount u;

                if (cases[i].json)
                        ck_assert_int_eq(
                                json_parse_strict(cases[i].text, strlen(cases[i].text), &o, NULL), 0);
                ck_assert_int_eq(usage_from_answer(o, cases[i].text, strlen(cases[i].text), &u), 1);
                ck_assert_int_eq(u.prompt, cases[i].prompt);
                ck_assert_int_eq(u.completion, cases[i].completion);
                ck_assert_str_eq(u.model, cases[i].model);
        }
        {
                _cleanup_json_ json_object *o = NULL;
                static const char none[] = "{\"model\":\"m\",\"choices\":[]}";
                UsageCount u;

                ck_assert_int_eq(json_parse_strict(none, strlen(none), &o, NULL), 0);
                ck_assert_int_eq(usage_from_answer(o, none, strlen(none), &u), 0);
                ck_assert_int_eq(usage_from_answer(NULL, "data: [DONE]\n\n", 14, &u), 0);
        }
}
END_TEST

START_TEST(test_key_form_and_names) {
        char a[APIKEY_SECRET_MAX], b[APIKEY_SECRET_MAX], pa[APIKEY_SHOWN_PREFIX_LEN + 1], pb[sizeof(pa)];
        uint8_t ha[KEY_HASH_SIZE], hb[KEY_HASH_SIZE], again[KEY_HASH_SIZE];

        ck_assert_int_eq(apikey_generate(a, pa, ha), 0);
        ck_assert_int_eq(apikey_generate(b, pb, hb), 0);
        ck_assert_str_ne(a, b);
        ck_assert(memcmp(ha, hb, sizeof(ha)) != 0);
        ck_assert_int_eq(apikey_hash(a, strlen(a), again), 0);
        ck_assert(memcmp(ha, again, sizeof(ha)) == 0);
        ck_assert(apikey_is_key(a, strlen(a)));
        ck_assert(!apikey_is_key("eyJhbGciOiJIUzI1NiJ9.e30.x", 26));
        ck_assert(!apikey_is_key("ais_", 4));
        ck_assert_uint_eq(
                strspn(a + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
        ck_assert(apikey_name_valid("a.b_c-9"));
        ck_assert(!apikey_name_valid("a:b"));
        ck_assert_str_eq(apikey_name_of("key:x"), "x");
        ck_assert_ptr_null(apikey_name_of("alice"));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("orchestrator-keys");
        TCase *tc = tcase_create("keys");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_key_create_use_budget_revoke);
        tcase_add_test(tc, test_key_rpm_and_x_api_key);
        tcase_add_test(tc, test_key_tpm_and_month_budget);
        tcase_add_test(tc, test_usage_of_a_long_stream);
        tcase_add_test(tc, test_key_unknown_never_reaches_backend);
        tcase_add_test(tc, test_key_roles);
        tcase_add_test(tc, test_key_validation);
        tcase_add_test(tc, test_key_metrics_bounded_and_promtool);
        tcase_add_test(tc, test_usage_from_answers);
        tcase_add_test(tc, test_key_form_and_names);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
