/* SPDX-License-Identifier: MIT */
/* backoff.c — see backoff.h. */
#include <sys/random.h>

#include "backoff.h"
#include "time-util.h"

uint64_t backoff_exponential_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms) {
        uint64_t v = base_ms;

        for (unsigned i = 0; i < attempt && v < cap_ms; i++)
                v = v > cap_ms / 2 ? cap_ms : v * 2;
        return v < cap_ms ? v : cap_ms;
}

uint64_t backoff_full_jitter_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd) {
        uint64_t ceiling = backoff_exponential_ms(attempt, base_ms, cap_ms);

        return ceiling == 0 ? 0 : rnd % (ceiling + 1);
}

uint64_t backoff_equal_jitter_ms(unsigned attempt, uint64_t base_ms, uint64_t cap_ms, uint64_t rnd) {
        uint64_t ceiling = backoff_exponential_ms(attempt, base_ms, cap_ms);

        return ceiling / 2 + rnd % (ceiling / 2 + 1);
}

uint64_t backoff_random(void) {
        uint64_t rnd = 0;

        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                rnd = time_now_usec(CLOCK_MONOTONIC) * 2654435761u;
        return rnd;
}
