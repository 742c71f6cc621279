/* SPDX-License-Identifier: MIT */
/* stream-limit.c — open streams per principal (see stream-limit.h): a small table under a
 * mutex; a key's slot is free again when its last stream closes. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "stream-limit.h"

typedef struct StreamSlot {
        char key[RATELIMIT_KEY_MAX + 1];
        unsigned n; /* 0 = free */
} StreamSlot;

struct StreamLimit {
        pthread_mutex_t lock;
        unsigned per_key;
        StreamSlot slots[STREAM_LIMIT_KEYS];
};

int stream_limit_new(unsigned per_key, StreamLimit **ret) {
        StreamLimit *l;

        if (per_key == 0)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        pthread_mutex_init(&l->lock, NULL);
        l->per_key = per_key;
        *ret = l;
        return 0;
}

void stream_limit_free(StreamLimit *l) {
        if (!l)
                return;
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static StreamSlot *find(StreamLimit *l, const char *key) {
        for (size_t i = 0; i < STREAM_LIMIT_KEYS; i++)
                if (l->slots[i].n > 0 && strcmp(l->slots[i].key, key) == 0)
                        return &l->slots[i];
        return NULL;
}

int stream_limit_take(StreamLimit *l, const char *key) {
        StreamSlot *s;
        int r = 0;

        pthread_mutex_lock(&l->lock);
        s = find(l, key);
        for (size_t i = 0; !s && i < STREAM_LIMIT_KEYS; i++)
                if (l->slots[i].n == 0) {
                        s = &l->slots[i];
                        snprintf(s->key, sizeof(s->key), "%s", key);
                }
        if (!s)
                r = -ENOSPC;
        else if (s->n >= l->per_key)
                r = -EBUSY;
        else
                s->n++;
        pthread_mutex_unlock(&l->lock);
        return r;
}

void stream_limit_release(StreamLimit *l, const char *key) {
        StreamSlot *s;

        pthread_mutex_lock(&l->lock);
        s = find(l, key);
        if (s)
                s->n--;
        pthread_mutex_unlock(&l->lock);
}

unsigned stream_limit_per_key(const StreamLimit *l) {
        return l->per_key;
}
