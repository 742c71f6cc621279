/* SPDX-License-Identifier: MIT */
/* podman-events.c — reader thread of GET /v4.0.0/libpod/events?stream=true, and one-shot
 * catch-up queries (stream=false) of the same log. */
#include <curl/curl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "json-util.h"
#include "log.h"
#include "podman-events.h"
#include "time-util.h"

#define EVENTS_FILTER "filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
#define EVENTS_URL "http://d/v4.0.0/libpod/events?stream=true&" EVENTS_FILTER
#define EVENTS_ONCE_URL "http://d/v4.0.0/libpod/events?stream=false&" EVENTS_FILTER
#define NSEC_PER_SEC INT64_C(1000000000)
#define LINE_MAX_BYTES (256 * 1024)
/* Podman answers 200 at once and streams after; a connection accepted but unanswered
 * this long (a podman.service that hangs) is dropped and tried again. */
#define ANSWER_TIMEOUT_MS 10000

typedef struct SeenEvent {
        int64_t time_ns;
        uint64_t hash;
} SeenEvent;

struct PodmanEvents {
        char *socket_path;
        PodmanEventHandler handler;
        void *userdata;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool quit, connected;
        uint64_t events;
        int64_t last_ns;     /* newest event handed on */
        int64_t since_s;     /* 0, or where the next connection's replay starts */
        CURL *curl;          /* the stream's handle, for on_progress() */
        uint64_t attempt_ms; /* monotonic; when the stream's current attempt began */
        SeenEvent seen[64];
        size_t seen_next;
        unsigned catch_ups;                  /* running catch_up_thread()s; stop waits for them */
        char error[PODMAN_EVENTS_ERROR_MAX]; /* why the last attempt did not connect, or "" */
};

int podman_events_socket_path(char **ret) {
        const char *rt = getenv("XDG_RUNTIME_DIR");

        if (isempty(rt))
                return -ENOMEDIUM;
        return asprintf(ret, "%s/podman/podman.sock", rt) < 0 ? -ENOMEM : 0;
}

bool podman_socket_listening(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        return fd >= 0 && connect(fd, (const struct sockaddr *) &sa, sizeof(sa)) == 0;
}

static const char *str_at(json_object *o, const char *k) {
        json_object *v;

        if (!o || !json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

int podman_events_parse(const char *line, PodmanEventHandler handler, void *userdata) {
        _cleanup_(json_object_putp) json_object *o = json_tokener_parse(line);
        json_object *actor = NULL, *attrs = NULL, *v;
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
        if (json_object_object_get_ex(o, "timeNano", &v) && json_object_is_type(v, json_type_int))
                e.time_ns = json_object_get_int64(v);
        else if (json_object_object_get_ex(o, "time", &v) && json_object_is_type(v, json_type_int))
                e.time_ns = json_object_get_int64(v) * NSEC_PER_SEC;
        handler(&e, userdata);
        return 0;
}

/* Whether e was handed on already (a since= replay or a catch-up query sends it again);
 * remembers it otherwise. Called with p->lock held. */
static bool seen_before(PodmanEvents *p, const PodmanEvent *e) {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a of the name and action */

        for (const char *c = e->name; *c; c++)
                h = (h ^ (uint8_t) *c) * 1099511628211ULL;
        for (const char *c = e->action; *c; c++)
                h = (h ^ (uint8_t) *c) * 1099511628211ULL;
        for (size_t i = 0; i < ELEMENTSOF(p->seen); i++)
                if (p->seen[i].time_ns == e->time_ns && p->seen[i].hash == h)
                        return true;
        p->seen[p->seen_next] = (SeenEvent){ .time_ns = e->time_ns, .hash = h };
        p->seen_next = (p->seen_next + 1) % ELEMENTSOF(p->seen);
        p->last_ns = MAX(p->last_ns, e->time_ns);
        return false;
}

static void on_event(const PodmanEvent *e, void *userdata) {
        PodmanEvents *p = userdata;
        bool dup;

        if (e->time_ns > 0) {
                pthread_mutex_lock(&p->lock);
                dup = seen_before(p, e);
                pthread_mutex_unlock(&p->lock);
                if (dup)
                        return;
        }
        /* not under p->lock: the handler takes the daemon's lock, which is held while
         * podman_events_stats() takes p->lock */
        p->handler(e, p->userdata);
}

/* One connection's byte stream, cut into lines (one JSON event each). */
typedef struct LineReader {
        PodmanEvents *p;
        char *buf;
        size_t len;
} LineReader;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata) {
        LineReader *lr = userdata;
        PodmanEvents *p = lr->p;
        size_t n = size * nmemb;
        char *nb;

        if (lr->len + n > LINE_MAX_BYTES)
                return 0; /* a runaway line: drop the connection, reconnect */
        nb = realloc(lr->buf, lr->len + n + 1);
        if (!nb)
                return 0;
        lr->buf = nb;
        memcpy(lr->buf + lr->len, ptr, n);
        lr->len += n;
        lr->buf[lr->len] = 0;
        for (char *nl; (nl = strchr(lr->buf, '\n'));) {
                *nl = 0;
                if (nl > lr->buf) {
                        pthread_mutex_lock(&p->lock);
                        p->events++;
                        pthread_mutex_unlock(&p->lock);
                        (void) podman_events_parse(lr->buf, on_event, p);
                }
                lr->len -= (size_t) (nl + 1 - lr->buf);
                memmove(lr->buf, nl + 1, lr->len + 1);
        }
        return n;
}

static int on_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
        PodmanEvents *p = userdata;
        long code = 0;
        bool quit;

        /* connected once Podman has answered 200, not when the socket merely accepted */
        (void) curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
        pthread_mutex_lock(&p->lock);
        quit = p->quit;
        if (code == 0 && time_now_ms(CLOCK_MONOTONIC) - p->attempt_ms > ANSWER_TIMEOUT_MS)
                quit = true; /* note_failure() says why */
        if (code == 200 && !p->connected) {
                p->connected = true;
                p->error[0] = 0;
                log_info(
                        "Podman event stream connected%s",
                        p->since_s > 0 ? " (replaying what it missed)" : "");
        }
        pthread_mutex_unlock(&p->lock);
        return quit ? 1 : 0;
}

static CURL *events_request(PodmanEvents *p, const char *url, LineReader *lr) {
        CURL *c = curl_easy_init();

        if (!c)
                return NULL;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, p->socket_path);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, lr);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        return c;
}

/* Why an attempt that never got its 200 failed; logged when the reason changes, so a
 * stream that stays down says why once, not every 5 s. Called under p->lock. */
static void note_failure(PodmanEvents *p, CURL *c, CURLcode rc, const char *detail) {
        char why[sizeof(p->error)];
        long code = 0;

        if (c)
                (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc == CURLE_OK)
                snprintf(why, sizeof(why), "Podman answered HTTP %ld", code);
        else if (rc == CURLE_ABORTED_BY_CALLBACK && code == 0)
                snprintf(why, sizeof(why), "accepted, but no answer within %d s", ANSWER_TIMEOUT_MS / 1000);
        else
                snprintf(why, sizeof(why), "%s", !isempty(detail) ? detail : curl_easy_strerror(rc));
        if (!streq(why, p->error))
                log_warning(
                        "Podman event stream: no connection to %s (%s); retrying every 5 s",
                        p->socket_path,
                        why);
        snprintf(p->error, sizeof(p->error), "%s", why);
}

static void *events_thread(void *userdata) {
        PodmanEvents *p = userdata;
        LineReader lr = { .p = p };

        for (;;) {
                char url[sizeof(EVENTS_URL) + 32], detail[CURL_ERROR_SIZE] = "";
                CURLcode rc = CURLE_FAILED_INIT;
                struct timespec ts;
                bool was_connected;
                CURL *c;

                if (p->since_s > 0)
                        snprintf(url, sizeof(url), "%s&since=%" PRIi64, EVENTS_URL, p->since_s);
                else
                        snprintf(url, sizeof(url), "%s", EVENTS_URL);
                c = p->curl = events_request(p, url, &lr);
                if (c) {
                        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
                        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
                        curl_easy_setopt(c, CURLOPT_XFERINFODATA, p);
                        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
                        p->attempt_ms = time_now_ms(CLOCK_MONOTONIC);
                        rc = curl_easy_perform(c);
                }
                lr.len = 0;
                pthread_mutex_lock(&p->lock);
                was_connected = p->connected;
                p->connected = false;
                if (!was_connected && !p->quit)
                        note_failure(p, c, rc, detail);
                curl_easy_cleanup(c);
                p->curl = NULL;
                if (was_connected && !p->quit) {
                        /* ask again for what happens from a second before the loss on: the
                         * replay's duplicates are dropped by seen_before() */
                        p->since_s =
                                MAX(p->last_ns / NSEC_PER_SEC,
                                    (int64_t) (time_now_usec(CLOCK_REALTIME) / 1000000u) - 1);
                        log_warning("Podman event stream lost; reconnecting");
                }
                if (p->quit) {
                        pthread_mutex_unlock(&p->lock);
                        break;
                }
                /* the service went away (podman.socket restarts it on the next connect) */
                ts = timespec_deadline_on(CLOCK_MONOTONIC, 5000);
                pthread_cond_timedwait(&p->cond, &p->lock, &ts);
                bool quit = p->quit;
                pthread_mutex_unlock(&p->lock);
                if (quit)
                        break;
        }
        free(lr.buf);
        return NULL;
}

typedef struct CatchUp {
        PodmanEvents *p;
        int64_t since_s;
        unsigned delay_ms;
} CatchUp;

static void *catch_up_thread(void *userdata) {
        _cleanup_free_ CatchUp *cu = userdata;
        PodmanEvents *p = cu->p;
        LineReader lr = { .p = p };
        char url[sizeof(EVENTS_URL) + 64];
        struct timespec ts;
        bool quit;
        CURL *c;

        /* wait for the podman process that records the exit (ExecStop's or conmon's
         * cleanup), unless we are told to quit */
        ts = timespec_deadline_on(CLOCK_MONOTONIC, cu->delay_ms);
        pthread_mutex_lock(&p->lock);
        if (!p->quit)
                pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        quit = p->quit;
        pthread_mutex_unlock(&p->lock);
        if (!quit) {
                /* stream=false: what Podman's event log holds since then; the answer ends */
                snprintf(url, sizeof(url), "%s&since=%" PRIi64, EVENTS_ONCE_URL, cu->since_s);
                c = events_request(p, url, &lr);
                if (c) {
                        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
                        (void) curl_easy_perform(c);
                        curl_easy_cleanup(c);
                }
                free(lr.buf);
        }
        pthread_mutex_lock(&p->lock);
        p->catch_ups--;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
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

void podman_events_stats(
        PodmanEvents *p,
        bool *ret_connected,
        uint64_t *ret_events,
        char ret_error[static PODMAN_EVENTS_ERROR_MAX]) {
        pthread_mutex_lock(&p->lock);
        *ret_connected = p->connected;
        *ret_events = p->events;
        memcpy(ret_error, p->error, sizeof(p->error));
        pthread_mutex_unlock(&p->lock);
}

void podman_events_stop(PodmanEvents *p) {
        if (!p)
                return;
        pthread_mutex_lock(&p->lock);
        p->quit = true;
        pthread_cond_broadcast(&p->cond);
        while (p->catch_ups > 0)
                pthread_cond_wait(&p->cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
        pthread_cond_destroy(&p->cond);
        pthread_mutex_destroy(&p->lock);
        free(p->socket_path);
        free(p);
}

int podman_events_catch_up(PodmanEvents *p, int64_t since_s, unsigned delay_ms) {
        CatchUp *cu;
        pthread_attr_t a;
        pthread_t t;
        int r;

        if (!p)
                return 0;
        cu = calloc(1, sizeof(CatchUp));
        if (!cu)
                return -ENOMEM;
        *cu = (CatchUp){ .p = p, .since_s = since_s, .delay_ms = delay_ms };
        pthread_mutex_lock(&p->lock);
        if (p->quit) {
                pthread_mutex_unlock(&p->lock);
                free(cu);
                return -ESHUTDOWN;
        }
        p->catch_ups++;
        pthread_mutex_unlock(&p->lock);
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&t, &a, catch_up_thread, cu);
        pthread_attr_destroy(&a);
        if (r < 0) {
                pthread_mutex_lock(&p->lock);
                p->catch_ups--;
                pthread_cond_broadcast(&p->cond);
                pthread_mutex_unlock(&p->lock);
                free(cu);
        }
        return r;
}
