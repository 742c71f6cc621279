/* SPDX-License-Identifier: MIT */
/* job.c — the in-memory job: made by a request, shared (reference counted) by the handler
 * that waits for it, the runner's lists and the worker that runs it. */
#include "job-runner.h"
#include "json-util.h"
#include "time-util.h"
#include "uuid.h"

int job_generate_id(char ret[static 37]) {
        return uuid_v7_string(ret);
}

int job_new(
        const UpstreamTask *task,
        JobPriority priority,
        char *payload,
        uint64_t timeout_ms,
        const char *request_id,
        Job **ret) {
        Job *j;
        int r;

        j = calloc(1, sizeof(Job));
        if (!j) {
                free(payload);
                return -ENOMEM;
        }
        r = job_generate_id(j->id);
        if (r < 0) {
                free(payload);
                free(j);
                return r;
        }
        j->refs = 1;
        j->task = task;
        j->priority = priority;
        j->payload = payload;
        j->payload_len = strlen(payload);
        j->timeout_ms = timeout_ms;
        j->deadline_ms = time_now_ms(CLOCK_MONOTONIC) + timeout_ms;
        j->status = JOB_PENDING;
        snprintf(j->request_id, sizeof(j->request_id), "%s", strempty(request_id));
        pthread_mutex_init(&j->lock, NULL);
        pthread_cond_init(&j->cond, NULL);
        pthread_mutex_init(&j->persist_lock, NULL);
        *ret = j;
        return 0;
}

void job_set_trace(Job *j, const TraceContext *span) {
        if (span)
                j->trace = *span;
        else
                j->trace.trace_id[0] = '\0';
}

void job_set_submitter(Job *j, const char *sub, const char *role) {
        snprintf(j->submitter, sizeof(j->submitter), "%s", strempty(sub));
        snprintf(j->submitter_role, sizeof(j->submitter_role), "%s", strempty(role));
}

Job *job_ref(Job *j) {
        __atomic_add_fetch(&j->refs, 1, __ATOMIC_RELAXED);
        return j;
}

void job_unref(Job *j) {
        if (!j || __atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        free(j->payload);
        free(j->body);
        free(j->relay_tail);
        json_object_put(j->body_json);
        free(j->guardrail_flags);
        free(j->redactions);
        result_cache_value_unref(j->cache_hit);
        pthread_cond_destroy(&j->cond);
        pthread_mutex_destroy(&j->lock);
        pthread_mutex_destroy(&j->persist_lock);
        free(j);
}

json_object *job_take_body_json(Job *j) {
        json_object *o;

        pthread_mutex_lock(&j->lock);
        o = j->done ? TAKE_PTR(j->body_json) : NULL;
        pthread_mutex_unlock(&j->lock);
        return o;
}

const char *job_cache_status(const Job *j) {
        switch (j->cache_mode) {
        case JOB_CACHE_USE:
                return j->cached ? "hit" : "miss";
        case JOB_CACHE_REFRESH:
                return "bypass";
        default:
                return NULL;
        }
}

bool job_is_done(Job *j) {
        bool done;

        pthread_mutex_lock(&j->lock);
        done = j->done;
        pthread_mutex_unlock(&j->lock);
        return done;
}
