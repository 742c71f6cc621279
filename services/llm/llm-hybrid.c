/* SPDX-License-Identifier: MIT */
/* llm-hybrid.c — two legs, two threads. Threads rather than one libcurl multi handle for
 * both: each leg then runs the unchanged gateway (retries with backoff, Retry-After waits,
 * breakers, the streamed parsers) instead of a second, event-driven copy of it. A leg is
 * cancelled through a flag its transfer looks at every 50 ms (llm-upstream.c), which
 * removes the transfer and so closes the loser's connection; the client does not wait
 * for that (llm_hybrid_finish runs after the reply). */
#include <stdio.h>

#include "llm-hybrid.h"
#include "log.h"
#include "time-util.h"

static const char *const mode_names[_LLM_HYBRID_MODE_MAX] = {
        [LLM_HYBRID_BOTH] = "both",
        [LLM_HYBRID_FIRST] = "first",
};

static const char *const policy_names[_LLM_HYBRID_POLICY_MAX] = {
        [LLM_HYBRID_POLICY_ON] = "on",
        [LLM_HYBRID_POLICY_LOCAL] = "local",
        [LLM_HYBRID_POLICY_OFF] = "off",
};

const char *llm_hybrid_mode_to_string(LlmHybridMode m) {
        return m < _LLM_HYBRID_MODE_MAX ? mode_names[m] : NULL;
}

int llm_hybrid_mode_from_string(const char *s) {
        for (size_t i = 0; i < _LLM_HYBRID_MODE_MAX; i++)
                if (streq_ptr(s, mode_names[i]))
                        return (int) i;
        return -EINVAL;
}

const char *llm_hybrid_policy_to_string(LlmHybridPolicy p) {
        return p < _LLM_HYBRID_POLICY_MAX ? policy_names[p] : NULL;
}

int llm_hybrid_policy_from_string(const char *s) {
        for (size_t i = 0; i < _LLM_HYBRID_POLICY_MAX; i++)
                if (streq_ptr(s, policy_names[i]))
                        return (int) i;
        return -EINVAL;
}

int llm_hybrid_pick_route(const LlmRoute *route, LlmCandidate ret[static 2]) {
        if (route->n == 0)
                return -ENOENT;
        for (size_t i = 1; i < route->n; i++)
                if (route->candidates[i].backend_index != route->candidates[0].backend_index) {
                        ret[0] = route->candidates[0];
                        ret[1] = route->candidates[i];
                        return 0;
                }
        return -ENOENT;
}

int llm_hybrid_pick_models(
        const LlmRoute *r0, const char *m0, const LlmRoute *r1, const char *m1, LlmCandidate ret[static 2]) {
        for (size_t i = 0; i < r0->n; i++) {
                if (!streq(r0->candidates[i].model->name, m0))
                        continue;
                for (size_t j = 0; j < r1->n; j++)
                        if (streq(r1->candidates[j].model->name, m1) &&
                            r1->candidates[j].backend_index != r0->candidates[i].backend_index) {
                                ret[0] = r0->candidates[i];
                                ret[1] = r1->candidates[j];
                                return 0;
                        }
        }
        return -EEXIST;
}

void llm_hybrid_init(
        LlmHybrid *h,
        LlmGateway *g,
        LlmHybridMode mode,
        const LlmCallRequest *req,
        bool trim,
        const LlmSink *client,
        const LlmCandidate legs[static 2]) {
        *h = (LlmHybrid){ .g = g, .req = req, .trim = trim, .mode = mode, .client = client, .winner = -1 };
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->cond, NULL);
        for (size_t i = 0; i < 2; i++) {
                LlmHybridLeg *l = &h->legs[i];
                l->h = h;
                l->index = i;
                l->route.candidates[0] = legs[i];
                l->route.n = 1;
                snprintf(
                        l->route.reason,
                        sizeof(l->route.reason),
                        "hybrid leg %zu: %s on %s",
                        i,
                        legs[i].model->name,
                        legs[i].backend->name);
                l->r = -EIO;
        }
}

/* Under h->lock: leg i won, the other is told to stop. */
static void claim(LlmHybrid *h, size_t i) {
        h->winner = (int) i;
        if (!h->legs[1 - i].done) {
                h->legs[1 - i].cancel = true;
                h->legs[1 - i].lost = true;
        }
}

/* ---- the leg's sink: buffered, or the streaming gate in front of the client ---------- */

static int leg_begin(void *userdata, const LlmCandidate *c, bool fallback, const char *fallback_from) {
        LlmHybridLeg *l = userdata;
        LlmHybrid *h = l->h;
        bool mine;

        if (!h->client)
                return 0;
        /* Streaming: the first backend to send text gets the client. */
        pthread_mutex_lock(&h->lock);
        if (h->winner < 0 && !l->cancel)
                claim(h, l->index);
        mine = h->winner == (int) l->index;
        pthread_mutex_unlock(&h->lock);
        if (!mine)
                return -ECANCELED;
        return h->client->begin(h->client->userdata, c, fallback, fallback_from);
}

static int leg_text(void *userdata, const char *text, size_t len) {
        LlmHybridLeg *l = userdata;

        if (l->h->client)
                return l->h->client->text(l->h->client->userdata, text, len);
        return llm_text_append(&l->text, text, len, 0);
}

static int leg_idle(void *userdata) {
        LlmHybridLeg *l = userdata;
        bool mine;

        if (!l->h->client || !l->h->client->idle)
                return 0;
        /* Only the winner may write to the client. */
        pthread_mutex_lock(&l->h->lock);
        mine = l->h->winner == (int) l->index;
        pthread_mutex_unlock(&l->h->lock);
        return mine ? l->h->client->idle(l->h->client->userdata) : 0;
}

static int leg_reset(void *userdata) {
        LlmHybridLeg *l = userdata;

        llm_text_clear(&l->text);
        return 0;
}

static bool leg_cancelled(void *userdata) {
        LlmHybridLeg *l = userdata;
        bool c;

        pthread_mutex_lock(&l->h->lock);
        c = l->cancel;
        pthread_mutex_unlock(&l->h->lock);
        return c;
}

static void *leg_main(void *userdata) {
        LlmHybridLeg *l = userdata;
        LlmHybrid *h = l->h;
        LlmSink sink = {
                .begin = leg_begin,
                .text = leg_text,
                .idle = leg_idle,
                .reset = h->client ? NULL : leg_reset,
                .cancelled = leg_cancelled,
                .userdata = l,
        };
        uint64_t t0 = time_now_ms(CLOCK_MONOTONIC);
        int r;

        log_set_trace(&h->trace);
        r = llm_gateway_run(h->g, &l->route, h->req, h->trim, &sink, &l->out);
        pthread_mutex_lock(&h->lock);
        l->r = r;
        l->latency_ms = time_now_ms(CLOCK_MONOTONIC) - t0;
        l->done = true;
        if (r >= 0 && h->mode == LLM_HYBRID_FIRST && h->winner < 0)
                claim(h, l->index);
        if (r < 0 && l->lost) {
                const LlmHybridLeg *w = &h->legs[1 - l->index];
                snprintf(
                        l->out.detail,
                        sizeof(l->out.detail),
                        "cancelled: %s on %s answered first",
                        w->route.candidates[0].model->name,
                        w->route.candidates[0].backend->name);
        }
        pthread_cond_broadcast(&h->cond);
        pthread_mutex_unlock(&h->lock);
        return NULL;
}

static bool decided(const LlmHybrid *h) {
        if (h->legs[0].done && h->legs[1].done)
                return true;
        return h->mode == LLM_HYBRID_FIRST && h->winner >= 0 && h->legs[h->winner].done;
}

int llm_hybrid_run(LlmHybrid *h) {
        const TraceContext *cur = log_get_trace();
        int r;

        h->trace = cur ? *cur : (TraceContext){};

        for (size_t i = 0; i < 2; i++) {
                r = -pthread_create(&h->legs[i].thread, NULL, leg_main, &h->legs[i]);
                if (r < 0) {
                        llm_hybrid_finish(h);
                        return r;
                }
                h->legs[i].started = true;
        }
        pthread_mutex_lock(&h->lock);
        while (!decided(h))
                pthread_cond_wait(&h->cond, &h->lock);
        if (h->mode == LLM_HYBRID_FIRST && h->winner >= 0)
                r = h->legs[h->winner].r >= 0 ? h->winner : -EIO;
        else
                r = h->legs[0].r >= 0 ? 0 : h->legs[1].r >= 0 ? 1 : -EIO;
        pthread_mutex_unlock(&h->lock);
        return r;
}

void llm_hybrid_finish(LlmHybrid *h) {
        size_t answered = 0;
        char n[8];

        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < 2; i++)
                if (!h->legs[i].done)
                        h->legs[i].cancel = true;
        pthread_mutex_unlock(&h->lock);
        for (size_t i = 0; i < 2; i++)
                if (h->legs[i].started) {
                        (void) pthread_join(h->legs[i].thread, NULL);
                        h->legs[i].started = false;
                        answered += h->legs[i].r >= 0;
                }
        snprintf(n, sizeof(n), "%zu", answered);
        if (h->g->have_metrics)
                (void) metrics_counter_add(
                        h->g->metrics.hybrid, (const char *[]){ llm_hybrid_mode_to_string(h->mode), n }, 1);
}

void llm_hybrid_done(LlmHybrid *h) {
        for (size_t i = 0; i < 2; i++) {
                llm_text_done(&h->legs[i].text);
                llm_outcome_done(&h->legs[i].out);
        }
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->lock);
}
