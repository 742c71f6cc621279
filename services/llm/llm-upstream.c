/* SPDX-License-Identifier: MIT */
/* llm-upstream.c — the streamed exchange with a backend (libcurl easy handles, each with
 * its own multi handle that keeps its connections alive, from a small pool; NDJSON/SSE
 * framing; timeouts in the progress callback; cancellation between waits). A call made on
 * a traced thread is a child span: it sends traceparent and logs its span line. */
#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include "http-client.h"
#include "json-util.h"
#include "llm-text.h"
#include "llm-upstream.h"
#include "log.h"
#include "time-util.h"
#include "trace.h"

#define POOL_MAX 64
#define LINE_MAX_BYTES (1024 * 1024)
#define WHOLE_MAX_BYTES (64 * 1024 * 1024) /* embeddings of many inputs */
#define ERROR_BODY_MAX 2048

/* A pooled easy handle with the multi handle it runs in: the multi handle holds the
 * kept-alive connections, and running the transfer ourselves (rather than
 * curl_easy_perform) lets a cancellable transfer look at its flag every
 * CANCEL_POLL_MS instead of at libcurl's once-a-second progress call. */
typedef struct PoolEntry {
        CURL *easy;
        CURLM *multi;
} PoolEntry;

#define CANCEL_POLL_MS 50
#define IDLE_POLL_MS 1000

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static PoolEntry pool[POOL_MAX];
static size_t pool_n;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_result;

/* curl_global_init initialises OpenSSL (and libssh2): 2.3 MB of touched code and heap
 * that an idle gateway, or one with no backend configured, never needs. */
static void global_init_once(void) {
        global_result = http_client_errno_from_curl(curl_global_init(CURL_GLOBAL_DEFAULT));
}

static void pool_entry_free(PoolEntry *e) {
        if (e->easy)
                curl_easy_cleanup(e->easy);
        if (e->multi)
                curl_multi_cleanup(e->multi);
        *e = (PoolEntry){};
}

static int pool_get(PoolEntry *ret) {
        PoolEntry e = {};
        int r;

        r = llm_upstream_global_init();
        if (r < 0)
                return r;
        pthread_mutex_lock(&pool_lock);
        if (pool_n > 0)
                e = pool[--pool_n];
        pthread_mutex_unlock(&pool_lock);
        if (e.easy) {
                curl_easy_reset(e.easy);
                *ret = e;
                return 0;
        }
        e.easy = curl_easy_init();
        e.multi = curl_multi_init();
        if (!e.easy || !e.multi) {
                pool_entry_free(&e);
                return -ENOMEM;
        }
        *ret = e;
        return 0;
}

static void pool_put(PoolEntry *e, bool reusable) {
        if (reusable) {
                pthread_mutex_lock(&pool_lock);
                if (pool_n < POOL_MAX) {
                        pool[pool_n++] = *e;
                        *e = (PoolEntry){};
                }
                pthread_mutex_unlock(&pool_lock);
        }
        pool_entry_free(e);
}

int llm_upstream_global_init(void) {
        pthread_once(&global_once, global_init_once);
        return global_result;
}

void llm_upstream_pool_flush(void) {
        pthread_mutex_lock(&pool_lock);
        while (pool_n > 0)
                pool_entry_free(&pool[--pool_n]);
        pthread_mutex_unlock(&pool_lock);
}

/* curl_easy_perform, with a check of the caller's cancel flag between waits. */
static CURLcode run_transfer(PoolEntry *e, const LlmUpstreamCallbacks *cb, bool *ret_cancelled) {
        int poll_ms = cb->cancelled ? CANCEL_POLL_MS : IDLE_POLL_MS, running = 1;
        CURLcode cc = CURLE_OK;
        CURLMcode mc;
        CURLMsg *msg;
        int left;

        *ret_cancelled = false;
        mc = curl_multi_add_handle(e->multi, e->easy);
        if (mc != CURLM_OK)
                return CURLE_OUT_OF_MEMORY;
        for (;;) {
                mc = curl_multi_perform(e->multi, &running);
                if (mc != CURLM_OK || running == 0)
                        break;
                if (cb->cancelled && cb->cancelled(cb->userdata)) {
                        *ret_cancelled = true;
                        break;
                }
                mc = curl_multi_poll(e->multi, NULL, 0, poll_ms, NULL);
                if (mc != CURLM_OK)
                        break;
        }
        if (mc != CURLM_OK)
                cc = CURLE_RECV_ERROR;
        else if (*ret_cancelled)
                cc = CURLE_ABORTED_BY_CALLBACK;
        while ((msg = curl_multi_info_read(e->multi, &left)))
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == e->easy)
                        cc = msg->data.result;
        /* Removing a transfer that is still running closes its connection. */
        (void) curl_multi_remove_handle(e->multi, e->easy);
        return cc;
}

const char *llm_failure_to_string(LlmFailure f) {
        static const char *const names[] = {
                [LLM_FAIL_NONE] = "ok",
                [LLM_FAIL_CONNECT] = "connect",
                [LLM_FAIL_TIMEOUT] = "timeout",
                [LLM_FAIL_HTTP_5XX] = "http_5xx",
                [LLM_FAIL_HTTP_429] = "rate_limited",
                [LLM_FAIL_HTTP_4XX] = "http_4xx",
                [LLM_FAIL_HTTP_BAD_REQUEST] = "bad_request",
                [LLM_FAIL_PROTOCOL] = "protocol",
                [LLM_FAIL_RESET] = "reset",
                [LLM_FAIL_CLIENT_GONE] = "cancelled",
                [LLM_FAIL_INTERNAL] = "internal",
        };
        return f < ELEMENTSOF(names) && names[f] ? names[f] : "unknown";
}

uint64_t llm_upstream_parse_retry_after(const char *v) {
        char *end;
        unsigned long long s;
        time_t t, now;

        if (isempty(v))
                return 0;
        while (isspace((unsigned char) *v))
                v++;
        if (isdigit((unsigned char) *v)) {
                errno = 0;
                s = strtoull(v, &end, 10);
                while (isspace((unsigned char) *end))
                        end++;
                if (errno != 0 || *end || s > 86400)
                        return 0;
                return (uint64_t) s * 1000u;
        }
        t = curl_getdate(v, NULL);
        now = time(NULL);
        if (t <= now)
                return 0;
        return (uint64_t) MIN(t - now, 86400) * 1000u;
}

typedef struct Transfer {
        const LlmBackend *backend;
        LlmParseState parse;
        LlmStreamFormat format;
        const LlmUpstreamCallbacks *cb;
        LlmAttempt *a;
        CURL *curl;
        uint64_t start_ms, last_data_ms, last_idle_call_ms;
        bool checked_status, error_status, got_data, done, aborted;
        LlmText line;
        LlmText sse_data; /* accumulated data: lines of the current SSE event */
        char sse_event[64];
        char errbody[ERROR_BODY_MAX + 1];
        size_t errbody_len;
        char retry_after[64];
} Transfer;

static void fail(Transfer *t, LlmFailure f, const char *fmt, ...) _printf_(3, 4);
static void fail(Transfer *t, LlmFailure f, const char *fmt, ...) {
        va_list ap;

        if (t->a->failure != LLM_FAIL_NONE)
                return; /* the first reason is the real one */
        t->a->failure = f;
        va_start(ap, fmt);
        vsnprintf(t->a->detail, sizeof(t->a->detail), fmt, ap);
        va_end(ap);
}

/* One parsed unit to the caller. */
static int deliver(Transfer *t, const char *event, const char *data, size_t len) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        LlmEvent ev;
        int r;

        if (t->cb->cancelled && t->cb->cancelled(t->cb->userdata)) {
                fail(t, LLM_FAIL_CLIENT_GONE, "cancelled before it finished");
                return -ECANCELED;
        }
        r = llm_provider_parse(t->backend->ops, &t->parse, event, data, len, &ev, &o);
        if (r == -EPROTO) {
                fail(t, LLM_FAIL_PROTOCOL, "backend reported an error in the stream: %s", ev.error);
                return r;
        }
        if (r < 0) {
                fail(t,
                     LLM_FAIL_PROTOCOL,
                     "malformed %s from the backend%s%s",
                     t->format == LLM_STREAM_WHOLE ? "answer"
                             : event               ? "SSE event"
                                                   : "stream line",
                     ev.error[0] ? ": " : "",
                     ev.error);
                return r;
        }
        if (ev.prompt_tokens >= 0)
                t->a->prompt_tokens = ev.prompt_tokens;
        if (ev.completion_tokens >= 0)
                t->a->completion_tokens = ev.completion_tokens;
        if (ev.finish_reason)
                snprintf(t->a->finish_reason, sizeof(t->a->finish_reason), "%s", ev.finish_reason);
        if (ev.done)
                t->done = true;
        if ((ev.text_len > 0 || ev.n_tools > 0) && !t->a->first_byte) {
                t->a->first_byte = true;
                t->a->ttft_ms = time_now_ms(CLOCK_MONOTONIC) - t->start_ms;
        }
        if (ev.text_len > 0 || ev.n_tools > 0 || ev.embeddings || ev.done) {
                r = t->cb->event(t->cb->userdata, &ev);
                if (r == -EPROTO) {
                        fail(t, LLM_FAIL_PROTOCOL, "the backend's tool calls are malformed or too long");
                        return r;
                }
                if (r < 0) {
                        fail(t, LLM_FAIL_CLIENT_GONE, "the client went away");
                        return r;
                }
        }
        return 0;
}

static int sse_line(Transfer *t, char *l, size_t n) {
        const char *v;
        int r;

        if (n == 0) { /* end of an event */
                if (t->sse_data.len == 0) {
                        t->sse_event[0] = '\0';
                        return 0;
                }
                r = deliver(t, t->sse_event[0] ? t->sse_event : NULL, t->sse_data.p, t->sse_data.len);
                llm_text_clear(&t->sse_data);
                t->sse_event[0] = '\0';
                return r;
        }
        if (l[0] == ':') /* comment / keep-alive */
                return 0;
        if ((v = startswith(l, "data:"))) {
                if (*v == ' ')
                        v++;
                if (t->sse_data.len > 0 && llm_text_append(&t->sse_data, "\n", 1, LINE_MAX_BYTES) < 0)
                        return -E2BIG;
                return llm_text_append(&t->sse_data, v, n - (size_t) (v - l), LINE_MAX_BYTES);
        }
        if ((v = startswith(l, "event:"))) {
                if (*v == ' ')
                        v++;
                snprintf(t->sse_event, sizeof(t->sse_event), "%s", v);
        }
        return 0; /* id:, retry: and unknown fields are ignored, as the SSE spec says */
}

static int line_done(Transfer *t, char *l, size_t n) {
        if (n > 0 && l[n - 1] == '\r')
                l[--n] = '\0';
        if (t->format == LLM_STREAM_SSE)
                return sse_line(t, l, n);
        if (n == 0)
                return 0;
        return deliver(t, NULL, l, n);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;

        if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
                size_t k = MIN(n - 12, sizeof(t->retry_after) - 1);
                memcpy(t->retry_after, p + 12, k);
                t->retry_after[k] = '\0';
                t->retry_after[strcspn(t->retry_after, "\r\n")] = '\0';
        }
        return n;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;

        if (!t->checked_status) {
                long code = 0;
                t->checked_status = true;
                curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
                t->a->http_status = code;
                t->error_status = code >= 300;
        }
        t->got_data = true;
        t->last_data_ms = time_now_ms(CLOCK_MONOTONIC);
        if (t->error_status) {
                size_t k = MIN(n, ERROR_BODY_MAX - t->errbody_len);
                memcpy(t->errbody + t->errbody_len, p, k);
                t->errbody_len += k;
                t->errbody[t->errbody_len] = '\0';
                return n;
        }
        if (t->format == LLM_STREAM_WHOLE) { /* read at the end */
                if (llm_text_append(&t->line, p, n, WHOLE_MAX_BYTES) < 0) {
                        fail(t, LLM_FAIL_PROTOCOL, "the backend's answer exceeds %d bytes", WHOLE_MAX_BYTES);
                        t->aborted = true;
                        return 0;
                }
                return n;
        }
        for (size_t i = 0; i < n; i++) {
                const char *nl = memchr(p + i, '\n', n - i);
                size_t k = nl ? (size_t) (nl - (p + i)) : n - i;
                int r;

                if (llm_text_append(&t->line, p + i, k, LINE_MAX_BYTES) < 0) {
                        fail(t,
                             LLM_FAIL_PROTOCOL,
                             "a stream line of the backend exceeds %d bytes",
                             LINE_MAX_BYTES);
                        t->aborted = true;
                        return 0;
                }
                i += k;
                if (!nl)
                        break;
                r = line_done(t, t->line.p, t->line.len);
                llm_text_clear(&t->line);
                if (r < 0) {
                        t->aborted = true;
                        return 0; /* CURLE_WRITE_ERROR: closes the upstream connection */
                }
        }
        return n;
}

static int
on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        Transfer *t = userdata;
        uint64_t now = time_now_ms(CLOCK_MONOTONIC);

        if (t->cb->cancelled && t->cb->cancelled(t->cb->userdata)) {
                fail(t, LLM_FAIL_CLIENT_GONE, "cancelled before it finished");
                t->aborted = true;
                return 1;
        }
        if (!t->got_data && now - t->start_ms > t->backend->first_byte_timeout_ms) {
                fail(t,
                     LLM_FAIL_TIMEOUT,
                     "no answer from the backend within %" PRIu64 " ms",
                     t->backend->first_byte_timeout_ms);
                t->aborted = true;
                return 1;
        }
        if (t->got_data && now - t->last_data_ms > t->backend->idle_timeout_ms) {
                fail(t,
                     LLM_FAIL_TIMEOUT,
                     "the backend's stream stalled for %" PRIu64 " ms",
                     t->backend->idle_timeout_ms);
                t->aborted = true;
                return 1;
        }
        if (t->a->first_byte && t->cb->idle && now - t->last_data_ms >= 1000 &&
            now - t->last_idle_call_ms >= 1000) {
                t->last_idle_call_ms = now;
                if (t->cb->idle(t->cb->userdata) < 0) {
                        fail(t, LLM_FAIL_CLIENT_GONE, "the client went away");
                        t->aborted = true;
                        return 1;
                }
        }
        return 0;
}

static void classify_status(Transfer *t) {
        long code = t->a->http_status;
        /* Error bodies end up in a problem detail: keep them short and on one line. */
        for (size_t i = 0; i < t->errbody_len; i++)
                if (t->errbody[i] == '\n' || t->errbody[i] == '\r')
                        t->errbody[i] = ' ';
        if (t->errbody_len > 200)
                strcpy(t->errbody + 197, "...");
        if (code == 429) {
                t->a->retry_after_ms = llm_upstream_parse_retry_after(t->retry_after);
                fail(t,
                     LLM_FAIL_HTTP_429,
                     "backend answered 429 (rate limited)%s%s: %s",
                     t->retry_after[0] ? ", Retry-After:" : "",
                     t->retry_after,
                     t->errbody);
        } else if (code >= 500) {
                t->a->retry_after_ms = llm_upstream_parse_retry_after(t->retry_after);
                fail(t, LLM_FAIL_HTTP_5XX, "backend answered %ld: %s", code, t->errbody);
        } else if (code == 400 || code == 413 || code == 422)
                fail(t, LLM_FAIL_HTTP_BAD_REQUEST, "backend answered %ld: %s", code, t->errbody);
        else
                fail(t, LLM_FAIL_HTTP_4XX, "backend answered %ld: %s", code, t->errbody);
}

/* The backend's headers and a traceparent for span (the caller's list is left as it is). */
static struct curl_slist *headers_with_trace(const struct curl_slist *headers, const TraceContext *span) {
        struct curl_slist *l = NULL, *n;
        char h[TRACEPARENT_LEN + 16], tp[TRACEPARENT_LEN + 1];

        for (const struct curl_slist *i = headers; i; i = i->next) {
                n = curl_slist_append(l, i->data);
                if (!n) {
                        curl_slist_free_all(l);
                        return NULL;
                }
                l = n;
        }
        trace_format(span, tp);
        snprintf(h, sizeof(h), "traceparent: %s", tp);
        n = curl_slist_append(l, h);
        if (!n)
                curl_slist_free_all(l);
        return n;
}

static void log_backend_span(const LlmBackend *b, const TraceContext *span, const LlmAttempt *a) {
        char f_backend[160], f_status[32];

        snprintf(f_backend, sizeof(f_backend), "BACKEND=%.140s", b->name);
        snprintf(f_status, sizeof(f_status), "STATUS=%ld", a->http_status);
        trace_log_span(
                LOG_INFO,
                span,
                TRACE_SPAN_CLIENT,
                "POST backend",
                a->duration_ms * 1000,
                a->failure == LLM_FAIL_NONE                  ? "ok"
                        : a->failure == LLM_FAIL_CLIENT_GONE ? "cancelled"
                                                             : "failed",
                (const char *[]){ f_backend, f_status, NULL },
                "backend %s: %s",
                b->name,
                llm_failure_to_string(a->failure));
}

int llm_upstream_run(
        const LlmBackend *b, const LlmHttpCall *call, const LlmUpstreamCallbacks *cb, LlmAttempt *ret) {
        Transfer t = {
                .backend = b,
                .parse = { .mode = call->mode, .n_inputs = call->n_inputs, .dimensions = call->dimensions },
                .format = call->format,
                .cb = cb,
                .a = ret,
        };
        PoolEntry pe = {};
        CURLcode cc;
        bool reusable = false, cancelled;
        TraceContext span = {};
        struct curl_slist *traced_headers = NULL;

        *ret = (LlmAttempt){ .prompt_tokens = -1, .completion_tokens = -1 };
        t.start_ms = t.last_data_ms = time_now_ms(CLOCK_MONOTONIC);
        if (pool_get(&pe) < 0) {
                fail(&t, LLM_FAIL_INTERNAL, "cannot create a libcurl handle");
                return -EIO;
        }
        t.curl = pe.easy;
        curl_easy_setopt(t.curl, CURLOPT_URL, call->url);
        curl_easy_setopt(t.curl, CURLOPT_POST, 1L);
        curl_easy_setopt(t.curl, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(t.curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(call->body));
        if (log_get_trace() && trace_child(log_get_trace(), &span) >= 0)
                traced_headers = headers_with_trace(call->headers, &span);
        curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, traced_headers ?: call->headers);
        curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
        curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT_MS, (long) b->connect_timeout_ms);
        curl_easy_setopt(t.curl, CURLOPT_TIMEOUT_MS, (long) b->timeout_ms);
        curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t.curl, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(t.curl, CURLOPT_ACCEPT_ENCODING, "identity");
        curl_easy_setopt(t.curl, CURLOPT_USERAGENT, "ai-semble-llm");

        cc = run_transfer(&pe, cb, &cancelled);
        if (cancelled) {
                fail(&t, LLM_FAIL_CLIENT_GONE, "cancelled before it finished");
                t.aborted = true;
        }
        ret->duration_ms = time_now_ms(CLOCK_MONOTONIC) - t.start_ms;
        if (!t.checked_status)
                curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &ret->http_status);

        if (t.aborted) {
                /* the reason is recorded already */
        } else if (cc == CURLE_OPERATION_TIMEDOUT)
                fail(&t,
                     LLM_FAIL_TIMEOUT,
                     "the backend did not finish within %" PRIu64 " ms",
                     b->timeout_ms);
        else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
                fail(&t, LLM_FAIL_CONNECT, "cannot connect to the backend: %s", curl_easy_strerror(cc));
        else if (cc != CURLE_OK)
                fail(&t, LLM_FAIL_RESET, "the connection to the backend broke: %s", curl_easy_strerror(cc));
        else if (ret->http_status >= 300 || ret->http_status < 200)
                classify_status(&t);
        else {
                /* A trailing line without newline still counts. */
                int k = 0;

                if (t.format == LLM_STREAM_WHOLE)
                        k = deliver(&t, NULL, t.line.p ?: "", t.line.len);
                else if (t.line.len > 0)
                        k = line_done(&t, t.line.p, t.line.len);
                if (k >= 0 && t.format == LLM_STREAM_SSE && t.sse_data.len > 0)
                        (void) sse_line(&t, NULL, 0);
                if (!t.done)
                        fail(&t, LLM_FAIL_PROTOCOL, "the backend's stream ended without its end marker");
                reusable = t.a->failure == LLM_FAIL_NONE;
        }
        pool_put(&pe, reusable);
        curl_slist_free_all(traced_headers);
        if (span.trace_id[0])
                log_backend_span(b, &span, ret);
        llm_text_done(&t.line);
        llm_text_done(&t.sse_data);
        return ret->failure == LLM_FAIL_NONE ? 0 : -EIO;
}
