/* SPDX-License-Identifier: MIT */
/* heal.c — backoff and start limit of the self-healing restarts. */
#include "heal.h"
#include "backoff.h"

HealDecision heal_decide(HealState *h, uint64_t now_ms, unsigned start_limit) {
        if (h->gave_up)
                return HEAL_WAIT;
        if (h->attempts >= start_limit) {
                h->gave_up = true;
                return HEAL_GIVE_UP;
        }
        return now_ms >= h->next_ms ? HEAL_RESTART : HEAL_WAIT;
}

void heal_restarted(HealState *h, uint64_t now_ms, uint64_t base_ms, uint64_t max_ms) {
        h->next_ms = now_ms + backoff_exponential_ms(h->attempts, base_ms, max_ms);
        h->attempts++;
        h->healthy_since_ms = 0;
}

void heal_healthy(HealState *h, uint64_t now_ms, uint64_t stable_ms) {
        if (h->healthy_since_ms == 0)
                h->healthy_since_ms = now_ms ?: 1;
        if (!h->gave_up && h->attempts > 0 && now_ms - h->healthy_since_ms >= stable_ms) {
                h->attempts = 0;
                h->next_ms = 0;
        }
}

void heal_unhealthy(HealState *h) {
        h->healthy_since_ms = 0;
}

void heal_reset(HealState *h) {
        *h = (HealState){};
}

HealNeed heal_assess(HealState *h, const HealObservation *o, uint64_t now_ms, uint64_t agent_timeout_ms) {
        if (o->active && (o->ready || o->slow)) {
                h->unready_since_ms = 0;
                h->down_checks = 0;
                if (o->ready)
                        heal_healthy(h, now_ms, agent_timeout_ms);
                return HEAL_NEED_NOTHING;
        }
        heal_unhealthy(h);
        if (o->active) {
                /* up but not ready: give it agent_timeout before healing */
                h->down_checks = 0;
                if (!h->unready_since_ms)
                        h->unready_since_ms = now_ms ?: 1;
                return now_ms - h->unready_since_ms >= agent_timeout_ms ? HEAL_NEED_UNREADY : HEAL_NEED_WAIT;
        }
        h->unready_since_ms = 0;
        if (!o->down)
                return HEAL_NEED_WAIT; /* activating, deactivating: systemd is at it */
        /* failed: at once unless systemd's Restart= is already on it; inactive: after two
         * checks (an operator's stop-and-start passes) */
        h->down_checks++;
        return o->failed || h->down_checks >= 2 ? HEAL_NEED_DOWN : HEAL_NEED_WAIT;
}

bool heal_escalate(
        size_t n_down, unsigned threshold, const HealState *pod, const HealObservation *pod_seen) {
        return n_down >= threshold || (!pod_seen->active && pod_seen->down && pod->down_checks >= 2);
}
