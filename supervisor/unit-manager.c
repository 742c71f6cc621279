/* SPDX-License-Identifier: MIT */
/* unit-manager.c — sd-bus client of the user manager. Jobs are matched to their
 * JobRemoved signals by object path; the match is installed before any job is queued,
 * so a job that finishes at once is not missed. */
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "argv-util.h"
#include "time-util.h"
#include "unit-manager.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"

typedef struct Job {
        char *path;
        char *unit;
        char *result; /* NULL while pending */
} Job;

struct UnitManager {
        sd_bus *bus;
        sd_bus_slot *job_removed;
        Job *jobs;
        size_t n_jobs;
};

static void bus_error_copy(const sd_bus_error *e, int r, char **ret_error) {
        if (!ret_error)
                return;
        *ret_error = strdup(sd_bus_error_is_set(e) ? e->message : strerror(r < 0 ? -r : r));
}

static void jobs_clear(UnitManager *m) {
        for (size_t i = 0; i < m->n_jobs; i++) {
                free(m->jobs[i].path);
                free(m->jobs[i].unit);
                free(m->jobs[i].result);
        }
        free(m->jobs);
        m->jobs = NULL;
        m->n_jobs = 0;
}

UnitManager *unit_manager_free(UnitManager *m) {
        if (!m)
                return NULL;
        jobs_clear(m);
        sd_bus_slot_unref(m->job_removed);
        sd_bus_flush_close_unref(m->bus);
        free(m);
        return NULL;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        UnitManager *m = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(msg, "uoss", &id, &path, &unit, &result) < 0)
                return 0; /* a malformed signal is not ours to fail on */
        for (size_t i = 0; i < m->n_jobs; i++)
                if (!m->jobs[i].result && streq(m->jobs[i].path, path)) {
                        m->jobs[i].result = strdup(result);
                        if (!m->jobs[i].result)
                                return -ENOMEM;
                }
        return 0;
}

/* A Manager method without arguments or answer (Subscribe, Reload). */
static int call_manager(UnitManager *m, const char *method, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &error, NULL, NULL);
        if (r < 0) {
                bus_error_copy(&error, r, ret_error);
                return r;
        }
        return 0;
}

int unit_manager_open(UnitManager **ret, char **ret_error) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *rt = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        int r;

        if (isempty(rt) || stat(rt, &st) < 0 || !S_ISDIR(st.st_mode))
                return -ENOMEDIUM;

        m = calloc(1, sizeof(UnitManager));
        if (!m)
                return -ENOMEM;
        r = sd_bus_open_user(&m->bus);
        if (r < 0) {
                bus_error_copy(&error, r, ret_error);
                return r;
        }
        r = sd_bus_match_signal(
                m->bus, &m->job_removed, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved", on_job_removed, m);
        if (r < 0)
                return r;
        /* Subscribe so that JobRemoved also arrives for jobs merged into someone else's */
        r = call_manager(m, "Subscribe", ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int unit_manager_reload(UnitManager *m, char **ret_error) {
        return call_manager(m, "Reload", ret_error);
}

/* A Manager method on unit that answers an object path: LoadUnit (mode NULL), or StartUnit
 * and its kin with a job mode. *ret_path points into *ret_reply. */
static int call_unit(
        UnitManager *m,
        const char *method,
        const char *unit,
        const char *mode,
        sd_bus_message **ret_reply,
        const char **ret_path,
        char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (mode)
                r = sd_bus_call_method(
                        m->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &error, &reply, "ss", unit, mode);
        else
                r = sd_bus_call_method(
                        m->bus, SD_DEST, SD_PATH, SD_MANAGER, method, &error, &reply, "s", unit);
        if (r < 0) {
                bus_error_copy(&error, r, ret_error);
                return r;
        }
        r = sd_bus_message_read(reply, "o", ret_path);
        if (r < 0)
                return r;
        *ret_reply = TAKE_PTR(reply);
        return 0;
}

static int enqueue(UnitManager *m, const char *method, const char *unit, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        Job *n;
        int r;

        r = call_unit(m, method, unit, "replace", &reply, &path, ret_error);
        if (r < 0)
                return r;
        /* systemd hands out the same job when a request merges into one already queued */
        for (size_t i = 0; i < m->n_jobs; i++)
                if (streq(m->jobs[i].path, path) && !m->jobs[i].result)
                        return 0;
        n = realloc(m->jobs, sizeof(Job) * (m->n_jobs + 1));
        if (!n)
                return -ENOMEM;
        m->jobs = n;
        m->jobs[m->n_jobs] = (Job){ .path = strdup(path), .unit = strdup(unit) };
        if (!m->jobs[m->n_jobs].path || !m->jobs[m->n_jobs].unit) {
                free(m->jobs[m->n_jobs].path);
                free(m->jobs[m->n_jobs].unit);
                return -ENOMEM;
        }
        m->n_jobs++;
        return 0;
}

int unit_manager_start(UnitManager *m, const char *unit, char **ret_error) {
        return enqueue(m, "StartUnit", unit, ret_error);
}

int unit_manager_stop(UnitManager *m, const char *unit, char **ret_error) {
        return enqueue(m, "StopUnit", unit, ret_error);
}

int unit_manager_restart(UnitManager *m, const char *unit, char **ret_error) {
        return enqueue(m, "RestartUnit", unit, ret_error);
}

static bool jobs_pending(const UnitManager *m) {
        for (size_t i = 0; i < m->n_jobs; i++)
                if (!m->jobs[i].result)
                        return true;
        return false;
}

int unit_manager_wait(UnitManager *m, uint64_t timeout_usec, char ***ret_failures) {
        _cleanup_argv_free_ char **failures = NULL;
        uint64_t deadline = time_now_usec(CLOCK_MONOTONIC) + timeout_usec;
        int r = 0;

        while (jobs_pending(m)) {
                uint64_t now;

                r = sd_bus_process(m->bus, NULL);
                if (r < 0)
                        goto finish;
                if (r > 0)
                        continue;
                now = time_now_usec(CLOCK_MONOTONIC);
                if (now >= deadline) {
                        r = -ETIMEDOUT;
                        break;
                }
                r = sd_bus_wait(m->bus, deadline - now);
                if (r < 0 && r != -EINTR)
                        goto finish;
        }
        if (r != -ETIMEDOUT)
                r = 0;

        for (size_t i = 0; i < m->n_jobs; i++) {
                const Job *j = &m->jobs[i];
                int k;

                if (j->result && streq(j->result, "done"))
                        continue;
                k = argv_pushf(&failures, "%s: %s", j->unit, j->result ?: "still running (timeout)");
                if (k < 0) {
                        r = k;
                        goto finish;
                }
                if (r == 0)
                        r = -EIO;
        }
finish:
        jobs_clear(m);
        if (ret_failures)
                *ret_failures = TAKE_PTR(failures);
        return r < 0 ? r : 0;
}

void unit_state_done(UnitState *s) {
        free(s->load_state);
        free(s->active_state);
        free(s->sub_state);
        *s = (UnitState){};
}

int unit_manager_get_state(UnitManager *m, const char *unit, UnitState *ret, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(unit_state_done) UnitState s = {};
        const char *path;
        int r;

        /* LoadUnit, unlike GetUnit, also answers for installed units nobody started yet */
        r = call_unit(m, "LoadUnit", unit, NULL, &reply, &path, ret_error);
        if (r < 0)
                return r;

        r = sd_bus_get_property_string(m->bus, SD_DEST, path, SD_UNIT, "LoadState", &error, &s.load_state);
        if (r >= 0)
                r = sd_bus_get_property_string(
                        m->bus, SD_DEST, path, SD_UNIT, "ActiveState", &error, &s.active_state);
        if (r >= 0)
                r = sd_bus_get_property_string(
                        m->bus, SD_DEST, path, SD_UNIT, "SubState", &error, &s.sub_state);
        if (r >= 0)
                r = sd_bus_get_property_trivial(
                        m->bus,
                        SD_DEST,
                        path,
                        SD_UNIT,
                        "StateChangeTimestamp",
                        &error,
                        't',
                        &s.state_change_usec);
        if (r < 0) {
                bus_error_copy(&error, r, ret_error);
                return r;
        }
        *ret = s;
        s = (UnitState){};
        return 0;
}
