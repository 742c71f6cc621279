/* SPDX-License-Identifier: MIT */
/* daemon.c — watching and healing: unit states from sd-bus signals (PropertiesChanged on
 * each unit object, JobRemoved), readiness and activity from the orchestrator, restarts
 * with backoff over sd-bus, escalation to the pod, and the threshold alerts. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "daemon.h"
#include "log.h"
#include "podman-stats.h"
#include "status.h"
#include "time-util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"

static const int level_priority[_ALERT_LEVEL_MAX] = {
        [ALERT_INFO] = LOG_INFO,
        [ALERT_WARNING] = LOG_WARNING,
        [ALERT_ERROR] = LOG_ERR,
        [ALERT_CRITICAL] = LOG_CRIT,
};

void daemon_alert(Daemon *d, AlertLevel level, const char *key, const char *service, const char *fmt, ...) {
        _cleanup_free_ char *full_key = NULL, *msg = NULL, *f_level = NULL, *f_key = NULL, *f_service = NULL,
                            *f_id = NULL, *f_count = NULL;
        const Alert *a = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        /* "kind:" keys are per service */
        if (key[0] && key[strlen(key) - 1] == ':' &&
            asprintf(&full_key, "%s%s", key, service ? service : "cluster") >= 0)
                key = full_key;
        r = alert_store_raise(&d->alerts, level, key, service, msg, time_now_usec(CLOCK_REALTIME), &a);
        if (r < 0) {
                if (r == -EAGAIN)
                        log_debug("Alert rate limit: dropped %s %s", alert_level_to_string(level), key);
                return;
        }
        /* A repeat folded into an earlier alert goes to the journal (each occurrence is
         * on record there) but not to the sinks again. */
        if (asprintf(&f_level, "ALERT_LEVEL=%s", alert_level_to_string(level)) < 0 ||
            asprintf(&f_key, "ALERT_KEY=%s", key) < 0 ||
            asprintf(&f_service, "ALERT_SERVICE=%s", service ? service : "cluster") < 0 ||
            asprintf(&f_id, "ALERT_ID=%llu", (unsigned long long) a->id) < 0 ||
            asprintf(&f_count, "ALERT_COUNT=%u", a->count) < 0)
                return;
        log_fields(
                level_priority[level],
                ((const char *const[]){ f_level, f_key, f_service, f_id, f_count, NULL }),
                r > 0 ? "[%s] %s" : "[%s] %s (again, %u times in all)",
                alert_level_to_string(level),
                msg,
                a->count);
        if (r > 0 && d->sinks)
                (void) alert_sinks_submit(d->sinks, a);
}

static bool state_is(const Watched *w, const char *s) {
        return w->active_state && streq(w->active_state, s);
}

static bool is_down(const Watched *w) {
        return state_is(w, "failed") || state_is(w, "inactive") ||
                (w->sub_state && streq(w->sub_state, "auto-restart"));
}

/* lock held */
static void unit_changed(Daemon *d, Watched *w, const char *active, const char *sub) {
        bool was = state_is(w, "active"), was_failed = state_is(w, "failed");
        char *a = NULL, *s = NULL;

        if (active) {
                a = strdup(active);
                if (!a)
                        return;
                free(w->active_state);
                w->active_state = a;
        }
        if (sub) {
                s = strdup(sub);
                if (!s)
                        return;
                free(w->sub_state);
                w->sub_state = s;
        }
        if (!active && !sub)
                return;
        w->state_change_usec = time_now_usec(CLOCK_REALTIME);

        if (state_is(w, "active")) {
                if (!was) {
                        w->active_since_ms = time_now_ms(CLOCK_MONOTONIC);
                        if (w->was_active) {
                                w->restarts++;
                                if (d->monitoring)
                                        daemon_alert(
                                                d,
                                                ALERT_INFO,
                                                "up:",
                                                w->name,
                                                "%s is active again (%s)",
                                                w->unit,
                                                w->sub_state ? w->sub_state : "");
                        }
                }
                w->was_active = true;
                w->heal.down_checks = 0;
                return;
        }
        w->active_since_ms = 0;
        w->ready = false;
        /* an operator's stop or restart passes through deactivating; a crash goes
         * straight to failed or to Restart='s auto-restart/activating */
        if (((was && !state_is(w, "deactivating")) || (!was_failed && state_is(w, "failed"))) &&
            d->monitoring) {
                _cleanup_free_ char *key = NULL;
                if (asprintf(&key, "down:%s", w->name) >= 0)
                        daemon_alert(
                                d,
                                ALERT_ERROR,
                                key,
                                w->name,
                                "%s went down: %s/%s",
                                w->unit,
                                w->active_state ? w->active_state : "?",
                                w->sub_state ? w->sub_state : "?");
                if (!w->is_pod && !streq(w->name, "orchestrator")) {
                        orch_notify(d->notifier, w->name, false);
                        w->notified_down = true;
                }
                /* the container's own exit (died, oom) comes from Podman's log even if the
                 * stream was down when it happened */
                (void) podman_events_catch_up(
                        d->events, (int64_t) (time_now_usec(CLOCK_REALTIME) / 1000000) - 10, 2000);
        }
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watched *w = userdata;
        Daemon *d = w->daemon;
        const char *iface, *key, *val;
        _cleanup_free_ char *active = NULL, *sub = NULL;
        int r;

        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || !streq(iface, SD_UNIT))
                return 0;
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                if (sd_bus_message_read(m, "s", &key) < 0)
                        return 0;
                if (streq(key, "ActiveState") || streq(key, "SubState")) {
                        if (sd_bus_message_read(m, "v", "s", &val) < 0)
                                return 0;
                        char **t = streq(key, "ActiveState") ? &active : &sub;
                        free(*t);
                        *t = strdup(val);
                } else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        if (!active && !sub)
                return 0;
        log_debug("%s: %s/%s", w->unit, active ? active : "-", sub ? sub : "-");
        pthread_mutex_lock(&d->lock);
        unit_changed(d, w, active, sub);
        pthread_mutex_unlock(&d->lock);
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Daemon *d = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i <= d->n; i++)
                if (streq(d->w[i].unit, unit)) {
                        log_debug("Job %u of %s: %s", id, unit, result);
                        if (!streq(result, "done") && d->monitoring) {
                                _cleanup_free_ char *key = NULL;
                                if (asprintf(&key, "job:%s", d->w[i].name) >= 0)
                                        daemon_alert(
                                                d,
                                                ALERT_ERROR,
                                                key,
                                                d->w[i].name,
                                                "systemd job %u of %s ended with '%s'",
                                                id,
                                                unit,
                                                result);
                        }
                }
        pthread_mutex_unlock(&d->lock);
        return 0;
}

static int read_state(Daemon *d, Watched *w) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *active = NULL, *sub = NULL;
        int r;

        r = sd_bus_get_property_string(d->bus, SD_DEST, w->path, SD_UNIT, "ActiveState", &e, &active);
        if (r >= 0)
                r = sd_bus_get_property_string(d->bus, SD_DEST, w->path, SD_UNIT, "SubState", &e, &sub);
        if (r < 0)
                return r;
        pthread_mutex_lock(&d->lock);
        unit_changed(d, w, active, sub);
        pthread_mutex_unlock(&d->lock);
        return 0;
}

int daemon_bus_attach(Daemon *d) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        /* matches first, then Subscribe and the initial reads: no change can slip between */
        r = sd_bus_match_signal(
                d->bus, &d->job_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, d);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= d->n; i++) {
                Watched *w = &d->w[i];
                w->daemon = d;
                r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", w->unit, &w->path);
                if (r < 0)
                        return r;
                r = sd_bus_match_signal(
                        d->bus,
                        &w->slot,
                        SD_DEST,
                        w->path,
                        "org.freedesktop.DBus.Properties",
                        "PropertiesChanged",
                        on_properties_changed,
                        w);
                if (r < 0)
                        return r;
        }
        r = sd_bus_call_method(d->bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &e, NULL, NULL);
        if (r < 0)
                return r;
        for (size_t i = 0; i <= d->n; i++) {
                r = read_state(d, &d->w[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_restart_reply(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watched *w = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e) {
                pthread_mutex_lock(&w->daemon->lock);
                daemon_alert(
                        w->daemon,
                        ALERT_ERROR,
                        "restart-call",
                        w->name,
                        "RestartUnit(%s) failed: %s",
                        w->unit,
                        e->message ? e->message : e->name);
                pthread_mutex_unlock(&w->daemon->lock);
        }
        return 0;
}

static int unit_call(Daemon *d, Watched *w, const char *method) {
        return sd_bus_call_method_async(
                d->bus,
                NULL,
                SD_DEST,
                SD_PATH,
                SD_MANAGER,
                method,
                on_restart_reply,
                w,
                "ss",
                w->unit,
                "replace");
}

/* ---- readiness and activity ---------------------------------------------------- */

/* Reads the orchestrator's http_requests_total: the orchestrator's activity is every
 * request but health and metrics; a service's is the requests on routes naming it. */
static void apply_activity(Daemon *d, const char *text, uint64_t now) {
        double totals[d->n];

        for (size_t i = 0; i < d->n; i++)
                totals[i] = 0;
        for (const char *p = text; p && *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                _cleanup_free_ char *line = strndup(p, len);
                p = nl ? nl + 1 : NULL;
                if (!line || !startswith(line, "http_requests_total{"))
                        continue;
                char *close = strrchr(line, '}'), *route = strstr(line, "route=\"");
                if (!close || !route)
                        continue;
                double v = strtod(close + 1, NULL);
                route += strlen("route=\"");
                if (startswith(route, "/health") || startswith(route, "/metrics"))
                        continue;
                for (size_t i = 0; i < d->n; i++) {
                        char needle[64];
                        snprintf(needle, sizeof(needle), "/%s", d->w[i].name);
                        if (streq(d->w[i].name, "orchestrator") || strstr(route, needle))
                                totals[i] += v;
                }
        }
        for (size_t i = 0; i < d->n; i++) {
                if (totals[i] != d->w[i].requests)
                        d->w[i].last_activity_usec = now;
                d->w[i].requests = totals[i];
        }
}

static void apply_ready(Daemon *d, bool answered, long code, const char *body) {
        _cleanup_(pod_status_done) PodStatus ps = {};

        for (size_t i = 0; i < d->n; i++)
                if (pod_status_add_service(&ps, d->w[i].name, d->w[i].unit) < 0)
                        return;
        if (answered && body)
                (void) status_apply_ready(&ps, code, body);
        for (size_t i = 0; i < d->n; i++) {
                d->w[i].ready = answered && ps.services[i].ready && state_is(&d->w[i], "active");
                /* The orchestrator did not answer in time, or its probe of the service timed
                 * out: a busy host, not a verdict (systemd's watchdog ends a stuck service). */
                d->w[i].slow = !answered || ps.services[i].slow;
                if (d->w[i].ready && d->w[i].notified_down) {
                        orch_notify(d->notifier, d->w[i].name, true);
                        d->w[i].notified_down = false;
                }
                d->w[i].has_latency = ps.services[i].has_latency;
                d->w[i].latency_ms = ps.services[i].latency_ms;
        }
}

static void on_stat(const PodmanStat *st, void *userdata) {
        Daemon *d = userdata;
        const char *stem = startswith(st->name, "ai-semble-");

        for (size_t i = 0; stem && i < d->n; i++)
                if (streq(stem, d->w[i].name)) {
                        d->w[i].has_stats = true;
                        d->w[i].cpu_percent = st->cpu_percent;
                        d->w[i].mem_bytes = st->mem_usage_bytes;
                        d->w[i].mem_limit_bytes = st->mem_limit_bytes;
                        d->w[i].pids = st->pids;
                }
}

/* ---- the check ----------------------------------------------------------------- */

static void threshold_alert(
        Daemon *d,
        ThresholdMark *mark,
        AlertLevel l,
        unsigned value,
        const char *kind,
        const char *service,
        const char *msg) {
        _cleanup_free_ char *key = NULL;

        if (l < 0) {
                *mark = (ThresholdMark){}; /* below every threshold: the next crossing is news */
                return;
        }
        if (mark->raised && l <= mark->level && value == mark->value)
                return;
        if (!msg || asprintf(&key, "%s:%s", kind, service ? service : "cluster") < 0)
                return;
        *mark = (ThresholdMark){ .raised = true, .level = l, .value = value };
        daemon_alert(d, l, key, service, "%s", msg);
}

static HealObservation observe(const Watched *w) {
        bool auto_restart = w->sub_state && streq(w->sub_state, "auto-restart");

        return (HealObservation){
                .active = state_is(w, "active"),
                .failed = state_is(w, "failed") && !auto_restart,
                .down = is_down(w),
                .ready = w->ready,
                .slow = w->slow,
        };
}

/* Decides about one unhealthy unit; returns true when it wants a restart. */
static bool wants_restart(Daemon *d, Watched *w, uint64_t now) {
        HealDecision h = heal_decide(&w->heal, now, (unsigned) d->s->cfg.start_limit);

        if (h == HEAL_GIVE_UP) {
                daemon_alert(
                        d,
                        ALERT_CRITICAL,
                        "gave-up:",
                        w->name,
                        "%s is still unhealthy after %u restarts: giving up until POST /api/monitoring/start",
                        w->unit,
                        w->heal.attempts);
                return false;
        }
        return h == HEAL_RESTART;
}

static void restart(Daemon *d, Watched *w, uint64_t now, const char *why) {
        int r = unit_call(d, w, "RestartUnit");

        if (r < 0) {
                daemon_alert(
                        d,
                        ALERT_ERROR,
                        "restart-call",
                        w->name,
                        "Cannot restart %s: %s",
                        w->unit,
                        strerror(-r));
                return;
        }
        heal_restarted(&w->heal, now, d->s->cfg.restart_backoff_ms, d->s->cfg.restart_backoff_max_ms);
        w->heals++;
        w->heal.unready_since_ms = 0;
        w->heal.down_checks = 0;
        daemon_alert(
                d,
                ALERT_WARNING,
                "heal:",
                w->name,
                "%s %s: restarting it (attempt %u of %lld)",
                w->unit,
                why,
                w->heal.attempts,
                (long long) d->s->cfg.start_limit);
}

static int on_socket_start_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        if (e)
                log_warning("Cannot restart podman.socket: %s", e->message ?: e->name);
        return 0;
}

/* The event stream is down and nothing listens on Podman's socket: podman.socket was
 * stopped or failed since we started it, or its file was deleted under the listening
 * unit (`podman system reset` does that). Restart it (clearing a failed state): a
 * restart binds the path again where a start of the active unit would do nothing. At
 * most every PODMAN_SOCKET_RETRY_MS; the stream's reader reconnects by itself. */
#define PODMAN_SOCKET_RETRY_MS (30 * 1000ULL)
static void heal_podman_socket(Daemon *d, uint64_t now_ms) {
        char error[PODMAN_EVENTS_ERROR_MAX];
        uint64_t events;
        bool connected;

        if (!d->events || !d->podman_socket)
                return;
        podman_events_stats(d->events, &connected, &events, error);
        if (connected ||
            (d->podman_socket_retry_ms && now_ms - d->podman_socket_retry_ms < PODMAN_SOCKET_RETRY_MS) ||
            podman_socket_listening(d->podman_socket))
                return;
        d->podman_socket_retry_ms = now_ms;
        log_notice(
                "Nothing listens on %s (%s): restarting podman.socket",
                d->podman_socket,
                error[0] ? error : "no stream");
        (void) sd_bus_call_method_async(
                d->bus,
                NULL,
                SD_DEST,
                SD_PATH,
                SD_MANAGER,
                "ResetFailedUnit",
                NULL,
                NULL,
                "s",
                "podman.socket");
        (void) sd_bus_call_method_async(
                d->bus,
                NULL,
                SD_DEST,
                SD_PATH,
                SD_MANAGER,
                "RestartUnit",
                on_socket_start_reply,
                NULL,
                "ss",
                "podman.socket",
                "replace");
}

void daemon_check(Daemon *d) {
        _cleanup_free_ char *body = NULL, *metrics = NULL;
        uint64_t timeout = MIN(d->s->cfg.ready_timeout_ms, MAX(d->s->cfg.check_interval_ms / 2, 200ULL));
        long code = 0, mcode = 0;
        Watched *need[d->n + 1];
        size_t n_need = 0, n_down = 0;
        unsigned stopped = 0;
        bool answered;
        int r;

        r = status_probe(d->s->cfg.ready_url, timeout, &code, &body);
        answered = r >= 0;
        if (answered && status_probe(d->s->cfg.metrics_url, timeout, &mcode, &metrics) < 0)
                metrics = NULL;

        _cleanup_free_ char *stats = NULL;
        long scode = 0;
        if (d->podman_socket && !d->stats_unavailable &&
            podman_stats_fetch(d->podman_socket, timeout, &scode, &stats) < 0)
                stats = NULL;

        uint64_t now = time_now_ms(CLOCK_MONOTONIC), rt = time_now_usec(CLOCK_REALTIME);
        heal_podman_socket(d, now);
        pthread_mutex_lock(&d->lock);
        if (stats && scode == 200)
                (void) podman_stats_parse(stats, on_stat, d);
        else if (stats && scode >= 400 && scode < 500) {
                /* 409 on rootless cgroup v1: it will not change while we run */
                d->stats_unavailable = podman_stats_error(stats);
                if (!d->stats_unavailable && asprintf(&d->stats_unavailable, "HTTP %ld", scode) < 0)
                        d->stats_unavailable = NULL;
                log_notice(
                        "Podman's container stats are unavailable: %s",
                        d->stats_unavailable ? d->stats_unavailable : "?");
        }
        d->checks++;
        d->last_check_usec = rt;
        d->probe_answered = answered;
        if (!answered)
                d->probe_failures++;
        apply_ready(d, answered, code, body);
        if (metrics && mcode == 200)
                apply_activity(d, metrics, rt);

        for (size_t i = 0; i < d->n; i++) {
                Watched *w = &d->w[i];
                HealObservation o = observe(w);

                if (!state_is(w, "active"))
                        stopped++;
                if (w->updating)
                        continue; /* the update restarts it, and rolls it back if need be */
                HealNeed h = heal_assess(&w->heal, &o, now, d->s->cfg.agent_timeout_ms);

                if (h == HEAL_NEED_DOWN || h == HEAL_NEED_UNREADY)
                        need[n_need++] = w;
                n_down += h == HEAL_NEED_DOWN;
        }

        if (d->monitoring) {
                Watched *pod = daemon_pod(d);
                HealObservation pod_seen = observe(pod);
                uint64_t since = d->started_usec;

                pod_seen.ready = pod_seen.active;
                (void) heal_assess(&pod->heal, &pod_seen, now, d->s->cfg.agent_timeout_ms);
                if (heal_escalate(n_down, (unsigned) d->s->cfg.pod_escalate, &pod->heal, &pod_seen)) {
                        if (wants_restart(d, pod, now)) {
                                daemon_alert(
                                        d,
                                        ALERT_CRITICAL,
                                        "pod",
                                        NULL,
                                        "%zu of %zu services down (pod %s): restarting the pod",
                                        n_down,
                                        d->n,
                                        pod->active_state ? pod->active_state : "?");
                                restart(d, pod, now, "escalation");
                                d->escalations++;
                                for (size_t i = 0; i < d->n; i++)
                                        (void) unit_call(d, &d->w[i], "StartUnit");
                        }
                } else
                        for (size_t i = 0; i < n_need; i++)
                                if (wants_restart(d, need[i], now))
                                        restart(d,
                                                need[i],
                                                now,
                                                state_is(need[i], "active") ? "is not ready" : "is down");

                _cleanup_free_ char *msg = NULL;
                if (asprintf(&msg, "%u service(s) stopped", stopped) >= 0)
                        threshold_alert(
                                d,
                                &d->stopped_mark,
                                alert_level_for_stopped(stopped),
                                stopped,
                                "stopped",
                                NULL,
                                msg);
                for (size_t i = 0; i < d->n; i++) {
                        Watched *w = &d->w[i];
                        uint64_t last = w->last_activity_usec ?: since;
                        double idle = rt > last ? (double) (rt - last) / 1e6 : 0;
                        _cleanup_free_ char *m_r = NULL, *m_i = NULL;

                        if (asprintf(&m_r, "%s restarted %u times", w->name, w->restarts) >= 0)
                                threshold_alert(
                                        d,
                                        &w->restarts_mark,
                                        alert_level_for_restarts(w->restarts),
                                        w->restarts,
                                        "restarts",
                                        w->name,
                                        m_r);
                        /* idle seconds grow at every check: only a new level is news */
                        if (asprintf(&m_i, "%s idle for %.0f s", w->name, floor(idle)) >= 0)
                                threshold_alert(
                                        d,
                                        &w->idle_mark,
                                        alert_level_for_idle(idle),
                                        0,
                                        "idle",
                                        w->name,
                                        m_i);
                }
        }
        pthread_mutex_unlock(&d->lock);
}

void daemon_set_monitoring(Daemon *d, bool on) {
        d->monitoring = on;
        if (on)
                for (size_t i = 0; i <= d->n; i++) {
                        heal_reset(&d->w[i].heal);
                }
}

void daemon_on_podman_event(const PodmanEvent *e, void *userdata) {
        Daemon *d = userdata;
        const char *stem = startswith(e->name, "ai-semble-");
        _cleanup_free_ char *text = NULL, *key = NULL;
        Watched *w = NULL;

        pthread_mutex_lock(&d->lock);
        for (size_t i = 0; i < d->n && !w; i++)
                if ((e->unit && streq(e->unit, d->w[i].unit)) || (stem && streq(stem, d->w[i].name)))
                        w = &d->w[i];
        if (!w)
                goto out;
        if (streq(e->action, "died")) {
                if (asprintf(&text, "died (exit %s)", e->exit_code ? e->exit_code : "?") < 0)
                        text = NULL;
        } else if (streq(e->action, "health_status")) {
                if (asprintf(&text, "health_status %s", e->health_status ? e->health_status : "?") < 0)
                        text = NULL;
        } else
                text = strdup(e->action);
        if (!text)
                goto out;
        free(w->last_event);
        w->last_event = strdup(text);
        w->last_event_usec = time_now_usec(CLOCK_REALTIME);
        if (!d->monitoring || asprintf(&key, "%s:%s", e->action, w->name) < 0)
                goto out;
        /* 0 and 143 (SIGTERM) are the exits of a deliberate stop */
        if (streq(e->action, "died") && e->exit_code && !streq(e->exit_code, "0") &&
            !streq(e->exit_code, "143"))
                daemon_alert(d, ALERT_ERROR, key, w->name, "container %s %s", e->name, text);
        else if (streq(e->action, "oom"))
                daemon_alert(
                        d,
                        ALERT_CRITICAL,
                        key,
                        w->name,
                        "container %s was killed by the OOM killer",
                        e->name);
        else if (
                streq(e->action, "health_status") && e->health_status &&
                !streq(e->health_status, "healthy") && !streq(e->health_status, "starting"))
                daemon_alert(d, ALERT_WARNING, key, w->name, "container %s: %s", e->name, text);
out:
        pthread_mutex_unlock(&d->lock);
}

void daemon_done(Daemon *d) {
        daemon_update_done(d);
        podman_events_stop(d->events);
        orch_notifier_free(d->notifier);
        auth_jwt_free(d->jwt);
        if (d->http) {
                (void) http_server_shutdown(d->http);
                http_server_free(d->http);
        }
        metrics_registry_free(d->metrics);
        free(d->podman_socket);
        free(d->stats_unavailable);
        alert_sinks_free(d->sinks);
        for (size_t i = 0; d->w && i <= d->n; i++) {
                Watched *w = &d->w[i];
                sd_bus_slot_unref(w->slot);
                free(w->name);
                free(w->unit);
                free(w->path);
                free(w->active_state);
                free(w->sub_state);
                free(w->last_event);
        }
        free(d->w);
        sd_bus_slot_unref(d->job_slot);
        sd_bus_flush_close_unref(d->bus);
        sd_event_unref(d->event);
        manifest_done(&d->mf);
        alert_store_done(&d->alerts);
        pthread_mutex_destroy(&d->lock);
}
