/* SPDX-License-Identifier: MIT */
/* uuid.c — random bytes from getrandom(), version and variant bits, hex with dashes.
 * Each thread draws 256 bytes at a time (16 ids per system call: a request id is made
 * for every request, and trace ids too); a forked child starts with a fresh pool, never its parent's. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "time-util.h"
#include "uuid.h"

#define POOL_SIZE 256

static atomic_uint fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static __thread struct {
        uint8_t bytes[POOL_SIZE];
        size_t left;
        unsigned generation;
} pool;

static void on_fork_child(void) {
        atomic_fetch_add(&fork_generation, 1);
}

static void register_atfork(void) {
        (void) pthread_atfork(NULL, NULL, on_fork_child);
}

static int getrandom_full(uint8_t *b, size_t n) {
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

int uuid_random_bytes(uint8_t *b, size_t n) {
        unsigned gen;
        int r;

        if (n > POOL_SIZE)
                return -EINVAL;
        pthread_once(&atfork_once, register_atfork);
        gen = atomic_load(&fork_generation);
        if (pool.generation != gen)
                pool.left = 0; /* a child's copy of its parent's pool */
        if (pool.left < n) {
                r = getrandom_full(pool.bytes, sizeof(pool.bytes));
                if (r < 0)
                        return r;
                pool.left = sizeof(pool.bytes);
                pool.generation = gen;
        }
        /* Bytes are used once: taken from the end and wiped. */
        pool.left -= n;
        memcpy(b, pool.bytes + pool.left, n);
        memset(pool.bytes + pool.left, 0, n);
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
        int r = uuid_random_bytes(b, sizeof(b));

        return r < 0 ? r : format(b, 4, ret);
}

/* 48 bits of Unix milliseconds first, so that ids sort by creation and an index grows
 * at its right edge instead of at random pages. */
int uuid_v7_string(char ret[static UUID_STRING_MAX]) {
        uint8_t b[16];
        uint64_t ms;
        int r = uuid_random_bytes(b, sizeof(b));

        if (r < 0)
                return r;
        ms = time_now_ms(CLOCK_REALTIME);
        for (int i = 0; i < 6; i++)
                b[i] = (uint8_t) (ms >> (40 - 8 * i));
        return format(b, 7, ret);
}
