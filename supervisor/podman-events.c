/* SPDX-License-Identifier: MIT */
/* podman-events.c — reader thread of GET /v4.0.0/libpod/events?stream=true. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "json-util.h"
#include "podman-events.h"

#define EVENTS_URL \
        "http://d/v4.0.0/libpod/events?stream=true&filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
#define LINE_MAX_BYTES (256 * 1024)

struct PodmanEvents {
        char *socket_path;
        PodmanEventHandler handler;
        void *userdata;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool quit, connected;
        uint64_t events;
        char *buf;
        size_t len;
};

int podman_events_socket_path(char **ret) {
        const char *rt = getenv("XDG_RUNTIME_DIR");

        if (isempty(rt))
                return -ENOMEDIUM;
        return asprintf(ret, "%s/podman/podman.sock", rt) < 0 ? -ENOMEM : 0;
}

static const char *str_at(json_object *o, const char *k) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int podman_events_parse(const char *line, PodmanEventHandler handler, void *userdata) {
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(line);
        json_object *actor = NULL, *attrs = NULL;
        PodmanEvent e = {};

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        e.action = str_at(o, "Action") ?: str_at(o, "status");
        if (!e.action || !streq_ptr(str_at(o, "Type"), "container"))
                return -ENOMSG;
        if (!streq(e.action, "died") && !streq(e.action, "oom") && !streq(e.action, "health_status"))
                return -ENOMSG;
        if (json_object_object_get_ex(o, "Actor", &actor))
                (void) json_object_object_get_ex(actor, "Attributes", &attrs);
        e.name = str_at(attrs, "name");
        if (!e.name)
                return -ENOMSG;
        e.unit = str_at(attrs, "PODMAN_SYSTEMD_UNIT");
        e.exit_code = str_at(attrs, "containerExitCode");
        e.health_status = str_at(attrs, "health_status") ?: str_at(attrs, "healthStatus") ?: str_at(o, "HealthStatus");
        handler(&e, userdata);
        return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        PodmanEvents *p = userdata;
        size_t n = size * nmemb;
        char *nb;

        if (p->len + n > LINE_MAX_BYTES)
                return 0; /* a runaway line: drop the connection, reconnect */
        nb = realloc(p->buf, p->len + n + 1);
        if (!nb)
                return 0;
        p->buf = nb;
        memcpy(p->buf + p->len, ptr, n);
        p->len += n;
        p->buf[p->len] = 0;
        for (char *nl; (nl = strchr(p->buf, '\n'));) {
                *nl = 0;
                if (nl > p->buf) {
                        pthread_mutex_lock(&p->lock);
                        p->events++;
                        pthread_mutex_unlock(&p->lock);
                        (void) podman_events_parse(p->buf, p->handler, p->userdata);
                }
                p->len -= (size_t) (nl + 1 - p->buf);
                memmove(p->buf, nl + 1, p->len + 1);
        }
        return n;
}

static int on_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
        PodmanEvents *p = userdata;
        bool quit;

        pthread_mutex_lock(&p->lock);
        quit = p->quit;
        p->connected = true;
        pthread_mutex_unlock(&p->lock);
        return quit ? 1 : 0;
}

static void *events_thread(void *userdata) {
        PodmanEvents *p = userdata;

        for (;;) {
                CURL *c = curl_easy_init();
                struct timespec ts;

                if (c) {
                        curl_easy_setopt(c, CURLOPT_URL, EVENTS_URL);
                        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, p->socket_path);
                        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
                        curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
                        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
                        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
                        curl_easy_setopt(c, CURLOPT_XFERINFODATA, p);
                        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
                        (void) curl_easy_perform(c);
                        curl_easy_cleanup(c);
                }
                p->len = 0;
                pthread_mutex_lock(&p->lock);
                p->connected = false;
                if (p->quit) {
                        pthread_mutex_unlock(&p->lock);
                        break;
                }
                /* the service went away (podman.socket restarts it on the next connect) */
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += 5;
                pthread_cond_timedwait(&p->cond, &p->lock, &ts);
                bool quit = p->quit;
                pthread_mutex_unlock(&p->lock);
                if (quit)
                        break;
        }
        return NULL;
}

int podman_events_start(
        const char *socket_path, PodmanEventHandler handler, void *userdata, PodmanEvents **ret) {
        PodmanEvents *p = calloc(1, sizeof(PodmanEvents));
        pthread_condattr_t ca;
        int r;

        if (!p)
                return -ENOMEM;
        p->socket_path = strdup(socket_path);
        if (!p->socket_path) {
                free(p);
                return -ENOMEM;
        }
        p->handler = handler;
        p->userdata = userdata;
        pthread_mutex_init(&p->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&p->cond, &ca);
        pthread_condattr_destroy(&ca);
        r = -pthread_create(&p->thread, NULL, events_thread, p);
        if (r < 0) {
                pthread_cond_destroy(&p->cond);
                pthread_mutex_destroy(&p->lock);
                free(p->socket_path);
                free(p);
                return r;
        }
        *ret = p;
        return 0;
}

void podman_events_stats(PodmanEvents *p, bool *ret_connected, uint64_t *ret_events) {
        pthread_mutex_lock(&p->lock);
        *ret_connected = p->connected;
        *ret_events = p->events;
        pthread_mutex_unlock(&p->lock);
}

void podman_events_stop(PodmanEvents *p) {
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->quit = true;
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->buf);
        free(p->socket_path);
        free(p);
}
