/* SPDX-License-Identifier: MIT */
/* service.c — shared main(): every binary is this plus its routes and config table. */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "http-probe.h"
#include "json-util.h"
#include "listen-fds.h"
#include "log.h"
#include "notify.h"
#include "otlp.h"
#include "service.h"
#include "trace.h"

/* A built-in route behind the definition's gate. */
typedef struct GatedRoute {
        ServiceContext *ctx;
        HttpHandler handler;
        void *userdata;
} GatedRoute;

#define BUILTIN_N_ROUTES (HEALTH_N_ROUTES + 1)

struct ServiceContext {
        const ServiceDefinition *def;
        ServiceCommonConfig common;
        MetricsRegistry *metrics;
        HttpServer *server;
        HealthContext health;
        GatedRoute gated[BUILTIN_N_ROUTES];
};

MetricsRegistry *service_metrics(ServiceContext *ctx) {
        return ctx->metrics;
}

const ServiceCommonConfig *service_common_config(ServiceContext *ctx) {
        return &ctx->common;
}

HttpServer *service_http_server(ServiceContext *ctx) {
        return ctx->server;
}

#define COMMON_CONFIG_N 13
#define COMMON(field) offsetof(ServiceCommonConfig, field)

static void common_table(const ServiceDefinition *def, ConfigEntry table[static COMMON_CONFIG_N]) {
        /* clang-format off */
        const ConfigEntry t[COMMON_CONFIG_N] = {
                CONFIG_HOST_PORT(def->listen_env, def->listen_default, COMMON(listen),
                        "Address and port the HTTP API listens on."),
                CONFIG_LOG_LEVEL("LOG_LEVEL", "info", COMMON(log_level),
                        "Most verbose level logged (debug, info, notice, warning, error)."),
                CONFIG_INT("HTTP_THREADS", "16", 2, 256, COMMON(http_threads),
                        "Requests handled at once (more wait in a queue); connections do not hold threads."),
                CONFIG_SIZE("HTTP_MAX_BODY", "1M", 1024, 256LL * 1024 * 1024, COMMON(http_max_body),
                        "Largest request body accepted (413 above)."),
                CONFIG_SIZE("HTTP_MAX_HEADER", "16K", 1024, 1024 * 1024, COMMON(http_max_header),
                        "Largest request line plus headers."),
                CONFIG_DURATION("HTTP_REQUEST_TIMEOUT", "10s", 100, 600000, COMMON(http_request_timeout_ms),
                        "Time a client gets to send a request's head and body, in total from its first byte "
                        "(a streamed upload gets 1 s more per 64 KiB received)."),
                CONFIG_INT("HTTP_MAX_CONNECTIONS", "4096", 16, 65536, COMMON(http_max_connections),
                        "Open connections at most; beyond it the one idle longest is closed, or the new one gets 503."),
                CONFIG_BOOL("HTTP_ACCESS_LOG", "off", COMMON(http_access_log),
                        "Log one info line per request (5xx are logged anyway); see docs/benchmarks.md for its cost."),
                CONFIG_BOOL("TRACE", "on", COMMON(trace),
                        "W3C traceparent: continue a caller's trace and log one span line per request served and "
                        "per call made (deploy.sh trace JOB_ID reads them); off = neither."),
                CONFIG_INT("TRACE_SAMPLE_RATE", "10", 0, 1000000, COMMON(trace_sample_rate),
                        "New traces a second whose spans are logged (and exported); the rest are carried but not "
                        "logged, so load does not flood the journal. A caller's traceparent decides for its own "
                        "trace (flags 01 = logged). 0 = every trace."),
                CONFIG_URL("OTEL_EXPORTER_OTLP_ENDPOINT", NULL, COMMON(otlp_endpoint),
                        "Also send the spans to this OpenTelemetry collector (OTLP/HTTP JSON, POST <url>/v1/traces), "
                        "in batches once a second; unset = the journal only."),
                CONFIG_DURATION("HTTP_SHUTDOWN_TIMEOUT", "10s", 0, 600000, COMMON(http_shutdown_timeout_ms),
                        "How long shutdown waits for in-flight requests."),
                CONFIG_DURATION("WATCHDOG_INTERVAL", "10s", 0, 3600000, COMMON(watchdog_interval_ms),
                        "How often to tell the service manager the service is alive (sd_notify WATCHDOG=1), "
                        "only if its HTTP event loop answered since the last time; 0 = never."),
        };
        /* clang-format on */
        memcpy(table, t, sizeof(t));
}

static void print_help(const ServiceDefinition *def, const ConfigEntry *common, FILE *f) {
        fprintf(f,
                "ai-semble-%s %s — %s\n\n"
                "Usage: ai-semble-%s [OPTION]\n\n"
                "  -h --help                  Show this help and the configuration variables\n"
                "     --version               Show the version\n"
                "     --healthcheck[=PATH]    GET PATH (default /health/live) on the configured port;\n"
                "                             exit 0 on 200 (container health and probe command)\n"
                "     --print-config-markdown Print the configuration table as Markdown\n\n"
                "Configuration (environment variables):\n",
                def->name,
                def->version,
                strempty(def->description),
                def->name);
        config_print_help(common, COMMON_CONFIG_N, f);
        if (def->n_config > 0)
                config_print_help(def->config, def->n_config, f);
}

static int handle_metrics(HttpRequest *req, void *userdata) {
        ServiceContext *ctx = userdata;
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = metrics_registry_render(ctx->metrics, &text, &len);
        if (r < 0)
                return r;
        return http_reply(req, 200, METRICS_CONTENT_TYPE, text, len);
}

static int handle_tasks(HttpRequest *req, void *userdata) {
        ServiceContext *ctx = userdata;
        _cleanup_json_ json_object *o = NULL;
        int r;

        r = service_tasks_build(ctx->def->name, ctx->def->tasks, ctx->def->userdata, &o);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, o);
}

static int handle_gated(HttpRequest *req, void *userdata) {
        GatedRoute *g = userdata;
        int r;

        r = g->ctx->def->gate(req, g->ctx->def->userdata);
        if (r < 0)
                return http_request_replied(req) ? 0 : r;
        return g->handler(req, g->userdata);
}

/* /health, /health/live, /health/ready and /metrics, each behind the gate if there is one,
 * and GET /tasks when the service describes its tasks. */
static int add_builtin_routes(ServiceContext *ctx) {
        HttpRoute routes[BUILTIN_N_ROUTES];
        int r;

        health_routes(&ctx->health, routes);
        routes[HEALTH_N_ROUTES] = (HttpRoute){
                "GET", "/metrics", handle_metrics, HTTP_ROUTE_CONTROL | HTTP_ROUTE_UNTRACED, ctx
        };
        if (ctx->def->gate)
                for (size_t i = 0; i < BUILTIN_N_ROUTES; i++) {
                        ctx->gated[i] = (GatedRoute){ ctx, routes[i].handler, routes[i].userdata };
                        routes[i].handler = handle_gated;
                        routes[i].userdata = &ctx->gated[i];
                }
        r = http_server_add_routes(ctx->server, routes, BUILTIN_N_ROUTES);
        if (r >= 0 && ctx->def->tasks)
                r = http_server_add_routes(
                        ctx->server, &(HttpRoute){ "GET", "/tasks", handle_tasks, 0, ctx }, 1);
        return r;
}

/* path is /health/live by default; probes pass /health/ready for readiness. */
static int run_healthcheck(const ServiceCommonConfig *c, const char *path) {
        _cleanup_free_ char *host = NULL;
        uint16_t port;
        int r, status;

        if (!path)
                path = "/health/live";
        if (path[0] != '/' || strlen(path) > 64) {
                fprintf(stderr, "--healthcheck: '%s' is not a path such as /health/ready\n", path);
                return 1;
        }
        r = config_parse_host_port(c->listen, &host, &port);
        if (r < 0)
                return 1;
        /* A wildcard listener is reachable on loopback. */
        r = http_probe_get(streq(host, "0.0.0.0") ? "127.0.0.1" : host, port, path, 2000, &status);
        if (r < 0) {
                fprintf(stderr, "http://%s:%u%s: %s\n", host, port, path, strerror(-r));
                return 1;
        }
        if (status != 200) {
                fprintf(stderr, "http://%s:%u%s: HTTP %d\n", host, port, path, status);
                return 1;
        }
        return 0;
}

/* Sockets passed by a service manager (a systemd .socket unit, through Podman into the
 * container) are served as well as the configured address: connections wait in their
 * queue while the service restarts. */
static int adopt_listen_fds(HttpServer *server) {
        _cleanup_free_ char *names = NULL;
        const char *name;
        int n, r;

        n = listen_fds_take(&names);
        if (n < 0)
                return log_error_errno(
                        n, "Invalid socket activation variables (LISTEN_PID, LISTEN_FDS): %m");
        name = names;
        for (int i = 0; i < n; i++) {
                int fd = LISTEN_FDS_START + i;
                struct sockaddr_storage sa = {};
                socklen_t sl = sizeof(sa);
                char addr[INET6_ADDRSTRLEN + 8] = "?";
                size_t nl = name ? strcspn(name, ":") : 0;

                r = listen_fds_is_stream_listener(fd);
                if (r <= 0)
                        return log_error_errno(
                                r < 0 ? r : -ENOTSOCK,
                                "Passed descriptor %d is not a listening stream socket",
                                fd);
                if (getsockname(fd, (struct sockaddr *) &sa, &sl) >= 0 &&
                    (sa.ss_family == AF_INET || sa.ss_family == AF_INET6)) {
                        const void *a = sa.ss_family == AF_INET
                                ? (const void *) &((struct sockaddr_in *) &sa)->sin_addr
                                : (const void *) &((struct sockaddr_in6 *) &sa)->sin6_addr;
                        uint16_t port =
                                ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *) &sa)->sin_port
                                                              : ((struct sockaddr_in6 *) &sa)->sin6_port);

                        if (inet_ntop(sa.ss_family, a, addr, INET6_ADDRSTRLEN))
                                snprintf(addr + strlen(addr), 8, ":%u", port);
                }
                r = http_server_adopt_socket(server, fd);
                if (r < 0)
                        return log_error_errno(r, "Cannot serve on passed socket %d (%s): %m", fd, addr);
                log_info(
                        "Adopted passed socket %d (%.*s) listening on %s",
                        fd,
                        (int) nl,
                        strempty(name),
                        addr);
                if (name)
                        name = name[nl] ? name + nl + 1 : NULL;
        }
        return 0;
}

/* A connection is a descriptor: let the cap, not the soft limit, bound them. */
static void raise_fd_limit(uint64_t connections) {
        struct rlimit rl;
        rlim_t want = (rlim_t) connections + 256;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
                return;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : MIN(want, rl.rlim_max);
        (void) setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < want)
                log_warning(
                        "RLIMIT_NOFILE allows %llu descriptors, fewer than HTTP_MAX_CONNECTIONS needs; "
                        "connections beyond it are answered 503",
                        (unsigned long long) rl.rlim_cur);
}

static int setup_metrics(ServiceContext *ctx) {
        static const char *const labels[] = { "service", "version", NULL };
        MetricsFamily *build_info;
        int r;

        r = metrics_registry_new(&ctx->metrics);
        if (r < 0)
                return r;
        r = metrics_gauge_new(
                ctx->metrics, "ai_semble_build_info", "Build information; always 1.", labels, &build_info);
        if (r < 0)
                return r;
        r = metrics_gauge_set(build_info, (const char *[]){ ctx->def->name, ctx->def->version }, 1);
        if (r < 0)
                return r;
        return metrics_registry_add_process_collector(ctx->metrics);
}

/* Until SIGTERM or SIGINT; meanwhile the watchdog: WATCHDOG=1 every interval_ms, but only
 * while the HTTP event loop answers its pings (a loop that is busy still answers: one of
 * its threads is always left for events; a stuck one does not, and the unit's WatchdogSec
 * ends it). Podman passes the message on from the container (Notify=true). */
static int wait_for_termination(int sfd, HttpServer *server, uint64_t interval_ms) {
        uint64_t answered = http_server_ping(server);

        for (;;) {
                struct signalfd_siginfo si;
                struct pollfd p = { .fd = sfd, .events = POLLIN };
                ssize_t n;
                int k = poll(&p, 1, interval_ms > 0 ? (int) interval_ms : -1); /* at most an hour */

                if (k < 0 && errno != EINTR)
                        return log_error_errno(negative_errno(), "Failed to wait for signals: %m");
                if (k == 0) {
                        uint64_t now = http_server_ping(server);

                        if (now != answered)
                                (void) notify_send("WATCHDOG=1");
                        else
                                log_warning(
                                        "The HTTP event loop did not answer within %" PRIu64 " ms",
                                        interval_ms);
                        answered = now;
                        continue;
                }
                if (k < 0)
                        continue;
                n = read(sfd, &si, sizeof(si));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(negative_errno(), "Failed to read signalfd: %m");
                }
                if (n != sizeof(si))
                        continue;
                if (si.ssi_signo == SIGHUP) {
                        log_info("SIGHUP received; configuration is only read at start, ignoring");
                        continue;
                }
                log_info("%s received, shutting down", strsignal((int) si.ssi_signo));
                return 0;
        }
}

int service_main(const ServiceDefinition *def, int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_HEALTHCHECK, ARG_MARKDOWN };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "healthcheck", optional_argument, NULL, ARG_HEALTHCHECK },
                { "print-config-markdown", no_argument, NULL, ARG_MARKDOWN },
                {},
        };
        ConfigEntry common[COMMON_CONFIG_N];
        ServiceContext ctx = { .def = def };
        _cleanup_close_ int sfd = -1;
        _cleanup_free_ char *err = NULL;
        bool healthcheck = false;
        const char *healthcheck_path = NULL;
        char address[300];
        sigset_t mask;
        int c, r, ret = EXIT_FAILURE;

        common_table(def, common);

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        print_help(def, common, stdout);
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        printf("ai-semble-%s %s\n", def->name, def->version);
                        return EXIT_SUCCESS;
                case ARG_HEALTHCHECK:
                        healthcheck = true;
                        healthcheck_path = optarg;
                        break;
                case ARG_MARKDOWN:
                        config_print_markdown(common, COMMON_CONFIG_N, stdout);
                        if (def->n_config > 0) {
                                /* One table: skip the second header. */
                                char *buf = NULL;
                                size_t size = 0;
                                FILE *f = open_memstream(&buf, &size);

                                if (f) {
                                        config_print_markdown(def->config, def->n_config, f);
                                        fclose(f);
                                        const char *rows = buf ? strstr(buf, "|---|") : NULL;
                                        if (rows && (rows = strchr(rows, '\n')))
                                                fputs(rows + 1, stdout);
                                        free(buf);
                                }
                        }
                        return EXIT_SUCCESS;
                default:
                        fprintf(stderr, "Try 'ai-semble-%s --help'.\n", def->name);
                        return SERVICE_EXIT_CONFIG;
                }
        if (optind < argc) {
                fprintf(stderr, "ai-semble-%s: unexpected argument '%s'\n", def->name, argv[optind]);
                return SERVICE_EXIT_CONFIG;
        }

        log_init(def->name);

        r = config_load(common, COMMON_CONFIG_N, &ctx.common, &err);
        if (r >= 0 && def->n_config > 0)
                r = config_load(def->config, def->n_config, def->config_data, &err);
        if (r < 0) {
                if (err)
                        log_error("Invalid configuration: %s", err);
                else
                        log_error_errno(r, "Failed to load configuration: %m");
                config_free(common, COMMON_CONFIG_N, &ctx.common);
                return SERVICE_EXIT_CONFIG;
        }
        log_set_max_level(ctx.common.log_level);
        trace_set_enabled(ctx.common.trace);
        trace_set_sample_rate((unsigned) ctx.common.trace_sample_rate);

        if (healthcheck) {
                ret = run_healthcheck(&ctx.common, healthcheck_path);
                goto finish_config;
        }

        /* Block before any thread exists so the server's and curl's threads inherit the mask
         * and the signals are only ever seen through the signalfd. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        r = -pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to block signals: %m");
                goto finish_config;
        }
        (void) signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sfd < 0) {
                log_error_errno(negative_errno(), "Failed to create signalfd: %m");
                goto finish_config;
        }

        r = setup_metrics(&ctx);
        if (r < 0) {
                log_error_errno(r, "Failed to set up metrics: %m");
                goto finish;
        }

        HttpServerConfig hc = {
                .listen = ctx.common.listen,
                .threads = (unsigned) ctx.common.http_threads,
                .max_body = ctx.common.http_max_body,
                .max_header = ctx.common.http_max_header,
                .request_timeout_ms = ctx.common.http_request_timeout_ms,
                .shutdown_timeout_ms = ctx.common.http_shutdown_timeout_ms,
                .max_connections = (unsigned) ctx.common.http_max_connections,
                .access_log = ctx.common.http_access_log,
                .trace_start = def->trace_start,
                .metrics = ctx.metrics,
        };
        raise_fd_limit((uint64_t) ctx.common.http_max_connections);
        r = http_server_new(&hc, &ctx.server);
        if (r < 0) {
                log_error_errno(r, "Failed to create HTTP server: %m");
                goto finish;
        }
        r = adopt_listen_fds(ctx.server);
        if (r < 0)
                goto finish;

        ctx.health.service = def->name;
        ctx.health.version = def->version;
        ctx.health.readiness = def->readiness;
        ctx.health.userdata = def->userdata;
        r = add_builtin_routes(&ctx);
        if (r >= 0 && def->n_routes > 0)
                r = http_server_add_routes(ctx.server, def->routes, def->n_routes);
        if (r < 0) {
                log_error_errno(r, "Failed to register routes: %m");
                goto finish;
        }

        if (def->setup) {
                r = def->setup(&ctx, def->userdata);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the %s service: %m", def->name);
                        goto finish;
                }
        }

        if (ctx.common.trace && ctx.common.otlp_endpoint) {
                char name[128];

                snprintf(name, sizeof(name), "ai-semble-%s", def->name);
                r = otlp_start(ctx.common.otlp_endpoint, name);
                if (r < 0) {
                        log_error_errno(r, "Failed to start the OTLP exporter: %m");
                        goto finish;
                }
        }

        r = http_server_start(ctx.server);
        if (r < 0) {
                log_error_errno(r, "Failed to serve on %s: %m", ctx.common.listen);
                goto finish;
        }
        health_set_started(&ctx.health, true);
        {
                /* With port 0 the kernel picked one: say which. */
                _cleanup_free_ char *host = NULL;
                uint16_t configured;

                if (config_parse_host_port(ctx.common.listen, &host, &configured) >= 0)
                        snprintf(address, sizeof(address), "%s:%d", host, http_server_get_port(ctx.server));
                else
                        snprintf(address, sizeof(address), "%s", ctx.common.listen);
        }
        log_info("listening on %s", address);
        (void) notify_sendf("READY=1\nSTATUS=Listening on %s", address);

        r = wait_for_termination(sfd, ctx.server, ctx.common.watchdog_interval_ms);

        (void) notify_send("STOPPING=1\nSTATUS=Draining requests");
        health_set_started(&ctx.health, false);
        {
                int k = http_server_shutdown(ctx.server);
                if (k == -ETIMEDOUT)
                        log_warning(
                                "%u requests still running after the shutdown timeout; stopping anyway",
                                http_server_in_flight(ctx.server));
        }
        ret = r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

finish:
        otlp_stop(); /* sends the last spans */
        if (def->teardown)
                def->teardown(def->userdata);
        http_server_free(ctx.server);
        metrics_registry_free(ctx.metrics);
        log_info("stopped");
finish_config:
        if (def->n_config > 0)
                config_free(def->config, def->n_config, def->config_data);
        config_free(common, COMMON_CONFIG_N, &ctx.common);
        return ret;
}
