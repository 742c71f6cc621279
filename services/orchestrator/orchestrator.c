/* SPDX-License-Identifier: MIT */
/* orchestrator.c — bringing the orchestrator's parts up and down: upstreams, job store,
 * runner (with the usage of each completed llm job), API keys, recovery of unfinished
 * jobs, the schedule timer and the retention cleanup thread. */
#include <openssl/crypto.h>
#include <time.h>

#include "http-client.h"
#include "http-host.h"
#include "json-util.h"
#include "log.h"
#include "orchestrator.h"
#include "sha256.h"
#include "time-util.h"

static void *cleanup_thread(void *userdata) {
        Orchestrator *o = userdata;

        pthread_mutex_lock(&o->cleanup_lock);
        while (!o->stopping) {
                struct timespec ts;
                unsigned deleted = 0;
                int r;

                pthread_mutex_unlock(&o->cleanup_lock);
                r = job_store_cleanup(o->store, o->config.retention_ms, &deleted);
                if (r < 0)
                        log_warning_errno(r, "Failed to delete old jobs: %m");
                else if (deleted > 0)
                        log_info("deleted %u finished jobs past retention", deleted);
                deleted = 0;
                r = o->audit ? audit_prune(o->audit, o->config.audit_retention_ms, &deleted) : 0;
                if (r < 0)
                        log_warning_errno(r, "Failed to delete old audit rows: %m");
                else if (deleted > 0)
                        log_info("deleted %u audit rows past retention", deleted);
                pthread_mutex_lock(&o->cleanup_lock);
                ts = timespec_deadline_ms(o->config.cleanup_interval_ms);
                while (!o->stopping)
                        if (pthread_cond_timedwait(&o->cleanup_cond, &o->cleanup_lock, &ts) != 0)
                                break;
        }
        pthread_mutex_unlock(&o->cleanup_lock);
        return NULL;
}

/* POST /webhook: on when ORCH_WEBHOOK_SECRET_FILE is set; each mapped event must name a
 * service, checked here so a typo fails the start rather than a delivery (its task is the
 * service's to know: orchestrator_check_webhook_tasks()). */
/* A mapped task its service does not list is said once at start; its deliveries get 503
 * until the service has it. */
static void orchestrator_check_webhook_tasks(Orchestrator *o) {
        for (size_t i = 0; o->webhook && i < o->n_webhook_events; i++) {
                UpstreamService s;

                if (upstream_service_from_string(o->webhook_events[i].service, &s) >= 0 &&
                    upstream_tasks_known(s, NULL, 0) && !upstream_task_find(s, o->webhook_events[i].task))
                        log_warning(
                                "ORCH_WEBHOOK_EVENTS: the %s service has no task %s",
                                o->webhook_events[i].service,
                                o->webhook_events[i].task);
        }
}

static int save_tasks(UpstreamService s, const char *text, void *userdata) {
        Orchestrator *o = userdata;

        return job_store_tasks_save(o->store, upstream_service_to_string(s), text);
}

/* The services' tasks: the answers saved by the last run first (a restart's unfinished
 * jobs need them before the services answer), then what the services say now. */
static int orchestrator_load_tasks(Orchestrator *o) {
        _cleanup_json_ json_object *saved = NULL;
        int r;

        r = job_store_tasks_load(o->store, &saved);
        if (r < 0)
                return log_error_errno(r, "Failed to read the saved task lists: %m");
        json_object_object_foreach(saved, name, answer) {
                UpstreamService s;
                char err[160];

                if (upstream_service_from_string(name, &s) < 0 ||
                    upstream_tasks_install(
                            s,
                            json_object_get_string(answer),
                            (size_t) json_object_get_string_len(answer),
                            err,
                            sizeof(err)) < 0)
                        log_warning(
                                "The saved task list of %s is not usable; waiting for its GET /tasks", name);
        }
        upstream_tasks_bind(&o->config.upstream, save_tasks, o);
        upstream_tasks_load_all();
        for (int s = 0; s < _UPSTREAM_MAX; s++) {
                char why[192];

                if (!upstream_tasks_known((UpstreamService) s, why, sizeof(why)))
                        log_info(
                                "The tasks of %s are not known yet (%s): loaded when it becomes ready",
                                upstream_service_to_string((UpstreamService) s),
                                why);
        }
        orchestrator_check_webhook_tasks(o);
        return 0;
}

static int orchestrator_setup_webhook(Orchestrator *o) {
        _cleanup_free_ char *secret = NULL;
        size_t len = 0;
        int r;

        if (!o->config.webhook_secret_file || !*o->config.webhook_secret_file)
                return 0;
        r = webhook_events_parse(
                o->config.webhook_events, o->webhook_events, WEBHOOK_EVENTS_MAX, &o->n_webhook_events);
        if (r < 0)
                return log_error_errno(r, "ORCH_WEBHOOK_EVENTS must be event=service/task[,...]: %m");
        for (size_t i = 0; i < o->n_webhook_events; i++) {
                UpstreamService s;
                if (upstream_service_from_string(o->webhook_events[i].service, &s) < 0)
                        return log_error_errno(
                                -EINVAL,
                                "ORCH_WEBHOOK_EVENTS: unknown service %s (one of llm, vision, nlp, data)",
                                o->webhook_events[i].service);
        }
        r = auth_read_secret_file(o->config.webhook_secret_file, &secret, &len);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Failed to read the webhook secret %s (>= 32 bytes): %m",
                        o->config.webhook_secret_file);
        r = webhook_verifier_new(
                secret,
                len,
                o->config.webhook_window_ms / 1000,
                (size_t) o->config.webhook_replay_max,
                &o->webhook);
        OPENSSL_cleanse(secret, len);
        return r;
}

/* WebhookRemember on the store (userdata): the MAC (32 bytes, as a SHA-256) in hex. */
static int
remember_webhook(const unsigned char mac[static 32], int64_t expires, int64_t now, void *userdata) {
        char hex[SHA256_HEX_SIZE];

        sha256_to_hex(mac, hex);
        return job_store_replay_remember(userdata, hex, (double) expires, (double) now);
}

/* The input rules: built-ins with ORCH_GUARDRAIL_ACTIONS applied, plus the operator's
 * file. A bad action list or rule line stops the start, naming it. */
static int orchestrator_setup_guardrail(Orchestrator *o) {
        _cleanup_(guardrail_freep) Guardrail *g = NULL;
        _cleanup_free_ char *err = NULL;
        const char *file = o->config.guardrail_rules_file;
        size_t blocking = 0;
        int r;

        if (!o->config.guardrails) {
                log_warning("guardrails off: ORCH_GUARDRAILS=off");
                return 0;
        }
        r = guardrail_new((size_t) o->config.guardrail_repeat_bytes, &g);
        if (r < 0)
                return log_error_errno(r, "Failed to compile the built-in guardrail rules: %m");
        if (file && *file) {
                r = guardrail_load_file(g, file, &err);
                if (r < 0 && err)
                        return log_error_errno(r, "ORCH_GUARDRAIL_RULES_FILE %s, %s", file, err);
                if (r < 0)
                        return log_error_errno(r, "Failed to read ORCH_GUARDRAIL_RULES_FILE %s: %m", file);
        }
        /* After the file, so that actions can name operator rules too. */
        r = guardrail_set_actions(g, o->config.guardrail_actions, &err);
        if (r < 0)
                return log_error_errno(r, "ORCH_GUARDRAIL_ACTIONS: %s", err ?: "out of memory");
        for (size_t i = 0; i < guardrail_n_rules(g); i++)
                blocking += guardrail_rule_action(g, i) == GUARDRAIL_BLOCK;
        log_info("guardrails on: %zu rules, %zu blocking", guardrail_n_rules(g), blocking);
        o->guardrail = TAKE_PTR(g);
        return 0;
}

int orchestrator_start(Orchestrator *o, MetricsRegistry *m) {
        const char *db;
        JobRunnerConfig rc = {
                .workers = (unsigned) o->config.workers,
                .queue_max = (size_t) o->config.queue_max,
                .sync_grace_ms = o->config.sync_grace_ms,
                .redact_output = o->config.redact_output,
                .on_completed = api_usage_record,
                .userdata = o,
        };
        unsigned requeued = 0, failed = 0;
        int r;

        pthread_mutex_init(&o->cleanup_lock, NULL);
        pthread_cond_init(&o->cleanup_cond, NULL);
        workflow_runs_init(&o->workflows, &o->config.upstream, o->config.max_timeout_ms);
        r = auth_setup(&o->config.auth, &o->jwt);
        if (r == -ENOKEY)
                return log_error_errno(
                        r,
                        "ORCH_AUTH=required (the default) but no key is configured: set "
                        "ORCH_JWT_SECRET_FILE (in the pod: /run/secrets/ai-semble-jwt) or "
                        "ORCH_JWT_PUBLIC_KEY_FILE; or ORCH_AUTH=off to serve every route to "
                        "anyone who can reach the port (a single-user machine only)");
        if (r < 0)
                return log_error_errno(
                        r,
                        "Failed to set up bearer auth from %s: %m",
                        o->config.auth.secret_file ?: o->config.auth.public_key_file);
        {
                char bad[128];

                r = http_host_list_check(o->config.allowed_hosts, bad, sizeof(bad));
                if (r < 0)
                        return log_error_errno(
                                r, "ORCH_ALLOWED_HOSTS: '%s' is not a host name, [IPv6] or name:port", bad);
                r = auth_exempt_parse(
                        o->config.auth.exempt ?: AUTH_EXEMPT_DEFAULT, &o->auth_exempt, bad, sizeof(bad));
                if (r < 0)
                        return log_error_errno(
                                r,
                                "ORCH_AUTH_EXEMPT: unknown path '%s' (one of /health, /health/live, "
                                "/health/ready, /metrics)",
                                bad);
        }
        if (o->jwt)
                log_info("bearer auth on (JWT)");
        else
                log_warning(
                        "AUTH IS OFF (ORCH_AUTH=off): every API route, every job, its results and "
                        "the audit log are open to anyone who can reach this port, and audit rows "
                        "name no caller; /health/ready says \"auth\":\"off\". Unset ORCH_AUTH "
                        "and configure a key unless this is a single-user machine.");
        r = orchestrator_setup_webhook(o);
        if (r < 0)
                return r;
        r = orchestrator_setup_guardrail(o);
        if (r < 0)
                return r;
        if (o->config.rate_limit_rps > 0) {
                r = ratelimit_new(
                        (double) o->config.rate_limit_rps,
                        (unsigned) o->config.rate_limit_burst,
                        &o->ratelimit);
                if (r < 0)
                        return r;
        }
        r = stream_limit_new(
                (unsigned) (o->config.sse_per_principal > 0 ? o->config.sse_per_principal : SSE_PER_PRINCIPAL_DEFAULT),
                &o->streams);
        if (r < 0)
                return r;
        upstreams_init(&o->upstreams, &o->config.upstream);
        if (m) {
                r = upstream_setup_metrics(&o->upstreams, m);
                if (r < 0)
                        return r;
        }
        /* The URL is not logged: it may hold a password. */
        db = o->config.db_url && *o->config.db_url ? "PostgreSQL (ORCH_DB_URL)" : o->config.db_path;
        r = job_store_open(db == o->config.db_path ? db : o->config.db_url, &o->store);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Failed to open the job database %s: %m%s",
                        db,
                        db == o->config.db_path ? "" : " (LOG_LEVEL=debug shows the server's message)");
        r = audit_open(o->store, &o->audit);
        if (r < 0)
                return log_error_errno(r, "Failed to open the audit table in %s: %m", db);
        log_info("Job store: %s", db);
        r = orchestrator_load_tasks(o);
        if (r < 0)
                return r;
        o->keys = (AuthKeyResolver){ .lookup = api_keys_lookup, .userdata = o };
        r = apikey_meter_new(&o->key_meter);
        if (r < 0)
                return r;
        if (o->config.cache_max_bytes > 0 && o->config.cache_ttl_ms > 0) {
                r = result_cache_new(
                        &(ResultCacheConfig){ .max_bytes = o->config.cache_max_bytes,
                                              .ttl_ms = o->config.cache_ttl_ms },
                        &o->cache);
                if (r >= 0 && m)
                        r = result_cache_setup_metrics(o->cache, m);
                if (r < 0)
                        return r;
        }
        rc.cache = o->cache;
        r = job_runner_new(o->store, &o->upstreams, &rc, m, &o->runner);
        if (r < 0)
                return r;
        if (m) {
                r = api_setup_metrics(o, m);
                if (r < 0)
                        return r;
        }
        if (o->config.lease_ms == 0)
                o->config.lease_ms = LEASE_DEFAULT_MS;
        /* Several orchestrators on one store: a delivery replayed to another is a replay,
         * and a principal's rate and a key's RPM/TPM count across them. */
        if (job_store_kind(o->store) == STORE_DB_POSTGRESQL) {
                if (o->webhook)
                        webhook_verifier_set_memory(o->webhook, remember_webhook, o->store);
                if (o->ratelimit)
                        ratelimit_share(o->ratelimit, o->store);
                apikey_meter_share(o->key_meter, o->store);
        }
        if (job_store_kind(o->store) == STORE_DB_POSTGRESQL) {
                char fresh[37] = "";

                /* Unnamed: a name of this run's own, unique by construction (hosts running
                 * the same pod share a host name); its jobs wait out their leases after a
                 * restart instead of being taken back at once. */
                if (isempty(o->config.instance) && job_generate_id(fresh) < 0)
                        return log_error_errno(-EIO, "Failed to name this orchestrator: %m");
                r = job_store_set_lease(
                        o->store,
                        isempty(o->config.instance) ? fresh : o->config.instance,
                        o->config.lease_ms);
                if (r < 0)
                        return log_error_errno(r, "Failed to set this orchestrator's leases: %m");
        }
        r = job_runner_recover(o->runner, &requeued, &failed);
        if (r < 0)
                return log_error_errno(r, "Failed to recover unfinished jobs: %m");
        r = workflow_runs_start(&o->workflows, o->store, o->runner);
        if (r < 0)
                return log_error_errno(r, "Failed to recover unfinished workflows: %m");
        if (requeued + failed > 0)
                log_info(
                        "recovered unfinished jobs: %u re-queued, %u failed (not idempotent)",
                        requeued,
                        failed);
        if (o->workflows.resumed > 0)
                log_info("resumed %u unfinished workflows", o->workflows.resumed);
        if (job_store_leasing(o->store)) {
                r = lease_keeper_start(o->store, o->runner, &o->workflows, o->config.lease_ms, &o->leases);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the lease keeper: %m");
        }
        r = schedule_timer_new(o->store, o->runner, &o->schedules);
        if (r >= 0 && !o->config.schedules_manual)
                r = schedule_timer_start(o->schedules);
        if (r < 0)
                return log_error_errno(r, "Failed to start the schedule timer: %m");
        r = -pthread_create(&o->cleanup_thread, NULL, cleanup_thread, o);
        if (r < 0)
                return r;
        o->cleanup_started = true;
        return 0;
}

/* Pooled upstream connections are closed before exit so that valgrind/ASan see no
 * leak and the services see an orderly FIN. */
void orchestrator_stop(Orchestrator *o) {
        if (o->cleanup_started) {
                pthread_mutex_lock(&o->cleanup_lock);
                o->stopping = true;
                pthread_cond_broadcast(&o->cleanup_cond);
                pthread_mutex_unlock(&o->cleanup_lock);
                pthread_join(o->cleanup_thread, NULL);
        }
        schedule_timer_free(TAKE_PTR(o->schedules)); /* fires no run into a draining runner */
        /* No takeover into a draining runner. The leases were renewed at most a third of
         * their time ago, so the drain (ORCH_DRAIN_TIMEOUT, shorter) ends before they run
         * out: another orchestrator does not take a job this one is finishing. */
        lease_keeper_free(TAKE_PTR(o->leases));
        if (o->store)
                workflow_runs_stop(&o->workflows);
        if (o->runner)
                job_runner_drain(o->runner, o->config.drain_timeout_ms);
        job_runner_free(TAKE_PTR(o->runner));
        result_cache_free(TAKE_PTR(o->cache));
        audit_free(TAKE_PTR(o->audit));
        job_store_free(TAKE_PTR(o->store));
        apikey_meter_free(TAKE_PTR(o->key_meter));
        if (o->upstreams.config)
                upstreams_done(&o->upstreams);
        o->upstreams.config = NULL;
        pthread_cond_destroy(&o->cleanup_cond);
        pthread_mutex_destroy(&o->cleanup_lock);
        workflow_runs_done(&o->workflows);
        http_client_pool_flush();
        auth_jwt_free(TAKE_PTR(o->jwt));
        webhook_verifier_free(TAKE_PTR(o->webhook));
        ratelimit_free(TAKE_PTR(o->ratelimit));
        stream_limit_free(TAKE_PTR(o->streams));
        guardrail_free(TAKE_PTR(o->guardrail));
}
