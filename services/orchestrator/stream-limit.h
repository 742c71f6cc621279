/* SPDX-License-Identifier: MIT */
/* stream-limit.h — how many long-lived streams (SSE) each principal holds at once. A stream
 * keeps one of the HTTP server's handler threads for as long as it is open: without a cap
 * one viewer token could open as many as there are threads and leave none to anyone else. */
#pragma once

#define STREAM_LIMIT_KEYS 256 /* principals streaming at once (HTTP_THREADS is at most 256) */

typedef struct StreamLimit StreamLimit;

/* per_key >= 1: streams one key may hold. */
int stream_limit_new(unsigned per_key, StreamLimit **ret);
void stream_limit_free(StreamLimit *l);

/* Counts one more stream for key: 0, or -EBUSY when key holds per_key already (-ENOSPC when
 * STREAM_LIMIT_KEYS others stream). Thread-safe. */
int stream_limit_take(StreamLimit *l, const char *key);
/* Counts one stream of key, taken before, as closed. */
void stream_limit_release(StreamLimit *l, const char *key);
unsigned stream_limit_per_key(const StreamLimit *l);
