/* SPDX-License-Identifier: MIT */
/* fake-upstream.c — see fake-upstream.h. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fake-upstream.h"

#define CHAT_ANSWER "{\"text\":\"hi\",\"model\":\"fake\",\"tokens_used\":1}"
#define OK_ANSWER \
        "{\"status\":\"completed\",\"result\":{\"ok\":true},\"rows_processed\":1,\"processing_time\":0.0}"

static unsigned calls;
static pthread_mutex_t flaky_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
        char name[64];
        unsigned seen;
} flaky[64];

unsigned fake_upstream_calls(void) {
        return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}

static unsigned flaky_count(const char *name, size_t len) {
        unsigned n = 0;

        pthread_mutex_lock(&flaky_lock);
        for (size_t i = 0; i < ELEMENTSOF(flaky); i++) {
                if (flaky[i].name[0] == '\0') {
                        snprintf(
                                flaky[i].name,
                                sizeof(flaky[i].name),
                                "%.*s",
                                (int) MIN(len, (size_t) 63),
                                name);
                        n = ++flaky[i].seen;
                        break;
                }
                if (strlen(flaky[i].name) == MIN(len, (size_t) 63) &&
                    strncmp(flaky[i].name, name, len) == 0) {
                        n = ++flaky[i].seen;
                        break;
                }
        }
        pthread_mutex_unlock(&flaky_lock);
        return n;
}

static int handle(HttpRequest *req, void *userdata) {
        size_t len;
        const char *body = http_request_body(req, &len), *m;

        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        if (body && (m = strstr(body, "sleep:"))) {
                long ms = strtol(m + 6, NULL, 10);
                (void) nanosleep(
                        &(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
        }
        if (body && (m = strstr(body, "status:")))
                return http_reply_error(req, (int) strtol(m + 7, NULL, 10), "fault injected by the test");
        if (body && (m = strstr(body, "flaky:"))) {
                const char *name = m + 6, *colon = strchr(name, ':');

                if (colon &&
                    flaky_count(name, (size_t) (colon - name)) <= (unsigned) strtoul(colon + 1, NULL, 10)) {
                        (void) http_reply_add_header(req, "Retry-After", "1");
                        return http_reply_error(req, 503, "warming up");
                }
        }
        /* "echo:" anywhere: the request body comes back as the answer (redaction tests). */
        if (body && strstr(body, "echo:"))
                return http_reply(req, 200, "application/json", body, len);
        if (streq(http_request_path(req), "/completion"))
                return http_reply_error(req, 503, "no backend configured: set LLM_BACKEND_URL");
        if (streq(http_request_path(req), "/chat"))
                return http_reply(req, 200, "application/json", CHAT_ANSWER, strlen(CHAT_ANSWER));
        return http_reply(req, 200, "application/json", OK_ANSWER, strlen(OK_ANSWER));
}

/* Ready whenever it runs: a service that is back answers its probe. */
static int handle_ready(HttpRequest *req, void *userdata) {
        return http_reply(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
}

int fake_upstream_start(const char *listen, HttpServer **ret) {
        static const HttpRoute routes[] = {
                { "GET", "/health/ready", handle_ready, 0, NULL },
                { "POST", "/completion", handle, 0, NULL },
                { "POST", "/chat", handle, 0, NULL },
                { "POST", "/analyze", handle, 0, NULL },
                { "POST", "/process", handle, 0, NULL },
        };
        HttpServer *s = NULL;
        int r;

        r = http_server_new(
                &(HttpServerConfig){ .listen = listen, .threads = 64, .max_body = 64 * 1024 * 1024 }, &s);
        if (r < 0)
                return r;
        r = http_server_add_routes(s, routes, ELEMENTSOF(routes));
        if (r >= 0)
                r = http_server_start(s);
        if (r < 0) {
                http_server_free(s);
                return r;
        }
        *ret = s;
        return 0;
}
