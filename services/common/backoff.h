/* SPDX-License-Identifier: MIT */
/* backoff.h — exponential backoff between retries (AWS architecture blog, "Exponential
 * Backoff And Jitter"): the ceiling min(cap, base * 2^attempt), taken as it is, with full
 * jitter or with equal jitter. attempt counts from 0. */
#pragma once

#include <stdint.h>

/* min(cap_ms, base_ms * 2^attempt), without overflow. */
uint64_t backoff_exponential_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms);
/* Full jitter: uniform in [0, ceiling]; rnd is a uniform random value (backoff_random()). */
uint64_t backoff_full_jitter_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd);
/* Equal jitter: half the ceiling fixed, the other half uniform: [ceiling/2, ceiling/2 + ceiling/2]. */
uint64_t backoff_equal_jitter_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd);
/* A uniform random value for the jitter: getrandom(), or the clock when that would block. */
uint64_t backoff_random(void);
