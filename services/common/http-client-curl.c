/* SPDX-License-Identifier: MIT */
/* http-client-curl.c — the libcurl engine of http-client: easy handles from a small pool,
 * so connections are kept alive between calls; TLS, proxies, streamed bodies. */
#include <pthread.h>

#include <curl/curl.h>

#include "http-client-internal.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
#define POOL_MAX 32

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

static void curl_flush(void) {
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

static int curl_perform(HttpClientRequest *req, const char *traceparent) {
        HttpClientResponse *resp = &req->response;
        struct curl_slist *headers = NULL;
        char hbuf[256];
        Sink sink = { .max = req->max_body ? req->max_body : 1024 * 1024, .req = req };
        uint64_t timeout = req->timeout_ms ? req->timeout_ms : 10000;
        double total = 0;
        CURLcode cc;
        CURL *c;
        int r;

        c = pool_get();
        if (!c)
                return -ENOMEM;
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
        if (traceparent)
                headers = curl_slist_append(headers, traceparent);
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
        if (r < 0) {
                free(sink.buf);
                return r;
        }
        resp->body = sink.buf;
        resp->body_len = sink.len;
        return 0;
}

static bool curl_takes(const HttpClientRequest *req) {
        return true;
}

const HttpClientEngine http_client_engine_curl = {
        .name = "curl",
        .takes = curl_takes,
        .perform = curl_perform,
        .flush = curl_flush,
};
