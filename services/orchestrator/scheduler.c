/* SPDX-License-Identifier: MIT */
/* scheduler.c — priority FIFOs under one mutex, and the worker threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "scheduler.h"
#include "time-util.h"

typedef struct Node {
        struct Node *next;
        void *item;
} Node;

struct Scheduler {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Node *head[_JOB_PRIORITY_MAX], *tail[_JOB_PRIORITY_MAX];
        size_t depth, capacity, busy;
        bool stopping, holding;
        unsigned n_workers, n_started;
        pthread_t *threads;
        SchedulerRunFn run, hand;
        void *userdata;
};

static const char *const priority_names[_JOB_PRIORITY_MAX] = {
        [JOB_PRIORITY_LOW] = "low",
        [JOB_PRIORITY_MEDIUM] = "medium",
        [JOB_PRIORITY_HIGH] = "high",
        [JOB_PRIORITY_CRITICAL] = "critical",
};

const char *job_priority_to_string(JobPriority p) {
        return p >= 0 && p < _JOB_PRIORITY_MAX ? priority_names[p] : "medium";
}

int job_priority_from_string(const char *s, JobPriority *ret) {
        for (int i = 0; i < _JOB_PRIORITY_MAX; i++)
                if (s && streq(s, priority_names[i])) {
                        *ret = (JobPriority) i;
                        return 0;
                }
        return -EINVAL;
}

int scheduler_new(
        unsigned workers,
        size_t capacity,
        SchedulerRunFn run,
        SchedulerRunFn hand,
        void *userdata,
        Scheduler **ret) {
        Scheduler *s;

        if (workers == 0 || capacity == 0 || !run)
                return -EINVAL;
        s = calloc(1, sizeof(Scheduler));
        if (!s)
                return -ENOMEM;
        s->threads = calloc(workers, sizeof(pthread_t));
        if (!s->threads) {
                free(s);
                return -ENOMEM;
        }
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->cond, NULL);
        s->n_workers = workers;
        s->capacity = capacity;
        s->run = run;
        s->hand = hand;
        s->userdata = userdata;
        *ret = s;
        return 0;
}

/* The head of the highest non-empty priority, NULL when nothing waits. */
static Node **head_locked(Scheduler *s) {
        for (int p = _JOB_PRIORITY_MAX - 1; p >= 0; p--)
                if (s->head[p])
                        return &s->head[p];
        return NULL;
}

static void *pop_locked(Scheduler *s) {
        Node **head = head_locked(s), *n;
        void *item;

        if (!head)
                return NULL;
        n = *head;
        *head = n->next;
        if (!*head)
                s->tail[head - s->head] = NULL;
        s->depth--;
        item = n->item;
        free(n);
        return item;
}

void *scheduler_try_pop(Scheduler *s) {
        void *item;

        pthread_mutex_lock(&s->lock);
        item = pop_locked(s);
        pthread_mutex_unlock(&s->lock);
        return item;
}

static void *worker(void *userdata) {
        Scheduler *s = userdata;

        pthread_mutex_lock(&s->lock);
        for (;;) {
                void *item;
                bool handed;

                /* busy counts callers running inline too: never more than n_workers at once. */
                while (!s->stopping && (s->holding || s->depth == 0 || s->busy >= s->n_workers))
                        pthread_cond_wait(&s->cond, &s->lock);
                if (s->stopping)
                        break;
                item = pop_locked(s);
                s->busy++;
                pthread_mutex_unlock(&s->lock);
                handed = s->run(item, s->userdata);
                pthread_mutex_lock(&s->lock);
                if (handed) /* the slot is its holder's now: scheduler_release() */
                        continue;
                s->busy--;
                if (s->holding)
                        pthread_cond_broadcast(&s->cond); /* scheduler_drain() counts */
                else if (s->depth > 0)
                        pthread_cond_signal(&s->cond);
        }
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

int scheduler_start(Scheduler *s) {
        for (; s->n_started < s->n_workers; s->n_started++) {
                int r = pthread_create(&s->threads[s->n_started], NULL, worker, s);
                if (r != 0)
                        return -r;
        }
        return 0;
}

int scheduler_submit(Scheduler *s, void *item, JobPriority p) {
        Node *n;
        int r = 0;

        if (p < 0 || p >= _JOB_PRIORITY_MAX)
                return -EINVAL;
        n = malloc(sizeof(Node));
        if (!n)
                return -ENOMEM;
        *n = (Node){ .item = item };
        pthread_mutex_lock(&s->lock);
        if (s->stopping)
                r = -ESHUTDOWN;
        else if (s->depth >= s->capacity)
                r = -EAGAIN;
        else {
                if (s->tail[p])
                        s->tail[p]->next = n;
                else
                        s->head[p] = n;
                s->tail[p] = n;
                s->depth++;
                n = NULL;
                /* With every slot taken no worker could take it: the one that frees a
                 * slot signals (a waiting caller would wake a worker for nothing). */
                if (s->busy < s->n_workers)
                        pthread_cond_signal(&s->cond);
        }
        pthread_mutex_unlock(&s->lock);
        free(n);
        return r;
}

bool scheduler_remove(Scheduler *s, void *item) {
        bool found = false;

        pthread_mutex_lock(&s->lock);
        for (int p = 0; p < _JOB_PRIORITY_MAX && !found; p++) {
                Node *prev = NULL;

                for (Node *n = s->head[p]; n; prev = n, n = n->next) {
                        if (n->item != item)
                                continue;
                        if (prev)
                                prev->next = n->next;
                        else
                                s->head[p] = n->next;
                        if (s->tail[p] == n)
                                s->tail[p] = prev;
                        s->depth--;
                        free(n);
                        found = true;
                        break;
                }
        }
        pthread_mutex_unlock(&s->lock);
        return found;
}

size_t scheduler_depth(Scheduler *s) {
        size_t d;

        pthread_mutex_lock(&s->lock);
        d = s->depth;
        pthread_mutex_unlock(&s->lock);
        return d;
}

bool scheduler_try_claim(Scheduler *s) {
        bool ok;

        pthread_mutex_lock(&s->lock);
        ok = !s->stopping && s->depth == 0 && s->busy < s->n_workers;
        if (ok)
                s->busy++;
        pthread_mutex_unlock(&s->lock);
        return ok;
}

void scheduler_release(Scheduler *s) {
        Node **head;

        pthread_mutex_lock(&s->lock);
        head = s->hand && !s->holding && !s->stopping ? head_locked(s) : NULL;
        if (head && s->hand((*head)->item, s->userdata)) {
                (void) pop_locked(s); /* the slot went with it */
                pthread_mutex_unlock(&s->lock);
                return;
        }
        s->busy--;
        if (s->holding)
                pthread_cond_broadcast(&s->cond);
        else if (s->depth > 0)
                pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

int scheduler_drain(Scheduler *s, uint64_t timeout_ms) {
        struct timespec ts = timespec_deadline_ms(timeout_ms);
        int r = 0;

        pthread_mutex_lock(&s->lock);
        s->holding = true;
        while (s->busy > 0)
                if (pthread_cond_timedwait(&s->cond, &s->lock, &ts) != 0) {
                        r = s->busy > 0 ? -ETIMEDOUT : 0;
                        break;
                }
        pthread_mutex_unlock(&s->lock);
        return r;
}

size_t scheduler_busy(Scheduler *s) {
        size_t d;

        pthread_mutex_lock(&s->lock);
        d = s->busy;
        pthread_mutex_unlock(&s->lock);
        return d;
}

void scheduler_free(Scheduler *s, SchedulerDropFn drop) {
        void *item;

        if (!s)
                return;
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        for (unsigned i = 0; i < s->n_started; i++)
                pthread_join(s->threads[i], NULL);
        while ((item = scheduler_try_pop(s)))
                if (drop)
                        drop(item, s->userdata);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s->threads);
        free(s);
}
