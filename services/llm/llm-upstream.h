/* SPDX-License-Identifier: MIT */
/* llm-upstream.h — one streamed HTTP exchange with a backend: libcurl with a pooled
 * handle (kept-alive connections), the response split into NDJSON lines or SSE events
 * as bytes arrive (or read whole: embeddings), each parsed unit handed to the caller at
 * once. Timeouts: connect,
 * first byte, idle between chunks, total. The caller's callback failing (the client
 * went away) aborts the transfer, which closes the upstream connection. */
#pragma once

#include "llm-provider.h"

typedef struct LlmUpstreamCallbacks {
        /* A unit with text, tool call pieces, embeddings or an end marker; < 0 aborts:
         * -EPROTO when the answer cannot be taken (a protocol failure of the backend),
         * else the client is gone. */
        int (*event)(void *userdata, const LlmEvent *ev);
        /* Called about once a second while the backend is silent after the first byte:
         * lets the caller find out early that its client has gone (< 0 aborts). */
        int (*idle)(void *userdata);
        /* Optional, looked at every 50 ms while waiting and before each unit: true aborts
         * the transfer, closing its connection (hybrid mode cancels the slower backend). */
        bool (*cancelled)(void *userdata);
        void *userdata;
} LlmUpstreamCallbacks;

typedef enum LlmFailure {
        LLM_FAIL_NONE,
        LLM_FAIL_CONNECT,          /* refused, unreachable, DNS */
        LLM_FAIL_TIMEOUT,          /* connect, first byte, idle or total */
        LLM_FAIL_HTTP_5XX,         /* 5xx, and 529 */
        LLM_FAIL_HTTP_429,         /* rate limited; retry_after_ms may be set */
        LLM_FAIL_HTTP_4XX,         /* never retried; 401/403/404/... move on to the next backend */
        LLM_FAIL_HTTP_BAD_REQUEST, /* 400/413/422: the request itself is refused, nowhere else to go */
        LLM_FAIL_PROTOCOL,         /* malformed JSON, error event, stream ended without its end marker */
        LLM_FAIL_RESET,            /* connection broke mid-transfer */
        LLM_FAIL_CLIENT_GONE,      /* our client went away: nothing to say about the backend */
        LLM_FAIL_INTERNAL,
} LlmFailure;

#define LLM_DETAIL_MAX 512

typedef struct LlmAttempt {
        LlmFailure failure;
        long http_status;
        uint64_t retry_after_ms;
        bool first_byte; /* the callback saw at least one unit with text or a tool call */
        uint64_t ttft_ms, duration_ms;
        int64_t prompt_tokens, completion_tokens; /* -1 = backend did not say */
        char finish_reason[32];
        char detail[LLM_DETAIL_MAX];
} LlmAttempt;

const char *llm_failure_to_string(LlmFailure f);
/* Runs one attempt; always fills *ret. Returns 0 on success, -EIO on any failure. */
int llm_upstream_run(
        const LlmBackend *b, const LlmHttpCall *call, const LlmUpstreamCallbacks *cb, LlmAttempt *ret);
/* Parses Retry-After (delta-seconds or HTTP-date) into milliseconds from now, 0 if bad. */
uint64_t llm_upstream_parse_retry_after(const char *v);
/* libcurl's global setup (OpenSSL included), done once by the first upstream call; Debian's
 * libcurl 7.88 is built thread-safe (CURL_VERSION_THREADSAFE) and the once guards ours. */
int llm_upstream_global_init(void);
void llm_upstream_pool_flush(void);
