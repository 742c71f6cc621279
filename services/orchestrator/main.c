/* SPDX-License-Identifier: MIT */
/* ai-semble-orchestrator — the pod's only published service: the seed's task endpoints,
 * /dispatch, the llm's /v1 API and the data service's datasets, every task a persistent job
 * run by a worker pool against the backend services, with job events, retries and circuit
 * breakers. */
#include <stddef.h>

#include "orchestrator.h"
#include "pod-services.h"
#include "service.h"
#include "version.h"

static Orchestrator orch;

#define ORCH(field) offsetof(OrchConfig, field)
#define AUTH(field) offsetof(OrchConfig, auth.field)
#define UP(field) offsetof(OrchConfig, upstream.field)
/* A service on the pod's loopback, at its port from services/pod-services.txt. */
#define POD_URL(NAME) "http://127.0.0.1:" AI_SEMBLE_PORT_##NAME##_S

/* clang-format off */
static const ConfigEntry config_table[] = {
        CONFIG_URL("LLM_SERVICE_URL", POD_URL(LLM), UP(url[UPSTREAM_LLM]), "Base URL of the LLM service."),
        CONFIG_URL("VISION_SERVICE_URL", POD_URL(VISION), UP(url[UPSTREAM_VISION]),
                "Base URL of the vision service."),
        CONFIG_URL("NLP_SERVICE_URL", POD_URL(NLP), UP(url[UPSTREAM_NLP]), "Base URL of the NLP service."),
        CONFIG_URL("DATA_PROCESSOR_URL", POD_URL(DATA), UP(url[UPSTREAM_DATA]),
                "Base URL of the data processor."),
        CONFIG_DURATION("ORCH_PROBE_TIMEOUT", "1s", 50, 60000, UP(probe_timeout_ms),
                "Timeout of each upstream readiness probe."),
        CONFIG_DURATION("ORCH_LLM_TIMEOUT", "120s", 100, 3600000, UP(timeout_ms[UPSTREAM_LLM]),
                "Default time a job for the LLM service may take, queue wait and retries included "
                "(a task whose GET /tasks entry names a timeout_ms takes that)."),
        CONFIG_DURATION("ORCH_VISION_TIMEOUT", "60s", 100, 3600000, UP(timeout_ms[UPSTREAM_VISION]),
                "Default job timeout for the vision service."),
        CONFIG_DURATION("ORCH_NLP_TIMEOUT", "30s", 100, 3600000, UP(timeout_ms[UPSTREAM_NLP]),
                "Default job timeout for the NLP service."),
        CONFIG_DURATION("ORCH_DATA_TIMEOUT", "30s", 100, 3600000, UP(timeout_ms[UPSTREAM_DATA]),
                "Default job timeout for the data processor."),
        CONFIG_DURATION("ORCH_TASKS_REFRESH", "1s", 0, 3600000, UP(tasks_refresh_ms),
                "Shortest time between two loads of a service's GET /tasks when a request names a task "
                "it does not list (so a task a service gains is routable at once)."),
        CONFIG_DURATION("ORCH_MAX_TIMEOUT", "10m", 1000, 3600000, ORCH(max_timeout_ms),
                "Largest timeout a /dispatch request may ask for."),
        CONFIG_INT("ORCH_RETRY_MAX", "2", 0, 10, UP(retry_max),
                "Retries of an upstream call after a connect error "
                "(any task) or a reset/503 (idempotent tasks)."),
        CONFIG_DURATION("ORCH_RETRY_BASE", "50ms", 1, 60000, UP(retry_base_ms),
                "Base of the exponential backoff (full jitter) between retries."),
        CONFIG_DURATION("ORCH_RETRY_CAP", "1s", 1, 600000, UP(retry_cap_ms),
                "Largest backoff between retries."),
        CONFIG_INT("ORCH_BREAKER_FAILURES", "5", 1, 1000, UP(breaker_failures),
                "Consecutive failures (connect/reset/timeout, "
                "HTTP 500/502/504) that open a service's breaker."),
        CONFIG_DURATION("ORCH_BREAKER_OPEN", "10s", 100, 3600000, UP(breaker_open_ms),
                "How long an open breaker rejects calls before letting one probe through (half-open)."),
        CONFIG_DURATION("ORCH_UPDATE_HOLD", "60s", 1000, 3600000, UP(update_hold_ms),
                "Longest the supervisor's update notice holds calls to a service "
                "(they wait, within their own timeout, until it is up again)."),
        CONFIG_DURATION("ORCH_DRAIN_TIMEOUT", "8s", 0, 600000, ORCH(drain_timeout_ms),
                "On SIGTERM, after the HTTP drain: how long running jobs may finish "
                "(queued ones stay pending for the next start)."),
        CONFIG_STR("ORCH_DB_PATH", "/data/orchestrator.db", ORCH(db_path),
                "SQLite database of jobs and events (WAL mode; the directory must be writable)."),
        CONFIG_STR("ORCH_DB_URL", "", ORCH(db_url),
                "PostgreSQL instead of ORCH_DB_PATH: a libpq URL postgresql://user@host:port/db "
                "(password from PGPASSWORD or a passfile); empty = SQLite."),
        CONFIG_STR("ORCH_INSTANCE", "", ORCH(instance),
                "This orchestrator's name among several on one shared store (ORCH_DB_URL): the "
                "holder of its jobs' leases. Unique per orchestrator; a name kept across restarts "
                "takes its own jobs back at once. Empty = a new name each start (its jobs wait "
                "out ORCH_LEASE_TIMEOUT after a restart)."),
        CONFIG_DURATION("ORCH_LEASE_TIMEOUT", "15s", 300, 3600000, ORCH(lease_ms),
                "On a shared store: how long the jobs of an orchestrator that stopped renewing "
                "its leases (renewed every third of this) wait before another one takes them over."),
        CONFIG_INT("ORCH_WORKERS", "8", 1, 256, ORCH(workers),
                "Worker threads, i.e. jobs running against the services at once."),
        CONFIG_DURATION("ORCH_SYNC_GRACE", "100ms", 0, 60000, ORCH(sync_grace_ms),
                "A synchronous job is first stored when it finishes (one commit), or once it "
                "has waited for a worker slot or run this long; 0 = store every job before it runs."),
        CONFIG_INT("ORCH_QUEUE_MAX", "1024", 1, 1000000, ORCH(queue_max),
                "Jobs that may wait for a worker; beyond it requests get 503 with Retry-After."),
        CONFIG_DURATION("ORCH_JOB_RETENTION", "168h", 60000, 315360000000, ORCH(retention_ms),
                "Finished jobs older than this are deleted."),
        CONFIG_DURATION("ORCH_AUDIT_RETENTION", "2160h", 60000, 315360000000, ORCH(audit_retention_ms),
                "Audit rows (GET /audit) older than this are deleted (default 90 days)."),
        CONFIG_DURATION("ORCH_CLEANUP_INTERVAL", "10m", 1000, 86400000, ORCH(cleanup_interval_ms),
                "How often finished jobs past retention are deleted."),
        CONFIG_DURATION("ORCH_SSE_KEEPALIVE", "15s", 100, 300000, ORCH(sse_keepalive_ms),
                "Interval of keep-alive comments on idle event streams."),
        CONFIG_INT("ORCH_SSE_PER_PRINCIPAL", "4", 1, 256, ORCH(sse_per_principal),
                "Event streams (GET /jobs/{id}/events) one principal (JWT sub, else client address) "
                "may hold open at once; each holds one of HTTP_THREADS. More get 429."),
        CONFIG_ENUM("ORCH_AUTH", "required", auth_modes, AUTH(mode),
                "required: every route but health and metrics needs a bearer token, and the "
                "start fails without ORCH_JWT_SECRET_FILE or ORCH_JWT_PUBLIC_KEY_FILE; off: no "
                "token checked (a single-user machine; logged loudly, shown in /health/ready)."),
        CONFIG_STR("ORCH_JWT_SECRET_FILE", NULL, AUTH(secret_file),
                "File with the HS256 shared secret (>= 32 bytes; e.g. a Podman secret under "
                "/run/secrets)."),
        CONFIG_STR("ORCH_JWT_PUBLIC_KEY_FILE", NULL, AUTH(public_key_file),
                "PEM public key for RS256 (RSA >= 2048 bits) or ES256 (P-256) tokens."),
        CONFIG_STR("ORCH_JWT_ISSUER", NULL, AUTH(issuer), "Required iss claim; unset = not checked."),
        CONFIG_STR("ORCH_JWT_AUDIENCE", NULL, AUTH(audience),
                "Required aud claim (string or array member); unset = not checked."),
        CONFIG_STR("ORCH_JWT_KID", NULL, AUTH(kid),
                "Key id tokens may name; unset = tokens carrying a kid are rejected."),
        CONFIG_STR("ORCH_JWT_ROLE_CLAIM", "role", AUTH(role_claim),
                "Claim holding the role: admin, operator or viewer."),
        CONFIG_DURATION("ORCH_JWT_LEEWAY", "30s", 0, 300000, AUTH(leeway_ms),
                "Clock skew allowed on exp, nbf and iat."),
        CONFIG_STR("ORCH_AUTH_EXEMPT", AUTH_EXEMPT_DEFAULT, AUTH(exempt),
                "Built-in paths served without a token when auth is on (comma list of /health, "
                "/health/live, /health/ready, /metrics); the others need a viewer token."),
        CONFIG_STR("ORCH_ALLOWED_HOSTS", "", ORCH(allowed_hosts),
                "Host names the API answers besides localhost, 127.0.0.1 and [::1] (comma list of "
                "name or name:port); any other Host gets 421 (DNS rebinding)."),
        CONFIG_STR("ORCH_WEBHOOK_SECRET_FILE", NULL, ORCH(webhook_secret_file),
                "File with the webhook HMAC-SHA256 secret (>= "
                "32 bytes); unset = POST /webhook answers 503."),
        CONFIG_STR("ORCH_WEBHOOK_EVENTS", "", ORCH(webhook_events),
                "Jobs started by verified webhooks: "
                "event=service/task[,...], e.g. order.created=data/analyze."),
        CONFIG_DURATION("ORCH_WEBHOOK_WINDOW", "300s", 1000, 3600000, ORCH(webhook_window_ms),
                "Accepted distance of X-Signature timestamps from now (either way); an accepted "
                "signature is remembered as long as it could be accepted again."),
        CONFIG_INT("ORCH_WEBHOOK_REPLAY_MAX", "16384", 16, 16777216, ORCH(webhook_replay_max),
                "Accepted webhook signatures remembered at once (about 40 bytes each); when that "
                "many are within their window, further deliveries get 503 instead of an old one "
                "being forgotten."),
        CONFIG_INT("ORCH_RATE_LIMIT_RPS", "0", 0, 100000, ORCH(rate_limit_rps),
                "Requests per second per principal (JWT sub, else "
                "client address) on the API routes; 0 = off."),
        CONFIG_INT("ORCH_RATE_LIMIT_BURST", "20", 1, 1000000, ORCH(rate_limit_burst),
                "Requests a principal may make at once before the rate applies."),
        CONFIG_BOOL("ORCH_GUARDRAILS", "on", ORCH(guardrails),
                "Input rules on prompt, text, input, system and messages[].content "
                "(see docs/security-api.md#guardrails)."),
        CONFIG_STR("ORCH_GUARDRAIL_ACTIONS", "injection=flag,shell=flag,sql=flag,repetition=block",
                ORCH(guardrail_actions),
                "Action per rule set or rule name: block (422), flag (recorded on the job) "
                "or off; later items win, e.g. sql=block,sql_comment_after_quote=flag "
                "(operator rules keep the action of their line unless named here)."),
        CONFIG_STR("ORCH_GUARDRAIL_RULES_FILE", NULL, ORCH(guardrail_rules_file),
                "Extra operator rules, one per line: name action regex (POSIX "
                "extended, case-insensitive); a bad line stops the start."),
        CONFIG_SIZE("ORCH_GUARDRAIL_REPEAT_BYTES", "1K", 256, 16777216, ORCH(guardrail_repeat_bytes),
                "Length from which one unit of 1-64 bytes repeated back to back is oversized repetition."),
        CONFIG_SIZE("ORCH_CACHE_MAX_BYTES", "64M", 0, 17179869184, ORCH(cache_max_bytes),
                "Memory of the result cache of pure tasks (vision, nlp, data; see docs/orchestrator.md"
                "#result-cache), least recently used out first; 0 = no cache."),
        CONFIG_DURATION("ORCH_CACHE_TTL", "10m", 0, 31536000000, ORCH(cache_ttl_ms),
                "How long a cached result is answered; 0 = no cache."),
        CONFIG_BOOL("ORCH_REDACT_OUTPUT", "off", ORCH(redact_output),
                "Replace API keys, private keys, JWTs, e-mail addresses and card "
                "numbers in job results (stored and returned) with [REDACTED:kind]."),
};
/* clang-format on */

static int setup(ServiceContext *ctx, void *userdata) {
        int r = orchestrator_start(userdata, service_metrics(ctx));

        /* Tokens and rate limits are checked before any body byte is read. */
        return r < 0 ? r : http_server_set_pre_body(service_http_server(ctx), api_pre_body, userdata);
}

static void teardown(void *userdata) {
        orchestrator_stop(userdata);
}

static int readiness(json_object *response, bool *ret_ready, void *userdata) {
        Orchestrator *o = userdata;
        json_object *services = json_object_new_object();

        if (!services)
                return -ENOMEM;
        json_object_object_add(response, "auth", json_object_new_string(o->jwt ? "required" : "off"));
        json_object_object_add(response, "services", services);
        if (o->runner) {
                json_object *q = json_object_new_object();

                if (q) {
                        json_object_object_add(
                                q,
                                "depth",
                                json_object_new_int64((int64_t) job_runner_queue_depth(o->runner)));
                        json_object_object_add(q, "max", json_object_new_int64(o->config.queue_max));
                        json_object_object_add(
                                q,
                                "workers_busy",
                                json_object_new_int64((int64_t) job_runner_busy(o->runner)));
                        json_object_object_add(q, "workers", json_object_new_int64(o->config.workers));
                        json_object_object_add(response, "queue", q);
                }
        }
        return upstream_probe_all(&o->upstreams, services, ret_ready);
}

int main(int argc, char **argv) {
        ServiceDefinition definition = {
                .name = "orchestrator",
                .version = PROJECT_VERSION,
                .description = "entry point of the ai-semble pod",
                .listen_env = "ORCHESTRATOR_LISTEN",
                .listen_default = "0.0.0.0:" AI_SEMBLE_PORT_ORCHESTRATOR_S,
                .config = config_table,
                .n_config = ELEMENTSOF(config_table),
                .config_data = &orch.config,
                .readiness = readiness,
                .trace_start = true, /* the door: every job's trace begins here */
                .userdata = &orch,
                .setup = setup,
                .teardown = teardown,
                .gate = api_gate,
        };

        definition.routes = api_routes(&orch, &definition.n_routes);
        return service_main(&definition, argc, argv);
}
