/* SPDX-License-Identifier: MIT */
/* orch-notify.c — signed service notices to the orchestrator's /webhook. */
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "alert-sink.h"
#include "fileio.h"
#include "log.h"
#include "orch-notify.h"
#include "time-util.h"

#define NOTICE_TIMEOUT_MS 3000L
#define SECRET_MAX 4096

struct OrchNotifier {
        char *url;
        char *secret;
        size_t secret_len;
        pthread_mutex_t lock;
        pthread_cond_t idle;
        unsigned in_flight;
        bool quit;
        long last_status; /* of the last delivery, to log a change once */
};

typedef struct Notice {
        OrchNotifier *n;
        char *body;
} Notice;

int orch_notifier_new(const char *url, const char *secret_file, OrchNotifier **ret) {
        OrchNotifier *n;
        size_t len;
        int r;

        n = calloc(1, sizeof(OrchNotifier));
        if (!n)
                return -ENOMEM;
        r = read_full_file(secret_file, SECRET_MAX, &n->secret, &len);
        if (r < 0) {
                free(n);
                return r;
        }
        if (len > 0 && n->secret[len - 1] == '\n') /* as the orchestrator reads it */
                n->secret[--len] = 0;
        n->secret_len = len;
        n->url = strdup(url);
        if (!n->url) {
                OPENSSL_clear_free(n->secret, n->secret_len);
                free(n);
                return -ENOMEM;
        }
        n->last_status = 200;
        pthread_mutex_init(&n->lock, NULL);
        pthread_cond_init(&n->idle, NULL);
        *ret = n;
        return 0;
}

/* {"type","service","state","time","source"}: the type is the event (the signed part);
 * the time makes every notice's body, and so its
 * signature, unique for the orchestrator's replay cache. */
static char *notice_body(const char *service, const char *state) {
        char when[32], *body;

        alert_format_time(time_now_usec(CLOCK_REALTIME), when, sizeof(when));
        if (asprintf(
                    &body,
                    "{\"type\":\"ai-semble.service\",\"service\":\"%s\",\"state\":\"%s\",\"time\":\"%s\","
                    "\"source\":\"ai-semble-supervisor\"}",
                    service,
                    state,
                    when) < 0)
                return NULL;
        return body;
}

static void *notice_thread(void *userdata) {
        Notice *nt = userdata;
        OrchNotifier *n = nt->n;
        long code = 0, was;

        (void) alert_post_json(
                n->url,
                nt->body,
                n->secret,
                n->secret_len,
                "ai-semble.service",
                NOTICE_TIMEOUT_MS,
                &code,
                NULL);
        pthread_mutex_lock(&n->lock);
        was = n->last_status;
        n->last_status = code;
        pthread_mutex_unlock(&n->lock);
        /* this thread is the top of its call chain: it logs, once per change */
        if (code != was) {
                if (code == 200)
                        log_info("The orchestrator takes service notices again (%s)", n->url);
                else if (code == 503)
                        log_info(
                                "The orchestrator's /webhook is off (503): its breakers learn of failures by themselves");
                else
                        log_warning(
                                "Service notice to %s failed (%s %ld)",
                                n->url,
                                code ? "HTTP" : "no answer",
                                code);
        }
        free(nt->body);
        free(nt);
        pthread_mutex_lock(&n->lock);
        n->in_flight--;
        pthread_cond_broadcast(&n->idle);
        pthread_mutex_unlock(&n->lock);
        return NULL;
}

void orch_notify(OrchNotifier *n, const char *service, bool up) {
        pthread_attr_t a;
        pthread_t t;
        Notice *nt;

        if (!n)
                return;
        nt = calloc(1, sizeof(Notice));
        if (!nt)
                return;
        nt->body = notice_body(service, up ? "up" : "down");
        if (!nt->body) {
                free(nt);
                return;
        }
        nt->n = n;
        pthread_mutex_lock(&n->lock);
        if (n->quit) {
                pthread_mutex_unlock(&n->lock);
                free(nt->body);
                free(nt);
                return;
        }
        n->in_flight++;
        pthread_mutex_unlock(&n->lock);
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &a, notice_thread, nt) != 0) {
                free(nt->body);
                free(nt);
                pthread_mutex_lock(&n->lock);
                n->in_flight--;
                pthread_mutex_unlock(&n->lock);
        }
        pthread_attr_destroy(&a);
}

int orch_notify_now(
        OrchNotifier *n,
        const char *service,
        const char *state,
        long timeout_ms,
        long *ret_code,
        char **ret_body) {
        _cleanup_free_ char *body = NULL;

        if (!n)
                return -ENOTCONN;
        body = notice_body(service, state);
        if (!body)
                return -ENOMEM;
        return alert_post_json(
                n->url, body, n->secret, n->secret_len, "ai-semble.service", timeout_ms, ret_code, ret_body);
}

void orch_notifier_free(OrchNotifier *n) {
        if (!n)
                return;
        pthread_mutex_lock(&n->lock);
        n->quit = true;
        while (n->in_flight > 0)
                pthread_cond_wait(&n->idle, &n->lock);
        pthread_mutex_unlock(&n->lock);
        pthread_cond_destroy(&n->idle);
        pthread_mutex_destroy(&n->lock);
        OPENSSL_clear_free(n->secret, n->secret_len);
        free(n->url);
        free(n);
}
