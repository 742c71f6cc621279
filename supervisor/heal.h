/* SPDX-License-Identifier: MIT */
/* heal.h — the self-healing policy of one unit: what one check makes of it (healthy,
 * alive but slow, unready, down), exponential backoff between restarts, a start limit past
 * which the supervisor gives up until an operator acts, the reset once the unit has stayed
 * healthy long enough, and when the whole pod is restarted. Liveness means stuck, not busy:
 * a unit that systemd runs and whose readiness is only late (a saturated host) is never
 * restarted for it (a stuck one is ended by systemd's watchdog), and only units that are
 * down make a pod restart. Pure; times are CLOCK_MONOTONIC ms. */
#pragma once

#include <stdint.h>

#include "macro.h"

typedef struct HealState {
        unsigned attempts;         /* restarts in the current streak */
        uint64_t next_ms;          /* no restart before this */
        uint64_t healthy_since_ms; /* 0: not healthy */
        uint64_t unready_since_ms; /* active but answering not ready since; 0 = no */
        unsigned down_checks;      /* consecutive checks it was down */
        bool gave_up;
} HealState;

/* What one check saw of a unit. */
typedef struct HealObservation {
        bool active; /* systemd: active */
        bool failed; /* systemd: failed, and not in Restart='s auto-restart */
        bool down;   /* failed, inactive, or in auto-restart */
        bool ready;  /* the orchestrator saw it ready */
        bool slow;   /* no verdict: its readiness probe (or the orchestrator's) timed out */
} HealObservation;

typedef enum HealNeed {
        HEAL_NEED_NOTHING, /* healthy, or alive and only slow to answer */
        HEAL_NEED_WAIT,    /* unhealthy, not for long enough yet */
        HEAL_NEED_UNREADY, /* active but answering not ready for agent_timeout: restart it alone */
        HEAL_NEED_DOWN,    /* failed (at once) or inactive for two checks */
} HealNeed;

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
/* One check of a unit: updates its clocks and says what it needs. */
HealNeed heal_assess(HealState *h, const HealObservation *o, uint64_t now_ms, uint64_t agent_timeout_ms);
/* Whether the pod is restarted: when n_down services are down together (at least
 * threshold), or the pod unit itself has been down for two checks. Services that are
 * alive — slow or unready — never count. */
bool heal_escalate(size_t n_down, unsigned threshold, const HealState *pod, const HealObservation *pod_seen);
