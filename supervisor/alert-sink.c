/* SPDX-License-Identifier: MIT */
/* alert-sink.c — the sink thread: one libcurl POST per delivery, retried with
 * exponential backoff up to max_attempts. */
#include <curl/curl.h>
#include <pthread.h>
#include <time.h>

#include "alert-sink.h"
#include "backoff.h"
#include "json-util.h"
#include "time-util.h"

typedef enum SinkKind {
        SINK_WEBHOOK,
        SINK_SLACK,
        SINK_SMTP,
} SinkKind;

typedef struct Delivery {
        struct Delivery *next;
        SinkKind kind;
        char *body;
        unsigned attempts;
        uint64_t not_before_ms; /* CLOCK_MONOTONIC */
} Delivery;

struct AlertSinks {
        AlertSinksConfig cfg;
        char *webhook_url, *slack_url, *secret;
        char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
        char **smtp_to;
        pthread_t thread;
        bool thread_started;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool quit;
        Delivery *head;
        size_t n;
        uint64_t sent, failed, dropped;
};

static void delivery_free(Delivery *d) {
        if (!d)
                return;
        free(d->body);
        free(d);
}

/* The answer's body into a string (userdata: a FILE from open_memstream), or nowhere. */
static size_t keep_or_discard(char *ptr, size_t size, size_t nmemb, void *userdata) {
        FILE *f = userdata;

        if (f && ftell(f) + (long) (size * nmemb) <= 64 * 1024)
                (void) fwrite(ptr, size, nmemb, f);
        return size * nmemb;
}

typedef struct ReadState {
        const char *data;
        size_t left;
} ReadState;

static size_t read_body(char *buf, size_t size, size_t nmemb, void *userdata) {
        ReadState *rs = userdata;
        size_t n = MIN(size * nmemb, rs->left);

        memcpy(buf, rs->data, n);
        rs->data += n;
        rs->left -= n;
        return n;
}

/* 0 when the server took the message, -EIO otherwise. */
static int send_mail(AlertSinks *s, const Delivery *d) {
        CURL *c = curl_easy_init();
        struct curl_slist *rcpt = NULL, *t;
        _cleanup_free_ char *from = NULL;
        ReadState rs = { d->body, strlen(d->body) };
        CURLcode cr;

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; s->smtp_to[i]; i++) {
                t = curl_slist_append(rcpt, s->smtp_to[i]);
                if (!t) {
                        curl_slist_free_all(rcpt);
                        curl_easy_cleanup(c);
                        return -ENOMEM;
                }
                rcpt = t;
        }
        if (asprintf(&from, "<%s>", s->smtp_from) < 0) {
                curl_slist_free_all(rcpt);
                curl_easy_cleanup(c);
                return -ENOMEM;
        }
        curl_easy_setopt(c, CURLOPT_URL, s->smtp_url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(
                c, CURLOPT_USE_SSL, (long) (s->cfg.smtp_require_tls ? CURLUSESSL_ALL : CURLUSESSL_TRY));
        curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(c, CURLOPT_READDATA, &rs);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) s->cfg.timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (s->smtp_user) {
                curl_easy_setopt(c, CURLOPT_USERNAME, s->smtp_user);
                curl_easy_setopt(c, CURLOPT_PASSWORD, s->smtp_password ? s->smtp_password : "");
        }
        cr = curl_easy_perform(c);
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(c);
        return cr == CURLE_OK ? 0 : -EIO;
}

int alert_post_json(
        const char *url,
        const char *body,
        const void *secret,
        size_t secret_len,
        const char *event_type,
        long timeout_ms,
        long *ret_code,
        char **ret_body) {
        _cleanup_free_ char *sig = NULL, *sig_header = NULL, *event_header = NULL, *answer = NULL;
        struct curl_slist *h = NULL, *t;
        size_t answer_len = 0;
        FILE *f = NULL;
        CURL *c;
        long code = 0;
        CURLcode cr;
        int r;

        if (secret) {
                r = alert_sign(secret, secret_len, (int64_t) time(NULL), body, strlen(body), &sig);
                if (r < 0)
                        return r;
                if (asprintf(&sig_header, "X-Signature: %s", sig) < 0)
                        return -ENOMEM;
        }
        if (event_type && asprintf(&event_header, "X-Event-Type: %s", event_type) < 0)
                return -ENOMEM;
        c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        const char *headers[] = { "Content-Type: application/json", sig_header, event_header };
        for (size_t i = 0; i < ELEMENTSOF(headers); i++)
                if (headers[i] && (t = curl_slist_append(h, headers[i])))
                        h = t;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        if (ret_body && !(f = open_memstream(&answer, &answer_len))) {
                curl_slist_free_all(h);
                curl_easy_cleanup(c);
                return -ENOMEM;
        }
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_or_discard);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
        cr = curl_easy_perform(c);
        if (cr == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(h);
        curl_easy_cleanup(c);
        if (f && fclose(f) != 0)
                return -ENOMEM;
        if (ret_code)
                *ret_code = code;
        if (ret_body)
                *ret_body = cr == CURLE_OK ? TAKE_PTR(answer) : NULL;
        return cr == CURLE_OK && code >= 200 && code < 300 ? 0 : -EIO;
}

/* 0 on a 2xx answer, -EIO otherwise. */
static int post(AlertSinks *s, const Delivery *d) {
        if (d->kind == SINK_SMTP)
                return send_mail(s, d);
        if (d->kind == SINK_WEBHOOK)
                return alert_post_json(
                        s->webhook_url,
                        d->body,
                        s->secret,
                        s->cfg.webhook_secret_len,
                        NULL,
                        (long) s->cfg.timeout_ms,
                        NULL,
                        NULL);
        return alert_post_json(s->slack_url, d->body, NULL, 0, NULL, (long) s->cfg.timeout_ms, NULL, NULL);
}

static void *sink_thread(void *userdata) {
        AlertSinks *s = userdata;

        pthread_mutex_lock(&s->lock);
        while (!s->quit) {
                Delivery *d = s->head, **pp = &s->head;
                uint64_t now = time_now_ms(CLOCK_MONOTONIC), wake = UINT64_MAX;

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
                                struct timespec ts = timespec_deadline_on(CLOCK_MONOTONIC, wake - now);
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
                        d->not_before_ms = time_now_ms(CLOCK_MONOTONIC) +
                                backoff_exponential_ms(d->attempts - 1, s->cfg.retry_base_ms, UINT64_MAX);
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
        if (c->smtp_url) {
                _cleanup_free_ char *to = c->smtp_to ? strdup(c->smtp_to) : NULL;
                char *save = NULL;
                size_t n = 0;

                s->smtp_url = strdup(c->smtp_url);
                s->smtp_from = c->smtp_from ? strdup(c->smtp_from) : NULL;
                s->smtp_user = c->smtp_user ? strdup(c->smtp_user) : NULL;
                s->smtp_password = c->smtp_password ? strdup(c->smtp_password) : NULL;
                s->smtp_to = calloc(to ? strlen(to) / 2 + 2 : 1, sizeof(char *));
                for (char *p = to ? strtok_r(to, ", ", &save) : NULL; p && s->smtp_to;
                     p = strtok_r(NULL, ", ", &save))
                        s->smtp_to[n++] = strdup(p);
                if (!s->smtp_url || !s->smtp_from || !s->smtp_to || n == 0) {
                        alert_sinks_free(s);
                        return !c->smtp_from || !to || n == 0 ? -EINVAL : -ENOMEM;
                }
        }
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
        free(s->smtp_url);
        free(s->smtp_from);
        free(s->smtp_user);
        if (s->smtp_password)
                explicit_bzero(s->smtp_password, strlen(s->smtp_password));
        free(s->smtp_password);
        for (size_t i = 0; s->smtp_to && s->smtp_to[i]; i++)
                free(s->smtp_to[i]);
        free(s->smtp_to);
        if (s->secret)
                explicit_bzero(s->secret, s->cfg.webhook_secret_len);
        free(s->secret);
        free(s);
}

static int enqueue(AlertSinks *s, SinkKind kind, char *body) {
        Delivery *d = calloc(1, sizeof(Delivery)), **pp;

        if (!d) {
                free(body);
                return -ENOMEM;
        }
        d->kind = kind;
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

int alert_sinks_format_mail(const char *from, const char *to, const Alert *a, char **ret) {
        _cleanup_free_ char *subject = NULL;
        char date[64], ts[32];
        time_t t = (time_t) (a->last_usec / 1000000ULL);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
                return -EINVAL;
        alert_format_time(a->last_usec, ts, sizeof(ts));
        if (asprintf(
                    &subject,
                    "[%s] ai-semble %s: %s",
                    alert_level_to_string(a->level),
                    a->service ? a->service : "cluster",
                    a->message) < 0)
                return -ENOMEM;
        for (char *p = subject; *p; p++)
                if (*p == '\r' || *p == '\n')
                        *p = ' ';
        return asprintf(
                       ret,
                       "Date: %s\r\n"
                       "From: %s\r\n"
                       "To: %s\r\n"
                       "Subject: %s\r\n"
                       "Message-ID: <ai-semble-alert-%llu-%llu@%s>\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "\r\n"
                       "Level:   %s\r\n"
                       "Service: %s\r\n"
                       "Time:    %s\r\n"
                       "Key:     %s\r\n"
                       "Count:   %u\r\n"
                       "\r\n"
                       "%s\r\n",
                       date,
                       from,
                       to,
                       subject,
                       (unsigned long long) a->id,
                       (unsigned long long) a->last_usec,
                       "ai-semble.localhost",
                       alert_level_to_string(a->level),
                       a->service ? a->service : "cluster",
                       ts,
                       a->key,
                       a->count,
                       a->message) < 0
                ? -ENOMEM
                : 0;
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
                r = enqueue(s, SINK_WEBHOOK, body);
                if (r < 0)
                        return r;
        }
        if (s->slack_url) {
                char *body = NULL;

                r = alert_slack_payload(a, &body);
                if (r < 0)
                        return r;
                r = enqueue(s, SINK_SLACK, body);
                if (r < 0)
                        return r;
        }
        if (s->smtp_url) {
                char *body = NULL;

                r = alert_sinks_format_mail(s->smtp_from, s->cfg.smtp_to, a, &body);
                if (r < 0)
                        return r;
                r = enqueue(s, SINK_SMTP, body);
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
