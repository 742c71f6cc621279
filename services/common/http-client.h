/* SPDX-License-Identifier: MIT */
/* http-client.h — a small libcurl wrapper for service-to-service calls: a lock-protected
 * pool of easy handles (keep-alive reuse), millisecond timeouts, capped bodies and one
 * CURLcode → -errno mapping. */
#pragma once

#include <stdint.h>

#include "macro.h"

#define HTTP_CLIENT_ERROR_MAX 256

typedef struct HttpClientResponse {
        long status; /* HTTP status, 0 when no response */
        char *body;  /* NUL-terminated, owned; NULL if empty */
        size_t body_len;
        double total_ms;                   /* whole transfer */
        char error[HTTP_CLIENT_ERROR_MAX]; /* libcurl's message when the transfer failed */
} HttpClientResponse;

typedef struct HttpClientRequest {
        const char *method; /* NULL = GET (POST when body is set) */
        const char *url;
        const char *body; /* NULL = none */
        size_t body_len;
        const char *content_type; /* NULL = application/json when body is set */
        const char *request_id;   /* sent as X-Request-ID when set */
        uint64_t timeout_ms;      /* 0 = 10 s */
        size_t max_body;          /* 0 = 1 MiB; larger responses fail with -EFBIG */
        const int *cancel;        /* when non-NULL and it becomes non-zero, the transfer stops with
                                     -ECANCELED (checked at least once a second) */
        HttpClientResponse response;
        int result; /* set by http_client_perform*() */
} HttpClientRequest;

/* Performs req; returns (and stores in req->result) 0 when a response arrived (any
 * status), -ETIMEDOUT, -ECANCELED, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET, -EFBIG, -EINVAL, ... */
int http_client_perform(HttpClientRequest *req);
/* Runs the requests concurrently (one thread each); every req->result is set. Returns 0
 * or -errno if the threads could not be started. */
int http_client_perform_many(HttpClientRequest *reqs, size_t n);
int http_client_get(const char *url, uint64_t timeout_ms, size_t max_body, HttpClientResponse *ret);
void http_client_response_done(HttpClientResponse *r);
/* The one place CURLcode becomes -errno. */
int http_client_errno_from_curl(int curl_code);
/* Frees the idle handle pool (tests, exit). */
void http_client_pool_flush(void);
