/* SPDX-License-Identifier: MIT */
/* fake-upstream.c — see fake-upstream.h. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fake-upstream.h"
#include "http-query.h"
#include "json-util.h"
#include "service-tasks.h"
#include "time-util.h"

#define CHAT_ANSWER "{\"text\":\"hi\",\"model\":\"fake\",\"tokens_used\":1}"
#define OK_ANSWER \
        "{\"status\":\"completed\",\"result\":{\"ok\":true},\"rows_processed\":1,\"processing_time\":0.0}"
#define V1_ANSWER                                                                                                \
        "{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion\",\"model\":\"fake\",\"choices\":[{\"index\":0," \
        "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"                  \
        "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":5,\"total_tokens\":12}}"
/* The usage chunk the llm service ends an OpenAI stream with. */
#define USAGE_CHUNK                                                                                    \
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fake\",\"choices\":[]," \
        "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n"
#define MODELS_ANSWER "{\"object\":\"list\",\"data\":[{\"id\":\"fake\",\"object\":\"model\"}]}"

static unsigned calls;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static struct {
        char name[64];
        unsigned seen;
} flaky[64];
static FakeUpstreamStats stats;
static unsigned released;
static struct {
        char service[16];
        char *json;
} extra[32];
static char datasets[64][72];

unsigned fake_upstream_calls(void) {
        return __atomic_load_n(&calls, __ATOMIC_RELAXED);
}

void fake_upstream_stats(FakeUpstreamStats *ret) {
        pthread_mutex_lock(&lock);
        *ret = stats;
        pthread_mutex_unlock(&lock);
}

void fake_upstream_release(void) {
        pthread_mutex_lock(&lock);
        released++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

int fake_upstream_add_task(const char *service, const char *task_json) {
        int r = -ENOSPC;

        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                if (!extra[i].json) {
                        snprintf(extra[i].service, sizeof(extra[i].service), "%s", service);
                        extra[i].json = strdup(task_json);
                        r = extra[i].json ? 0 : -ENOMEM;
                        break;
                }
        pthread_mutex_unlock(&lock);
        return r;
}

static unsigned flaky_count(const char *name, size_t len) {
        unsigned n = 0;

        pthread_mutex_lock(&lock);
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
        pthread_mutex_unlock(&lock);
        return n;
}

static void sleep_ms(long ms) {
        (void) nanosleep(&(struct timespec){ .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L }, NULL);
}

static int handle(HttpRequest *req, void *userdata) {
        size_t len;
        const char *body = http_request_body(req, &len), *m;

        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        if (body && (m = strstr(body, "sleep:")))
                sleep_ms(strtol(m + 6, NULL, 10));
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

/* ---- GET /tasks ------------------------------------------------------------------------ */

typedef struct FakeTask {
        const char *service, *name, *method, *path, *field;
        bool idempotent, stream;
} FakeTask;

/* What the real services list on their GET /tasks. */
static const FakeTask fake_tasks[] = {
        { "llm", "completion", "POST", "/completion", NULL, false, true },
        { "llm", "chat", "POST", "/chat", NULL, false, true },
        { "llm", "v1.chat.completions", "POST", "/v1/chat/completions", NULL, false, true },
        { "llm", "v1.completions", "POST", "/v1/completions", NULL, false, true },
        { "llm", "v1.messages", "POST", "/v1/messages", NULL, false, true },
        { "llm", "v1.embeddings", "POST", "/v1/embeddings", NULL, true, false },
        { "llm", "v1.models", "GET", "/v1/models", NULL, true, false },
        { "vision", "analyze", "POST", "/analyze", "task", true, false },
        { "vision", "extract_text", "POST", "/analyze", "task", true, false },
        { "vision", "detect_barcodes", "POST", "/analyze", "task", true, false },
        { "vision", "thumbnail", "POST", "/analyze", "task", true, false },
        { "vision", "detect_objects", "POST", "/analyze", "task", true, false },
        { "vision", "classify", "POST", "/analyze", "task", true, false },
        { "vision", "face_detection", "POST", "/analyze", "task", true, false },
        { "nlp", "analyze", "POST", "/process", "task", true, false },
        { "nlp", "sentiment", "POST", "/process", "task", true, false },
        { "nlp", "keywords", "POST", "/process", "task", true, false },
        { "nlp", "entities", "POST", "/process", "task", true, false },
        { "nlp", "summarize", "POST", "/process", "task", true, false },
        { "nlp", "similarity", "POST", "/process", "task", true, false },
        { "nlp", "tokenize", "POST", "/process", "task", true, false },
        { "data", "analyze", "POST", "/process", "operation", true, false },
        { "data", "transform", "POST", "/process", "operation", true, false },
        { "data", "aggregate", "POST", "/process", "operation", true, false },
        { "data", "filter", "POST", "/process", "operation", true, false },
        { "data", "validate", "POST", "/process", "operation", true, false },
        { "data", "query", "POST", "/process", "operation", true, false },
        { "data", "convert", "POST", "/process", "operation", true, false },
        { "data", "plot", "POST", "/process", "operation", true, false },
};

static int fill_tasks(ServiceTasks *out, void *userdata) {
        const char *service = userdata;

        for (size_t i = 0; i < ELEMENTSOF(fake_tasks); i++) {
                const FakeTask *t = &fake_tasks[i];
                int r;

                if (!streq(t->service, service))
                        continue;
                r = service_tasks_add(
                        out,
                        &(ServiceTask){ .name = t->name,
                                        .method = t->method,
                                        .path = t->path,
                                        .field = t->field,
                                        .idempotent = t->idempotent,
                                        .stream = t->stream,
                                        .body = streq(t->method, "POST") ? "application/json" : NULL });
                if (r < 0)
                        return r;
        }
        return 0;
}

static int tasks_json(const char *service, json_object **ret) {
        _cleanup_json_ json_object *o = NULL;
        json_object *tasks;
        int r;

        r = service_tasks_build(service, fill_tasks, (void *) service, &o);
        if (r < 0)
                return r;
        tasks = json_object_object_get(o, "tasks");
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < ELEMENTSOF(extra); i++)
                if (extra[i].json && streq(extra[i].service, service))
                        (void) json_object_array_add(tasks, json_tokener_parse(extra[i].json));
        pthread_mutex_unlock(&lock);
        *ret = TAKE_PTR(o);
        return 0;
}

char *fake_upstream_tasks(const char *service) {
        _cleanup_json_ json_object *o = NULL;

        return tasks_json(service, &o) < 0
                ? NULL
                : strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static int handle_tasks(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = tasks_json(userdata, &o); /* not a call: the orchestrator reloads it whenever it likes */
        if (r < 0)
                return r;
        return http_reply_json(req, 200, o);
}

/* ---- the OpenAI route: SSE on "stream": true --------------------------------------------- */

static void wake(void *userdata) {
        pthread_mutex_lock(&lock);
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

static void count(unsigned *counter) {
        pthread_mutex_lock(&lock);
        (*counter)++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

static int handle_v1_chat(HttpRequest *req, void *userdata) {
        static const char *const pieces[] = { "Hel", "lo", "!" };
        _cleanup_json_ json_object *in = NULL;
        size_t len;
        const char *body = http_request_body(req, &len), *gap, *big;
        json_object *stream;
        unsigned ticket;
        int r = 0;

        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        if (http_request_parse_json(req, &in) < 0)
                return 0;
        if (body && strstr(body, "status:"))
                return handle(req, userdata);
        if (!json_object_object_get_ex(in, "stream", &stream) || !json_object_get_boolean(stream))
                return http_reply(req, 200, "application/json", V1_ANSWER, strlen(V1_ANSWER));
        gap = body ? strstr(body, "gap:") : NULL;
        pthread_mutex_lock(&lock);
        ticket = released;
        stats.streams_begun++;
        pthread_mutex_unlock(&lock);
        (void) http_reply_add_header(req, "X-LLM-Model", "fake");
        (void) http_request_watch_gone(req, wake, NULL);
        r = http_reply_stream_begin(req, 200, "text/event-stream");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(pieces); i++) {
                char chunk[256];
                int n = snprintf(
                        chunk,
                        sizeof(chunk),
                        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fake\","
                        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"}}]}\n\n",
                        pieces[i]);

                if (i == 1 && gap)
                        sleep_ms(strtol(gap + 4, NULL, 10));
                else if (i == 1) {
                        struct timespec ts = timespec_deadline_ms(10000);

                        pthread_mutex_lock(&lock);
                        while (released == ticket && !http_request_client_gone(req))
                                if (pthread_cond_timedwait(&changed, &lock, &ts) != 0)
                                        break;
                        pthread_mutex_unlock(&lock);
                } else if (i == 2 && gap)
                        sleep_ms(strtol(gap + 4, NULL, 10));
                r = http_reply_stream_write(req, chunk, (size_t) n);
        }
        /* "big:N": N chunks of 1000 characters more before the usage chunk. */
        for (long n = (big = body ? strstr(body, "big:") : NULL) ? strtol(big + 4, NULL, 10) : 0;
             r >= 0 && n > 0;
             n--) {
                char chunk[1200];
                int clen = snprintf(
                        chunk,
                        sizeof(chunk),
                        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"fake\","
                        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%01000d\"}}]}\n\n",
                        0);

                r = http_reply_stream_write(req, chunk, (size_t) clen);
        }
        if (r >= 0)
                r = http_reply_stream_write(req, USAGE_CHUNK, strlen(USAGE_CHUNK));
        if (r >= 0)
                r = http_reply_stream_write(req, "data: [DONE]\n\n", 14);
        if (r >= 0)
                r = http_reply_stream_end(req);
        (void) http_request_watch_gone(req, NULL, NULL);
        count(r >= 0 ? &stats.streams_finished : &stats.streams_broken);
        return 0;
}

static int handle_v1_models(HttpRequest *req, void *userdata) {
        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        return http_reply(req, 200, "application/json", MODELS_ANSWER, strlen(MODELS_ANSWER));
}

/* ---- datasets ------------------------------------------------------------------------- */

static int reply_dataset(HttpRequest *req, int status, const char *name, uint64_t bytes) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "bytes", json_object_new_int64((int64_t) bytes));
        return http_reply_json(req, status, o);
}

static int handle_upload(HttpRequest *req, void *userdata) {
        _cleanup_free_ char *buf = NULL;
        char name[72];
        uint64_t total = 0;
        ssize_t n;

        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        if (http_query_get(http_request_query(req), "name", name, sizeof(name)) <= 0)
                return http_reply_error(req, 422, "a text/csv upload needs ?name=NAME");
        buf = malloc(64 * 1024);
        if (!buf)
                return -ENOMEM;
        while ((n = http_request_read_body(req, buf, 64 * 1024)) > 0)
                total += (uint64_t) n;
        pthread_mutex_lock(&lock);
        stats.last_upload_bytes = total;
        if (n == 0) {
                stats.uploads_completed++;
                for (size_t i = 0; i < ELEMENTSOF(datasets); i++)
                        if (!datasets[i][0] || streq(datasets[i], name)) {
                                snprintf(datasets[i], sizeof(datasets[i]), "%s", name);
                                break;
                        }
        } else
                stats.uploads_broken++;
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
        if (n < 0)
                return http_reply_error(req, 400, "the upload was incomplete");
        return reply_dataset(req, 201, name, total);
}

static int handle_datasets(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *arr = json_object_new_array();

        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        if (!o || !arr) {
                json_object_put(arr);
                return -ENOMEM;
        }
        json_object_object_add(o, "datasets", arr);
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < ELEMENTSOF(datasets); i++)
                if (datasets[i][0]) {
                        json_object *d = json_object_new_object();

                        json_object_object_add(d, "name", json_object_new_string(datasets[i]));
                        json_object_array_add(arr, d);
                }
        pthread_mutex_unlock(&lock);
        return http_reply_json(req, 200, o);
}

static int handle_dataset(HttpRequest *req, void *userdata) {
        const char *name = http_request_param(req, "name");
        bool found = false, del = streq(http_request_method(req), "DELETE");

        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < ELEMENTSOF(datasets); i++)
                if (datasets[i][0] && streq(datasets[i], name)) {
                        found = true;
                        if (del)
                                datasets[i][0] = '\0';
                }
        pthread_mutex_unlock(&lock);
        if (!found)
                return http_reply_error(req, 404, "no dataset named '%s'", name);
        return reply_dataset(req, 200, name, 0);
}

/* Ready whenever it runs: a service that is back answers its probe. */
static int handle_ready(HttpRequest *req, void *userdata) {
        return http_reply(req, 200, "application/json", "{\"status\":\"ready\"}", 18);
}

int fake_upstream_start(const char *listen, const char *service, HttpServer **ret) {
        const HttpRoute routes[] = {
                { "GET", "/health/ready", handle_ready, 0, NULL },
                { "GET", "/tasks", handle_tasks, 0, (void *) service },
                { "POST", "/completion", handle, 0, NULL },
                { "POST", "/chat", handle, 0, NULL },
                { "POST", "/analyze", handle, 0, NULL },
                { "POST", "/process", handle, 0, NULL },
                { "POST", "/v1/chat/completions", handle_v1_chat, 0, NULL },
                { "GET", "/v1/models", handle_v1_models, 0, NULL },
                { "POST",
                  "/datasets",
                  handle_upload,
                  HTTP_ROUTE_STREAM_BODY | HTTP_ROUTE_ANY_CONTENT_TYPE,
                  NULL,
                  UINT64_C(1) << 40 },
                { "GET", "/datasets", handle_datasets, 0, NULL },
                { "GET", "/datasets/{name}", handle_dataset, 0, NULL },
                { "DELETE", "/datasets/{name}", handle_dataset, 0, NULL },
        };
        HttpServer *s = NULL;
        int r;

        r = http_server_new(
                &(HttpServerConfig){ .listen = listen, .threads = 32, .max_body = 64 * 1024 * 1024 }, &s);
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
