/* SPDX-License-Identifier: MIT */
/* job-runner.c — the life of a job between the HTTP handlers, the store and the workers
 * (the job itself: job.c; deferred synchronous jobs: job-runner-grace.c). */
#include <inttypes.h>
#include <time.h>

#include "http-server.h"
#include "job-runner-internal.h"
#include "json-util.h"
#include "log.h"
#include "redact.h"
#include "time-util.h"

static void active_add(JobRunner *r, Job *j) {
        pthread_mutex_lock(&r->lock);
        j->next = r->active;
        j->prev = NULL;
        if (r->active)
                r->active->prev = j;
        r->active = job_ref(j);
        pthread_mutex_unlock(&r->lock);
}

static void active_remove(JobRunner *r, Job *j) {
        bool found = false;

        pthread_mutex_lock(&r->lock);
        for (Job *k = r->active; k; k = k->next)
                if (k == j) {
                        found = true;
                        break;
                }
        if (found) {
                if (j->prev)
                        j->prev->next = j->next;
                else
                        r->active = j->next;
                if (j->next)
                        j->next->prev = j->prev;
                j->prev = j->next = NULL;
        }
        pthread_mutex_unlock(&r->lock);
        if (found)
                job_unref(j);
}

static Job *active_find(JobRunner *r, const char *id) {
        Job *found = NULL;

        pthread_mutex_lock(&r->lock);
        for (Job *k = r->active; k; k = k->next)
                if (streq(k->id, id)) {
                        found = job_ref(k);
                        break;
                }
        pthread_mutex_unlock(&r->lock);
        return found;
}

/* Marks the in-memory job done, wakes a synchronous waiter, and drops it from the
 * active list. */
static void job_finish(JobRunner *r, Job *j, JobStatus status) {
        pthread_mutex_lock(&j->lock);
        j->status = status;
        j->done = true;
        pthread_cond_broadcast(&j->cond);
        pthread_mutex_unlock(&j->lock);
        active_remove(r, j);
}

/* The message of a problem+json (or any JSON with detail/title/error) the service sent. */
static void
error_from_body(const char *svc, long status, const char *body, size_t len, char *buf, size_t size) {
        _cleanup_json_ json_object *o = NULL;
        const char *fields[] = { "detail", "title", "error", "message" };

        if (body && json_parse_strict(body, len, &o, NULL) >= 0 && json_object_is_type(o, json_type_object))
                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        json_object *v;

                        if (json_object_object_get_ex(o, fields[i], &v) &&
                            json_object_is_type(v, json_type_string)) {
                                snprintf(buf, size, "%s", json_object_get_string(v));
                                return;
                        }
                }
        snprintf(buf, size, "%s answered HTTP %ld", svc, status);
}

typedef struct RetryCtx {
        JobRunner *runner;
        Job *job;
} RetryCtx;

static void on_retry(unsigned attempt, uint64_t delay_ms, const char *reason, void *userdata) {
        RetryCtx *c = userdata;
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return;
        job_runner_persist(c->runner, c->job); /* the event needs its job's row */
        json_object_object_add(o, "message", json_object_new_string("retrying the upstream call"));
        json_object_object_add(o, "attempt", json_object_new_int((int) attempt + 1));
        json_object_object_add(o, "delay_ms", json_object_new_int64((int64_t) delay_ms));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        (void) job_store_add_event(c->runner->store, c->job->id, "progress", o);
}

/* Replaces secrets and personal data in a successful answer, in j->body (what the
 * synchronous caller gets) and therefore in what the store keeps; records the counts.
 * A failure here fails the job: an unredacted result must not go out. */
static int redact_result(JobRunner *r, Job *j) {
        _cleanup_json_ json_object *o = NULL, *counts_json = NULL;
        _cleanup_free_ char *out = NULL;
        RedactCounts c = {};
        size_t len = 0;
        int k;

        if (!j->body || j->body_len == 0)
                return 0;
        if (j->body_json) {
                const char *txt;

                o = json_object_get(j->body_json);
                k = redact_json(o, &c);
                if (k <= 0)
                        return k;
                txt = json_object_to_json_string_length(
                        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
                out = txt ? strndup(txt, len) : NULL;
                if (!out)
                        return -ENOMEM;
        } else {
                k = redact_text(j->body, j->body_len, &c, &out, &len);
                if (k <= 0)
                        return k;
        }
        counts_json = redact_counts_to_json(&c);
        if (!counts_json)
                return -ENOMEM;
        free(j->redactions);
        j->redactions = strdup(json_object_to_json_string_ext(counts_json, JSON_C_TO_STRING_PLAIN));
        if (!j->redactions)
                return -ENOMEM;
        free(j->body);
        j->body = TAKE_PTR(out);
        j->body_len = len;
        if (r->redactions)
                for (int kind = 0; kind < _REDACT_KIND_MAX; kind++)
                        if (c.n[kind] > 0)
                                (void) metrics_counter_add(
                                        r->redactions,
                                        (const char *[]){ redact_kind_to_string((RedactKind) kind) },
                                        c.n[kind]);
        return 0; /* stored with the outcome (record_outcome) */
}

static void progress_event(JobRunner *r, Job *j, const char *message, const char *reason) {
        _cleanup_json_ json_object *o = json_object_new_object();

        if (!o)
                return;
        json_object_object_add(o, "message", json_object_new_string(message));
        if (reason)
                json_object_object_add(o, "reason", json_object_new_string(reason));
        (void) job_store_add_event(r->store, j->id, "progress", o);
}

/* A relayed job's body: handed on, its first JOB_RELAY_KEEP bytes kept for the store, and
 * past those its last JOB_RELAY_TAIL bytes. */
typedef struct RelayKeep {
        Job *job;
        char *buf;
        size_t len;
        char *tail;
        size_t tail_len;
} RelayKeep;

/* Appends what the store does not keep to the tail, dropping its oldest bytes. */
static int relay_keep_tail(RelayKeep *k, const char *buf, size_t len) {
        size_t take = MIN(len, (size_t) JOB_RELAY_TAIL), keep = MIN(k->tail_len, JOB_RELAY_TAIL - take);

        if (!k->tail) {
                k->tail = malloc(JOB_RELAY_TAIL);
                if (!k->tail)
                        return -ENOMEM;
        }
        memmove(k->tail, k->tail + k->tail_len - keep, keep);
        memcpy(k->tail + keep, buf + len - take, take);
        k->tail_len = keep + take;
        return 0;
}

static int relay_data(long status, const char *buf, size_t len, void *userdata) {
        RelayKeep *k = userdata;
        size_t take = MIN(len, (size_t) JOB_RELAY_KEEP - k->len);

        /* Handed on first: the client's next token does not wait for our copy. */
        if (k->job->relay->on_data(status, buf, len, k->job->relay->userdata) < 0)
                return -EPIPE;
        if (take < len) {
                k->job->relay_truncated = true;
                if (relay_keep_tail(k, buf + take, len - take) < 0)
                        return -ENOMEM;
        }
        if (take > 0) {
                char *nb = realloc(k->buf, k->len + take + 1);

                if (!nb)
                        return -ENOMEM;
                memcpy(nb + k->len, buf, take);
                k->len += take;
                nb[k->len] = '\0';
                k->buf = nb;
        }
        return 0;
}

static int relay_header(const char *name, const char *value, void *userdata) {
        RelayKeep *k = userdata;

        return k->job->relay->on_header ? k->job->relay->on_header(name, value, k->job->relay->userdata) : 0;
}

/* One attempt at the job's task. A relayed job (Job.relay) hands the answer's head and
 * bytes to its client as they come; its body is kept too, for the stored result. */
static int call_once(JobRunner *r, Job *j, uint64_t timeout_ms, UpstreamResult *res) {
        bool get = streq(j->task->method, "GET");
        RelayKeep keep = { .job = j };
        int k;

        k = upstream_request(
                r->upstreams,
                &(UpstreamRequest){
                        .service = j->task->service,
                        .method = j->task->method,
                        .path = j->task->path,
                        .idempotent = j->task->idempotent,
                        .body = get ? NULL : j->payload,
                        .body_len = get ? 0 : j->payload_len,
                        .on_header = j->relay ? relay_header : NULL,
                        .on_data = j->relay ? relay_data : NULL,
                        .userdata = &keep,
                        .timeout_ms = timeout_ms,
                        .cancel = &j->cancel,
                        .request_id = j->request_id[0] ? j->request_id : NULL,
                        .owner = j->submitter,
                        .on_retry = on_retry,
                        .retry_userdata = &(RetryCtx){ r, j },
                },
                res);
        if (j->relay && k >= 0) {
                free(res->body);
                res->body = TAKE_PTR(keep.buf);
                res->body_len = keep.len;
                free(j->relay_tail);
                j->relay_tail = TAKE_PTR(keep.tail);
                j->relay_tail_len = keep.tail_len;
        }
        free(keep.buf);
        free(keep.tail);
        return k;
}

/* The upstream call of a job, waiting for its service whenever it is unavailable in a way
 * that is safe to wait out (see Job.wait_ready): res holds the last attempt's outcome;
 * res->reached tells whether any attempt may have reached the service. */
static int call_upstream(JobRunner *r, Job *j, UpstreamResult *res) {
        UpstreamService svc = j->task->service;
        bool reached = false, told = false;
        double upstream_ms = 0;
        char last[sizeof(res->error)] = "";
        int k;

        for (;;) {
                uint64_t now = time_now_ms(CLOCK_MONOTONIC);

                k = call_once(r, j, j->deadline_ms > now ? j->deadline_ms - now : 0, res);
                reached = reached || res->reached;
                upstream_ms += res->upstream_ms;
                /* A relayed answer went to its client as it came: never a second one. */
                if (!upstream_unavailable(j->task, k, res) || (j->relay && k >= 0) ||
                    !(j->wait_ready || upstream_readiness_held(r->upstreams, svc, now)))
                        break;
                snprintf(last, sizeof(last), "%s", res->error[0] ? res->error : "HTTP 503");
                if (!told) {
                        char msg[128];

                        job_runner_persist(r, j); /* the event needs its job's row */
                        snprintf(
                                msg,
                                sizeof(msg),
                                "waiting for service %s to be ready",
                                upstream_service_to_string(svc));
                        progress_event(r, j, msg, last);
                        told = true;
                }
                upstream_result_done(res);
                __atomic_store_n(&j->waiting, true, __ATOMIC_SEQ_CST);
                /* A drain that began before the flag was up did not see this job. */
                k = __atomic_load_n(&r->stopping, __ATOMIC_SEQ_CST)
                        ? -ECANCELED
                        : upstream_readiness_wait(r->upstreams, svc, j->deadline_ms, &j->cancel);
                __atomic_store_n(&j->waiting, false, __ATOMIC_RELAXED);
                upstream_ms += (double) (time_now_ms(CLOCK_MONOTONIC) - now);
                if (k == -ETIMEDOUT) {
                        *res = (UpstreamResult){ .retry_after_ms = 1000 };
                        snprintf(
                                res->error,
                                sizeof(res->error),
                                "service %s was not ready within the job's timeout of %" PRIu64
                                " ms (%.150s)",
                                upstream_service_to_string(svc),
                                j->timeout_ms,
                                last);
                        k = -EBUSY;
                        break;
                }
                if (k < 0) {
                        *res = (UpstreamResult){};
                        snprintf(res->error, sizeof(res->error), "cancelled");
                        break;
                }
        }
        res->reached = reached;
        res->upstream_ms = upstream_ms;
        return k;
}

/* A hit's kept answer as if the service had just given it (the job's own copy: redaction
 * and the store take it over). */
static int cached_result(Job *j, UpstreamResult *res) {
        *res = (UpstreamResult){ .status = j->cache_hit->status };
        res->body = malloc(j->cache_hit->len + 1);
        if (!res->body) {
                snprintf(res->error, sizeof(res->error), "out of memory");
                return -ENOMEM;
        }
        memcpy(res->body, j->cache_hit->body, j->cache_hit->len + 1);
        res->body_len = j->cache_hit->len;
        return 0;
}

/* A fresh successful answer of a cacheable job is kept (raw, before redaction: a hit goes
 * through the same steps). A failure to keep it only costs the next call. */
static void cache_result(JobRunner *r, const Job *j, int k, const UpstreamResult *res) {
        if (r->cache && j->cache_mode != JOB_CACHE_OFF && !j->cached && k >= 0 && res->status >= 200 &&
            res->status < 300)
                (void) result_cache_put(r->cache, &j->cache_key, res->status, res->body, res->body_len);
}

static int fail_queue_timeout(JobRunner *r, Job *j) {
        snprintf(
                j->error,
                sizeof(j->error),
                "timed out after %" PRIu64 " ms waiting in the queue",
                j->timeout_ms);
        j->error_errno = -ETIMEDOUT;
        return job_runner_record_outcome(r, j, JOB_FAILED, NULL, j->error, 504);
}

/* The job starts: a row already in the store (queued, or a waiter stored as pending while
 * it waited) says running; a deferred one goes in as running or with its outcome. Under
 * persist_lock, against the grace thread storing it meanwhile. */
static int mark_running(JobRunner *r, Job *j) {
        int k = 0;

        pthread_mutex_lock(&j->persist_lock);
        if (!j->started && !j->deferred)
                k = job_store_transition(r->store, j->id, JOB_RUNNING, NULL, NULL, 0);
        if (!j->started && j->deferred) /* a waiter: it started now, not when it came */
                j->started_at = time_now_s(CLOCK_REALTIME);
        j->started = true;
        pthread_mutex_unlock(&j->persist_lock);
        return k;
}

static void run_job(void *item, void *userdata) {
        JobRunner *r = userdata;
        Job *j = item;
        const char *svc = upstream_service_to_string(j->task->service);
        UpstreamResult res = {};
        JobStatus final;
        uint64_t t0 = time_now_ms(CLOCK_MONOTONIC);
        int k;

        log_set_request_id(j->request_id[0] ? j->request_id : NULL);
        if (t0 >= j->deadline_ms) {
                final = JOB_FAILED;
                k = fail_queue_timeout(r, j);
                goto finish;
        }
        k = mark_running(r, j);
        if (k == -ESTALE) { /* cancelled while queued */
                final = JOB_CANCELLED;
                snprintf(j->error, sizeof(j->error), "cancelled");
                goto finish;
        }
        if (k < 0)
                log_warning_errno(k, "Failed to record job %s as running: %m", j->id);

        k = j->cache_hit ? cached_result(j, &res) : call_upstream(r, j, &res);
        cache_result(r, j, k, &res);
        j->upstream_ms = res.upstream_ms;
        j->retry_after_ms = res.retry_after_ms;
        if (k == -ECANCELED && __atomic_load_n(&r->stopping, __ATOMIC_RELAXED)) {
                /* Stopped by our own shutdown, not by a user: left for the next start. A job
                 * that may have reached its service stays "running" (re-run if idempotent,
                 * else failed); one that provably did not goes back to pending. */
                final = JOB_PENDING;
                snprintf(j->error, sizeof(j->error), "the orchestrator is shutting down");
                j->error_errno = -ESHUTDOWN;
                job_runner_grace_unlist(r, j);
                job_runner_persist(r, j);
                if (!res.reached)
                        (void) job_store_transition(r->store, j->id, JOB_PENDING, NULL, NULL, 0);
                goto finish;
        } else if (k == -ECANCELED) {
                final = JOB_CANCELLED;
                snprintf(j->error, sizeof(j->error), "cancelled");
                k = job_runner_record_outcome(r, j, final, NULL, "cancelled", 0);
        } else if (k < 0) {
                int status = k == -EBUSY ? 503 : k == -ETIMEDOUT ? 504 : 502;

                final = JOB_FAILED;
                j->error_errno = k;
                snprintf(j->error, sizeof(j->error), "%s", res.error);
                k = job_runner_record_outcome(r, j, final, NULL, j->error, status);
        } else {
                _cleanup_free_ char *wrapped = NULL;
                const char *result = res.body;
                json_object *o = NULL;

                j->http_status = res.status;
                j->body = TAKE_PTR(res.body);
                j->body_len = res.body_len;
                /* Parsed once here: the store's check below, redaction, and the
                 * synchronous answer (job_take_body_json) all use this object. */
                if (j->body && json_parse_strict(j->body, j->body_len, &o, NULL) >= 0)
                        j->body_json = o;
                if (r->redact && res.status >= 200 && res.status < 300) {
                        k = redact_result(r, j);
                        if (k < 0) {
                                log_error_errno(k, "Failed to redact the result of job %s: %m", j->id);
                                final = JOB_FAILED;
                                j->error_errno = k;
                                j->http_status = 0;
                                free(TAKE_PTR(j->body));
                                j->body_len = 0;
                                json_object_put(TAKE_PTR(j->body_json));
                                snprintf(j->error, sizeof(j->error), "output redaction failed");
                                k = job_runner_record_outcome(r, j, final, NULL, j->error, 500);
                                goto recorded;
                        }
                }
                /* The store keeps JSON; a service that answered something else is kept as a
                 * JSON string rather than dropped. */
                if (!j->body_json) {
                        json_object *s =
                                json_object_new_string_len(j->body ? j->body : "", (int) j->body_len);
                        const char *t = s ? json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN) : NULL;

                        wrapped = t ? strdup(t) : NULL;
                        json_object_put(s);
                        result = wrapped;
                } else
                        result = j->body;
                if (res.status >= 200 && res.status < 300) {
                        final = JOB_COMPLETED;
                        k = job_runner_record_outcome(r, j, final, result, NULL, 0);
                } else {
                        final = JOB_FAILED;
                        error_from_body(svc, res.status, j->body, j->body_len, j->error, sizeof(j->error));
                        k = job_runner_record_outcome(r, j, final, NULL, j->error, (int) res.status);
                }
        }
recorded:
        if (k == -ESTALE) {
                /* DELETE won the race with the answer: the store says cancelled. */
                final = JOB_CANCELLED;
                snprintf(j->error, sizeof(j->error), "cancelled");
        } else if (k < 0)
                log_error_errno(k, "Failed to record the outcome of job %s: %m", j->id);
        /* A cached answer used no tokens: no usage is recorded for it. */
        if (final == JOB_COMPLETED && r->on_completed && !j->cached)
                r->on_completed(j, r->on_completed_userdata);
        if (r->task_duration)
                (void) metrics_histogram_observe(
                        r->task_duration,
                        (const char *[]){ svc, j->task->name },
                        (double) (time_now_ms(CLOCK_MONOTONIC) - t0) / 1000.0);
finish:
        upstream_result_done(&res);
        job_finish(r, j, final);
        job_unref(j); /* the queue's reference */
        log_set_request_id(NULL);
}

static const char *job_outcome(JobStatus s) {
        switch (s) {
        case JOB_COMPLETED:
                return "ok";
        case JOB_CANCELLED:
                return "cancelled";
        case JOB_PENDING:
        case JOB_RUNNING:
                return "interrupted"; /* by our own shutdown: the next start runs it */
        default:
                return "failed";
        }
}

/* A waiter is handed the slot of a worker, or of a caller that is done with it: its
 * request's thread runs it (job_runner_submit). */
static bool hand_slot(void *item, void *userdata) {
        Job *j = item;
        bool handed;

        pthread_mutex_lock(&j->lock);
        handed = j->waiter;
        if (handed) {
                j->granted = true;
                pthread_cond_broadcast(&j->cond);
        }
        pthread_mutex_unlock(&j->lock);
        if (handed)
                job_unref(j); /* the queue's reference */
        return handed;
}

/* A queued run is a span of its own under the submitting request's span, which has ended
 * by now (202); a run inline stays in the request's span, whose line covers it. */
static bool run_queued_job(void *item, void *userdata) {
        Job *j;
        uint64_t t0;
        TraceContext span = {};
        bool traced;

        if (hand_slot(item, userdata)) /* any other job runs here */
                return true;
        j = job_ref(item);
        t0 = time_now_usec(CLOCK_MONOTONIC);
        traced = j->trace.trace_id[0] && trace_child(&j->trace, &span) >= 0;
        if (traced)
                log_set_trace(&span);
        run_job(item, userdata);
        if (traced) {
                char name[128], f_job[48];

                snprintf(
                        name,
                        sizeof(name),
                        "job %s/%s",
                        upstream_service_to_string(j->task->service),
                        j->task->name);
                snprintf(f_job, sizeof(f_job), "JOB_ID=%s", j->id);
                trace_log_span(
                        LOG_INFO,
                        &span,
                        TRACE_SPAN_INTERNAL,
                        name,
                        time_now_usec(CLOCK_MONOTONIC) - t0,
                        job_outcome(j->status),
                        (const char *[]){ f_job, NULL },
                        "job %s %s",
                        j->id,
                        job_status_to_string(j->status));
                log_set_trace(NULL);
        }
        job_unref(j);
        return false;
}

static void drop_job(void *item, void *userdata) {
        JobRunner *r = userdata;
        Job *j = item;

        /* Pending in the store (a waiter goes in now): it runs again after the next start. */
        job_runner_persist(r, j);
        snprintf(j->error, sizeof(j->error), "the orchestrator is shutting down");
        j->error_errno = -ESHUTDOWN;
        job_finish(r, j, JOB_PENDING);
        job_unref(j);
}

int job_runner_new(
        JobStore *store,
        Upstreams *upstreams,
        const JobRunnerConfig *config,
        MetricsRegistry *metrics,
        JobRunner **ret) {
        static const char *const labels[] = { "service", "task", NULL };
        JobRunner *r;
        int k;

        r = calloc(1, sizeof(JobRunner));
        if (!r)
                return -ENOMEM;
        r->store = store;
        r->upstreams = upstreams;
        r->redact = config->redact_output;
        r->cache = config->cache;
        r->on_completed = config->on_completed;
        r->on_completed_userdata = config->userdata;
        r->grace_ms = config->sync_grace_ms;
        pthread_mutex_init(&r->lock, NULL);
        job_runner_grace_init(r);
        if (metrics) {
                static const double buckets[] = {
                        0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120
                };

                k = metrics_histogram_new(
                        metrics,
                        "orch_task_duration_seconds",
                        "Time a worker spent on a job, by service and task.",
                        labels,
                        buckets,
                        ELEMENTSOF(buckets),
                        &r->task_duration);
                if (k >= 0 && r->redact)
                        k = metrics_counter_new(
                                metrics,
                                "orch_redactions_total",
                                "Secrets and personal data replaced in job results, by kind.",
                                (const char *const[]){ "kind", NULL },
                                &r->redactions);
                if (k < 0) {
                        job_runner_free(r);
                        return k;
                }
        }
        k = scheduler_new(config->workers, config->queue_max, run_queued_job, hand_slot, r, &r->scheduler);
        if (k >= 0)
                k = scheduler_start(r->scheduler);
        if (k >= 0)
                k = job_runner_grace_start(r);
        if (k < 0) {
                job_runner_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void job_runner_drain(JobRunner *r, uint64_t timeout_ms) {
        int k;

        __atomic_store_n(&r->stopping, true, __ATOMIC_SEQ_CST);
        pthread_mutex_lock(&r->lock);
        for (Job *j = r->active; j; j = j->next)
                if (__atomic_load_n(&j->waiting, __ATOMIC_RELAXED))
                        __atomic_store_n(&j->cancel, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&r->lock);
        k = scheduler_drain(r->scheduler, timeout_ms);
        if (k < 0)
                log_warning(
                        "%zu jobs still running after %" PRIu64
                        " ms of draining: they are stopped and left to the next start",
                        scheduler_busy(r->scheduler),
                        timeout_ms);
}

void job_runner_free(JobRunner *r) {
        if (!r)
                return;
        /* Cancel what runs so that the workers come back quickly. */
        __atomic_store_n(&r->stopping, true, __ATOMIC_RELAXED);
        pthread_mutex_lock(&r->lock);
        for (Job *k = r->active; k; k = k->next)
                __atomic_store_n(&k->cancel, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&r->lock);
        scheduler_free(r->scheduler, drop_job);
        job_runner_grace_stop(r);
        while (r->active)
                active_remove(r, r->active);
        job_runner_grace_done(r);
        pthread_mutex_destroy(&r->lock);
        free(r);
}

static int queue(JobRunner *r, Job *j) {
        int k;

        active_add(r, j);
        k = scheduler_submit(r->scheduler, job_ref(j), j->priority);
        if (k < 0) {
                job_unref(j);
                active_remove(r, j);
        }
        return k;
}

/* The lookup of a cacheable job: a hit is kept on the job (j->cached) before its row is
 * made, so that the row says so. */
static void cache_lookup(JobRunner *r, Job *j) {
        if (!r->cache || j->cache_mode == JOB_CACHE_OFF)
                j->cache_mode = JOB_CACHE_OFF;
        else if (j->cache_mode == JOB_CACHE_REFRESH)
                result_cache_count_bypass(r->cache);
        else if (result_cache_get(r->cache, &j->cache_key, &j->cache_hit) >= 0)
                j->cached = true;
}

/* Why a job could not be queued, as its answer says it. */
static void queue_error(Job *j, int k) {
        if (k == -EAGAIN || k == -ESHUTDOWN)
                snprintf(
                        j->error,
                        sizeof(j->error),
                        k == -EAGAIN ? "the job queue is full" : "the orchestrator is shutting down");
        else
                snprintf(j->error, sizeof(j->error), "the job could not be queued: %s", strerror(-k));
}

/* A synchronous job that finds every slot taken waits in the queue, in priority order
 * with the others, on its request's thread: the slot that frees up is handed to it
 * (hand_slot: by the caller that gives it back, or by the worker that takes the job), and
 * the job runs here as if it had claimed the slot: one commit, no hand-off of the job and
 * its answer. It is deferred like one, so stored as pending once it has waited longer
 * than the grace period. 1: the slot is ours; 0: the job is done or about to be: cancelled
 * or dropped while it waited, or failed because its timeout ran out in the queue (here,
 * or by a worker that took it meanwhile); <0: it could not be queued (stored as failed). */
static int wait_for_slot(JobRunner *r, Job *j) {
        uint64_t now = time_now_ms(CLOCK_MONOTONIC);
        struct timespec ts = timespec_deadline_ms(j->deadline_ms > now ? j->deadline_ms - now : 0);
        bool granted, done;
        int k;

        j->deferred = true;
        j->waiter = true;
        j->created_at = time_now_s(CLOCK_REALTIME);
        job_runner_grace_list(r, j);
        k = queue(r, j);
        if (k < 0) {
                queue_error(j, k);
                (void) job_runner_record_outcome(r, j, JOB_FAILED, NULL, j->error, 503);
                j->status = JOB_FAILED;
                return k;
        }
        pthread_mutex_lock(&j->lock);
        while (!j->granted && !j->done)
                if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) != 0)
                        break;
        granted = j->granted;
        done = j->done;
        j->waiter = false; /* from now on a worker that takes it runs it */
        pthread_mutex_unlock(&j->lock);
        if (granted)
                return 1;
        /* Done: stored by whoever cancelled or dropped it. Else its timeout ran out in the
         * queue: failed here, or by the worker that has just taken it. */
        if (!done && scheduler_remove(r->scheduler, j)) {
                (void) fail_queue_timeout(r, j);
                job_finish(r, j, JOB_FAILED);
                job_unref(j); /* the queue's reference */
        }
        return 0;
}

int job_runner_submit(
        JobRunner *r, Job *j, bool inline_ok, const char *idempotency_key, const char *request_hash) {
        bool delayed = j->run_at > time_now_s(CLOCK_REALTIME), claimed, slot;
        /* Run without storing it first: one commit instead of two or three. Not with an
         * idempotency key, whose row must exist before the call to claim the key. */
        bool deferrable = r->grace_ms > 0 && !idempotency_key;
        JobNew n;
        int k;

        if (!delayed)
                cache_lookup(r, j);
        n = job_runner_row(j, idempotency_key, request_hash);
        if (delayed) { /* stored only: queued by job_runner_queue_row() when it is due */
                n.delayed = true;
                return job_store_insert(r->store, &n);
        }
        /* A hit needs neither a worker nor the service: it runs here, whatever the mode. */
        slot = !j->cached && inline_ok && scheduler_try_claim(r->scheduler);
        claimed = j->cached || slot;
        if (!claimed && inline_ok && deferrable) {
                k = wait_for_slot(r, j);
                if (k <= 0)
                        return k;
                claimed = slot = true;
        } else if (claimed && deferrable) {
                j->deferred = true;
                j->started = true;
                j->created_at = j->started_at = time_now_s(CLOCK_REALTIME);
                active_add(r, j);
                job_runner_grace_list(r, j);
        }
        if (claimed && deferrable) {
                run_job(job_ref(j), r);
                if (slot)
                        scheduler_release(r->scheduler);
                log_set_request_id(j->request_id[0] ? j->request_id : NULL); /* run_job cleared it */
                return j->store_error < 0 ? j->store_error : 1;
        }
        n.running = claimed;
        k = job_store_insert(r->store, &n);
        if (k < 0) {
                if (slot)
                        scheduler_release(r->scheduler);
                return k;
        }
        if (claimed) {
                j->started = true;
                active_add(r, j);
                run_job(job_ref(j), r);
                if (slot)
                        scheduler_release(r->scheduler);
                log_set_request_id(j->request_id[0] ? j->request_id : NULL); /* run_job cleared it */
                return 1;
        }
        k = queue(r, j);
        if (k == -EAGAIN || k == -ESHUTDOWN) {
                queue_error(j, k);
                (void) job_store_transition(r->store, j->id, JOB_FAILED, NULL, j->error, 503);
                j->status = JOB_FAILED;
        }
        return k;
}

int job_runner_wait(Job *j, uint64_t timeout_ms) {
        struct timespec ts;
        int r = 0;

        ts = timespec_deadline_ms(timeout_ms);
        pthread_mutex_lock(&j->lock);
        while (!j->done)
                if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) != 0) {
                        r = j->done ? 0 : -ETIMEDOUT;
                        break;
                }
        pthread_mutex_unlock(&j->lock);
        return r;
}

int job_runner_cancel(JobRunner *r, const char *id) {
        _cleanup_(job_unrefp) Job *j = active_find(r, id);
        JobStatus st;
        bool first;
        int k;

        if (!j)
                /* Not in memory: only a row can be pending here (e.g. it failed to queue). */
                return job_store_transition(r->store, id, JOB_CANCELLED, NULL, "cancelled", 0);
        first = __atomic_exchange_n(&j->cancel, 1, __ATOMIC_RELAXED) == 0;
        if (scheduler_remove(r->scheduler, j)) {
                job_runner_persist(r, j); /* a waiter may not be stored yet */
                k = job_store_transition(r->store, id, JOB_CANCELLED, NULL, "cancelled", 0);
                snprintf(j->error, sizeof(j->error), "cancelled");
                job_finish(r, j, JOB_CANCELLED);
                job_unref(j); /* the queue's reference */
                return k == -ESTALE ? -ESTALE : 0;
        }
        /* Running: the worker sees the flag, curl aborts, and it records the cancel. For
         * the answer to say "cancelled" at once, record it now; the worker's own
         * transition then finds the job terminal. */
        job_runner_persist(r, j); /* a synchronous job may not be stored yet */
        k = job_store_transition(r->store, id, JOB_CANCELLED, NULL, "cancelled", 0);
        /* The job may have seen this cancel's flag and recorded it first. */
        if (k == -ESTALE && first && job_store_get_status(r->store, id, &st) >= 0 && st == JOB_CANCELLED)
                k = 0;
        return k == -ESTALE ? -ESTALE : 0;
}

/* Fails a stored job that cannot run, with its reason. */
static int fail_row(JobRunner *r, const JobRow *row, const char *reason) {
        int k = job_store_transition(r->store, row->id, JOB_FAILED, NULL, reason, 500);

        return k < 0 && k != -ESTALE ? k : 1;
}

int job_runner_queue_row(JobRunner *r, const JobRow *row) {
        const UpstreamTask *task = NULL;
        UpstreamService svc;
        JobPriority prio = JOB_PRIORITY_MEDIUM;
        _cleanup_(job_unrefp) Job *j = NULL;
        char *payload;
        char reason[256];
        int k;

        if (upstream_service_from_string(row->service, &svc) >= 0)
                task = upstream_task_find(svc, row->task);
        (void) job_priority_from_string(row->priority, &prio);
        if (!task) {
                snprintf(reason, sizeof(reason), "unknown task %s/%s", row->service, row->task);
                return fail_row(r, row, reason);
        }
        payload = strdup(row->payload);
        if (!payload)
                return -ENOMEM;
        k = job_new(task, prio, payload, row->timeout_ms ? row->timeout_ms : 60000, NULL, &j);
        if (k < 0)
                return k;
        j->wait_ready = true; /* nobody waits for its answer: its service may be restarting too */
        snprintf(j->id, sizeof(j->id), "%s", row->id);
        job_set_submitter(j, row->submitter, row->submitter_role);
        snprintf(j->schedule_id, sizeof(j->schedule_id), "%s", strempty(row->schedule_id));
        k = queue(r, j);
        if (k >= 0)
                return 0;
        snprintf(reason, sizeof(reason), "could not be queued: %s", strerror(-k));
        return fail_row(r, row, reason);
}

typedef struct RecoverCtx {
        JobRunner *runner;
        unsigned requeued, failed;
} RecoverCtx;

static int recover_one(const JobRow *row, void *userdata) {
        RecoverCtx *c = userdata;
        JobRunner *r = c->runner;
        const UpstreamTask *task = NULL;
        UpstreamService svc;
        int k;

        if (upstream_service_from_string(row->service, &svc) >= 0)
                task = upstream_task_find(svc, row->task);
        if (row->status == JOB_RUNNING && task && !task->idempotent) {
                char reason[256];

                snprintf(
                        reason,
                        sizeof(reason),
                        "interrupted by an orchestrator restart while running; %s %s is not idempotent and was "
                        "not re-run",
                        row->service,
                        row->task);
                k = fail_row(r, row, reason);
        } else {
                if (row->status == JOB_RUNNING) {
                        _cleanup_json_ json_object *o = json_object_new_object();

                        if (o) {
                                json_object_object_add(
                                        o,
                                        "message",
                                        json_object_new_string("re-queued after an orchestrator restart"));
                                (void) job_store_add_event(r->store, row->id, "progress", o);
                        }
                }
                k = job_runner_queue_row(r, row);
        }
        if (k < 0)
                return k;
        if (k == 0)
                c->requeued++;
        else
                c->failed++;
        return 0;
}

int job_runner_recover(JobRunner *r, unsigned *ret_requeued, unsigned *ret_failed) {
        RecoverCtx c = { .runner = r };
        unsigned taken;
        int k;

        if (!job_store_leasing(r->store))
                k = job_store_for_each_unfinished(r->store, "task", recover_one, &c);
        else
                do /* a shared store: only what is this instance's to take */
                        k = job_store_lease_take(r->store, "task", true, 256, recover_one, &c, &taken);
                while (k >= 0 && taken == 256);
        if (ret_requeued)
                *ret_requeued = c.requeued;
        if (ret_failed)
                *ret_failed = c.failed;
        return k;
}

typedef struct OrphanCtx {
        RecoverCtx recover;
        unsigned adopted;
} OrphanCtx;

static int adopt_one(const JobRow *row, void *userdata) {
        OrphanCtx *c = userdata;
        _cleanup_(job_unrefp) Job *j = active_find(c->recover.runner, row->id);

        if (j)
                return 0; /* queued or running here: not an orphan */
        c->adopted++;
        return recover_one(row, &c->recover);
}

int job_runner_adopt_orphans(JobRunner *r, double older_than, unsigned *ret_adopted) {
        OrphanCtx c = { .recover = { .runner = r } };
        int k;

        k = job_store_lease_for_each_own(r->store, "task", older_than, adopt_one, &c);
        if (ret_adopted)
                *ret_adopted = c.adopted;
        return k;
}

int job_runner_take_over(JobRunner *r, unsigned max, unsigned *ret_taken) {
        RecoverCtx c = { .runner = r };

        return job_store_lease_take(r->store, "task", false, max, recover_one, &c, ret_taken);
}

size_t job_runner_queue_depth(JobRunner *r) {
        return scheduler_depth(r->scheduler);
}

size_t job_runner_busy(JobRunner *r) {
        return scheduler_busy(r->scheduler);
}
