/* SPDX-License-Identifier: MIT */
/* orch-notify.h — tells the orchestrator when a service goes down or is ready again, so
 * that its circuit breaker for that service opens at once instead of after a run of
 * failed calls. A signed POST /webhook (X-Event-Type: ai-semble.service, X-Signature
 * t=,v1= with the pod's webhook secret), sent from a short-lived thread. */
#pragma once

#include <stdbool.h>

typedef struct OrchNotifier OrchNotifier;

/* url: the orchestrator's /webhook; secret_file: its ORCH_WEBHOOK_SECRET_FILE's twin on
 * the host. -ENOENT when the secret file does not exist (notices off). */
int orch_notifier_new(const char *url, const char *secret_file, OrchNotifier **ret);
/* Queues {"service", "state": "down"|"up", "time"} for delivery; never blocks on the
 * network. A NULL notifier does nothing. */
void orch_notify(OrchNotifier *n, const char *service, bool up);
/* Sends {"service", "state", "time"} now and waits up to timeout_ms for the answer, for
 * the notices of an update whose answer matters: "updating" (hold calls), "up", "canary"
 * (run one job; the answer says whether it passed). alert_post_json()'s result; -ENOTCONN
 * with a NULL notifier (notices off). */
int orch_notify_now(
        OrchNotifier *n,
        const char *service,
        const char *state,
        long timeout_ms,
        long *ret_code,
        char **ret_body);
/* Waits for notices in flight (each has a 3 s timeout), then frees. */
void orch_notifier_free(OrchNotifier *n);
