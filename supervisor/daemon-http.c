/* SPDX-License-Identifier: MIT */
/* daemon-http.c — the supervisor's HTTP API on 127.0.0.1:8090 (seed 002's endpoints),
 * its Prometheus endpoint, and the status page (one embedded HTML document that polls
 * /api/status and /api/alerts). Handlers run on the HTTP server's threads and read the daemon's
 * state under its lock. Before any handler: every route answers only the Host names it
 * serves (a rebound name gets 421), and the POST routes, which switch self-healing off and
 * on, refuse cross-site requests (403) and need the pod's admin token (401/403). */
#include <ctype.h>
#include <stdio.h>
#include <time.h>

#include "auth-http.h"
#include "daemon.h"
#include "http-host.h"
#include "http-query.h"
#include "json-util.h"
#include "log.h"
#include "status-page.h"
#include "time-util.h"

static int add(json_object *o, const char *k, json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, k, v) < 0 ? -ENOMEM : 0;
}

static json_object *time_or_null(uint64_t usec) {
        char buf[32];

        if (!usec)
                return NULL;
        alert_format_time(usec, buf, sizeof(buf));
        return json_object_new_string(buf);
}

static double idle_seconds(const Daemon *d, const Watched *w, uint64_t now) {
        uint64_t last = w->last_activity_usec ?: d->started_usec;
        return now > last ? (double) (now - last) / 1e6 : 0;
}

static const char *health_of(const Watched *w) {
        if (w->heal.gave_up)
                return "given-up";
        if (w->ready)
                return "ready";
        if (w->active_state && streq(w->active_state, "active"))
                return w->slow ? "slow" : "unready";
        return "down";
}

/* lock held */
static int watched_json(const Daemon *d, const Watched *w, uint64_t now, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        bool running = w->active_state && streq(w->active_state, "active");
        int r = 0;

        if (!o)
                return -ENOMEM;
        r = r ?: add(o, "name", json_object_new_string(w->name));
        r = r ?: add(o, "unit", json_object_new_string(w->unit));
        r = r
                ?: add(o,
                       "active_state",
                       json_object_new_string(w->active_state ? w->active_state : "unknown"));
        r = r ?: add(o, "sub_state", json_object_new_string(w->sub_state ? w->sub_state : "unknown"));
        r = r ?: add(o, "state", json_object_new_string(running ? "running" : "stopped"));
        r = r ?: add(o, "since", time_or_null(w->state_change_usec) ?: json_object_new_string(""));
        if (!w->is_pod) {
                r = r ?: add(o, "health", json_object_new_string(health_of(w)));
                r = r ?: add(o, "ready", json_object_new_boolean(w->ready));
                if (w->has_latency)
                        r = r ?: add(o, "latency_ms", json_object_new_double(w->latency_ms));
                r = r ?: add(o, "last_activity", time_or_null(w->last_activity_usec ?: d->started_usec));
                r = r ?: add(o, "idle_seconds", json_object_new_int64((int64_t) idle_seconds(d, w, now)));
        }
        if (w->has_stats) {
                r = r ?: add(o, "cpu_percent", json_object_new_double(w->cpu_percent));
                r = r ?: add(o, "memory_bytes", json_object_new_int64((int64_t) w->mem_bytes));
                r = r ?: add(o, "memory_limit_bytes", json_object_new_int64((int64_t) w->mem_limit_bytes));
                r = r ?: add(o, "pids", json_object_new_int64((int64_t) w->pids));
        }
        if (w->last_event) {
                r = r ?: add(o, "last_container_event", json_object_new_string(w->last_event));
                r = r ?: add(o, "last_container_event_time", time_or_null(w->last_event_usec));
        }
        r = r ?: add(o, "restarts", json_object_new_int64(w->restarts));
        r = r ?: add(o, "supervisor_restarts", json_object_new_int64(w->heals));
        r = r ?: add(o, "heal_attempts", json_object_new_int64(w->heal.attempts));
        r = r ?: add(o, "given_up", json_object_new_boolean(w->heal.gave_up));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int reply_obj(HttpRequest *req, json_object *o) {
        int r = http_reply_json(req, 200, o);
        json_object_put(o);
        return r;
}

static int get_status(HttpRequest *req, void *userdata) {
        Daemon *d = userdata;
        json_object *o = json_object_new_object(), *arr = json_object_new_array(), *pod = NULL;
        uint64_t now = time_now_usec(CLOCK_REALTIME);
        unsigned stopped = 0;
        int r = 0;

        if (!o || !arr) {
                json_object_put(o);
                json_object_put(arr);
                return -ENOMEM;
        }
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; r >= 0 && i < d->n; i++) {
                json_object *s = NULL;
                r = watched_json(d, &d->w[i], now, &s);
                if (r >= 0 && json_object_array_add(arr, s) < 0) {
                        json_object_put(s);
                        r = -ENOMEM;
                }
                stopped += !(d->w[i].active_state && streq(d->w[i].active_state, "active"));
        }
        if (r >= 0)
                r = watched_json(d, daemon_pod(d), now, &pod);
        r = r ?: add(o, "monitoring", json_object_new_boolean(d->monitoring));
        r = r ?: add(o, "started", time_or_null(d->started_usec));
        r = r ?: add(o, "last_check", time_or_null(d->last_check_usec) ?: json_object_new_string(""));
        r = r
                ?: add(o,
                       "check_interval_seconds",
                       json_object_new_double((double) d->s->cfg.check_interval_ms / 1000.0));
        r = r ?: add(o, "orchestrator_answered", json_object_new_boolean(d->probe_answered));
        r = r ?: add(o, "stopped_services", json_object_new_int64(stopped));
        json_object *cs = json_object_new_object();
        if (!cs)
                r = -ENOMEM;
        r = r ?: add(cs, "available", json_object_new_boolean(!d->stats_unavailable));
        if (r >= 0 && d->stats_unavailable)
                r = add(cs, "reason", json_object_new_string(d->stats_unavailable));
        if (r >= 0)
                r = add(o, "container_stats", cs);
        else
                json_object_put(cs);
        pthread_mutex_unlock(&d->lock);
        if (d->events) {
                char error[PODMAN_EVENTS_ERROR_MAX];
                bool connected = false;
                uint64_t events = 0;
                json_object *pe = json_object_new_object();
                podman_events_stats(d->events, &connected, &events, error);
                if (!pe)
                        r = -ENOMEM;
                r = r ?: add(pe, "connected", json_object_new_boolean(connected));
                r = r ?: add(pe, "events", json_object_new_int64((int64_t) events));
                if (r >= 0 && !connected && error[0])
                        r = add(pe, "error", json_object_new_string(error));
                if (r >= 0)
                        r = add(o, "podman_events", pe);
                else
                        json_object_put(pe);
        }
        r = r ?: add(o, "pod", TAKE_PTR(pod));
        if (r >= 0)
                r = add(o, "services", arr);
        else
                json_object_put(arr);
        json_object_put(pod);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        return reply_obj(req, o);
}

static int get_metrics_json(HttpRequest *req, void *userdata) {
        Daemon *d = userdata;
        json_object *o = json_object_new_object(), *alerts = json_object_new_object(),
                    *svcs = json_object_new_object(), *sinks = json_object_new_object();
        uint64_t now = time_now_usec(CLOCK_REALTIME), sent = 0, failed = 0, dropped = 0;
        int r = 0;

        if (!o || !alerts || !svcs || !sinks) {
                json_object_put(o);
                json_object_put(alerts);
                json_object_put(svcs);
                json_object_put(sinks);
                return -ENOMEM;
        }
        if (d->sinks)
                alert_sinks_stats(d->sinks, &sent, &failed, &dropped);
        pthread_mutex_lock(&d->lock);
        for (int l = 0; r >= 0 && l < _ALERT_LEVEL_MAX; l++)
                r = add(alerts,
                        alert_level_to_string((AlertLevel) l),
                        json_object_new_int64((int64_t) d->alerts.totals[l]));
        for (size_t i = 0; r >= 0 && i < d->n; i++) {
                const Watched *w = &d->w[i];
                json_object *s = json_object_new_object();
                if (!s) {
                        r = -ENOMEM;
                        break;
                }
                r = r ?: add(s, "up", json_object_new_int(w->ready ? 1 : 0));
                r = r ?: add(s, "idle_time_seconds", json_object_new_double(idle_seconds(d, w, now)));
                r = r ?: add(s, "restarts_total", json_object_new_int64(w->restarts));
                if (w->has_latency)
                        r = r ?: add(s, "latency_ms", json_object_new_double(w->latency_ms));
                if (add(svcs, w->name, s) < 0)
                        r = -ENOMEM;
        }
        r = r ?: add(o, "monitoring", json_object_new_boolean(d->monitoring));
        r = r ?: add(o, "checks_total", json_object_new_int64((int64_t) d->checks));
        r = r ?: add(o, "probe_failures_total", json_object_new_int64((int64_t) d->probe_failures));
        r = r ?: add(o, "pod_escalations_total", json_object_new_int64((int64_t) d->escalations));
        r = r ?: add(o, "alerts_suppressed_total", json_object_new_int64((int64_t) d->alerts.suppressed));
        pthread_mutex_unlock(&d->lock);
        r = r ?: add(sinks, "sent_total", json_object_new_int64((int64_t) sent));
        r = r ?: add(sinks, "failed_total", json_object_new_int64((int64_t) failed));
        r = r ?: add(sinks, "dropped_total", json_object_new_int64((int64_t) dropped));
        r = r ?: add(o, "alerts_total", alerts);
        r = r ?: add(o, "services", svcs);
        r = r ?: add(o, "sinks", sinks);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        return reply_obj(req, o);
}

/* %XX and '+' decoding in place */
/* Unix seconds or "YYYY-MM-DDTHH:MM:SSZ" → µs */
static int parse_since(const char *s, uint64_t *ret) {
        struct tm tm = {};
        char *end;

        if (isempty(s))
                return -EINVAL;
        if (isdigit((unsigned char) s[0])) {
                errno = 0;
                unsigned long long v = strtoull(s, &end, 10);
                if (errno == 0 && *end == 0 && v < 100000000000ULL) {
                        *ret = v * 1000000ULL;
                        return 0;
                }
        }
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end || (*end && !streq(end, "Z") && !streq(end, "+00:00")))
                return -EINVAL;
        time_t t = timegm(&tm);
        if (t < 0)
                return -EINVAL;
        *ret = (uint64_t) t * 1000000ULL;
        return 0;
}

static int get_alerts(HttpRequest *req, void *userdata) {
        Daemon *d = userdata;
        const char *q = http_request_query(req);
        _cleanup_(json_object_putp) json_object *errs = NULL;
        AlertLevel level = _ALERT_LEVEL_INVALID;
        uint64_t since = 0;
        json_object *arr, *o;
        int r = 0;

        for (;;) {
                _cleanup_free_ char *kv = NULL, *v = NULL;

                r = http_query_next(&q, HTTP_QUERY_PLUS_IS_SPACE, &kv, &v);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (streq(kv, "level")) {
                        level = alert_level_from_string(v);
                        if (level < 0)
                                json_errors_add(
                                        &errs, "level", "must be one of INFO, WARNING, ERROR, CRITICAL");
                } else if (streq(kv, "since")) {
                        if (parse_since(v, &since) < 0)
                                json_errors_add(
                                        &errs,
                                        "since",
                                        "must be Unix seconds or an RFC 3339 UTC time (2026-01-31T12:00:00Z)");
                } else if (!isempty(kv))
                        json_errors_add(&errs, kv, "unknown query parameter (level, since)");
        }
        if (errs)
                return http_reply_validation(req, errs);

        arr = json_object_new_array();
        o = json_object_new_object();
        if (!arr || !o) {
                json_object_put(arr);
                json_object_put(o);
                return -ENOMEM;
        }
        pthread_mutex_lock(&d->lock);
        /* newest first */
        for (size_t i = d->alerts.n; r >= 0 && i > 0; i--) {
                const Alert *a = alert_store_get(&d->alerts, i - 1);
                json_object *j = NULL;
                if ((level >= 0 && a->level != level) || a->last_usec < since)
                        continue;
                r = alert_to_json(a, &j);
                if (r >= 0 && json_object_array_add(arr, j) < 0) {
                        json_object_put(j);
                        r = -ENOMEM;
                }
        }
        pthread_mutex_unlock(&d->lock);
        r = r ?: add(o, "count", json_object_new_int64((int64_t) json_object_array_length(arr)));
        if (r >= 0)
                r = add(o, "alerts", arr);
        else
                json_object_put(arr);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        return reply_obj(req, o);
}

static int monitoring(HttpRequest *req, Daemon *d, bool on) {
        json_object *o = json_object_new_object();

        pthread_mutex_lock(&d->lock);
        bool was = d->monitoring;
        daemon_set_monitoring(d, on);
        if (was != on)
                daemon_alert(
                        d,
                        ALERT_INFO,
                        on ? "monitoring-started" : "monitoring-stopped",
                        NULL,
                        "Monitoring %s through the API",
                        on ? "started" : "stopped");
        pthread_mutex_unlock(&d->lock);
        if (!o || add(o, "monitoring", json_object_new_boolean(on)) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        return reply_obj(req, o);
}

static int post_start(HttpRequest *req, void *userdata) {
        return monitoring(req, userdata, true);
}

static int post_stop(HttpRequest *req, void *userdata) {
        return monitoring(req, userdata, false);
}

static int get_page(HttpRequest *req, void *userdata) {
        (void) userdata;
        (void) http_reply_add_header(req, "Cache-Control", "no-cache");
        (void) http_reply_add_header(
                req,
                "Content-Security-Policy",
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
        return http_reply(req, 200, "text/html; charset=utf-8", status_page_html, strlen(status_page_html));
}

static int collect(FILE *f, void *userdata) {
        Daemon *d = userdata;
        uint64_t now = time_now_usec(CLOCK_REALTIME);

        pthread_mutex_lock(&d->lock);
        metrics_write_header(
                f,
                "orchestrator_agent_up",
                "1 when the service's unit is active and it reports ready.",
                "gauge");
        for (size_t i = 0; i < d->n; i++) {
                fputs("orchestrator_agent_up{agent_name=", f);
                metrics_write_label_value(f, d->w[i].name);
                fputs("} ", f);
                metrics_write_value(f, d->w[i].ready ? 1 : 0);
                fputc('\n', f);
        }
        metrics_write_header(
                f,
                "orchestrator_agent_idle_time_seconds",
                "Seconds since the service last served a request.",
                "gauge");
        for (size_t i = 0; i < d->n; i++) {
                fputs("orchestrator_agent_idle_time_seconds{agent_name=", f);
                metrics_write_label_value(f, d->w[i].name);
                fputs("} ", f);
                metrics_write_value(f, idle_seconds(d, &d->w[i], now));
                fputc('\n', f);
        }
        metrics_write_header(
                f,
                "orchestrator_agent_restarts_total",
                "Returns of the service's unit to active after it went down (systemd's or the supervisor's restarts).",
                "counter");
        for (size_t i = 0; i < d->n; i++) {
                fputs("orchestrator_agent_restarts_total{agent_name=", f);
                metrics_write_label_value(f, d->w[i].name);
                fputs("} ", f);
                metrics_write_value(f, d->w[i].restarts);
                fputc('\n', f);
        }
        metrics_write_header(
                f,
                "orchestrator_cluster_alerts_total",
                "Alerts raised, by level (deduplicated).",
                "counter");
        for (int l = 0; l < _ALERT_LEVEL_MAX; l++) {
                char lower[16];
                size_t k = 0;
                for (const char *p = alert_level_to_string((AlertLevel) l); *p && k < sizeof(lower) - 1; p++)
                        lower[k++] = (char) tolower((unsigned char) *p);
                lower[k] = 0;
                fputs("orchestrator_cluster_alerts_total{level=", f);
                metrics_write_label_value(f, lower);
                fputs("} ", f);
                metrics_write_value(f, (double) d->alerts.totals[l]);
                fputc('\n', f);
        }
        metrics_write_header(
                f,
                "supervisor_container_memory_bytes",
                "Memory of the service's container (Podman stats; absent on cgroup v1 hosts).",
                "gauge");
        for (size_t i = 0; i < d->n; i++) {
                if (!d->w[i].has_stats)
                        continue;
                fputs("supervisor_container_memory_bytes{agent_name=", f);
                metrics_write_label_value(f, d->w[i].name);
                fputs("} ", f);
                metrics_write_value(f, (double) d->w[i].mem_bytes);
                fputc('\n', f);
        }
        metrics_write_header(
                f, "supervisor_monitoring_enabled", "1 while monitoring and self-healing are on.", "gauge");
        fprintf(f, "supervisor_monitoring_enabled %d\n", d->monitoring ? 1 : 0);
        metrics_write_header(f, "supervisor_checks_total", "Health checks run.", "counter");
        fprintf(f, "supervisor_checks_total %llu\n", (unsigned long long) d->checks);
        pthread_mutex_unlock(&d->lock);
        return 0;
}

static int get_prometheus(HttpRequest *req, void *userdata) {
        MetricsRegistry *reg = userdata;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        r = metrics_registry_render(reg, &text, &len);
        if (r < 0)
                return r;
        return http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* The admin token of a POST: 0, or refused and answered (-EACCES, -ENOKEY). */
static int check_admin(Daemon *d, HttpRequest *req) {
        AuthClaims who;
        const char *tok, *why = NULL;
        size_t len;
        int r;

        if (!d->jwt) {
                (void) http_reply_error(
                        req,
                        503,
                        "this route needs an admin token, and the supervisor has no JWT secret to "
                        "check one: see SUPERVISOR_JWT_SECRET_FILE");
                return -ENOKEY;
        }
        r = auth_http_bearer(req, &tok, &len);
        if (r == -ENOKEY)
                return auth_http_refuse(
                        req,
                        401,
                        NULL,
                        "an admin token is required: ./scripts/deploy.sh token --role admin --sub NAME");
        if (r < 0)
                return auth_http_refuse(
                        req, 401, "invalid_request", "the Authorization scheme must be Bearer");
        r = auth_jwt_verify(d->jwt, tok, len, (int64_t) time(NULL), &who, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return auth_http_refuse(req, 401, "invalid_token", why ?: "invalid token");
        if (who.role != AUTH_ROLE_ADMIN)
                return auth_http_refuse(req, 403, "insufficient_scope", "this route needs the admin role");
        return 0;
}

/* HttpPreBodyHook: Host on every route; on the POST routes no cross-site request, and
 * an admin token. A refusal is answered here and the handler does not run. */
static int guard(HttpRequest *req, const HttpRoute *route, void *userdata) {
        Daemon *d = userdata;
        int r;

        r = http_host_check(req, d->s->cfg.allowed_hosts, "SUPERVISOR_ALLOWED_HOSTS");
        if (r < 0 || !streq(route->method, "POST"))
                return r;
        /* A form or a script on another page: refused whatever it carries. */
        if (http_request_cross_site(req)) {
                (void) http_reply_error(req, 403, "cross-site requests may not change the supervisor");
                return -EPERM;
        }
        return check_admin(d, req);
}

int daemon_http_start(Daemon *d) {
        MetricsRegistry *reg;
        char bad[128];
        int r;

        r = http_host_list_check(d->s->cfg.allowed_hosts, bad, sizeof(bad));
        if (r < 0)
                return log_error_errno(
                        r, "SUPERVISOR_ALLOWED_HOSTS: '%s' is not a host name, [IPv6] or name:port", bad);

        r = metrics_registry_new(&d->metrics);
        if (r < 0)
                return log_error_errno(r, "Cannot create the metrics registry: %m");
        reg = d->metrics;
        (void) metrics_registry_add_process_collector(reg);
        r = metrics_registry_add_collector(reg, collect, d);
        if (r < 0)
                return log_error_errno(r, "Cannot add the metrics collector: %m");

        const HttpRoute routes[] = {
                { "GET", "/", get_page, 0, d },
                { "GET", "/api/status", get_status, 0, d },
                { "GET", "/api/metrics", get_metrics_json, 0, d },
                { "GET", "/api/alerts", get_alerts, 0, d },
                { "POST", "/api/monitoring/start", post_start, HTTP_ROUTE_ANY_CONTENT_TYPE, d },
                { "POST", "/api/monitoring/stop", post_stop, HTTP_ROUTE_ANY_CONTENT_TYPE, d },
                { "GET", "/metrics", get_prometheus, 0, reg },
        };
        HttpServerConfig hc = {
                .listen = d->s->cfg.listen,
                .threads = 4,
                .max_body = 4096,
                .shutdown_timeout_ms = 2000,
                .metrics = reg,
        };
        r = http_server_new(&hc, &d->http);
        if (r >= 0)
                r = http_server_add_routes(d->http, routes, ELEMENTSOF(routes));
        if (r >= 0)
                r = http_server_set_pre_body(d->http, guard, d);
        if (r >= 0)
                r = http_server_start(d->http);
        if (r < 0)
                return log_error_errno(r, "Cannot serve the API on %s: %m", d->s->cfg.listen);
        return 0;
}
