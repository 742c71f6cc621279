/* SPDX-License-Identifier: MIT */
/* update.c — see update.h. Runs on the daemon's update thread: its own sd-bus connection
 * for the unit jobs (unit-manager.c), Podman's REST API for images (podman-api.c; the
 * daemon's system call filter does not let the podman binary run), the orchestrator's
 * signed notices for the hold, "up" and the canary, and the daemon's alerts. */
#include <json-c/json.h>
#include <stdio.h>
#include <time.h>

#include "argv-util.h"
#include "json-util.h"
#include "log.h"
#include "podman-api.h"
#include "status.h"
#include "time-util.h"
#include "update.h"

#define NOTICE_TIMEOUT_MS 5000L

/* One service's update. */
typedef struct Step {
        Daemon *d;
        const char *name, *unit;
        UnitManager *m;
        char container[64];
        char *old_id, *ref; /* what runs now, and the reference it came from */
        char *new_id;       /* what ref names now */
        char repo[512], tag[128];
} Step;

static void step_done(Step *s) {
        free(s->old_id);
        free(s->ref);
        free(s->new_id);
}

static Watched *watched(Daemon *d, const char *name) {
        for (size_t i = 0; i < d->n; i++)
                if (streq(d->w[i].name, name))
                        return &d->w[i];
        return NULL;
}

static void set_updating(Daemon *d, const char *name, bool on) {
        Watched *w;

        pthread_mutex_lock(&d->lock);
        w = watched(d, name);
        if (w)
                w->updating = on;
        pthread_mutex_unlock(&d->lock);
}

/* "localhost/ai-semble/nlp:latest" → repo "localhost/ai-semble/nlp", tag "latest" (a ':'
 * after the last '/' is the tag's). */
static int split_ref(const char *ref, char repo[static 512], char tag[static 128]) {
        const char *slash = strrchr(ref, '/'), *colon = strrchr(ref, ':');

        if (!colon || (slash && colon < slash) || !colon[1])
                return -EINVAL;
        snprintf(repo, 512, "%.*s", (int) (colon - ref), ref);
        snprintf(tag, 128, "%s", colon + 1);
        return 0;
}

/* Restarts the unit and waits for its job: done means the new instance said READY=1. */
static int restart_unit(Step *s, char **ret_error) {
        _cleanup_argv_free_ char **failures = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        r = unit_manager_restart(s->m, s->unit, &error);
        if (r >= 0)
                r = unit_manager_wait(s->m, s->d->s->cfg.job_timeout_ms * 1000ULL, &failures);
        if (r < 0 &&
            asprintf(
                    ret_error,
                    "restart of %s: %s",
                    s->unit,
                    failures && failures[0] ? failures[0]
                            : error         ? error
                                            : strerror(-r)) < 0)
                *ret_error = NULL;
        return r;
}

/* Until the orchestrator's readiness report says the service is ready (the orchestrator
 * itself: until it answers), SUPERVISOR_JOB_TIMEOUT at most. */
static int wait_ready(Step *s, char **ret_error) {
        uint64_t deadline = time_now_ms(CLOCK_MONOTONIC) + s->d->s->cfg.job_timeout_ms;

        do {
                _cleanup_(pod_status_done) PodStatus ps = {};
                _cleanup_free_ char *body = NULL;
                long code = 0;

                if (pod_status_add_service(&ps, s->name, s->unit) < 0)
                        return -ENOMEM;
                if (status_probe(s->d->s->cfg.ready_url, 2000, &code, &body) >= 0 &&
                    status_apply_ready(&ps, code, body) >= 0 && ps.services[0].ready)
                        return 0;
                (void) nanosleep(&(struct timespec){ .tv_nsec = 250 * 1000000L }, NULL);
        } while (time_now_ms(CLOCK_MONOTONIC) < deadline);
        if (asprintf(ret_error, "%s was not ready within SUPERVISOR_JOB_TIMEOUT", s->name) < 0)
                *ret_error = NULL;
        return -ETIMEDOUT;
}

/* The orchestrator's notice; its answer's body in *ret_body when asked for. 503 (its
 * webhooks are off) is -EOPNOTSUPP. */
static int notice(Step *s, const char *service, const char *state, long timeout_ms, char **ret_body) {
        long code = 0;
        int r;

        r = orch_notify_now(s->d->notifier, service, state, timeout_ms, &code, ret_body);
        if (code == 503)
                return -EOPNOTSUPP;
        return r;
}

/* A canary job through the door: the orchestrator runs one small job of the service (the
 * orchestrator's own update: one of the data service's). Without service notices (no
 * webhook secret) readiness is all there is to go by, and the summary says so. */
static int canary(Step *s, bool *ret_ran, char **ret_error) {
        _cleanup_free_ char *body = NULL;
        _cleanup_json_ json_object *o = NULL;
        const char *service = streq(s->name, "orchestrator") ? "data" : s->name, *v;
        int r;

        *ret_ran = false;
        /* A job waits its turn behind the service's held calls on a busy host: the canary
         * gets a job's time, not a notice's. */
        r = notice(s, service, "canary", (long) s->d->s->cfg.job_timeout_ms, &body);
        if (r == -EOPNOTSUPP || r == -ENOTCONN)
                return 0;
        *ret_ran = true;
        if (r < 0 || !body || json_parse_strict(body, strlen(body), &o, NULL) < 0) {
                if (asprintf(ret_error, "the canary got no answer from the orchestrator") < 0)
                        *ret_error = NULL;
                return -EIO;
        }
        v = json_object_get_string(json_object_object_get(o, "canary"));
        if (streq_ptr(v, "passed"))
                return 0;
        if (asprintf(
                    ret_error,
                    "canary job %s %s: %s",
                    strempty(json_object_get_string(json_object_object_get(o, "job_id"))),
                    strempty(json_object_get_string(json_object_object_get(o, "status"))),
                    strempty(json_object_get_string(json_object_object_get(o, "error")))) < 0)
                *ret_error = NULL;
        return -EIO;
}

/* Puts the service on the image ref names now: hold, restart, ready, up, canary. */
static int replace(Step *s, bool *ret_canary_ran, char **ret_error) {
        bool backend = !streq(s->name, "orchestrator");
        int r;

        /* Calls to it wait in the orchestrator instead of failing (the old instance drains
         * what it has; nothing new is sent until "up"). */
        if (backend)
                (void) notice(s, s->name, "updating", NOTICE_TIMEOUT_MS, NULL);
        r = restart_unit(s, ret_error);
        if (r >= 0)
                r = wait_ready(s, ret_error);
        if (backend)
                (void) notice(s, s->name, "up", NOTICE_TIMEOUT_MS, NULL);
        if (r >= 0)
                r = canary(s, ret_canary_ran, ret_error);
        return r;
}

static int
update_one(Daemon *d, UnitManager *m, const char *name, const char *unit, bool all, FILE *summary) {
        _cleanup_(step_done) Step s = { .d = d, .name = name, .unit = unit, .m = m };
        _cleanup_free_ char *error = NULL, *rollback_error = NULL;
        const char *sock = d->podman_socket;
        bool ran = false;
        int r;

        snprintf(s.container, sizeof(s.container), "ai-semble-%s", name);
        r = podman_api_container_image(sock, s.container, &s.old_id, &s.ref);
        if (r == -ENOENT) {
                fprintf(summary, "%s: not running; starting it\n", name);
                log_info("Update: %s is not running; starting it", name);
                set_updating(d, name, true);
                r = replace(&s, &ran, &error);
                set_updating(d, name, false);
                fprintf(summary, "%s: %s\n", name, r < 0 ? strempty(error) : "started");
                return r;
        }
        if (r < 0) {
                fprintf(summary, "%s: cannot read its container from Podman: %s\n", name, strerror(-r));
                return r;
        }
        r = split_ref(s.ref, s.repo, s.tag);
        if (r >= 0)
                r = podman_api_image_id(sock, s.ref, &s.new_id);
        if (r < 0) {
                fprintf(summary, "%s: cannot resolve its image %s: %s\n", name, s.ref, strerror(-r));
                return r;
        }
        if (!all && streq(s.old_id, s.new_id)) {
                fprintf(summary, "%s: unchanged (%.12s)\n", name, s.new_id);
                return 0;
        }
        /* The running image stays, tagged, for a rollback (and for the operator). */
        r = podman_api_image_tag(sock, s.old_id, s.repo, "previous");
        if (r < 0) {
                fprintf(summary,
                        "%s: cannot tag %.12s as %s:previous: %s\n",
                        name,
                        s.old_id,
                        s.repo,
                        strerror(-r));
                return r;
        }
        log_info("Update: %s from %.12s to %.12s", name, s.old_id, s.new_id);
        set_updating(d, name, true);
        r = replace(&s, &ran, &error);
        if (r >= 0) {
                set_updating(d, name, false);
                pthread_mutex_lock(&d->lock);
                daemon_alert(d, ALERT_INFO, "update:", name, "%s updated to image %.12s", name, s.new_id);
                pthread_mutex_unlock(&d->lock);
                fprintf(summary,
                        "%s: updated %.12s → %.12s (%s)\n",
                        name,
                        s.old_id,
                        s.new_id,
                        ran ? "canary passed" : "ready; no canary: the orchestrator's webhooks are off");
                return 0;
        }

        /* Back to the image that ran: the reference names it again, the unit restarts. */
        log_warning("Update: %s failed (%s); rolling back to %.12s", name, strempty(error), s.old_id);
        r = podman_api_image_tag(sock, s.old_id, s.repo, s.tag);
        if (r >= 0)
                r = replace(&s, &ran, &rollback_error);
        set_updating(d, name, false);
        pthread_mutex_lock(&d->lock);
        daemon_alert(
                d,
                ALERT_CRITICAL,
                "rollback:",
                name,
                "update of %s to image %.12s failed (%s): rolled back to %.12s%s%s",
                name,
                s.new_id,
                strempty(error),
                s.old_id,
                r < 0 ? ", which failed too: " : "",
                r < 0 ? strempty(rollback_error) : "");
        pthread_mutex_unlock(&d->lock);
        fprintf(summary,
                "%s: rolled back to %.12s: %s%s%s\n",
                name,
                s.old_id,
                strempty(error),
                r < 0 ? "; the rollback failed too: " : "",
                r < 0 ? strempty(rollback_error) : "");
        return -ECANCELED;
}

int update_run(Daemon *d, const UpdateRequest *req, char **ret_summary) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        _cleanup_argv_free_ char **order = NULL;
        size_t len = 0;
        FILE *summary;
        int r = 0;

        /* The services asked for (all by default), the orchestrator last. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; d->mf.services && d->mf.services[i]; i++) {
                        const char *name = d->mf.services[i];
                        bool wanted = !req->services;

                        for (size_t k = 0; req->services && req->services[k]; k++)
                                wanted = wanted || streq(req->services[k], name);
                        if (wanted && (pass == 1) == streq(name, "orchestrator") &&
                            argv_push(&order, name) < 0)
                                return -ENOMEM;
                }
        for (size_t k = 0; req->services && req->services[k]; k++)
                if (manifest_find_service(&d->mf, req->services[k]) < 0) {
                        if (asprintf(ret_summary, "%s: no such service\n", req->services[k]) < 0)
                                return -ENOMEM;
                        return -ENOENT;
                }
        r = unit_manager_open(&m, &error);
        if (r < 0)
                return r;
        summary = open_memstream(&text, &len);
        if (!summary)
                return -ENOMEM;
        for (size_t i = 0; order && order[i]; i++) {
                int k = manifest_find_service(&d->mf, order[i]);

                r = update_one(d, m, order[i], d->mf.units[k], req->all, summary);
                if (r < 0)
                        break;
        }
        if (fclose(summary) != 0)
                return -ENOMEM;
        *ret_summary = TAKE_PTR(text);
        return r;
}
