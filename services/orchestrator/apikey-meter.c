/* SPDX-License-Identifier: MIT */
/* apikey-meter.c — per-key minute windows of requests and tokens (RPM/TPM), and the
 * bounded label set of the per-key metrics. Fixed windows on the wall clock's minutes: a
 * client learns exactly when its window starts again (RateLimit-Reset). The windows live
 * in memory (a restart forgets at most one minute of them), or, shared by the
 * orchestrators of one store (apikey_meter_share), in its rows. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "macro.h"

typedef struct MeterSlot {
        char name[APIKEY_NAME_MAX + 1];
        int64_t window; /* minute number (Unix seconds / 60) */
        int64_t requests, tokens;
} MeterSlot;

struct ApiKeyMeter {
        pthread_mutex_t lock;
        MeterSlot slots[APIKEY_METER_SLOTS];
        char labels[APIKEY_METRICS_KEYS][APIKEY_NAME_MAX + 1];
        size_t n_labels;
        JobStore *store; /* shared with other orchestrators: the windows are its rows */
};

int apikey_meter_new(ApiKeyMeter **ret) {
        ApiKeyMeter *m = calloc(1, sizeof(*m));

        if (!m)
                return -ENOMEM;
        pthread_mutex_init(&m->lock, NULL);
        *ret = m;
        return 0;
}

void apikey_meter_free(ApiKeyMeter *m) {
        if (!m)
                return;
        pthread_mutex_destroy(&m->lock);
        free(m);
}

/* name's slot for minute w (m->lock held): its own, else one whose window is over (as
 * good as empty). NULL only when every slot is in use this minute. */
static MeterSlot *slot_for(ApiKeyMeter *m, const char *name, int64_t w) {
        MeterSlot *free_slot = NULL;

        for (size_t i = 0; i < APIKEY_METER_SLOTS; i++) {
                MeterSlot *s = &m->slots[i];

                if (s->name[0] && streq(s->name, name)) {
                        if (s->window != w)
                                *s = (MeterSlot){ .window = w };
                        snprintf(s->name, sizeof(s->name), "%s", name);
                        return s;
                }
                if (!free_slot && (!s->name[0] || s->window != w))
                        free_slot = s;
        }
        if (free_slot) {
                *free_slot = (MeterSlot){ .window = w };
                snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
        }
        return free_slot;
}

void apikey_meter_share(ApiKeyMeter *m, JobStore *store) {
        m->store = store;
}

/* The answer for a window whose counts were requests and tokens before this request. */
static void decide(const KeyLimits *limits, int64_t requests, int64_t tokens, ApiKeyDecision *ret) {
        if (limits->rpm > 0 && requests >= limits->rpm)
                *ret = (ApiKeyDecision){ "rpm", limits->rpm, 0, ret->reset_s };
        else if (limits->tpm > 0 && tokens >= limits->tpm)
                *ret = (ApiKeyDecision){ "tpm", limits->tpm, 0, ret->reset_s };
        else if (limits->rpm > 0) {
                ret->max = limits->rpm;
                ret->remaining = limits->rpm - requests - 1;
        }
}

void apikey_meter_take(
        ApiKeyMeter *m, const char *name, const KeyLimits *limits, double now, ApiKeyDecision *ret) {
        int64_t w = (int64_t) floor(now / 60.0), requests, tokens;
        bool counted;
        MeterSlot *s;

        *ret = (ApiKeyDecision){ .reset_s = (unsigned) MAX(1.0, ceil((double) (w + 1) * 60.0 - now)) };
        if (limits->rpm <= 0 && limits->tpm <= 0)
                return;
        /* Shared: the store counted this request unless a limit was reached, so the counts
         * before it are one less then. When it cannot tell, this process's window decides. */
        if (m->store &&
            job_store_window_take(
                    m->store, name, w, limits->rpm, limits->tpm, &requests, &tokens, &counted) >= 0) {
                decide(limits, counted ? requests - 1 : requests, tokens, ret);
                return;
        }
        pthread_mutex_lock(&m->lock);
        s = slot_for(m, name, w);
        if (s) {
                decide(limits, s->requests, s->tokens, ret);
                if (!ret->limit)
                        s->requests++;
        }
        pthread_mutex_unlock(&m->lock);
}

void apikey_meter_add_tokens(ApiKeyMeter *m, const char *name, int64_t tokens, double now) {
        MeterSlot *s;

        if (m->store &&
            job_store_window_add_tokens(m->store, name, (int64_t) floor(now / 60.0), tokens) >= 0)
                return;

        pthread_mutex_lock(&m->lock);
        s = slot_for(m, name, (int64_t) floor(now / 60.0));
        if (s)
                s->tokens += tokens;
        pthread_mutex_unlock(&m->lock);
}

const char *apikey_meter_label(ApiKeyMeter *m, const char *name) {
        const char *label = APIKEY_METRICS_OTHER;

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_labels; i++)
                if (streq(m->labels[i], name)) {
                        label = m->labels[i];
                        goto done;
                }
        if (m->n_labels < APIKEY_METRICS_KEYS && strlen(name) <= APIKEY_NAME_MAX) {
                snprintf(m->labels[m->n_labels], sizeof(m->labels[0]), "%s", name);
                label = m->labels[m->n_labels++];
        }
done:
        pthread_mutex_unlock(&m->lock);
        return label;
}
