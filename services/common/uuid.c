/* SPDX-License-Identifier: MIT */
/* uuid.c — random bytes from getrandom(), version and variant bits, hex with dashes. */
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "time-util.h"
#include "uuid.h"

static int random_bytes(uint8_t *b, size_t n) {
        size_t got = 0;

        while (got < n) {
                ssize_t k = getrandom(b + got, n - got, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                got += (size_t) k;
        }
        return 0;
}

static int format(uint8_t b[16], unsigned version, char ret[static UUID_STRING_MAX]) {
        static const char hex[] = "0123456789abcdef";
        char *p = ret;

        b[6] = (uint8_t) ((b[6] & 0x0f) | (version << 4));
        b[8] = (uint8_t) ((b[8] & 0x3f) | 0x80); /* the RFC's variant */
        for (size_t i = 0; i < 16; i++) {
                if (i == 4 || i == 6 || i == 8 || i == 10)
                        *p++ = '-';
                *p++ = hex[b[i] >> 4];
                *p++ = hex[b[i] & 0x0f];
        }
        *p = '\0';
        return 0;
}

int uuid_v4_string(char ret[static UUID_STRING_MAX]) {
        uint8_t b[16];
        int r = random_bytes(b, sizeof(b));

        return r < 0 ? r : format(b, 4, ret);
}

/* 48 bits of Unix milliseconds first, so that ids sort by creation and an index grows
 * at its right edge instead of at random pages. */
int uuid_v7_string(char ret[static UUID_STRING_MAX]) {
        uint8_t b[16];
        uint64_t ms;
        int r = random_bytes(b, sizeof(b));

        if (r < 0)
                return r;
        ms = time_now_ms(CLOCK_REALTIME);
        for (int i = 0; i < 6; i++)
                b[i] = (uint8_t) (ms >> (40 - 8 * i));
        return format(b, 7, ret);
}
