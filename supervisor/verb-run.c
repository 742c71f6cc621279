/* SPDX-License-Identifier: MIT */
/* verb-run.c — `run`: the supervisor daemon. One sd-event loop carries the user bus
 * (unit signals), the check timer, the watchdog keep-alive and SIGTERM/SIGINT; the HTTP
 * API runs on the HTTP server's threads and the alert sinks on a thread of their own. */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "argv-util.h"
#include "daemon.h"
#include "log.h"
#include "podman-stats.h"
#include "time-util.h"

static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        daemon_check(d);
        return sd_event_source_set_time(s, usec + d->s->cfg.check_interval_ms * 1000ULL);
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        uint64_t interval = *(uint64_t *) userdata;

        (void) sd_notify(false, "WATCHDOG=1");
        return sd_event_source_set_time(s, usec + interval);
}

/* A secret file: owner-only, its content without the trailing newline. */
static int read_secret(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[4096];
        struct stat st;
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (st.st_mode & 0077)
                return -EPERM;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return negative_errno();
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        if (n == 0)
                return -ENODATA;
        *ret = strndup(buf, (size_t) n);
        explicit_bzero(buf, sizeof(buf));
        if (!*ret)
                return -ENOMEM;
        *ret_len = (size_t) n;
        return 0;
}

static int setup_sinks(Daemon *d) {
        const SupervisorConfig *c = &d->s->cfg;
        _cleanup_free_ char *secret = NULL, *slack = NULL, *smtp_password = NULL;
        size_t secret_len = 0, slack_len = 0, smtp_password_len = 0;
        int r;

        if (c->webhook_url) {
                if (!c->webhook_secret_file)
                        return log_error_errno(
                                -EINVAL, "SUPERVISOR_WEBHOOK_URL needs SUPERVISOR_WEBHOOK_SECRET_FILE");
                r = read_secret(c->webhook_secret_file, &secret, &secret_len);
                if (r == -EPERM)
                        return log_error_errno(
                                r,
                                "%s must not be readable by group or others (chmod 600)",
                                c->webhook_secret_file);
                if (r < 0)
                        return log_error_errno(
                                r, "Cannot read the webhook secret %s: %m", c->webhook_secret_file);
        }
        if (c->slack_webhook_file) {
                r = read_secret(c->slack_webhook_file, &slack, &slack_len);
                if (r == -EPERM)
                        return log_error_errno(
                                r,
                                "%s must not be readable by group or others (chmod 600)",
                                c->slack_webhook_file);
                if (r < 0)
                        return log_error_errno(
                                r, "Cannot read the Slack webhook URL from %s: %m", c->slack_webhook_file);
                if (!startswith(slack, "https://") && !startswith(slack, "http://"))
                        return log_error_errno(
                                -EINVAL, "%s does not hold an http(s) URL", c->slack_webhook_file);
        }
        if (c->smtp_url) {
                if (!startswith(c->smtp_url, "smtp://") && !startswith(c->smtp_url, "smtps://"))
                        return log_error_errno(
                                -EINVAL, "SUPERVISOR_SMTP_URL must start with smtp:// or smtps://");
                if (isempty(c->smtp_from) || isempty(c->smtp_to))
                        return log_error_errno(
                                -EINVAL,
                                "SUPERVISOR_SMTP_URL needs SUPERVISOR_SMTP_FROM and SUPERVISOR_SMTP_TO");
                if (c->smtp_password_file) {
                        r = read_secret(c->smtp_password_file, &smtp_password, &smtp_password_len);
                        if (r == -EPERM)
                                return log_error_errno(
                                        r,
                                        "%s must not be readable by group or others (chmod 600)",
                                        c->smtp_password_file);
                        if (r < 0)
                                return log_error_errno(
                                        r,
                                        "Cannot read the SMTP password from %s: %m",
                                        c->smtp_password_file);
                }
        }
        AlertSinksConfig sc = {
                .webhook_url = c->webhook_url,
                .webhook_secret = secret,
                .webhook_secret_len = secret_len,
                .slack_url = slack,
                .smtp_url = c->smtp_url,
                .smtp_from = c->smtp_from,
                .smtp_to = c->smtp_to,
                .smtp_user = c->smtp_user,
                .smtp_password = smtp_password,
                .smtp_require_tls = c->smtp_require_tls,
        };
        r = alert_sinks_new(&sc, &d->sinks);
        if (secret)
                explicit_bzero(secret, secret_len);
        if (smtp_password)
                explicit_bzero(smtp_password, smtp_password_len);
        if (r < 0)
                return log_error_errno(r, "Cannot start the alert sinks: %m");
        log_info(
                "Alert sinks: journald%s%s%s",
                c->webhook_url ? ", webhook" : "",
                slack ? ", slack" : "",
                c->smtp_url ? ", e-mail" : "");
        return 0;
}

static int setup_watched(Daemon *d) {
        size_t n = argv_length(d->mf.units);

        d->w = calloc(n + 1, sizeof(Watched));
        if (!d->w)
                return -ENOMEM;
        d->n = n;
        for (size_t i = 0; i < n; i++) {
                d->w[i].name = strdup(d->mf.services[i]);
                d->w[i].unit = strdup(d->mf.units[i]);
                if (!d->w[i].name || !d->w[i].unit)
                        return -ENOMEM;
        }
        d->w[n].name = strdup("pod");
        d->w[n].unit = strdup(d->mf.pod_unit);
        d->w[n].is_pod = true;
        return d->w[n].name && d->w[n].unit ? 0 : -ENOMEM;
}

/* Podman's event stream; podman.socket is (re)started over sd-bus when nothing listens
 * on its path: never started, or active on a file deleted since (`podman system reset`
 * removes it; a StartUnit of the active unit would not bind it again). */
static int start_podman_events(Daemon *d) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = podman_events_socket_path(&path);
        if (r < 0)
                return log_error_errno(r, "No $XDG_RUNTIME_DIR for Podman's API socket: %m");
        if (!podman_socket_listening(path)) {
                r = sd_bus_call_method(
                        d->bus,
                        "org.freedesktop.systemd1",
                        "/org/freedesktop/systemd1",
                        "org.freedesktop.systemd1.Manager",
                        "RestartUnit",
                        &e,
                        NULL,
                        "ss",
                        "podman.socket",
                        "replace");
                if (r < 0)
                        log_warning_errno(
                                r,
                                "Cannot start podman.socket (%s); container events stay off until %s exists",
                                e.message ? e.message : strerror(-r),
                                path);
                else
                        log_info(
                                "(Re)started podman.socket for Podman's event stream: nothing listened on %s",
                                path);
        }
        d->podman_socket = strdup(path);
        if (!d->podman_socket)
                return log_error_errno(-ENOMEM, "Out of memory");
        d->stats_unavailable = podman_stats_undelegated_here();
        if (d->stats_unavailable)
                log_notice("Podman's container stats are unavailable: %s", d->stats_unavailable);
        r = podman_events_start(path, daemon_on_podman_event, d, &d->events);
        if (r < 0)
                return log_error_errno(r, "Cannot start the Podman event reader: %m");
        return 0;
}

/* The file of one of the pod's secrets (deploy.sh writes them): configured, else
 * $XDG_CONFIG_HOME/ai-semble/secrets/<name>. */
static int secret_path(const char *configured, const char *name, char **ret) {
        const char *cfg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        int r;

        if (!isempty(configured))
                r = asprintf(ret, "%s", configured);
        else if (!isempty(cfg))
                r = asprintf(ret, "%s/ai-semble/secrets/%s", cfg, name);
        else
                r = asprintf(ret, "%s/.config/ai-semble/secrets/%s", strempty(home), name);
        return r < 0 ? -ENOMEM : 0;
}

/* The verifier of the admin tokens the API's POST routes take: the pod's own JWT secret,
 * HS256, as deploy.sh token mints them. Without the file those routes answer 503. */
static void load_api_tokens(Daemon *d) {
        _cleanup_free_ char *path = NULL;
        char *secret = NULL;
        size_t len = 0;
        int r;

        r = secret_path(d->s->cfg.jwt_secret_file, "jwt", &path);
        if (r >= 0)
                r = auth_read_secret_file(path, &secret, &len);
        if (r >= 0) {
                r = auth_jwt_new(
                        &(AuthJwtOptions){ .hs_secret = secret, .hs_secret_len = len, .leeway_s = 30 },
                        &d->jwt);
                OPENSSL_clear_free(secret, len);
        }
        if (r == -ENOENT)
                log_notice("The API's POST routes answer 503: no JWT secret at %s", path);
        else if (r < 0)
                log_warning_errno(
                        r, "The API's POST routes answer 503: cannot use the JWT secret %s: %m", path);
        else
                log_info("The API's POST routes take admin tokens signed with %s", path);
}

/* Signed service notices to the orchestrator's /webhook (next to its /health/ready). */
static void start_orchestrator_notices(Daemon *d) {
        _cleanup_free_ char *path = NULL, *url = NULL;
        const char *ready = d->s->cfg.ready_url;
        size_t base;
        int r;

        if (secret_path(d->s->cfg.orchestrator_secret_file, "webhook", &path) < 0)
                return;
        base = strlen(ready);
        if (base >= strlen("/health/ready") &&
            streq(ready + base - strlen("/health/ready"), "/health/ready"))
                base -= strlen("/health/ready");
        if (asprintf(&url, "%.*s/webhook", (int) base, ready) < 0)
                return;
        r = orch_notifier_new(url, path, &d->notifier);
        if (r == -ENOENT)
                log_info("Service notices to the orchestrator are off: no %s", path);
        else if (r < 0)
                log_warning_errno(
                        r, "Service notices to the orchestrator are off: cannot read %s: %m", path);
        else
                log_info("Service notices go to %s", url);
}

int verb_run(Supervisor *s, int argc, char **argv) {
        _cleanup_(daemon_done) Daemon d = { .s = s, .monitoring = true };
        _cleanup_(sd_event_source_unrefp) sd_event_source *check = NULL, *wd = NULL;
        uint64_t wd_usec = 0, wd_interval = 0, now;
        sigset_t mask;
        int r;

        if (argc > 0)
                return log_error_errno(-EINVAL, "run takes no arguments");
        /* blocked before any thread starts (sinks, events, HTTP), so that only the
         * loop's signalfd sees them and SIGTERM drains instead of killing a thread */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        pthread_mutex_init(&d.lock, NULL);
        d.started_usec = time_now_usec(CLOCK_REALTIME);

        r = supervisor_read_manifest(s, &d.mf);
        if (r < 0)
                return r;
        r = setup_watched(&d);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = alert_store_init(
                &d.alerts,
                512,
                s->cfg.alert_dedup_ms * 1000ULL,
                (unsigned) s->cfg.alert_rate_burst,
                60ULL * 1000000ULL);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        r = setup_sinks(&d);
        if (r < 0)
                return r;

        r = sd_event_default(&d.event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        (void) sd_event_add_signal(d.event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(d.event, NULL, SIGINT, NULL, NULL);

        r = sd_bus_open_user(&d.bus);
        if (r < 0)
                return log_error_errno(r, "Cannot connect to the user bus: %m");
        r = sd_bus_attach_event(d.bus, d.event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = daemon_bus_attach(&d);
        if (r < 0)
                return log_error_errno(r, "Cannot watch the units over sd-bus: %m");
        r = daemon_update_attach(&d);
        if (r < 0)
                return log_error_errno(r, "Cannot offer %s on the user bus: %m", SUPERVISOR_BUS_NAME);

        r = start_podman_events(&d);
        if (r < 0)
                return r;
        start_orchestrator_notices(&d);
        load_api_tokens(&d);

        r = daemon_http_start(&d);
        if (r < 0)
                return r;

        r = sd_event_now(d.event, CLOCK_MONOTONIC, &now);
        if (r < 0)
                return log_error_errno(r, "Cannot read the clock: %m");
        r = sd_event_add_time(d.event, &check, CLOCK_MONOTONIC, now, 0, on_check, &d);
        if (r < 0)
                return log_error_errno(r, "Cannot add the check timer: %m");
        (void) sd_event_source_set_enabled(check, SD_EVENT_ON);

        if (sd_watchdog_enabled(false, &wd_usec) > 0) {
                wd_interval = wd_usec / 2;
                r = sd_event_add_time(
                        d.event, &wd, CLOCK_MONOTONIC, now + wd_interval, 0, on_watchdog, &wd_interval);
                if (r < 0)
                        return log_error_errno(r, "Cannot add the watchdog timer: %m");
                (void) sd_event_source_set_enabled(wd, SD_EVENT_ON);
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Watching the ai-semble pod");
        log_info(
                "Supervising %zu services and %s; API on http://%s (watchdog %s)",
                d.n,
                d.mf.pod_unit,
                s->cfg.listen,
                wd_usec ? "on" : "off");

        r = sd_event_loop(d.event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        log_info("Supervisor stopped");
        return 0;
}
