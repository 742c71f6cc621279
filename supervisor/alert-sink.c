/* SPDX-License-Identifier: MIT */
/* alert-sink.c — the sink thread: one libcurl POST per delivery, retried with
 * exponential backoff up to max_attempts. */
#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "alert-sink.h"
#include "json-util.h"

typedef struct Delivery {
        struct Delivery *next;
        bool signed_webhook; /* false: Slack */
        char *body;
        unsigned attempts;
        uint64_t not_before_ms; /* CLOCK_MONOTONIC */
} Delivery;

struct AlertSinks {
        AlertSinksConfig cfg;
        char *webhook_url, *slack_url, *secret;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool quit;
        Delivery *head;
        size_t n;
        uint64_t sent, failed, dropped;
};

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000ULL + (uint64_t) ts.tv_nsec / 1000000ULL;
}

static void delivery_free(Delivery *d) {
        if (!d)
                return;
        free(d->body);
        free(d);
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata) {
        (void) ptr;
        (void) userdata;
        return size * nmemb;
}

/* 0 on a 2xx answer, -EIO otherwise. */
static int post(AlertSinks *s, const Delivery *d) {
        CURL *c = curl_easy_init();
        struct curl_slist *h = NULL, *t;
        _cleanup_free_ char *sig = NULL, *sig_header = NULL;
        long code = 0;
        CURLcode cr;
        int r = 0;

        if (!c)
                return -ENOMEM;
        t = curl_slist_append(h, "Content-Type: application/json");
        if (t)
                h = t;
        if (d->signed_webhook) {
                r = alert_sign(
                        s->secret,
                        s->cfg.webhook_secret_len,
                        (int64_t) time(NULL),
                        d->body,
                        strlen(d->body),
                        &sig);
                if (r >= 0 && asprintf(&sig_header, "X-Signature: %s", sig) < 0)
                        r = -ENOMEM;
                if (r >= 0) {
                        t = curl_slist_append(h, sig_header);
                        if (t)
                                h = t;
                }
        }
        if (r >= 0) {
                curl_easy_setopt(c, CURLOPT_URL, d->signed_webhook ? s->webhook_url : s->slack_url);
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
                curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) s->cfg.timeout_ms);
                curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
                cr = curl_easy_perform(c);
                if (cr == CURLE_OK)
                        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
                r = cr == CURLE_OK && code >= 200 && code < 300 ? 0 : -EIO;
        }
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        return r;
}

static void *sink_thread(void *userdata) {
        AlertSinks *s = userdata;

        pthread_mutex_lock(&s->lock);
        while (!s->quit) {
                Delivery *d = s->head, **pp = &s->head;
                uint64_t now = now_ms(), wake = UINT64_MAX;

                /* the first one due, in queue order */
                for (; d; pp = &d->next, d = d->next) {
                        if (d->not_before_ms <= now)
                                break;
                        wake = MIN(wake, d->not_before_ms);
                }
                if (!d) {
                        if (wake == UINT64_MAX)
                                pthread_cond_wait(&s->cond, &s->lock);
                        else {
                                struct timespec ts;
                                clock_gettime(CLOCK_MONOTONIC, &ts);
                                uint64_t ns = (uint64_t) ts.tv_nsec + (wake - now) * 1000000ULL;
                                ts.tv_sec += (time_t) (ns / 1000000000ULL);
                                ts.tv_nsec = (long) (ns % 1000000000ULL);
                                pthread_cond_timedwait(&s->cond, &s->lock, &ts);
                        }
                        continue;
                }
                *pp = d->next;
                s->n--;
                pthread_mutex_unlock(&s->lock);

                int r = post(s, d);

                pthread_mutex_lock(&s->lock);
                if (r >= 0) {
                        s->sent++;
                        delivery_free(d);
                } else if (++d->attempts >= s->cfg.max_attempts) {
                        s->failed++;
                        delivery_free(d);
                } else {
                        d->not_before_ms = now_ms() + (s->cfg.retry_base_ms << (d->attempts - 1));
                        d->next = s->head;
                        s->head = d;
                        s->n++;
                }
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int alert_sinks_new(const AlertSinksConfig *c, AlertSinks **ret) {
        AlertSinks *s = calloc(1, sizeof(AlertSinks));
        pthread_condattr_t ca;
        int r;

        if (!s)
                return -ENOMEM;
        s->cfg = *c;
        s->cfg.max_attempts = c->max_attempts ?: 4;
        s->cfg.retry_base_ms = c->retry_base_ms ?: 1000;
        s->cfg.timeout_ms = c->timeout_ms ?: 5000;
        s->cfg.max_queue = c->max_queue ?: 256;
        s->webhook_url = c->webhook_url ? strdup(c->webhook_url) : NULL;
        s->slack_url = c->slack_url ? strdup(c->slack_url) : NULL;
        if (c->webhook_secret) {
                s->secret = malloc(c->webhook_secret_len + 1);
                if (s->secret) {
                        memcpy(s->secret, c->webhook_secret, c->webhook_secret_len);
                        s->secret[c->webhook_secret_len] = 0;
                }
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->cond, &ca);
        pthread_condattr_destroy(&ca);
        if ((c->webhook_url && (!s->webhook_url || !s->secret)) || (c->slack_url && !s->slack_url)) {
                alert_sinks_free(s);
                return -ENOMEM;
        }
        r = -pthread_create(&s->thread, NULL, sink_thread, s);
        if (r < 0) {
                alert_sinks_free(s);
                return r;
        }
        s->thread_started = true;
        *ret = s;
        return 0;
}

void alert_sinks_free(AlertSinks *s) {
        if (!s)
                return;
        if (s->thread_started) {
                pthread_mutex_lock(&s->lock);
                s->quit = true;
                pthread_cond_signal(&s->cond);
                pthread_mutex_unlock(&s->lock);
                pthread_join(s->thread, NULL);
        }
        while (s->head) {
                Delivery *d = s->head;
                s->head = d->next;
                delivery_free(d);
        }
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s->webhook_url);
        free(s->slack_url);
        if (s->secret)
                explicit_bzero(s->secret, s->cfg.webhook_secret_len);
        free(s->secret);
        free(s);
}

static int enqueue(AlertSinks *s, bool signed_webhook, char *body) {
        Delivery *d = calloc(1, sizeof(Delivery)), **pp;

        if (!d) {
                free(body);
                return -ENOMEM;
        }
        d->signed_webhook = signed_webhook;
        d->body = body;
        pthread_mutex_lock(&s->lock);
        if (s->n >= s->cfg.max_queue && s->head) {
                Delivery *old = s->head;
                s->head = old->next;
                delivery_free(old);
                s->n--;
                s->dropped++;
        }
        for (pp = &s->head; *pp; pp = &(*pp)->next)
                ;
        *pp = d;
        s->n++;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        return 0;
}

int alert_sinks_submit(AlertSinks *s, const Alert *a) {
        int r = 0;

        if (s->webhook_url) {
                _cleanup_(json_object_putp) json_object *o = NULL;
                const char *text;
                char *body;

                r = alert_to_json(a, &o);
                if (r < 0)
                        return r;
                text = json_object_to_json_string_ext(
                        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                body = text ? strdup(text) : NULL;
                if (!body)
                        return -ENOMEM;
                r = enqueue(s, true, body);
                if (r < 0)
                        return r;
        }
        if (s->slack_url) {
                char *body = NULL;

                r = alert_slack_payload(a, &body);
                if (r < 0)
                        return r;
                r = enqueue(s, false, body);
        }
        return r;
}

void alert_sinks_stats(AlertSinks *s, uint64_t *ret_sent, uint64_t *ret_failed, uint64_t *ret_dropped) {
        pthread_mutex_lock(&s->lock);
        *ret_sent = s->sent;
        *ret_failed = s->failed;
        *ret_dropped = s->dropped;
        pthread_mutex_unlock(&s->lock);
}
