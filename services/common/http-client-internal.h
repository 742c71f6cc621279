/* SPDX-License-Identifier: MIT */
/* http-client-internal.h — the engines behind http_client_perform(): libcurl
 * (http-client-curl.c) and the plain keep-alive client for calls between the pod's
 * services (http-client-plain.c). http-client.c picks one per call and wraps it in the
 * call's span. */
#pragma once

#include "http-client.h"

typedef struct HttpClientEngine {
        const char *name;
        /* Whether the engine can make this call at all. */
        bool (*takes)(const HttpClientRequest *req);
        /* Makes the call: fills req->response (status, body, total_ms, error) and returns 0
         * when a response arrived, else -errno. traceparent is a whole header line
         * ("traceparent: ...") or NULL. */
        int (*perform)(HttpClientRequest *req, const char *traceparent);
        /* Closes the idle connections it keeps. */
        void (*flush)(void);
} HttpClientEngine;

extern const HttpClientEngine http_client_engine_curl;
extern const HttpClientEngine http_client_engine_plain;
