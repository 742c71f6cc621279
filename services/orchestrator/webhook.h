/* SPDX-License-Identifier: MIT */
/* webhook.h — HMAC-SHA256 verification of incoming webhooks in both ORCH-Next formats:
 *   X-Hub-Signature-256: sha256=<hex>       HMAC over the raw body
 *   X-Signature: t=<unix>,v1=<hex>[,v1=…]   HMAC over "<t>.<body>", |now - t| <= window
 * Constant-time compares, and a replay memory of accepted MACs that keeps each for as long
 * as its signature could be accepted again (an X-Signature until t + window, however far
 * ahead t was; a hub signature for the window after it arrived). The memory is bounded:
 * when it holds its maximum of live signatures, a new delivery is refused (busy) rather
 * than an old signature forgotten. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_WINDOW_DEFAULT_S 300
#define WEBHOOK_REPLAY_MAX_DEFAULT 16384 /* signatures remembered at once: 54/s over 300 s */

typedef struct WebhookVerifier WebhookVerifier;

typedef enum WebhookResult {
        WEBHOOK_VALID,
        WEBHOOK_MISSING,   /* no signature header */
        WEBHOOK_MALFORMED, /* header not in either format */
        WEBHOOK_INVALID,   /* wrong MAC */
        WEBHOOK_STALE,     /* t outside the window */
        WEBHOOK_REPLAY,    /* this signature was accepted before */
        WEBHOOK_BUSY,      /* valid, but the replay memory is full of live signatures */
        _WEBHOOK_RESULT_MAX,
} WebhookResult;

const char *webhook_result_to_string(WebhookResult r); /* metric label: valid, missing, ... */

/* secret is copied; window_s 0 = 300; replay_max 0 = WEBHOOK_REPLAY_MAX_DEFAULT. */
int webhook_verifier_new(
        const void *secret, size_t secret_len, uint64_t window_s, size_t replay_max, WebhookVerifier **ret);
void webhook_verifier_free(WebhookVerifier *v);
static inline void webhook_verifier_freep(WebhookVerifier **v) {
        if (*v)
                webhook_verifier_free(*v);
}

/* A replay memory shared with other orchestrators (their store) instead of the verifier's
 * own table: remember(mac, expires, now) returns 1 when mac is remembered and not expired,
 * 0 after remembering it until expires, < 0 when it cannot tell (the delivery is then
 * refused as busy, to be retried). */
typedef int (*WebhookRemember)(
        const unsigned char mac[static 32], int64_t expires, int64_t now, void *userdata);
void webhook_verifier_set_memory(WebhookVerifier *v, WebhookRemember remember, void *userdata);

/* Either header may be NULL (X-Signature wins when both are present). Thread-safe.
 * Returns the result; *ret_reason is a short static text for the 401 detail. */
WebhookResult webhook_verify(
        WebhookVerifier *v,
        const char *hub_signature,
        const char *x_signature,
        const void *body,
        size_t len,
        int64_t now,
        const char **ret_reason);

/* ---- event → job map (ORCH_WEBHOOK_EVENTS) ------------------------------------- */

#define WEBHOOK_EVENTS_MAX 32

typedef struct WebhookEvent {
        char event[65];
        char service[16];
        char task[65];
} WebhookEvent;

/* Parses "event=service/task[,event=service/task…]" (event: [A-Za-z0-9._:-]{1,64}).
 * Service/task are checked by the caller against the task table. -EINVAL on bad syntax. */
int webhook_events_parse(const char *spec, WebhookEvent *events, size_t max, size_t *ret_n);
const WebhookEvent *webhook_events_find(const WebhookEvent *events, size_t n, const char *event);
