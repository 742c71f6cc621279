/* SPDX-License-Identifier: MIT */
/* workflow-run.c — running a workflow: a thread per workflow (never a worker, which it
 * would block while its children wait for workers) starts each step as a child job once
 * its dependencies completed, independent steps at once, and records every step's
 * progress as events of the workflow's own job. */
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

struct WorkflowRun {
        int refs;
        WorkflowRuns *runs;
        Workflow *w;
        char id[37];
        char request_id[129];
        char submitter[129], submitter_role[16]; /* inherited by the step jobs */
        uint64_t deadline_ms;

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
        if (job_id)
                json_object_object_add(o, "job_id", json_object_new_string(job_id));
        if (error)
                json_object_object_add(o, "error", json_object_new_string(error));
        (void) job_store_add_event(r->runs->store, r->id, "progress", o);
}

static int start_step(WorkflowRun *r, unsigned i, json_object *const *outputs, Job **ret, char **ret_error) {
        const WorkflowStep *s = &r->w->steps[i];
        _cleanup_json_ json_object *body = NULL;
        _cleanup_(job_unrefp) Job *j = NULL;
        const char *txt;
        char *payload;
        int k;

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
        k = job_runner_submit(r->runs->runner, j, false, NULL, NULL);
        if (k < 0)
                return asprintf(ret_error, "could not queue the step: %s", strerror(-k)) < 0 ? -ENOMEM : k;
        *ret = TAKE_PTR(j);
        return 0;
}

/* The owner of a step's lock: the workflow's job id and the step. */
static void lock_owner(WorkflowRun *r, unsigned i, char buf[static 128]) {
        snprintf(buf, 128, "%s/%.64s", r->id, r->w->steps[i].id);
}

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
static void release_lock(WorkflowRun *r, unsigned i, bool *held) {
        char owner[128];

        if (!*held)
                return;
        lock_owner(r, i, owner);
        (void) job_store_lock_release(r->runs->store, r->w->steps[i].lock, owner);
        *held = false;
}

/* Step i failed with error: its event, and the end of the run (the first failure is its
 * reason) unless the step may fail. */
static void step_failed(
        WorkflowRun *r, unsigned i, const char *job_id, const char *error, bool *abort_run, char **failure) {
        step_event(r, i, STEP_FAILED, job_id, error);
        if (r->w->steps[i].continue_on_error)
                return;
        *abort_run = true;
        if (!*failure && asprintf(failure, "step %s failed: %s", r->w->steps[i].id, strempty(error)) < 0)
                *failure = NULL;
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
        StepState st[WORKFLOW_MAX_STEPS] = {};
        Job *jobs[WORKFLOW_MAX_STEPS] = {};
        json_object *outputs[WORKFLOW_MAX_STEPS] = {};
        char *errors[WORKFLOW_MAX_STEPS] = {};
        bool holds_lock[WORKFLOW_MAX_STEPS] = {}, lock_wait_told[WORKFLOW_MAX_STEPS] = {};
        _cleanup_free_ char *failure = NULL;
        bool abort_run = false, interrupted = false;
        JobStatus final = JOB_COMPLETED, wf_status;
        int k;

        log_set_request_id(r->request_id[0] ? r->request_id : NULL);
        k = job_store_transition(runs->store, r->id, JOB_RUNNING, NULL, NULL, 0);
        if (k < 0)
                log_warning_errno(k, "Failed to record workflow %s as running: %m", r->id);

        for (;;) {
                uint64_t gen = job_store_generation(runs->store);
                bool any_running = false, any_waiting = false, any_waiting_for_lock = false;

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
                        Job *j = jobs[i];

                        if (st[i] != STEP_RUNNING || !job_is_done(j))
                                continue;
                        release_lock(r, i, &holds_lock[i]);
                        if (j->status == JOB_COMPLETED) {
                                st[i] = STEP_COMPLETED;
                                if (!j->body ||
                                    json_parse_strict(j->body, j->body_len, &outputs[i], NULL) < 0)
                                        outputs[i] = json_object_new_string_len(
                                                j->body ? j->body : "", (int) j->body_len);
                                step_event(r, i, st[i], j->id, NULL);
                        } else {
                                st[i] = STEP_FAILED;
                                errors[i] = strdup(j->error[0] ? j->error : job_status_to_string(j->status));
                                step_failed(r, i, j->id, errors[i], &abort_run, &failure);
                        }
                }

                if (abort_run) {
                        for (unsigned i = 0; i < w->n_steps; i++)
                                if (st[i] == STEP_RUNNING) {
                                        (void) job_runner_cancel(runs->runner, jobs[i]->id);
                                        (void) job_runner_wait(jobs[i], 5000);
                                        release_lock(r, i, &holds_lock[i]);
                                        st[i] = STEP_SKIPPED;
                                        step_event(r, i, st[i], jobs[i]->id, "cancelled");
                                } else if (st[i] == STEP_WAITING) {
                                        st[i] = STEP_SKIPPED;
                                        step_event(r, i, st[i], NULL, NULL);
                                }
                        if (final != JOB_CANCELLED)
                                final = JOB_FAILED;
                        break;
                }

                /* Start what became ready; skip what can no longer run. */
                for (unsigned i = 0; i < w->n_steps; i++) {
                        bool ready = true, blocked = false;

                        if (st[i] != STEP_WAITING)
                                continue;
                        for (size_t d = 0; d < w->steps[i].n_deps; d++) {
                                StepState ds = st[w->steps[i].deps[d]];

                                if (ds == STEP_FAILED || ds == STEP_SKIPPED)
                                        blocked = true;
                                else if (ds != STEP_COMPLETED)
                                        ready = false;
                        }
                        if (blocked) {
                                st[i] = STEP_SKIPPED;
                                step_event(r, i, st[i], NULL, "a dependency failed");
                                continue;
                        }
                        if (!ready)
                                continue;
                        if (w->steps[i].lock) {
                                k = acquire_lock(r, i);
                                if (k == -EBUSY) {
                                        if (!lock_wait_told[i])
                                                step_event(r, i, STEP_WAITING, NULL, "waiting for its lock");
                                        lock_wait_told[i] = true;
                                        any_waiting_for_lock = true;
                                        continue;
                                }
                                holds_lock[i] = k >= 0;
                        }
                        k = start_step(r, i, outputs, &jobs[i], &errors[i]);
                        if (k < 0) {
                                release_lock(r, i, &holds_lock[i]);
                                st[i] = STEP_FAILED;
                                if (!errors[i])
                                        errors[i] = strdup(strerror(-k));
                                step_failed(r, i, NULL, errors[i], &abort_run, &failure);
                                continue;
                        }
                        st[i] = STEP_RUNNING;
                        step_event(r, i, st[i], jobs[i]->id, NULL);
                        continue;
                }

                for (unsigned i = 0; i < w->n_steps; i++) {
                        any_running = any_running || st[i] == STEP_RUNNING;
                        any_waiting = any_waiting || st[i] == STEP_WAITING;
                }
                if (abort_run)
                        continue; /* cancels what runs on the next pass */
                if (!any_running && !any_waiting)
                        break;
                /* Children's transitions change the store: wake on them (a lock held
                 * elsewhere is polled at the same pace). */
                (void) any_waiting_for_lock;
                job_store_wait_change(runs->store, gen, 100, NULL);
        }

        if (!interrupted) {
                _cleanup_json_ json_object *result = json_object_new_object(),
                                           *steps = json_object_new_object();

                if (result && steps) {
                        for (unsigned i = 0; i < w->n_steps; i++) {
                                json_object *s = json_object_new_object();

                                if (!s)
                                        continue;
                                json_object_object_add(
                                        s, "status", json_object_new_string(step_state_names[st[i]]));
                                json_object_object_add(
                                        s, "job_id", jobs[i] ? json_object_new_string(jobs[i]->id) : NULL);
                                if (outputs[i])
                                        json_object_object_add(s, "output", json_object_get(outputs[i]));
                                if (errors[i])
                                        json_object_object_add(
                                                s, "error", json_object_new_string(errors[i]));
                                json_object_object_add(steps, w->steps[i].id, s);
                        }
                        json_object_object_add(result, "steps", TAKE_PTR(steps));
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
        }
        for (unsigned i = 0; i < w->n_steps; i++) {
                if (!interrupted)
                        release_lock(r, i, &holds_lock[i]);
                job_unref(jobs[i]);
                json_object_put(outputs[i]);
                free(errors[i]);
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

int workflow_run_start(
        WorkflowRuns *runs,
        Workflow *w,
        const char *request_id,
        const char *submitter,
        const char *submitter_role,
        WorkflowRun **ret) {
        _cleanup_(workflow_run_unrefp) WorkflowRun *r = NULL;
        const char *txt;
        pthread_attr_t attr;
        pthread_t t;
        int k;

        r = calloc(1, sizeof(WorkflowRun));
        if (!r)
                return -ENOMEM;
        r->refs = 1;
        r->runs = runs;
        r->w = w; /* taken over from here on */
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);
        snprintf(r->request_id, sizeof(r->request_id), "%s", strempty(request_id));
        snprintf(r->submitter, sizeof(r->submitter), "%s", strempty(submitter));
        snprintf(r->submitter_role, sizeof(r->submitter_role), "%s", strempty(submitter_role));
        r->deadline_ms = time_now_ms(CLOCK_MONOTONIC) + runs->max_timeout_ms;
        k = job_generate_id(r->id);
        if (k < 0)
                return k;
        txt = json_object_to_json_string_ext(
                w->def, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
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
                return k;
        }
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

static int fail_interrupted(const JobRow *row, void *userdata) {
        WorkflowRuns *runs = userdata;

        (void) job_store_transition(
                runs->store,
                row->id,
                JOB_FAILED,
                NULL,
                "interrupted by an orchestrator restart; its steps' jobs were recovered on their own — resubmit the "
                "workflow",
                500);
        return 0;
}

int workflow_runs_start(WorkflowRuns *runs, JobStore *store, JobRunner *runner) {
        runs->store = store;
        runs->runner = runner;
        return job_store_for_each_unfinished(store, "workflow", fail_interrupted, runs);
}
