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
