/* SPDX-License-Identifier: MIT */
/* orch-test.h — what the orchestrator's end-to-end tests share (test-orchestrator.c,
 * test-orchestrator-door.c): a scratch directory, one fake upstream per service, the
 * orchestrator in-process on an ephemeral port, and requests to it with libcurl. */
#pragma once

#include <check.h>
#include <curl/curl.h>
#include <openssl/hmac.h>

#include "fake-upstream.h"
#include "http-client.h"
#include "json-util.h"
#include "orchestrator.h"
#include "test-http-util.h" /* before the port below: its parameters are named port */

static _unused_ char tmpdir[64];

static inline void make_tmpdir(void) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-orch.XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static inline void remove_tmpdir(void) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* The job store of a case: a file in tmpdir, or, when run through pg-cluster.sh, the
 * PostgreSQL database of ORCH_TEST_DB_URL, which test_db_reset() empties (nothing of an
 * earlier case or run is left). */
static inline const char *test_db_url(void) {
        const char *u = getenv("ORCH_TEST_DB_URL");

        return u && *u ? u : NULL;
}

static inline void test_db_reset(void) {
        StoreDb *db = NULL;

        if (!test_db_url())
                return;
        ck_assert_int_eq(store_db_open(test_db_url(), &db), 0);
        ck_assert_int_eq(store_db_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
        store_db_close(db);
}

static inline const char *jstr(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

/* The tasks the fake services list, as if they had answered GET /tasks. */
static inline void install_fake_tasks(void) {
        for (int i = 0; i < _UPSTREAM_MAX; i++) {
                _cleanup_free_ char *text =
                        fake_upstream_tasks(upstream_service_to_string((UpstreamService) i));
                char err[160];

                ck_assert_ptr_nonnull(text);
                ck_assert_int_eq(
                        upstream_tasks_install((UpstreamService) i, text, strlen(text), err, sizeof(err)),
                        0);
        }
}

static _unused_ Orchestrator orch;
static _unused_ HttpServer *upstreams[_UPSTREAM_MAX], *server;
static _unused_ MetricsRegistry *registry;
static _unused_ char fake_url[_UPSTREAM_MAX][64], dead_url[64], db_path[128];
static _unused_ int port;

/* Where the in-process orchestrator's store is: db_path, or the PostgreSQL database. */
static inline const char *test_db_location(void) {
        return test_db_url() ?: db_path;
}

static inline void start_orchestrator(unsigned workers, size_t queue_max) {
        size_t n;
        const HttpRoute *routes;

        orch.config.db_path = db_path;
        orch.config.db_url = (char *) test_db_url();
        orch.config.workers = workers;
        orch.config.queue_max = (int64_t) queue_max;
        orch.config.max_timeout_ms = 60000;
        orch.config.retention_ms = 3600 * 1000;
        orch.config.cleanup_interval_ms = 3600 * 1000;
        orch.config.sse_keepalive_ms = 200;
        /* On PostgreSQL: a restart in a case takes its own jobs back at once, as a named
         * orchestrator does (unnamed, it would wait out their leases). */
        orch.config.instance = (char *) "test-orchestrator";
        ck_assert_int_eq(metrics_registry_new(&registry), 0);
        ck_assert_int_eq(orchestrator_start(&orch, registry), 0);
        ck_assert_int_eq(
                http_server_new(&(HttpServerConfig){ .listen = "127.0.0.1:0", .threads = 32 }, &server), 0);
        routes = api_routes(&orch, &n);
        ck_assert_int_eq(http_server_add_routes(server, routes, n), 0);
        ck_assert_int_eq(http_server_set_pre_body(server, api_pre_body, &orch), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        port = http_server_get_port(server);
}

static inline void stop_orchestrator(void) {
        (void) http_server_shutdown(server);
        http_server_free(server);
        server = NULL;
        orchestrator_stop(&orch);
        metrics_registry_free(registry);
        registry = NULL;
}

static inline void setup(void) {
        make_tmpdir();
        snprintf(db_path, sizeof(db_path), "%s/orchestrator.db", tmpdir);
        test_db_reset();
        /* One fake per service: each answers GET /tasks as that service. */
        for (int i = 0; i < _UPSTREAM_MAX; i++) {
                ck_assert_int_eq(
                        fake_upstream_start(
                                "127.0.0.1:0",
                                upstream_service_to_string((UpstreamService) i),
                                &upstreams[i]),
                        0);
                snprintf(
                        fake_url[i],
                        sizeof(fake_url[i]),
                        "http://127.0.0.1:%d",
                        http_server_get_port(upstreams[i]));
        }
        /* Port 1 on loopback: connection refused at once. */
        snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:1");
        orch = (Orchestrator){};
        orch.config.auth.mode = (char *) "off"; /* the tests of auth say "required" */
        orch.config.sync_grace_ms = 100;        /* the default: quick synchronous jobs stored once */
        orch.config.upstream = (UpstreamConfig){
                .url = { fake_url[UPSTREAM_LLM],
                         fake_url[UPSTREAM_VISION],
                         fake_url[UPSTREAM_NLP],
                         fake_url[UPSTREAM_DATA] },
                .probe_timeout_ms = 500,
                .timeout_ms = { 5000, 5000, 5000, 5000 },
                .retry_max = 2,
                .retry_base_ms = 5,
                .retry_cap_ms = 20,
                .breaker_failures = 3,
                .breaker_open_ms = 400,
                .tasks_refresh_ms = 1000,
        };
}

static inline void teardown(void) {
        if (server)
                stop_orchestrator();
        for (int i = 0; i < _UPSTREAM_MAX; i++) {
                (void) http_server_shutdown(upstreams[i]);
                http_server_free(upstreams[i]);
        }
        http_client_pool_flush();
        remove_tmpdir();
}

typedef struct Reply {
        long status;
        json_object *body;
        char *raw;
        size_t raw_len; /* a long stream's body grows without a strlen() per piece */
        char headers[4096];
} Reply;

static inline size_t header_cb(char *data, size_t size, size_t n, void *userdata) {
        Reply *r = userdata;
        size_t l = strlen(r->headers);

        snprintf(r->headers + l, sizeof(r->headers) - l, "%.*s", (int) (size * n), data);
        return size * n;
}

static inline size_t body_cb(char *data, size_t size, size_t n, void *userdata) {
        Reply *r = userdata;
        size_t l = r->raw_len;
        char *nb = realloc(r->raw, l + size * n + 1);

        ck_assert_ptr_nonnull(nb);
        memcpy(nb + l, data, size * n);
        nb[l + size * n] = '\0';
        r->raw = nb;
        r->raw_len += size * n;
        return size * n;
}

/* One request with optional extra headers ("Name: value", NULL-terminated). */
static inline Reply
request(const char *method, const char *path, const char *body, const char *const *headers) {
        Reply r = {};
        struct curl_slist *h = NULL;
        char url[640];
        CURL *c = curl_easy_init();

        ck_assert_ptr_nonnull(c);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
        if (body) {
                h = curl_slist_append(h, "Content-Type: application/json");
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        }
        for (size_t i = 0; headers && headers[i]; i++)
                h = curl_slist_append(h, headers[i]);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        if (r.raw)
                (void) json_parse_strict(r.raw, strlen(r.raw), &r.body, NULL);
        return r;
}

static inline void reply_done(Reply *r) {
        json_object_put(r->body);
        free(r->raw);
}

/* The status of one request, its reply dropped. */
static inline long
request_status(const char *method, const char *path, const char *body, const char *const *headers) {
        Reply r = request(method, path, body, headers);
        long status = r.status;

        reply_done(&r);
        return status;
}

/* GET prefix + id, which must answer 200: its body. */
static inline json_object *get_object(const char *prefix, const char *id) {
        char path[160];
        Reply r;
        json_object *o;

        snprintf(path, sizeof(path), "%s%s", prefix, id);
        r = request("GET", path, NULL, NULL);
        ck_assert_int_eq(r.status, 200);
        o = json_object_get(r.body);
        reply_done(&r);
        return o;
}

static inline json_object *get_job(const char *id) {
        return get_object("/jobs/", id);
}

static inline json_object *wait_job(const char *id, const char *status) {
        for (int i = 0; i < 200; i++) {
                json_object *o = get_job(id);

                if (streq(jstr(o, "status"), status))
                        return o;
                json_object_put(o);
                usleep(20 * 1000);
        }
        ck_abort_msg("job %s never became %s", id, status);
        return NULL;
}

/* ---- bearer auth and the audit log ---------------------------------------------------- */

static _unused_ char secret_path[160], webhook_secret_path[160];
static _unused_ const char test_secret[] = "0123456789abcdef0123456789abcdef-test-secret";

static inline void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        ck_assert_int_eq(fclose(f), 0);
}

/* "Authorization: Bearer <token>" for sub/role, in buf. */
static inline const char *bearer(char *buf, size_t size, const char *sub, const char *role) {
        char *tok = NULL;

        ck_assert_int_eq(
                auth_jwt_mint_hs256(
                        test_secret,
                        strlen(test_secret),
                        sub,
                        role,
                        NULL,
                        NULL,
                        (int64_t) time(NULL),
                        600,
                        &tok),
                0);
        snprintf(buf, size, "Authorization: Bearer %s", tok);
        free(tok);
        return buf;
}

static inline void start_with_auth(void) {
        snprintf(secret_path, sizeof(secret_path), "%s/jwt-secret", tmpdir);
        write_file(secret_path, test_secret);
        snprintf(webhook_secret_path, sizeof(webhook_secret_path), "%s/webhook-secret", tmpdir);
        write_file(webhook_secret_path, test_secret);
        orch.config.auth.mode = (char *) "required";
        orch.config.auth.secret_file = secret_path;
        orch.config.webhook_secret_file = webhook_secret_path;
        orch.config.webhook_window_ms = 300000;
        orch.config.audit_retention_ms = 3600 * 1000;
        start_orchestrator(4, 16);
}

/* The newest audit rows matching query (admin token), as the reply. */
static inline Reply audit_rows(const char *admin, const char *query) {
        char path[512];
        const char *h[] = { admin, NULL };

        snprintf(path, sizeof(path), "/audit%s", query);
        return request("GET", path, NULL, h);
}

/* The row is written right after the answer went out: wait until n rows exist (up to
 * ~10 s: under ASan, on PostgreSQL, with the whole suite running, 2 s was once short). */
static inline void audit_wait(const char *admin, size_t n) {
        for (int i = 0; i < 1000; i++) {
                Reply r = audit_rows(admin, "?limit=1000");
                size_t have = json_object_array_length(json_object_object_get(r.body, "records"));

                reply_done(&r);
                if (have >= n)
                        return;
                usleep(10 * 1000);
        }
        ck_abort_msg("fewer than %zu audit rows", n);
}

static inline json_object *audit_row(Reply *r, size_t i) {
        json_object *records;

        ck_assert(json_object_object_get_ex(r->body, "records", &records));
        ck_assert_msg(
                json_object_array_length(records) > i,
                "%zu records, wanted #%zu: %s",
                json_object_array_length(records),
                i,
                r->raw);
        return json_object_array_get_idx(records, i);
}

static inline json_object *find_row(Reply *r, const char *action, int result) {
        json_object *records = json_object_object_get(r->body, "records");

        for (size_t i = 0; i < json_object_array_length(records); i++) {
                json_object *row = json_object_array_get_idx(records, i);

                if (streq(strempty(jstr(row, "action")), action) &&
                    json_object_get_int(json_object_object_get(row, "result")) == result)
                        return row;
        }
        ck_abort_msg("no audit row %s %d in %s", action, result, r->raw);
        return NULL;
}

/* "X-Hub-Signature-256: sha256=..." of body with the test secret, in out. */
static inline void webhook_sign(const char *body, char out[static 128]) {
        unsigned char md[32];
        unsigned int n = 0;

        ck_assert_ptr_nonnull(
                HMAC(EVP_sha256(),
                     test_secret,
                     (int) strlen(test_secret),
                     (const unsigned char *) body,
                     strlen(body),
                     md,
                     &n));
        strcpy(out, "X-Hub-Signature-256: sha256=");
        for (unsigned i = 0; i < n; i++)
                snprintf(out + strlen(out), 3, "%02x", md[i]);
}
