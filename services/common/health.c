/* SPDX-License-Identifier: MIT */
/* health.c — the three health endpoints. */
#include <time.h>

#include "health.h"
#include "json-util.h"
#include "time-util.h"

void health_set_started(HealthContext *ctx, bool started) {
        atomic_store(&ctx->started, started);
}

static int handle_health(HttpRequest *req, void *userdata) {
        HealthContext *ctx = userdata;
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "status", json_object_new_string("healthy"));
        json_object_object_add(o, "timestamp", json_object_new_double(time_now_s(CLOCK_REALTIME)));
        json_object_object_add(o, "service", json_object_new_string(ctx->service));
        json_object_object_add(o, "version", json_object_new_string(ctx->version));
        return http_reply_json(req, 200, o);
}

static int handle_live(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "status", json_object_new_string("alive"));
        json_object_object_add(o, "timestamp", json_object_new_double(time_now_s(CLOCK_REALTIME)));
        return http_reply_json(req, 200, o);
}

static int handle_ready(HttpRequest *req, void *userdata) {
        HealthContext *ctx = userdata;
        _cleanup_json_ json_object *o = json_object_new_object();
        bool ready = false;
        int r;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "timestamp", json_object_new_double(time_now_s(CLOCK_REALTIME)));

        if (!atomic_load(&ctx->started) || http_server_is_draining(http_request_server(req))) {
                json_object *checks = json_object_new_object();
                json_object_object_add(
                        checks,
                        "http",
                        json_object_new_string(atomic_load(&ctx->started) ? "draining" : "starting"));
                json_object_object_add(o, "checks", checks);
        } else if (ctx->readiness) {
                r = ctx->readiness(o, &ready, ctx->userdata);
                if (r < 0) {
                        json_object *checks = json_object_new_object();
                        json_object_object_add(checks, "readiness", json_object_new_string(strerror(-r)));
                        json_object_object_add(o, "checks", checks);
                        ready = false;
                }
        } else {
                json_object *checks = json_object_new_object();
                json_object_object_add(checks, "http", json_object_new_string("listening"));
                json_object_object_add(o, "checks", checks);
                ready = true;
        }
        json_object_object_add(o, "status", json_object_new_string(ready ? "ready" : "not_ready"));
        return http_reply_json(req, ready ? 200 : 503, o);
}

void health_routes(HealthContext *ctx, HttpRoute ret[static HEALTH_N_ROUTES]) {
        const unsigned f = HTTP_ROUTE_CONTROL | HTTP_ROUTE_UNTRACED;

        ret[0] = (HttpRoute){ "GET", "/health", handle_health, f, ctx };
        ret[1] = (HttpRoute){ "GET", "/health/live", handle_live, f, ctx };
        ret[2] = (HttpRoute){ "GET", "/health/ready", handle_ready, f, ctx };
}

int health_add_routes(HttpServer *s, HealthContext *ctx) {
        HttpRoute routes[HEALTH_N_ROUTES];

        health_routes(ctx, routes);
        return http_server_add_routes(s, routes, ELEMENTSOF(routes));
}
