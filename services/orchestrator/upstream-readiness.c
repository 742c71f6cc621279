/* SPDX-License-Identifier: MIT */
/* upstream-readiness.c — jobs that wait for a service to be ready again instead of
 * failing: readiness seen (a probe, an answer, the supervisor's notice) closes its breaker
 * and wakes them; while they wait, one of them at a time probes /health/ready with
 * backoff; an update's hold keeps every call from being sent until the new instance is up. */
#include <time.h>

#include "backoff.h"
#include "http-client.h"
#include "time-util.h"
#include "upstream.h"

/* The least time between two probes of one service by its waiters, whatever their number. */
#define PROBE_GAP_MS 100
/* A waiter looks at its cancel flag at least this often. */
#define WAIT_SLICE_MS 100

void upstream_readiness_init(UpstreamReadiness *r) {
        pthread_condattr_t a;

        *r = (UpstreamReadiness){};
        pthread_mutex_init(&r->lock, NULL);
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&r->cond, &a);
        pthread_condattr_destroy(&a);
}

void upstream_readiness_done(UpstreamReadiness *r) {
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->lock);
}

void upstream_readiness_seen(Upstreams *u, UpstreamService s, bool by_notice) {
        UpstreamReadiness *r = &u->readiness[s];

        pthread_mutex_lock(&r->lock);
        if (by_notice)
                r->held_until_ms = 0;
        else if (r->held_until_ms > time_now_ms(CLOCK_MONOTONIC)) {
                pthread_mutex_unlock(&r->lock);
                return;
        }
        (void) breaker_recovered(&u->breakers[s]);
        r->seen++;
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
}

void upstream_readiness_hold(Upstreams *u, UpstreamService s) {
        UpstreamReadiness *r = &u->readiness[s];

        pthread_mutex_lock(&r->lock);
        r->held_until_ms = time_now_ms(CLOCK_MONOTONIC) + u->config->update_hold_ms;
        pthread_mutex_unlock(&r->lock);
}

bool upstream_readiness_held(Upstreams *u, UpstreamService s, uint64_t now_ms) {
        UpstreamReadiness *r = &u->readiness[s];
        bool held;

        pthread_mutex_lock(&r->lock);
        held = r->held_until_ms > now_ms;
        pthread_mutex_unlock(&r->lock);
        return held;
}

static bool probe_ready(Upstreams *u, UpstreamService s) {
        HttpClientResponse resp = {};
        char url[UPSTREAM_URL_MAX];
        bool ready;
        int k;

        upstream_service_url(u, s, "/health/ready", url);
        k = http_client_get(url, u->config->probe_timeout_ms, 64 * 1024, &resp);
        ready = k >= 0 && resp.status == 200;
        http_client_response_done(&resp);
        return ready;
}

int upstream_readiness_wait(Upstreams *u, UpstreamService s, uint64_t deadline_ms, const int *cancel) {
        UpstreamReadiness *r = &u->readiness[s];
        uint64_t seen, next_ms = 0;
        unsigned attempt = 0;
        int k = 0;

        pthread_mutex_lock(&r->lock);
        seen = r->seen;
        r->waiters++;
        for (;;) {
                uint64_t now = time_now_ms(CLOCK_MONOTONIC), until;
                struct timespec ts;

                if (r->seen != seen)
                        break;
                if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED)) {
                        k = -ECANCELED;
                        break;
                }
                if (now >= deadline_ms) {
                        k = -ETIMEDOUT;
                        break;
                }
                /* Probe when this waiter's backoff is over and nobody probed just now; never
                 * during a hold (the old instance may still answer ready). */
                if (now >= next_ms && now >= r->probe_at_ms && r->held_until_ms <= now) {
                        bool ready;

                        r->probe_at_ms = now + PROBE_GAP_MS;
                        pthread_mutex_unlock(&r->lock);
                        ready = probe_ready(u, s);
                        if (ready)
                                upstream_readiness_seen(u, s, false);
                        pthread_mutex_lock(&r->lock);
                        next_ms = time_now_ms(CLOCK_MONOTONIC) +
                                backoff_full_jitter_ms(
                                          attempt++,
                                          u->config->retry_base_ms,
                                          u->config->retry_cap_ms,
                                          backoff_random());
                        continue;
                }
                until = MIN(deadline_ms, now + WAIT_SLICE_MS);
                if (next_ms > now)
                        until = MIN(until, next_ms);
                ts = timespec_deadline_on(CLOCK_MONOTONIC, until - now);
                (void) pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        }
        r->waiters--;
        pthread_mutex_unlock(&r->lock);
        return k;
}
