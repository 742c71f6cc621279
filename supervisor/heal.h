/* SPDX-License-Identifier: MIT */
/* heal.h — the self-healing policy of one unit: exponential backoff between restarts, a
 * start limit past which the supervisor gives up until an operator acts, and the reset
 * once the unit has stayed healthy long enough. Pure; times are CLOCK_MONOTONIC ms. */
#pragma once

#include <stdint.h>

#include "macro.h"

typedef struct HealState {
        unsigned attempts;         /* restarts in the current streak */
        uint64_t next_ms;          /* no restart before this */
        uint64_t healthy_since_ms; /* 0: not healthy */
        bool gave_up;
} HealState;

typedef enum HealDecision {
        HEAL_WAIT,    /* backoff still running, or given up already */
        HEAL_RESTART, /* restart now */
        HEAL_GIVE_UP, /* the start limit is reached: alert CRITICAL, stop trying */
} HealDecision;

/* What to do about an unhealthy unit now. HEAL_GIVE_UP is returned once; the state
 * records it. */
HealDecision heal_decide(HealState *h, uint64_t now_ms, unsigned start_limit);
/* A restart was queued: the next one waits backoff_exponential_ms(attempts, base, max). */
void heal_restarted(HealState *h, uint64_t now_ms, uint64_t base_ms, uint64_t max_ms);
/* The unit is healthy; after stable_ms of health the streak is forgotten. */
void heal_healthy(HealState *h, uint64_t now_ms, uint64_t stable_ms);
/* The unit is unhealthy (starts a streak's clock, keeps attempts). */
void heal_unhealthy(HealState *h);
/* An operator asked for monitoring again: forget everything. */
void heal_reset(HealState *h);
