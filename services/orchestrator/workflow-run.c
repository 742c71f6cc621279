/* SPDX-License-Identifier: MIT */
/* workflow-run.c — running a workflow: a thread per workflow (never a worker, which it
 * would block while its children wait for workers) starts each step as a child job once
 * its dependencies completed, independent steps at once, and records every step's
 * progress as events of the workflow's own job; after a restart those events tell where
 * each step was, and the workflow goes on from there. */
#include <inttypes.h>
#include <time.h>

#include "job-runner.h"
#include "json-util.h"
#include "log.h"
#include "time-util.h"
#include "workflow-run.h"

typedef enum StepState {
        STEP_WAITING,
        STEP_RUNNING,
        STEP_COMPLETED,
        STEP_FAILED,
        STEP_SKIPPED,
} StepState;

static const char *const step_state_names[] = {
        [STEP_WAITING] = "waiting", [STEP_RUNNING] = "running", [STEP_COMPLETED] = "completed",
        [STEP_FAILED] = "failed",   [STEP_SKIPPED] = "skipped",
};

/* A step's progress: its job is known by id (a restarted run reads it from the store),
 * and by pointer too when this run started it. */
typedef struct StepRun {
        StepState st;
        char job_id[37]; /* "" = no job yet */
        Job *job;        /* NULL: not started by this process */
        json_object *output;
        char *error;
        bool holds_lock, lock_wait_told;
} StepRun;

struct WorkflowRun {
        int refs;
        WorkflowRuns *runs;
        Workflow *w;
        char id[37];
        char request_id[129];
        char submitter[129], submitter_role[16]; /* inherited by the step jobs */
        uint64_t deadline_ms;
        bool resumed; /* picked up again after a restart: already "running" in the store */
        StepRun steps[WORKFLOW_MAX_STEPS];

        pthread_mutex_t lock;
        pthread_cond_t cond;
        bool done;
        JobStatus final;
};

static WorkflowRun *run_ref(WorkflowRun *r) {
        __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
        return r;
}

void workflow_run_unref(WorkflowRun *r) {
        if (!r || __atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        for (size_t i = 0; r->w && i < r->w->n_steps; i++) {
                job_unref(r->steps[i].job);
                json_object_put(r->steps[i].output);
                free(r->steps[i].error);
        }
        workflow_free(r->w);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

const char *workflow_run_id(WorkflowRun *r) {
        return r->id;
}

static void step_event(WorkflowRun *r, unsigned i, StepState st, const char *job_id, const char *error) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return;
        json_object_object_add(o, "step", json_object_new_string(r->w->steps[i].id));
        json_object_object_add(o, "status", json_object_new_string(step_state_names[st]));
        if (job_id && *job_id)
                json_object_object_add(o, "job_id", json_object_new_string(job_id));
        if (error)
                json_object_object_add(o, "error", json_object_new_string(error));
        (void) job_store_add_event(r->runs->store, r->id, "progress", o);
}

/* Starts step i's job. Its "running" event (with the job's id) is recorded before the job
 * is queued: after a crash in between, a restarted run finds the id without a job and
 * starts the step again, but never finds a job it does not know of (which would run twice). */
static int start_step(WorkflowRun *r, unsigned i, char **ret_error) {
        const WorkflowStep *s = &r->w->steps[i];
        StepRun *sr = &r->steps[i];
        _cleanup_json_ json_object *body = NULL;
        json_object *outputs[WORKFLOW_MAX_STEPS];
        _cleanup_(job_unrefp) Job *j = NULL;
        const char *txt;
        char *payload;
        int k;

        for (size_t d = 0; d < r->w->n_steps; d++)
                outputs[d] = r->steps[d].output;
        k = workflow_resolve_input(r->w, i, outputs, &body, ret_error);
        if (k < 0)
                return k;
        if (!json_object_is_type(body, json_type_object))
                return asprintf(ret_error, "input is not an object") < 0 ? -ENOMEM : -EINVAL;
        if (s->task->task_field)
                json_object_object_add(body, s->task->task_field, json_object_new_string(s->task->name));
        txt = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        payload = txt ? strdup(txt) : NULL;
        if (!payload)
                return -ENOMEM;
        k =
                job_new(s->task,
                        JOB_PRIORITY_MEDIUM,
                        payload,
                        upstream_task_timeout(r->runs->upstream, s->task),
                        r->request_id,
                        &j);
        if (k < 0)
                return k;
        job_set_submitter(j, r->submitter, r->submitter_role);
        j->wait_ready = true;
        step_event(r, i, STEP_RUNNING, j->id, NULL);
        k = job_runner_submit(r->runs->runner, j, false, NULL, NULL);
        if (k < 0)
                return asprintf(ret_error, "could not queue the step: %s", strerror(-k)) < 0 ? -ENOMEM : k;
        snprintf(sr->job_id, sizeof(sr->job_id), "%s", j->id);
        sr->job = TAKE_PTR(j);
        return 0;
}

/* Whether step i's job has finished: then *ret_status, and its output or error on the step. */
static bool step_finished(WorkflowRun *r, unsigned i, JobStatus *ret_status) {
        StepRun *sr = &r->steps[i];
        _cleanup_json_ json_object *job = NULL;
        JobStatus st;
        json_object *v;

        if (sr->job) {
                Job *j = sr->job;

                if (!job_is_done(j))
                        return false;
                *ret_status = j->status;
                if (j->status == JOB_COMPLETED) {
                        if (!j->body || json_parse_strict(j->body, j->body_len, &sr->output, NULL) < 0)
                                sr->output = json_object_new_string_len(
                                        j->body ? j->body : "", (int) j->body_len);
                } else
                        sr->error = strdup(j->error[0] ? j->error : job_status_to_string(j->status));
                return true;
        }
        /* Started before a restart: its job was recovered like any other; the store says. */
        if (job_store_get_status(r->runs->store, sr->job_id, &st) < 0 ||
            job_store_get_json(r->runs->store, sr->job_id, NULL, &job) < 0) {
                *ret_status = JOB_FAILED;
                sr->error = strdup("its job is gone from the store");
                return true;
        }
        if (!job_status_is_terminal(st))
                return false;
        *ret_status = st;
        if (st == JOB_COMPLETED)
                sr->output = json_object_object_get_ex(job, "result", &v) && v ? json_object_get(v)
                                                                               : json_object_new_null();
        else
                sr->error =
                        strdup(json_object_object_get_ex(job, "error", &v) && v ? json_object_get_string(v)
                                                                                : job_status_to_string(st));
        return true;
}

/* The owner of a step's lock: the workflow's job id and the step. */
static void lock_owner(WorkflowRun *r, unsigned i, char buf[static 128]) {
        snprintf(buf, 128, "%s/%.64s", r->id, r->w->steps[i].id);
}

/* Takes (or renews: the owner is the same after a restart) step i's lock. */
static int acquire_lock(WorkflowRun *r, unsigned i) {
        const WorkflowStep *s = &r->w->steps[i];
        char owner[128];

        lock_owner(r, i, owner);
        /* The lease outlives the step's longest run; released as soon as it finishes. */
        return job_store_lock_acquire(
                r->runs->store,
                s->lock,
                owner,
                upstream_task_timeout(r->runs->upstream, s->task) + 60000,
                NULL);
}

/* Releases step i's lock if it holds it. */
static void release_lock(WorkflowRun *r, unsigned i) {
        char owner[128];

        if (!r->steps[i].holds_lock)
                return;
        lock_owner(r, i, owner);
        (void) job_store_lock_release(r->runs->store, r->w->steps[i].lock, owner);
        r->steps[i].holds_lock = false;
}

/* Step i failed: the end of the run (the first failure is its reason) unless the step may fail. */
static void step_abort(WorkflowRun *r, unsigned i, bool *abort_run, char **failure) {
        if (r->w->steps[i].continue_on_error)
                return;
        *abort_run = true;
        if (!*failure &&
            asprintf(failure, "step %s failed: %s", r->w->steps[i].id, strempty(r->steps[i].error)) < 0)
                *failure = NULL;
}

/* Step i failed with its error: the event, and step_abort(). */
static void step_failed(WorkflowRun *r, unsigned i, bool *abort_run, char **failure) {
        step_event(r, i, STEP_FAILED, r->steps[i].job_id, r->steps[i].error);
        step_abort(r, i, abort_run, failure);
}

/* Cancels a running step's job and waits (5 s at most) until it is terminal. */
static void cancel_step(WorkflowRun *r, unsigned i) {
        StepRun *sr = &r->steps[i];
        JobStatus st;

        (void) job_runner_cancel(r->runs->runner, sr->job_id);
        if (sr->job) {
                (void) job_runner_wait(sr->job, 5000);
                return;
        }
        for (int n = 0; n < 50; n++) {
                uint64_t gen = job_store_generation(r->runs->store);

                if (job_store_get_status(r->runs->store, sr->job_id, &st) < 0 || job_status_is_terminal(st))
                        return;
                job_store_wait_change(r->runs->store, gen, 100, NULL);
        }
}

static void finish(WorkflowRun *r, JobStatus final) {
        pthread_mutex_lock(&r->lock);
        r->final = final;
        r->done = true;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
}

static void *run_thread(void *userdata) {
        WorkflowRun *r = userdata;
        WorkflowRuns *runs = r->runs;
        const Workflow *w = r->w;
        StepRun *steps = r->steps;
        _cleanup_free_ char *failure = NULL;
        bool abort_run = false, interrupted = false;
        JobStatus final = JOB_COMPLETED, wf_status;
        int k;

        log_set_request_id(r->request_id[0] ? r->request_id : NULL);
        if (!r->resumed) {
                k = job_store_transition(runs->store, r->id, JOB_RUNNING, NULL, NULL, 0);
                if (k < 0)
                        log_warning_errno(k, "Failed to record workflow %s as running: %m", r->id);
        }
        /* A step that failed before a restart ends the run as it would have then. */
        for (unsigned i = 0; i < w->n_steps; i++)
                if (steps[i].st == STEP_FAILED)
                        step_abort(r, i, &abort_run, &failure);

        for (;;) {
                uint64_t gen = job_store_generation(runs->store);
                bool any_running = false, any_waiting = false;

                if (__atomic_load_n(&runs->stopping, __ATOMIC_RELAXED)) {
                        interrupted = true;
                        break;
                }
                if (job_store_get_status(runs->store, r->id, &wf_status) >= 0 &&
                    wf_status == JOB_CANCELLED) {
                        abort_run = true;
                        final = JOB_CANCELLED;
                }
                if (!abort_run && time_now_ms(CLOCK_MONOTONIC) >= r->deadline_ms) {
                        abort_run = true;
                        if (!failure)
                                failure = strdup("the workflow timed out");
                }

                /* Collect finished steps. */
                for (unsigned i = 0; i < w->n_steps; i++) {
                        JobStatus st;

                        if (steps[i].st != STEP_RUNNING || !step_finished(r, i, &st))
                                continue;
                        release_lock(r, i);
                        if (st == JOB_COMPLETED) {
                                steps[i].st = STEP_COMPLETED;
                                step_event(r, i, STEP_COMPLETED, steps[i].job_id, NULL);
                        } else {
                                steps[i].st = STEP_FAILED;
                                step_failed(r, i, &abort_run, &failure);
                        }
                }

                if (abort_run) {
                        for (unsigned i = 0; i < w->n_steps; i++)
                                if (steps[i].st == STEP_RUNNING) {
                                        cancel_step(r, i);
                                        release_lock(r, i);
                                        steps[i].st = STEP_SKIPPED;
                                        step_event(r, i, STEP_SKIPPED, steps[i].job_id, "cancelled");
                                } else if (steps[i].st == STEP_WAITING) {
                                        steps[i].st = STEP_SKIPPED;
                                        step_event(r, i, STEP_SKIPPED, NULL, NULL);
                                }
                        if (final != JOB_CANCELLED)
                                final = JOB_FAILED;
                        break;
                }

                /* Start what became ready; skip what can no longer run. */
                for (unsigned i = 0; i < w->n_steps; i++) {
                        bool ready = true, blocked = false;

                        if (steps[i].st != STEP_WAITING)
                                continue;
                        for (size_t d = 0; d < w->steps[i].n_deps; d++) {
                                StepState ds = steps[w->steps[i].deps[d]].st;

                                if (ds == STEP_FAILED || ds == STEP_SKIPPED)
                                        blocked = true;
                                else if (ds != STEP_COMPLETED)
                                        ready = false;
                        }
                        if (blocked) {
                                steps[i].st = STEP_SKIPPED;
                                step_event(r, i, STEP_SKIPPED, NULL, "a dependency failed");
                                continue;
                        }
                        if (!ready)
                                continue;
                        if (w->steps[i].lock) {
                                k = acquire_lock(r, i);
                                if (k == -EBUSY) {
                                        if (!steps[i].lock_wait_told)
                                                step_event(r, i, STEP_WAITING, NULL, "waiting for its lock");
                                        steps[i].lock_wait_told = true;
                                        continue;
                                }
                                steps[i].holds_lock = k >= 0;
                        }
                        k = start_step(r, i, &steps[i].error);
                        if (k < 0) {
                                release_lock(r, i);
                                steps[i].st = STEP_FAILED;
                                if (!steps[i].error)
                                        steps[i].error = strdup(strerror(-k));
                                step_failed(r, i, &abort_run, &failure);
                                continue;
                        }
                        steps[i].st = STEP_RUNNING;
                }

                for (unsigned i = 0; i < w->n_steps; i++) {
                        any_running = any_running || steps[i].st == STEP_RUNNING;
                        any_waiting = any_waiting || steps[i].st == STEP_WAITING;
                }
                if (abort_run)
                        continue; /* cancels what runs on the next pass */
                if (!any_running && !any_waiting)
                        break;
                /* Children's transitions change the store: wake on them (a lock held
                 * elsewhere is polled at the same pace). */
                job_store_wait_change(runs->store, gen, 100, NULL);
        }

        if (!interrupted) {
                _cleanup_json_ json_object *result = json_object_new_object(),
                                           *steps_json = json_object_new_object();

                if (result && steps_json) {
                        for (unsigned i = 0; i < w->n_steps; i++) {
                                json_object *o = json_object_new_object();

                                if (!o)
                                        continue;
                                json_object_object_add(
                                        o, "status", json_object_new_string(step_state_names[steps[i].st]));
                                json_object_object_add(
                                        o,
                                        "job_id",
                                        steps[i].job_id[0] ? json_object_new_string(steps[i].job_id) : NULL);
                                if (steps[i].output)
                                        json_object_object_add(
                                                o, "output", json_object_get(steps[i].output));
                                if (steps[i].error)
                                        json_object_object_add(
                                                o, "error", json_object_new_string(steps[i].error));
                                json_object_object_add(steps_json, w->steps[i].id, o);
                        }
                        json_object_object_add(result, "steps", TAKE_PTR(steps_json));
                }
                k = job_store_transition(
                        runs->store,
                        r->id,
                        final,
                        result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : NULL,
                        final == JOB_COMPLETED           ? NULL
                                : final == JOB_CANCELLED ? "cancelled"
                                                         : (failure ? failure : "a step failed"),
                        0);
                if (k == -ESTALE)
                        final = JOB_CANCELLED;
                for (unsigned i = 0; i < w->n_steps; i++)
                        release_lock(r, i);
        }
        finish(r, interrupted ? JOB_RUNNING : final);

        pthread_mutex_lock(&runs->lock);
        runs->running--;
        pthread_cond_broadcast(&runs->cond);
        pthread_mutex_unlock(&runs->lock);
        workflow_run_unref(r);
        log_set_request_id(NULL);
        return NULL;
}

static int
run_new(WorkflowRuns *runs,
        Workflow *w,
        const char *request_id,
        const char *submitter,
        const char *submitter_role,
        WorkflowRun **ret) {
        WorkflowRun *r = calloc(1, sizeof(WorkflowRun));

        if (!r) {
                workflow_free(w);
                return -ENOMEM;
        }
        r->refs = 1;
        r->runs = runs;
        r->w = w; /* taken over from here on */
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);
        snprintf(r->request_id, sizeof(r->request_id), "%s", strempty(request_id));
        snprintf(r->submitter, sizeof(r->submitter), "%s", strempty(submitter));
        snprintf(r->submitter_role, sizeof(r->submitter_role), "%s", strempty(submitter_role));
        r->deadline_ms = time_now_ms(CLOCK_MONOTONIC) + runs->max_timeout_ms;
        *ret = r;
        return 0;
}

/* Runs r on a thread of its own (it holds a reference). */
static int run_thread_start(WorkflowRun *r) {
        WorkflowRuns *runs = r->runs;
        pthread_attr_t attr;
        pthread_t t;
        int k;

        pthread_mutex_lock(&runs->lock);
        runs->running++;
        pthread_mutex_unlock(&runs->lock);
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        k = -pthread_create(&t, &attr, run_thread, run_ref(r));
        pthread_attr_destroy(&attr);
        if (k < 0) {
                workflow_run_unref(r); /* the thread's reference */
                pthread_mutex_lock(&runs->lock);
                runs->running--;
                pthread_mutex_unlock(&runs->lock);
                (void) job_store_transition(
                        runs->store, r->id, JOB_FAILED, NULL, "could not start the workflow", 500);
        }
        return k;
}

int workflow_run_start(
        WorkflowRuns *runs,
        Workflow *w,
        const char *request_id,
        const char *submitter,
        const char *submitter_role,
        WorkflowRun **ret) {
        _cleanup_(workflow_run_unrefp) WorkflowRun *r = NULL;
        const char *txt;
        int k;

        k = run_new(runs, w, request_id, submitter, submitter_role, &r);
        if (k < 0)
                return k;
        k = job_generate_id(r->id);
        if (k < 0)
                return k;
        txt = json_object_to_json_string_ext(
                r->w->def, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        k = job_store_insert(
                runs->store,
                &(JobNew){
                        .id = r->id,
                        .kind = "workflow",
                        .service = "workflow",
                        .task = "workflow",
                        .priority = "medium",
                        .payload = txt,
                        .timeout_ms = runs->max_timeout_ms,
                        .submitter = r->submitter,
                        .submitter_role = r->submitter_role,
                });
        if (k < 0)
                return k;
        k = run_thread_start(r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int workflow_run_wait(WorkflowRun *r, uint64_t timeout_ms) {
        struct timespec ts;
        int k = 0;

        ts = timespec_deadline_ms(timeout_ms);
        pthread_mutex_lock(&r->lock);
        while (!r->done)
                if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0) {
                        k = r->done ? 0 : -ETIMEDOUT;
                        break;
                }
        pthread_mutex_unlock(&r->lock);
        return k;
}

void workflow_runs_init(WorkflowRuns *runs, const UpstreamConfig *upstream, uint64_t max_timeout_ms) {
        *runs = (WorkflowRuns){ .upstream = upstream, .max_timeout_ms = max_timeout_ms };
        pthread_mutex_init(&runs->lock, NULL);
        pthread_cond_init(&runs->cond, NULL);
}

void workflow_runs_done(WorkflowRuns *runs) {
        pthread_cond_destroy(&runs->cond);
        pthread_mutex_destroy(&runs->lock);
}

void workflow_runs_stop(WorkflowRuns *runs) {
        __atomic_store_n(&runs->stopping, true, __ATOMIC_RELAXED);
        pthread_mutex_lock(&runs->lock);
        while (runs->running > 0)
                pthread_cond_wait(&runs->cond, &runs->lock);
        pthread_mutex_unlock(&runs->lock);
}

/* The steps of a workflow picked up after a restart, from its progress events: the last
 * event of each step says where it was (a step "running" whose job never made it into
 * the store starts again). */
static int resume_steps(WorkflowRun *r) {
        _cleanup_json_ json_object *events = NULL;
        int k;

        k = job_store_events_json(r->runs->store, r->id, NULL, 0, &events, NULL);
        if (k < 0)
                return k;
        for (size_t e = 0; e < json_object_array_length(events); e++) {
                json_object *ev = json_object_array_get_idx(events, e), *data, *v;
                const char *step = NULL, *status = NULL, *job_id = NULL, *error = NULL;
                StepRun *sr;
                int i;

                if (!json_object_object_get_ex(ev, "event", &v) ||
                    !streq(json_object_get_string(v), "progress") ||
                    !json_object_object_get_ex(ev, "data", &data))
                        continue;
                if (json_object_object_get_ex(data, "step", &v))
                        step = json_object_get_string(v);
                if (json_object_object_get_ex(data, "status", &v))
                        status = json_object_get_string(v);
                if (json_object_object_get_ex(data, "job_id", &v))
                        job_id = json_object_get_string(v);
                if (json_object_object_get_ex(data, "error", &v))
                        error = json_object_get_string(v);
                i = step ? workflow_step_index(r->w, step) : -1;
                if (i < 0 || !status)
                        continue;
                sr = &r->steps[i];
                sr->st = STEP_WAITING;
                snprintf(sr->job_id, sizeof(sr->job_id), "%s", strempty(job_id));
                free(sr->error);
                sr->error = error ? strdup(error) : NULL;
                for (int st = 0; st < (int) ELEMENTSOF(step_state_names); st++)
                        if (streq(status, step_state_names[st]))
                                sr->st = (StepState) st;
        }
        for (size_t i = 0; i < r->w->n_steps; i++) {
                StepRun *sr = &r->steps[i];
                _cleanup_json_ json_object *job = NULL;
                json_object *v;

                if (sr->st == STEP_RUNNING && job_store_get_json(r->runs->store, sr->job_id, NULL, &job) < 0)
                        sr->st = STEP_WAITING; /* queued at the crash, not stored: start again */
                else if (sr->st == STEP_RUNNING && r->w->steps[i].lock)
                        sr->holds_lock = acquire_lock(r, (unsigned) i) >= 0;
                else if (sr->st == STEP_COMPLETED) {
                        if (job_store_get_json(r->runs->store, sr->job_id, NULL, &job) < 0)
                                return -ENOENT; /* its output is gone (deleted by retention) */
                        sr->output = json_object_object_get_ex(job, "result", &v) && v
                                ? json_object_get(v)
                                : json_object_new_null();
                }
                if (sr->st == STEP_WAITING)
                        sr->job_id[0] = '\0';
        }
        return 0;
}

static int resume_one(const JobRow *row, void *userdata) {
        WorkflowRuns *runs = userdata;
        _cleanup_(workflow_run_unrefp) WorkflowRun *r = NULL;
        _cleanup_json_ json_object *def = NULL, *errs = NULL, *note = NULL;
        Workflow *w = NULL;
        double left_ms;
        int k;

        k = json_parse_strict(row->payload, strlen(row->payload), &def, NULL);
        if (k >= 0)
                k = workflow_parse(def, &w, &errs);
        if (k >= 0 && errs)
                k = -EINVAL;
        if (k >= 0)
                k = run_new(runs, TAKE_PTR(w), NULL, row->submitter, row->submitter_role, &r);
        else
                workflow_free(w);
        if (k >= 0) {
                snprintf(r->id, sizeof(r->id), "%s", row->id);
                r->resumed = row->status == JOB_RUNNING;
                /* Its own time limit still counts from its creation. */
                left_ms = (row->created_at + (double) runs->max_timeout_ms / 1000.0 -
                           time_now_s(CLOCK_REALTIME)) *
                        1000.0;
                r->deadline_ms = time_now_ms(CLOCK_MONOTONIC) + (uint64_t) MAX(left_ms, 0.0);
                k = resume_steps(r);
        }
        if (k < 0) {
                (void) job_store_transition(
                        runs->store,
                        row->id,
                        JOB_FAILED,
                        NULL,
                        k == -ENOENT
                                ? "could not be resumed after an orchestrator restart: a finished step's job is gone"
                                : "could not be resumed after an orchestrator restart: its definition no longer validates",
                        500);
                return 0;
        }
        note = json_object_new_object();
        if (note) {
                json_object_object_add(
                        note, "message", json_object_new_string("resumed after an orchestrator restart"));
                (void) job_store_add_event(runs->store, row->id, "progress", note);
        }
        runs->resumed++;
        (void) run_thread_start(r); /* a failure is recorded on the workflow */
        return 0;
}

int workflow_runs_start(WorkflowRuns *runs, JobStore *store, JobRunner *runner) {
        unsigned taken;
        int k;

        runs->store = store;
        runs->runner = runner;
        if (!job_store_leasing(store))
                return job_store_for_each_unfinished(store, "workflow", resume_one, runs);
        do
                k = job_store_lease_take(store, "workflow", true, 64, resume_one, runs, &taken);
        while (k >= 0 && taken == 64);
        return k;
}

int workflow_runs_take_over(WorkflowRuns *runs, unsigned max, unsigned *ret_taken) {
        return job_store_lease_take(runs->store, "workflow", false, max, resume_one, runs, ret_taken);
}
