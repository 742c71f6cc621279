/* SPDX-License-Identifier: MIT */
/* http-client.h — service-to-service calls: millisecond timeouts, capped bodies, streamed
 * request and response bodies for relays, one CURLcode → -errno mapping; made by libcurl
 * (a pool of easy handles), or, for plain calls between the pod's services, by our own
 * HTTP/1.1 client on pooled keep-alive connections (http-client-plain.c). */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

#define HTTP_CLIENT_ERROR_MAX 256

typedef struct HttpClientResponse {
        long status; /* HTTP status, 0 when no response */
        char *body;  /* NUL-terminated, owned; NULL if empty */
        size_t body_len;
        double total_ms;                   /* whole transfer */
        char error[HTTP_CLIENT_ERROR_MAX]; /* libcurl's message when the transfer failed */
} HttpClientResponse;

/* Who makes a call. */
typedef enum HttpClientEngineKind {
        HTTP_CLIENT_CURL,  /* libcurl: any URL it supports, proxies from the environment */
        HTTP_CLIENT_PLAIN, /* http:// with the body in memory and the answer collected:
                            * one write and one read on a kept connection, no proxy, no
                            * credentials in the URL; any other call goes to libcurl */
        _HTTP_CLIENT_ENGINE_MAX,
} HttpClientEngineKind;

typedef struct HttpClientRequest {
        HttpClientEngineKind engine; /* 0 = libcurl */
        const char *method;          /* NULL = GET (POST when body is set) */
        const char *url;
        const char *body; /* NULL = none */
        size_t body_len;
        const char *content_type;   /* NULL = application/json when body is set */
        const char *request_id;     /* sent as X-Request-ID when set */
        uint64_t timeout_ms;        /* 0 = 10 s */
        size_t max_body;            /* 0 = 1 MiB; larger responses fail with -EFBIG */
        const int *cancel;          /* when non-NULL and it becomes non-zero, the transfer stops with
                                       -ECANCELED (checked at least once a second) */
        const char *const *headers; /* more request headers, "Name: value", NULL-terminated */

        /* A streamed request body (instead of body): read_body fills buf with up to len
         * bytes and returns how many, 0 at its end, < 0 to abort the transfer (the peer then
         * sees the body cut short: -ECANCELED). Sent chunked unless body_len is set. */
        ssize_t (*read_body)(void *buf, size_t len, void *userdata);
        /* A streamed response (instead of response.body): on_header for each header of the
         * final response, on_data for each piece of its body as it arrives (status is the
         * response's); either returning < 0 aborts the transfer (-ECANCELED). */
        int (*on_header)(const char *name, const char *value, void *userdata);
        int (*on_data)(long status, const char *buf, size_t len, void *userdata);
        void *userdata;
        uint64_t idle_timeout_ms; /* fail with -ETIMEDOUT when nothing moved this long; 0 = no check */

        HttpClientResponse response;
        int result; /* set by http_client_perform*() */
} HttpClientRequest;

/* Performs req; when the calling thread has a traced span (log_get_trace()), the call is
 * its child span: sent as traceparent and logged as one span line (http_client_perform_many
 * carries the caller's span to its threads). Returns (and stores in req->result) 0 when a response arrived
 * (any status), -ETIMEDOUT, -ECANCELED, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET, -EFBIG, -EINVAL, ... */
int http_client_perform(HttpClientRequest *req);
/* Runs the requests concurrently (one thread each); every req->result is set. Returns 0
 * or -errno if the threads could not be started. */
int http_client_perform_many(HttpClientRequest *reqs, size_t n);
int http_client_get(const char *url, uint64_t timeout_ms, size_t max_body, HttpClientResponse *ret);
void http_client_response_done(HttpClientResponse *r);
/* The one place CURLcode becomes -errno. */
int http_client_errno_from_curl(int curl_code);
/* Closes the idle connections of every engine (tests, exit). */
void http_client_pool_flush(void);
