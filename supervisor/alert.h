/* SPDX-License-Identifier: MIT */
/* alert.h — the supervisor's alerts: seed 002's levels and thresholds, a bounded store
 * that deduplicates and rate-limits, and the wire forms the sinks send (alert JSON, the
 * Slack attachment payload, the HMAC-SHA256 `X-Signature` header). No I/O here. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "macro.h"

typedef enum AlertLevel {
        ALERT_INFO,
        ALERT_WARNING,
        ALERT_ERROR,
        ALERT_CRITICAL,
        _ALERT_LEVEL_MAX,
        _ALERT_LEVEL_INVALID = -EINVAL,
} AlertLevel;

const char *alert_level_to_string(AlertLevel l);   /* "INFO", ... */
AlertLevel alert_level_from_string(const char *s); /* case-insensitive */
const char *alert_level_color(AlertLevel l);       /* the seed's Slack colours */

/* Seed 002's thresholds table: the level a value reaches, or _ALERT_LEVEL_INVALID below
 * the first threshold. Idle seconds 300/600/900, restarts 3/5/10, stopped services 1/2/3. */
AlertLevel alert_level_for_idle(double idle_seconds);
AlertLevel alert_level_for_restarts(unsigned restarts);
AlertLevel alert_level_for_stopped(unsigned stopped);

typedef struct Alert {
        uint64_t id;
        AlertLevel level;
        char *key;     /* dedup key, e.g. "restarts:llm" */
        char *service; /* NULL for the cluster */
        char *message;
        uint64_t first_usec; /* CLOCK_REALTIME */
        uint64_t last_usec;
        unsigned count; /* occurrences folded into this alert */
} Alert;

typedef struct AlertStore {
        Alert *alerts; /* ring, oldest first once full */
        size_t n, max, head;
        uint64_t next_id;
        uint64_t dedup_usec; /* same key and level within this window: count++ only */
        unsigned rate_burst; /* new alerts per rate window, CRITICAL exempt */
        uint64_t rate_window_usec;
        uint64_t window_start;
        unsigned in_window;
        uint64_t totals[_ALERT_LEVEL_MAX]; /* raised (not suppressed), per level */
        uint64_t suppressed;
} AlertStore;

int alert_store_init(
        AlertStore *s, size_t max, uint64_t dedup_usec, unsigned rate_burst, uint64_t rate_window_usec);
void alert_store_done(AlertStore *s);
/* Records an alert. Returns 1 with *ret_alert (owned by the store, valid until the next
 * raise) when it is new and should go to the sinks, 0 with *ret_alert the earlier one it
 * was folded into (dedup; its count raised), -EAGAIN when the rate limit dropped it,
 * -ENOMEM. */
int alert_store_raise(
        AlertStore *s,
        AlertLevel level,
        const char *key,
        const char *service,
        const char *message,
        uint64_t now_usec,
        const Alert **ret_alert);
/* i-th alert, oldest first (i < s->n). */
const Alert *alert_store_get(const AlertStore *s, size_t i);

/* {id, level, service, message, key, timestamp (RFC 3339), first_seen, count} */
int alert_to_json(const Alert *a, json_object **ret);
/* Slack incoming-webhook body: {"text":..., "attachments":[{color,title,text,ts}]} */
int alert_slack_payload(const Alert *a, char **ret);
/* "t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<body>")>" */
int alert_sign(
        const void *secret, size_t secret_len, int64_t ts, const char *body, size_t body_len, char **ret);
/* µs since the epoch → RFC 3339 UTC, buf >= 32. */
void alert_format_time(uint64_t usec, char *buf, size_t size);
