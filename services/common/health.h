/* SPDX-License-Identifier: MIT */
/* health.h — /health, /health/live and /health/ready with the shapes the original
 * Ai-semble clients rely on; readiness is delegated to a per-service callback. */
#pragma once

#include <json-c/json.h>
#include <stdatomic.h>

#include "http-server.h"

/* Adds the service's fields to response (e.g. "checks" or "services") and sets
 * *ret_ready. Returning < 0 means not ready (the error is reported as a check). */
typedef int (*HealthReadinessFn)(json_object *response, bool *ret_ready, void *userdata);

typedef struct HealthContext {
        const char *service;
        const char *version;
        HealthReadinessFn readiness; /* NULL = ready once started */
        void *userdata;
        atomic_bool started; /* set by service_main() once the server listens */
} HealthContext;

#define HEALTH_N_ROUTES 3

/* GET /health, GET /health/live, GET /health/ready; ctx must outlive the server. */
int health_add_routes(HttpServer *s, HealthContext *ctx);
/* The same routes, for a caller that wraps them (service.c's gate). */
void health_routes(HealthContext *ctx, HttpRoute ret[static HEALTH_N_ROUTES]);
void health_set_started(HealthContext *ctx, bool started);
