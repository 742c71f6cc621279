/* SPDX-License-Identifier: MIT */
/* upstream-tasks.c — the tasks of the four services as they describe them on GET /tasks:
 * loaded at start, when a service becomes ready, and again when a request names a task
 * the catalog does not have (at most once per ORCH_TASKS_REFRESH per service); restored
 * from the job database (a save hook) so that a restart knows them before the services
 * answer. One catalog per process, as the hand-written table it replaces was: a task is
 * never freed while the orchestrator runs (jobs and workflows hold pointers to it), and a
 * reload that describes a task the same way keeps its object. */
#include <pthread.h>

#include "http-client.h"
#include "json-util.h"
#include "log.h"
#include "service-tasks.h"
#include "time-util.h"
#include "upstream.h"

#define TASKS_MAX_BODY (1024 * 1024)

typedef struct TaskEntry {
        UpstreamTask task;
        char *text; /* the description as JSON text: what equality compares */
        struct TaskEntry *next;
} TaskEntry;

typedef struct ServiceCatalog {
        const UpstreamTask **tasks;
        size_t n;
        bool known;   /* a catalog was installed (loaded or restored) */
        bool loading; /* a load is under way: others wait for it */
        bool ready;   /* the last readiness probe's verdict */
        uint64_t attempt_ms;
        char error[192]; /* why the last load failed, "" after a success */
} ServiceCatalog;

static struct {
        pthread_mutex_t lock;
        pthread_cond_t loaded;
        const UpstreamConfig *config; /* NULL = not bound: lookups only */
        UpstreamTasksSaveFn save;
        void *save_userdata;
        ServiceCatalog svc[_UPSTREAM_MAX];
        TaskEntry *all;
} catalog = { .lock = PTHREAD_MUTEX_INITIALIZER, .loaded = PTHREAD_COND_INITIALIZER };

static void entry_free(TaskEntry *e) {
        free((char *) e->task.name);
        free((char *) e->task.path);
        free((char *) e->task.task_field);
        json_object_put(e->task.description);
        free(e->text);
        free(e);
}

/* The entry describing t exactly as before (caller holds the lock), or a new one. */
static const UpstreamTask *entry_get(UpstreamService s, const ServiceTask *t, json_object *description) {
        const char *text = json_object_to_json_string_ext(description, JSON_C_TO_STRING_PLAIN);
        TaskEntry *e;

        for (e = catalog.all; e; e = e->next)
                if (e->task.service == s && streq(e->text, text))
                        return &e->task;
        e = calloc(1, sizeof(TaskEntry));
        if (!e)
                return NULL;
        e->task = (UpstreamTask){
                .service = s,
                .name = strdup(t->name),
                .method = streq(t->method, "GET") ? "GET" : "POST",
                .path = strdup(t->path),
                .task_field = t->field ? strdup(t->field) : NULL,
                .idempotent = t->idempotent,
                .stream = t->stream,
                .timeout_ms = t->timeout_ms,
                .description = json_object_get(description),
        };
        e->text = strdup(text);
        if (!e->task.name || !e->task.path || (t->field && !e->task.task_field) || !e->text) {
                entry_free(e);
                return NULL;
        }
        e->next = catalog.all;
        catalog.all = e;
        return &e->task;
}

/* Installs a parsed answer as s's catalog (caller holds the lock). */
static int install_locked(UpstreamService s, const ServiceTaskList *l) {
        ServiceCatalog *c = &catalog.svc[s];
        const UpstreamTask **tasks = calloc(MAX(l->n, (size_t) 1), sizeof(UpstreamTask *));
        json_object *array = json_object_object_get(l->root, "tasks");

        if (!tasks)
                return -ENOMEM;
        for (size_t i = 0; i < l->n; i++) {
                tasks[i] = entry_get(s, &l->tasks[i], json_object_array_get_idx(array, i));
                if (!tasks[i]) {
                        free(tasks);
                        return -ENOMEM;
                }
        }
        free(c->tasks);
        c->tasks = tasks;
        c->n = l->n;
        c->known = true;
        return 0;
}

int upstream_tasks_install(UpstreamService s, const char *text, size_t len, char *err, size_t err_size) {
        _cleanup_(service_task_list_done) ServiceTaskList l = {};
        int r;

        r = service_tasks_parse(text, len, upstream_service_to_string(s), &l, err, err_size);
        if (r < 0)
                return r;
        pthread_mutex_lock(&catalog.lock);
        r = install_locked(s, &l);
        pthread_mutex_unlock(&catalog.lock);
        return r;
}

void upstream_tasks_bind(const UpstreamConfig *config, UpstreamTasksSaveFn save, void *userdata) {
        pthread_mutex_lock(&catalog.lock);
        catalog.config = config;
        catalog.save = save;
        catalog.save_userdata = userdata;
        pthread_mutex_unlock(&catalog.lock);
}

void upstream_tasks_reset(void) {
        pthread_mutex_lock(&catalog.lock);
        for (int s = 0; s < _UPSTREAM_MAX; s++) {
                free(catalog.svc[s].tasks);
                catalog.svc[s] = (ServiceCatalog){};
        }
        while (catalog.all) {
                TaskEntry *e = catalog.all;

                catalog.all = e->next;
                entry_free(e);
        }
        catalog.config = NULL;
        catalog.save = NULL;
        pthread_mutex_unlock(&catalog.lock);
}

/* Takes a fetched answer (resp, or the transfer's failure r): installs and saves it, or
 * records why not. The caller holds the lock and has marked s loading. */
static int take_answer_locked(UpstreamService s, int r, const HttpClientResponse *resp) {
        ServiceCatalog *c = &catalog.svc[s];
        char err[160] = "";

        if (r < 0)
                snprintf(err, sizeof(err), "%.150s", resp->error[0] ? resp->error : strerror(-r));
        else if (resp->status != 200) {
                snprintf(err, sizeof(err), "HTTP %ld", resp->status);
                r = -EPROTO;
        } else {
                _cleanup_(service_task_list_done) ServiceTaskList l = {};

                r = service_tasks_parse(
                        strempty(resp->body),
                        resp->body_len,
                        upstream_service_to_string(s),
                        &l,
                        err,
                        sizeof(err));
                if (r >= 0)
                        r = install_locked(s, &l);
                if (r >= 0 && catalog.save)
                        /* Under the lock: saves of one service stay in order. */
                        (void) catalog.save(s, resp->body, catalog.save_userdata);
        }
        if (r < 0)
                snprintf(c->error, sizeof(c->error), "GET /tasks: %s", err[0] ? err : strerror(-r));
        else
                c->error[0] = '\0';
        return r;
}

static void tasks_url(UpstreamService s, char *buf, size_t size) {
        const char *base = catalog.config->url[s];
        size_t l = strlen(base);

        while (l > 0 && base[l - 1] == '/')
                l--;
        snprintf(buf, size, "%.*s/tasks", (int) MIN(l, (size_t) 4096), base);
}

/* Loads s's catalog unless a load is under way (then waits for it). Caller holds the lock. */
static int load_locked(UpstreamService s) {
        ServiceCatalog *c = &catalog.svc[s];
        HttpClientRequest req;
        char url[4200];
        int r;

        if (!catalog.config)
                return -ENOTCONN;
        if (c->loading) {
                while (c->loading)
                        pthread_cond_wait(&catalog.loaded, &catalog.lock);
                return c->known ? 0 : -EAGAIN;
        }
        c->loading = true;
        c->attempt_ms = time_now_ms(CLOCK_MONOTONIC);
        tasks_url(s, url, sizeof(url));
        req = (HttpClientRequest){
                .url = url,
                .timeout_ms = catalog.config->probe_timeout_ms,
                .max_body = TASKS_MAX_BODY,
                .request_id = log_get_request_id(),
        };
        pthread_mutex_unlock(&catalog.lock);
        r = http_client_perform(&req);
        pthread_mutex_lock(&catalog.lock);
        r = take_answer_locked(s, r, &req.response);
        http_client_response_done(&req.response);
        c->loading = false;
        pthread_cond_broadcast(&catalog.loaded);
        return r;
}

int upstream_tasks_load(UpstreamService s) {
        int r;

        pthread_mutex_lock(&catalog.lock);
        r = load_locked(s);
        pthread_mutex_unlock(&catalog.lock);
        return r;
}

void upstream_tasks_load_all(void) {
        HttpClientRequest reqs[_UPSTREAM_MAX] = {};
        UpstreamService which[_UPSTREAM_MAX];
        char urls[_UPSTREAM_MAX][4200];
        size_t n = 0;

        pthread_mutex_lock(&catalog.lock);
        for (int s = 0; catalog.config && s < _UPSTREAM_MAX; s++) {
                if (catalog.svc[s].loading)
                        continue; /* someone else's load */
                catalog.svc[s].loading = true;
                catalog.svc[s].attempt_ms = time_now_ms(CLOCK_MONOTONIC);
                tasks_url((UpstreamService) s, urls[n], sizeof(urls[n]));
                reqs[n] = (HttpClientRequest){
                        .url = urls[n],
                        .timeout_ms = catalog.config->probe_timeout_ms,
                        .max_body = TASKS_MAX_BODY,
                };
                which[n++] = (UpstreamService) s;
        }
        pthread_mutex_unlock(&catalog.lock);
        if (n == 0)
                return;
        (void) http_client_perform_many(reqs, n);
        pthread_mutex_lock(&catalog.lock);
        for (size_t i = 0; i < n; i++) {
                (void) take_answer_locked(which[i], reqs[i].result, &reqs[i].response);
                catalog.svc[which[i]].loading = false;
                http_client_response_done(&reqs[i].response);
        }
        pthread_cond_broadcast(&catalog.loaded);
        pthread_mutex_unlock(&catalog.lock);
}

void upstream_tasks_service_ready(UpstreamService s, bool ready) {
        ServiceCatalog *c = &catalog.svc[s];

        pthread_mutex_lock(&catalog.lock);
        /* Became ready (started, restarted, updated): what it runs may have changed. */
        if (ready && (!c->ready || !c->known))
                (void) load_locked(s);
        c->ready = ready;
        pthread_mutex_unlock(&catalog.lock);
}

/* What a lookup looks for: a task by name, or by route. */
typedef struct TaskKey {
        const char *name;
        const char *method, *path;
} TaskKey;

static bool key_matches(const UpstreamTask *t, const TaskKey *k) {
        if (k->name)
                return streq(t->name, k->name);
        return k->path && k->method && streq(t->path, k->path) && streq(t->method, k->method);
}

/* Caller holds the lock. */
static const UpstreamTask *find_locked(UpstreamService s, const TaskKey *k) {
        const ServiceCatalog *c = &catalog.svc[s];

        for (size_t i = 0; i < c->n; i++)
                if (key_matches(c->tasks[i], k))
                        return c->tasks[i];
        return NULL;
}

/* A lookup that reloads s's catalog once on a miss, when the last load is old enough. */
static const UpstreamTask *lookup(UpstreamService s, const TaskKey *k) {
        const UpstreamTask *t;

        if (s < 0 || s >= _UPSTREAM_MAX)
                return NULL;
        pthread_mutex_lock(&catalog.lock);
        t = find_locked(s, k);
        if (!t && catalog.config &&
            (catalog.svc[s].loading ||
             time_now_ms(CLOCK_MONOTONIC) >= catalog.svc[s].attempt_ms + catalog.config->tasks_refresh_ms) &&
            load_locked(s) >= 0)
                t = find_locked(s, k);
        pthread_mutex_unlock(&catalog.lock);
        return t;
}

const UpstreamTask *upstream_task_find(UpstreamService s, const char *name) {
        return name ? lookup(s, &(TaskKey){ .name = name }) : NULL;
}

const UpstreamTask *upstream_task_find_route(UpstreamService s, const char *method, const char *path) {
        return method && path ? lookup(s, &(TaskKey){ .method = method, .path = path }) : NULL;
}

bool upstream_tasks_known(UpstreamService s, char *why, size_t size) {
        bool known;

        pthread_mutex_lock(&catalog.lock);
        known = catalog.svc[s].known;
        if (!known && why)
                snprintf(
                        why,
                        size,
                        "%s",
                        catalog.svc[s].error[0] ? catalog.svc[s].error : "GET /tasks was not answered yet");
        pthread_mutex_unlock(&catalog.lock);
        return known;
}

void upstream_task_names(UpstreamService s, char *buf, size_t size) {
        size_t used = 0;

        if (size == 0)
                return;
        buf[0] = '\0';
        pthread_mutex_lock(&catalog.lock);
        for (size_t i = 0; i < catalog.svc[s].n; i++) {
                int k = snprintf(
                        buf + used, size - used, "%s%s", used ? ", " : "", catalog.svc[s].tasks[i]->name);

                if (k < 0 || (size_t) k >= size - used)
                        break;
                used += (size_t) k;
        }
        pthread_mutex_unlock(&catalog.lock);
}

int upstream_tasks_to_json(json_object **ret) {
        _cleanup_json_ json_object *o = json_object_new_object();
        int r = 0;

        if (!o)
                return -ENOMEM;
        pthread_mutex_lock(&catalog.lock);
        for (int s = 0; s < _UPSTREAM_MAX && r >= 0; s++) {
                const ServiceCatalog *c = &catalog.svc[s];
                json_object *svc = json_object_new_object(), *tasks = json_object_new_array();

                if (!svc || !tasks || json_object_object_add(o, upstream_service_to_string(s), svc) < 0) {
                        json_object_put(svc);
                        json_object_put(tasks);
                        r = -ENOMEM;
                        break;
                }
                json_object_object_add(
                        svc, "status", json_object_new_string(c->known ? "known" : "unknown"));
                if (c->error[0])
                        json_object_object_add(svc, "error", json_object_new_string(c->error));
                json_object_object_add(svc, "tasks", tasks);
                for (size_t i = 0; i < c->n; i++)
                        if (json_object_array_add(tasks, json_object_get(c->tasks[i]->description)) < 0)
                                r = -ENOMEM;
        }
        pthread_mutex_unlock(&catalog.lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

uint64_t upstream_task_timeout(const UpstreamConfig *c, const UpstreamTask *t) {
        return t->timeout_ms ?: c->timeout_ms[t->service];
}
