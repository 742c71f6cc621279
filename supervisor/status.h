/* SPDX-License-Identifier: MIT */
/* status.h — the pod's state as the user sees it: each unit's systemd state plus each
 * service's readiness from the orchestrator's /health/ready, as a table or as JSON. */
#pragma once

#include <stdint.h>
#include <stdio.h>

#include "unit-manager.h"

typedef struct ServiceStatus {
        char *name; /* orchestrator, llm, ... */
        char *unit;
        UnitState state;
        bool ready;
        bool slow; /* the orchestrator's probe of it timed out ("timeout"): alive, no verdict */
        bool has_latency;
        double latency_ms;
} ServiceStatus;

typedef struct PodStatus {
        char *unit;
        UnitState state;
        ServiceStatus *services;
        size_t n_services;
        bool probe_answered;  /* the orchestrator's readiness endpoint answered at all */
        long probe_http_code; /* 200 only when every service is ready */
} PodStatus;

void pod_status_done(PodStatus *s);
/* Adds a service row (copies name and unit). */
int pod_status_add_service(PodStatus *s, const char *name, const char *unit);

/* µs since the epoch → "2026-01-31T12:00:00Z"; 0 means never and gives -ENODATA. */
int status_format_timestamp(uint64_t usec, char *buf, size_t size);

/* GET url with libcurl; *ret_http_code and *ret_body on any HTTP answer. -ETIMEDOUT,
 * -ECONNREFUSED, -EHOSTUNREACH or -EIO when there was no answer. */
int status_probe(const char *url, uint64_t timeout_ms, long *ret_http_code, char **ret_body);
/* Applies an answer of /health/ready: {status, timestamp, services:{llm:{status,
 * latency_ms}, ...}}. The orchestrator is ready when the probe answered; another service
 * when its status is "ready" (or "healthy"/"ok"), slow when it is "timeout". -EBADMSG
 * when body is not that JSON. */
int status_apply_ready(PodStatus *s, long http_code, const char *body);

/* Everything active and ready (exit 0), otherwise the caller exits 3. */
bool status_all_ok(const PodStatus *s);
/* {pod:{unit,load,active,sub,since}, services:[{name,unit,load,active,sub,since,ready,latency_ms}], ready}
 */
int status_render_json(const PodStatus *s, char **ret);
void status_print_table(const PodStatus *s, FILE *f);
