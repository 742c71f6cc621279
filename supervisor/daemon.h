/* SPDX-License-Identifier: MIT */
/* daemon.h — the state of `ai-semble-supervisor run`: the watched units (state from
 * sd-bus signals, readiness from the orchestrator's /health/ready), the self-healing
 * state, the alerts and the sinks. The sd-event loop owns it; the HTTP threads read it
 * under `lock`. */
#pragma once

#include <pthread.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "alert-sink.h"
#include "alert.h"
#include "auth-jwt.h"
#include "heal.h"
#include "http-server.h"
#include "orch-notify.h"
#include "podman-events.h"
#include "supervisor.h"

/* What a threshold alert last raised: a standing condition is raised again only when its
 * level rises or its count moves, not at every check. */
typedef struct ThresholdMark {
        bool raised;
        AlertLevel level;
        unsigned value;
} ThresholdMark;

typedef struct Watched {
        char *name; /* "llm", or "pod" */
        char *unit;
        char *path; /* the unit's object path */
        char *active_state, *sub_state;
        bool is_pod;
        bool ready;
        bool slow; /* no verdict this check: a readiness probe timed out (busy or stuck) */
        bool has_latency;
        double latency_ms;
        bool was_active;             /* seen active since the last time it went down */
        bool notified_down;          /* the orchestrator was told it went down; "up" is owed */
        bool updating;               /* an update is replacing it: no healing meanwhile */
        uint64_t active_since_ms;    /* monotonic; 0 = not active */
        unsigned restarts;           /* observed returns to active after going down */
        unsigned heals;              /* RestartUnit calls made by the supervisor */
        uint64_t last_activity_usec; /* realtime */
        double requests;             /* last request count read from the orchestrator */
        uint64_t state_change_usec;  /* realtime */
        HealState heal;
        ThresholdMark restarts_mark, idle_mark;
        char *last_event; /* the last container event from Podman, e.g. "died (exit 137)" */
        uint64_t last_event_usec;
        bool has_stats; /* from Podman's stats API */
        double cpu_percent;
        uint64_t mem_bytes, mem_limit_bytes, pids;
        sd_bus_slot *slot;
        struct Daemon *daemon;
} Watched;

typedef struct Daemon {
        Supervisor *s;
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *job_slot;
        Manifest mf;
        Watched *w; /* the services, then the pod as the last entry */
        size_t n;   /* services only; w[n] is the pod */
        pthread_mutex_t lock;
        bool monitoring;
        AlertStore alerts;
        AlertSinks *sinks;
        OrchNotifier *notifier; /* NULL = no service notices to the orchestrator */
        AuthJwt *jwt;           /* admin tokens for the POST routes; NULL = they answer 503 */
        HttpServer *http;
        MetricsRegistry *metrics; /* outlives http, whose routes use it */
        uint64_t started_usec;
        uint64_t checks;
        uint64_t probe_failures;
        bool probe_answered;
        uint64_t last_check_usec;
        uint64_t escalations;
        ThresholdMark stopped_mark;
        PodmanEvents *events;
        char *podman_socket;
        uint64_t podman_socket_retry_ms; /* monotonic; when podman.socket was last started again */
        char *stats_unavailable;         /* Podman's reason (e.g. cgroup v1); no more requests */

        /* An update under way (daemon-update.c): its thread, the bus call it answers. */
        struct {
                bool running;
                pthread_t thread;
                sd_bus_message *call;
                char **services;
                bool all;
                int result;
                char *summary;
                int done_fd;
                sd_event_source *done_source;
                sd_bus_slot *slot;
        } update;
} Daemon;

static inline Watched *daemon_pod(Daemon *d) {
        return &d->w[d->n];
}

/* Subscribes to the manager, matches PropertiesChanged of every unit and JobRemoved,
 * reads the initial states. */
int daemon_bus_attach(Daemon *d);
/* One check: readiness, activity, healing, threshold alerts. Called by the timer. */
void daemon_check(Daemon *d);
/* Records and (if new) sends an alert; lock held. */
void daemon_alert(Daemon *d, AlertLevel level, const char *key, const char *service, const char *fmt, ...)
        _printf_(5, 6);
/* POST /api/monitoring/start|stop; lock held. */
void daemon_set_monitoring(Daemon *d, bool on);
void daemon_done(Daemon *d);
/* Handler of Podman's container events (called on the events thread). */
void daemon_on_podman_event(const PodmanEvent *e, void *userdata);

/* HTTP API and status page (daemon-http.c): every route checks Host (DNS rebinding); the
 * POST routes also refuse cross-site requests and need an admin token (d->jwt). */
int daemon_http_start(Daemon *d);

/* The update method on the user bus (daemon-update.c): SUPERVISOR_BUS_NAME, object
 * SUPERVISOR_BUS_PATH, interface SUPERVISOR_BUS_NAME, Update(as services, b all) → (b ok,
 * s summary), answered when the update is over. `ai-semble-supervisor update` calls it. */
#define SUPERVISOR_BUS_NAME "org.ai_semble.Supervisor1"
#define SUPERVISOR_BUS_PATH "/org/ai_semble/Supervisor1"
int daemon_update_attach(Daemon *d);
/* Waits for an update under way to end (at shutdown). */
void daemon_update_done(Daemon *d);
