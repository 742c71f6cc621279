/* SPDX-License-Identifier: MIT */
/* alert-sink.h — delivery of alerts to the HTTP sinks (generic signed webhook, Slack, e-mail over SMTP/SMTPS
 * with STARTTLS) on a thread of its own: a bounded queue with retries and backoff, so a slow or failing sink
 * never blocks monitoring. journald is not queued (a local, non-blocking write). */
#pragma once

#include <stdint.h>

#include "alert.h"

typedef struct AlertSinks AlertSinks;

typedef struct AlertSinksConfig {
        const char *webhook_url; /* NULL: no generic webhook */
        const char *webhook_secret;
        size_t webhook_secret_len;
        const char *slack_url; /* NULL: no Slack */
        const char *smtp_url;  /* smtp://host[:port] or smtps://; NULL: no e-mail */
        const char *smtp_from;
        const char *smtp_to; /* comma-separated */
        const char *smtp_user;
        const char *smtp_password;
        bool smtp_require_tls;  /* STARTTLS required (else used when offered) */
        unsigned max_attempts;  /* 0 = 4 */
        uint64_t retry_base_ms; /* 0 = 1000; doubles per attempt */
        uint64_t timeout_ms;    /* 0 = 5000 per attempt */
        size_t max_queue;       /* 0 = 256; the oldest entry is dropped beyond it */
} AlertSinksConfig;

int alert_sinks_new(const AlertSinksConfig *c, AlertSinks **ret);
/* Stops the thread (pending deliveries are dropped) and frees. */
void alert_sinks_free(AlertSinks *s);
static inline void alert_sinks_freep(AlertSinks **s) {
        alert_sinks_free(*s);
}
/* The e-mail for an alert (RFC 5322, text/plain); CR/LF are removed from the subject. */
int alert_sinks_format_mail(const char *from, const char *to, const Alert *a, char **ret);
/* One blocking POST of a JSON body to url: signed with X-Signature (t=,v1= HMAC-SHA256,
 * the orchestrator's scheme) when secret is not NULL, with X-Event-Type when event_type is
 * not NULL. 0 on a 2xx answer, else -EIO (or -ENOMEM); *ret_code (may be NULL) gets the
 * HTTP status, 0 when none came; *ret_body (may be NULL: discarded) the answer's body, up
 * to 64 KiB, NULL when none came. */
int alert_post_json(
        const char *url,
        const char *body,
        const void *secret,
        size_t secret_len,
        const char *event_type,
        long timeout_ms,
        long *ret_code,
        char **ret_body);
/* Queues the alert for every configured sink; never blocks on the network. */
int alert_sinks_submit(AlertSinks *s, const Alert *a);
/* Counters for /api/metrics. */
void alert_sinks_stats(AlertSinks *s, uint64_t *ret_sent, uint64_t *ret_failed, uint64_t *ret_dropped);
