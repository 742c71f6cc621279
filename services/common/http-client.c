/* SPDX-License-Identifier: MIT */
/* http-client.c — libcurl easy handles from a small pool, so connections to the other
 * containers are kept alive between calls. A call made on a traced thread is a child span:
 * it sends traceparent and logs its span line. */
#include <pthread.h>

#include <curl/curl.h>

#include "http-client.h"
#include "log.h"
#include "time-util.h"
#include "trace.h"

#define POOL_MAX 32

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL_MAX];
static size_t pool_n;

static void curl_init_once(void) {
        (void) curl_global_init(CURL_GLOBAL_DEFAULT);
}

static CURL *pool_get(void) {
        CURL *c = NULL;

        pthread_once(&curl_once, curl_init_once);
        pthread_mutex_lock(&pool_lock);
        if (pool_n > 0)
                c = pool[--pool_n];
        pthread_mutex_unlock(&pool_lock);
        return c ? c : curl_easy_init();
}

static void pool_put(CURL *c) {
        curl_easy_reset(c); /* keeps live connections and the DNS cache */
        pthread_mutex_lock(&pool_lock);
        if (pool_n < POOL_MAX) {
                pool[pool_n++] = c;
                c = NULL;
        }
        pthread_mutex_unlock(&pool_lock);
        if (c)
                curl_easy_cleanup(c);
}

void http_client_pool_flush(void) {
        pthread_mutex_lock(&pool_lock);
        while (pool_n > 0)
                curl_easy_cleanup(pool[--pool_n]);
        pthread_mutex_unlock(&pool_lock);
}

int http_client_errno_from_curl(int curl_code) {
        switch ((CURLcode) curl_code) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_FUNCTION_ARGUMENT:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                return -EPROTO;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_TOO_MANY_REDIRECTS:
                return -ELOOP;
        default:
                return -EIO;
        }
}

typedef struct Sink {
        char *buf;
        size_t len, max;
        HttpClientRequest *req;
        CURL *curl;
        bool aborted; /* by the caller's callback: -ECANCELED */
} Sink;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        Sink *s = userdata;
        size_t n = size * nmemb;
        char *nb;

        if (s->req->on_data) {
                long status = 0;

                (void) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
                if (s->req->on_data(status, data, n, s->req->userdata) < 0) {
                        s->aborted = true;
                        return 0;
                }
                return n;
        }
        if (s->len + n > s->max)
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        nb = realloc(s->buf, s->len + n + 1);
        if (!nb)
                return 0;
        memcpy(nb + s->len, data, n);
        s->len += n;
        nb[s->len] = '\0';
        s->buf = nb;
        return n;
}

/* One header line of a streamed response; a status line starts the headers over (interim
 * 1xx responses have their own). */
static size_t header_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        Sink *s = userdata;
        size_t n = size * nmemb, nl;
        char line[1024], *colon, *v;

        if (n < 2 || strncmp(data, "HTTP/", 5) == 0)
                return n;
        nl = MIN(n, sizeof(line) - 1);
        memcpy(line, data, nl);
        line[nl] = '\0';
        line[strcspn(line, "\r\n")] = '\0';
        colon = strchr(line, ':');
        if (!colon)
                return n;
        *colon = '\0';
        v = colon + 1;
        v += strspn(v, " \t");
        if (s->req->on_header(line, v, s->req->userdata) < 0) {
                s->aborted = true;
                return 0;
        }
        return n;
}

static size_t read_cb(char *buf, size_t size, size_t nmemb, void *userdata) {
        Sink *s = userdata;
        ssize_t k = s->req->read_body(buf, size * nmemb, s->req->userdata);

        if (k < 0) {
                s->aborted = true;
                return CURL_READFUNC_ABORT;
        }
        return (size_t) k;
}

static int
xferinfo_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        const int *cancel = userdata;

        return __atomic_load_n(cancel, __ATOMIC_RELAXED) ? 1 : 0;
}

/* "METHOD /path" of a call for its span line, and its peer as PEER=host:port. */
static void
call_span_fields(const HttpClientRequest *req, char *name, size_t name_size, char *peer, size_t peer_size) {
        const char *method = req->method ?: (req->body || req->read_body ? "POST" : "GET");
        const char *host = strstr(req->url, "://"), *path;

        host = host ? host + 3 : req->url;
        path = host + strcspn(host, "/?");
        snprintf(peer, peer_size, "PEER=%.*s", (int) MIN((size_t) (path - host), (size_t) 200), host);
        snprintf(
                name,
                name_size,
                "%.20s %.*s",
                method,
                (int) MIN(strcspn(path, "?"), (size_t) 256),
                path[0] ? path : "/");
}

/* The call's span line: a child of the calling thread's span, whose id the callee got as
 * its traceparent's parent. */
static void log_call_span(const HttpClientRequest *req, const TraceContext *span, uint64_t usec, int r) {
        char name[300], peer[220], status[32];
        const char *fields[] = { peer, status, NULL };

        call_span_fields(req, name, sizeof(name), peer, sizeof(peer));
        snprintf(status, sizeof(status), "STATUS=%ld", req->response.status);
        trace_log_span(
                LOG_INFO,
                span,
                TRACE_SPAN_CLIENT,
                name,
                usec,
                r == -ECANCELED ? "cancelled"
                        : r < 0 ? "failed"
                                : trace_outcome((int) req->response.status),
                fields,
                "call %s: %s",
                name,
                r < 0 ? req->response.error : "answered");
}

void http_client_response_done(HttpClientResponse *r) {
        free(r->body);
        r->body = NULL;
        r->body_len = 0;
}

int http_client_perform(HttpClientRequest *req) {
        HttpClientResponse *resp = &req->response;
        struct curl_slist *headers = NULL;
        char hbuf[256], tbuf[TRACEPARENT_LEN + 16];
        TraceContext span = {};
        uint64_t t0 = 0;
        Sink sink = { .max = req->max_body ? req->max_body : 1024 * 1024, .req = req };
        uint64_t timeout = req->timeout_ms ? req->timeout_ms : 10000;
        double total = 0;
        CURLcode cc;
        CURL *c;
        int r;

        *resp = (HttpClientResponse){};
        if (!req->url)
                return (req->result = -EINVAL);
        c = pool_get();
        if (!c)
                return (req->result = -ENOMEM);
        sink.curl = c;

        (void) curl_easy_setopt(c, CURLOPT_URL, req->url);
        (void) curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        (void) curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        (void) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) timeout);
        (void) curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) timeout);
        (void) curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        (void) curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, resp->error);
        (void) curl_easy_setopt(c, CURLOPT_USERAGENT, "ai-semble/1");
        if (req->request_id) {
                snprintf(hbuf, sizeof(hbuf), "X-Request-ID: %s", req->request_id);
                headers = curl_slist_append(headers, hbuf);
        }
        if (log_get_trace() && trace_child(log_get_trace(), &span) >= 0) {
                char tp[TRACEPARENT_LEN + 1];

                trace_format(&span, tp);
                snprintf(tbuf, sizeof(tbuf), "traceparent: %s", tp);
                headers = curl_slist_append(headers, tbuf);
                t0 = time_now_usec(CLOCK_MONOTONIC);
        }
        if (req->body || req->read_body) {
                snprintf(
                        hbuf,
                        sizeof(hbuf),
                        "Content-Type: %s",
                        req->content_type ? req->content_type : "application/json");
                headers = curl_slist_append(headers, hbuf);
        }
        if (req->body) {
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
                (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
        } else if (req->read_body) {
                (void) curl_easy_setopt(c, CURLOPT_POST, 1L);
                (void) curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
                (void) curl_easy_setopt(c, CURLOPT_READDATA, &sink);
                if (req->body_len > 0)
                        (void) curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
                else
                        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
                /* The peer reads as it can: no 1 s wait for a 100 Continue first. */
                headers = curl_slist_append(headers, "Expect:");
        }
        for (size_t i = 0; req->headers && req->headers[i]; i++)
                headers = curl_slist_append(headers, req->headers[i]);
        if (req->on_header) {
                (void) curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
                (void) curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
        }
        if (req->idle_timeout_ms > 0) {
                (void) curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
                (void) curl_easy_setopt(
                        c, CURLOPT_LOW_SPEED_TIME, (long) MAX(req->idle_timeout_ms / 1000, (uint64_t) 1));
        }
        if (req->method)
                (void) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->cancel) {
                (void) curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xferinfo_cb);
                (void) curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *) req->cancel);
                (void) curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        }
        if (headers)
                (void) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);

        cc = curl_easy_perform(c);
        r = sink.aborted ? -ECANCELED : http_client_errno_from_curl(cc);
        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        (void) curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &total);
        resp->total_ms = total * 1000.0;
        if (r < 0 && resp->error[0] == '\0')
                snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(cc));
        (void) curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
        curl_slist_free_all(headers);
        pool_put(c);
        if (span.trace_id[0])
                log_call_span(req, &span, time_now_usec(CLOCK_MONOTONIC) - t0, r);

        if (r < 0) {
                free(sink.buf);
                return (req->result = r);
        }
        resp->body = sink.buf;
        resp->body_len = sink.len;
        return (req->result = 0);
}

typedef struct ManyCall {
        HttpClientRequest *req;
        TraceContext trace; /* the caller's span: each call is its child */
} ManyCall;

static void *perform_thread(void *userdata) {
        ManyCall *m = userdata;

        log_set_trace(&m->trace);
        (void) http_client_perform(m->req);
        return NULL;
}

int http_client_perform_many(HttpClientRequest *reqs, size_t n) {
        _cleanup_free_ pthread_t *threads = NULL;
        _cleanup_free_ bool *started = NULL;
        _cleanup_free_ ManyCall *calls = NULL;
        const TraceContext *cur = log_get_trace();

        if (n == 0)
                return 0;
        threads = calloc(n, sizeof(pthread_t));
        started = calloc(n, sizeof(bool));
        calls = calloc(n, sizeof(ManyCall));
        if (!threads || !started || !calls)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                calls[i].req = &reqs[i];
                if (cur)
                        calls[i].trace = *cur;
                started[i] = pthread_create(&threads[i], NULL, perform_thread, &calls[i]) == 0;
        }
        for (size_t i = 0; i < n; i++) {
                if (started[i])
                        pthread_join(threads[i], NULL);
                else
                        /* Could not get a thread: do it inline rather than drop it. */
                        (void) http_client_perform(&reqs[i]);
        }
        return 0;
}

int http_client_get(const char *url, uint64_t timeout_ms, size_t max_body, HttpClientResponse *ret) {
        HttpClientRequest req = { .url = url, .timeout_ms = timeout_ms, .max_body = max_body };
        int r;

        r = http_client_perform(&req);
        if (r < 0)
                return r;
        *ret = req.response;
        return 0;
}
