/* SPDX-License-Identifier: MIT */
/* http-input.c — one connection's way through a request on the event threads: the head
 * (found, parsed, admitted), an ordinary route's body (Content-Length into one buffer,
 * chunked decoded in place), the hand-off to a handler, replies queued before one runs,
 * keep-alive, and the lingering close after a reply that left input unread. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "http-internal.h"
#include "memory-util.h"

#define HEAD_SLACK 1024

/* ---- reading requests ------------------------------------------------------------- */

typedef enum Step {
        STEP_MORE,  /* needs input */
        STEP_AGAIN, /* made progress, step again */
        STEP_DONE,  /* the connection moved on (dispatched, armed, closed): hands off */
} Step;

static Step conn_dispatch(HttpConn *c, HttpConn **run);
static void conn_next_request(HttpConn *c);

/* The request's strings, again whenever the buffer may have moved (a body grew it). */
static void request_strings(HttpConn *c) {
        HttpRequest *req = c->req;
        const HttpHead *h = &req->head;

        req->method = c->buf + h->method.off;
        req->query = h->has_query ? c->buf + h->query.off : NULL;
        req->path = h->path.len > 0 ? c->buf + h->path.off : "/";
}

/* The head is in buf[0..head_len): NUL-terminate what the request hands out as strings
 * (each ends at a space, '?', CR or trailing whitespace of the head). */
static void request_begin(HttpConn *c, size_t head_len) {
        HttpRequest *req = c->req;
        HttpHead *h = &req->head;
        char *b = c->buf;

        b[h->method.off + h->method.len] = '\0';
        if (h->has_query)
                b[h->query.off + h->query.len] = '\0';
        b[h->path.off + h->path.len] = '\0';
        for (unsigned i = 0; i < h->n_fields; i++)
                b[h->fields[i].value.off + h->fields[i].value.len] = '\0';
        request_strings(c);
        c->next = c->raw = head_len;
        req->t0 = http_now_usec();
        req->deadline = c->deadline;
}

/* Grows the input buffer; a request being read gets its strings back at the new place. */
static int conn_reserve(HttpConn *c, size_t need) {
        char *old = c->buf;
        int r = http_buf_reserve(&c->buf, &c->cap, need);

        if (r >= 0 && c->buf != old && c->state == HTTP_CONN_BODY)
                request_strings(c);
        return r;
}

static int conn_new_request(HttpConn *c) {
        HttpRequest *req = c->req;

        if (!req) {
                req = c->req = calloc(1, sizeof(HttpRequest));
                if (!req)
                        return -ENOMEM;
        }
        req->server = c->server;
        req->conn = c;
        req->route = NULL;
        req->body = req->body_alloc = NULL;
        req->body_len = req->n_params = req->extra_len = req->bytes = 0;
        req->extra_headers[0] = '\0';
        req->in_loop = true;
        req->replied = req->streaming = req->stream_raw = req->body_unread = req->body_incomplete = false;
        req->refused = req->said_close = req->head_sent = req->body_started = req->body_done =
                req->chunked_end = false;
        req->scratch_used = false;
        req->body_error = req->status = 0;
        req->body_read = req->body_left = 0;
        req->chunked = (HttpChunked){};
        atomic_store(&req->gone, false);
        req->gone_cb = NULL;
        req->method = "";
        req->path = "";
        req->query = NULL;
        req->request_id[0] = '\0';
        req->trace.trace_id[0] = '\0';
        return 0;
}

/* The reply is queued: send it, then close (the head could not be trusted). */
static Step conn_bad_head(HttpConn *c, int status, const char *why) {
        if (conn_new_request(c) < 0) {
                http_conn_close(c);
                return STEP_DONE;
        }
        c->req->head.keep_alive = false;
        http_server_reply_bad_head(c->req, status, why);
        c->after = HTTP_AFTER_LINGER;
        (void) http_input_flush(c);
        return STEP_DONE;
}

/* What follows a reply: keep the connection, close it, or half-close and wait for the
 * client, draining a small declared body so that the close does not reset the reply. */
static void conn_set_after(HttpConn *c, bool body_consumed) {
        HttpRequest *req = c->req;
        HttpHead *h = &req->head;
        bool has_body = h->chunked || h->content_length > 0;
        uint64_t left = body_consumed ? 0 : h->content_length - MIN(h->content_length, req->body_read);

        c->drain_left = 0;
        if (!http_reply_must_close(req))
                c->after = HTTP_AFTER_KEEP;
        else if (!has_body || body_consumed)
                c->after = HTTP_AFTER_CLOSE;
        else if (
                req->refused || req->body_incomplete || h->expect_continue || h->chunked ||
                left > HTTP_DRAIN_MAX)
                c->after = HTTP_AFTER_LINGER; /* nothing more is read */
        else {
                c->after = HTTP_AFTER_LINGER_DRAIN;
                c->drain_left = left;
        }
}

static Step step_head(HttpConn *c, HttpConn **run) {
        HttpServer *s = c->server;
        HttpRequest *req;
        const char *why;
        size_t skip;
        int r, status;

        r = http_parse_head_end(c->buf, c->len, &c->scan, &skip);
        if (skip > 0) {
                memmove(c->buf, c->buf + skip, c->len - skip);
                c->len -= skip;
                c->scan = c->scan > skip ? c->scan - skip : 0;
        }
        if (r < 0)
                return conn_bad_head(c, 400, "bare CR or LF in the request head");
        if (r == 0)
                return c->len >= s->config.max_header ? conn_bad_head(c, 431, "request head too large")
                                                      : STEP_MORE;
        if ((size_t) r > s->config.max_header)
                return conn_bad_head(c, 431, "request head too large");
        if (conn_new_request(c) < 0) {
                http_conn_close(c);
                return STEP_DONE;
        }
        req = c->req;
        status = http_parse_head(c->buf, (size_t) r, &req->head, &why);
        if (status > 0)
                return conn_bad_head(c, status, why);
        request_begin(c, (size_t) r);

        switch (http_server_admit(req)) {
        case HTTP_ADMIT_REPLIED:
                http_server_end(req);
                if (!req->replied) {
                        http_conn_close(c); /* could not even answer */
                        return STEP_DONE;
                }
                req->body_read = MIN(c->len - c->raw, (size_t) req->head.content_length);
                conn_set_after(c, false);
                return http_input_flush(c) ? STEP_AGAIN : STEP_DONE;
        case HTTP_ADMIT_RUN:
                return conn_dispatch(c, run);
        case HTTP_ADMIT_READ_BODY:
                break;
        }

        /* Room for the whole body after the head, unless it is large. */
        if (req->head.has_content_length && !http_conn_reserve_body(c, req->head.content_length)) {
                http_server_reject_body(req, -ENOBUFS);
                c->after = HTTP_AFTER_LINGER;
                (void) http_input_flush(c);
                return STEP_DONE;
        }
        if (req->head.has_content_length) {
                uint64_t need = (uint64_t) r + req->head.content_length + 1;

                if (need <= HTTP_BUF_INLINE_MAX) {
                        r = http_buf_reserve(&c->buf, &c->cap, (size_t) need);
                        request_strings(c);
                } else {
                        size_t have = MIN(c->len - c->raw, (size_t) req->head.content_length);

                        req->body_alloc = malloc((size_t) req->head.content_length + 1);
                        r = req->body_alloc ? 0 : -ENOMEM;
                        if (r >= 0) {
                                /* A body of megabytes is fresh memory: a fault a 4 KiB page
                                 * was a twentieth of a 49 MB CSV's analyze. */
                                memory_want_huge_pages(req->body_alloc, (size_t) req->head.content_length);
                                memcpy(req->body_alloc, c->buf + c->raw, have);
                                req->body_len = have;
                                c->raw += have;
                        }
                }
                if (r < 0) {
                        http_conn_close(c);
                        return STEP_DONE;
                }
        }
        c->state = HTTP_CONN_BODY;
        if (req->head.expect_continue) {
                (void) http_conn_queue(
                        c, &(struct iovec){ (void *) "HTTP/1.1 100 Continue\r\n\r\n", 25 }, 1);
                c->after = HTTP_AFTER_BODY;
                return http_input_flush(c) ? STEP_AGAIN : STEP_DONE;
        }
        return STEP_AGAIN;
}

/* An ordinary route's body, read here so that only complete requests reach a handler. */
static Step step_body(HttpConn *c, HttpConn **run) {
        HttpRequest *req = c->req;
        HttpHead *h = &req->head;
        uint64_t max =
                req->route && req->route->max_body ? req->route->max_body : c->server->config.max_body;

        if (h->has_content_length) {
                if (req->body_alloc) {
                        if (req->body_len < h->content_length)
                                return STEP_MORE;
                        req->body = req->body_alloc;
                        c->next = c->raw;
                } else {
                        if (c->len - h->length < h->content_length)
                                return STEP_MORE;
                        req->body = c->buf + h->length;
                        req->body_len = (size_t) h->content_length;
                        c->next = h->length + req->body_len;
                        if (c->next < c->len) {
                                c->saved = c->buf[c->next];
                                c->saved_valid = true;
                        }
                }
        } else {
                size_t in, out, dec = h->length + req->body_len;
                int r = http_chunked_decode(
                        &req->chunked,
                        c->buf + c->raw,
                        c->len - c->raw,
                        c->buf + dec,
                        (size_t) (max + 1 - req->body_len),
                        c->server->config.max_header,
                        &in,
                        &out);

                c->raw += in;
                req->body_len += out;
                if (req->body_len > c->reserved && req->body_len <= max &&
                    !http_conn_reserve_body(
                            c, MAX((uint64_t) req->body_len - c->reserved, (uint64_t) 65536)))
                        r = -ENOBUFS;
                if (req->body_len > max || r < 0) {
                        http_server_reject_body(req, req->body_len > max ? -E2BIG : r);
                        c->after = HTTP_AFTER_LINGER;
                        (void) http_input_flush(c);
                        return STEP_DONE;
                }
                if (r == 0) {
                        /* Keep the undecoded rest right after the decoded bytes. */
                        dec += out;
                        memmove(c->buf + dec, c->buf + c->raw, c->len - c->raw);
                        c->len = dec + (c->len - c->raw);
                        c->raw = dec;
                        if (c->cap - c->len < HTTP_BUF_INITIAL &&
                            conn_reserve(c, c->cap + HTTP_BUF_INITIAL) < 0) {
                                http_conn_close(c);
                                return STEP_DONE;
                        }
                        return STEP_MORE;
                }
                req->body = c->buf + h->length;
                c->next = c->raw; /* raw > the decoded end: framing bytes lie between */
        }
        req->body[req->body_len] = '\0';
        return conn_dispatch(c, run);
}

static Step conn_step(HttpConn *c, HttpConn **run) {
        switch (c->state) {
        case HTTP_CONN_IDLE:
                if (c->len == 0)
                        return STEP_MORE;
                c->state = HTTP_CONN_HEAD;
                c->scan = 0;
                http_conn_set_timer(c, HTTP_TIMER_REQUEST, c->server->config.request_timeout_ms);
                return STEP_AGAIN;
        case HTTP_CONN_HEAD:
                return c->len == 0 ? STEP_MORE : step_head(c, run);
        case HTTP_CONN_BODY:
                return step_body(c, run);
        default:
                return STEP_DONE;
        }
}

/* The client closed its end before the request was complete. */
static void conn_eof(HttpConn *c) {
        if (c->state == HTTP_CONN_BODY) {
                http_server_reject_body(c->req, -EIO);
                c->after = HTTP_AFTER_CLOSE;
                (void) http_input_flush(c);
                return;
        }
        http_conn_close(c);
}

/* Reads into the connection's buffer (or a large body's own) and steps until the
 * connection moves on. Never touches it after arming: another thread may own it then.
 * Without `ready` (no event said there is input: a reply just went out) it arms at once
 * rather than spend a read on an empty socket. */
void http_input_advance(HttpConn *c, HttpConn **run, bool ready) {
        bool drained = !ready;

        for (;;) {
                Step st = conn_step(c, run);
                size_t room;
                ssize_t n;
                char *at;

                if (st == STEP_DONE)
                        return;
                if (st == STEP_AGAIN)
                        continue;
                if (drained) {
                        /* The last read did not fill the buffer: wait instead of reading again. */
                        if (http_conn_arm(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD) < 0)
                                goto fail;
                        return;
                }
                if (c->state == HTTP_CONN_BODY && c->req->body_alloc) {
                        at = c->req->body_alloc + c->req->body_len;
                        room = (size_t) c->req->head.content_length - c->req->body_len;
                } else {
                        size_t want = c->len + HTTP_BUF_INITIAL;

                        if (c->state != HTTP_CONN_BODY)
                                want = MIN(want, c->server->config.max_header + HEAD_SLACK);
                        if ((c->cap == 0 || c->cap - c->len < 512) && conn_reserve(c, want) < 0)
                                goto fail;
                        at = c->buf + c->len;
                        room = c->cap - c->len - 1; /* one byte for a body's NUL */
                }
                n = recv(c->fd, at, room, 0);
                if (n > 0) {
                        if (c->state == HTTP_CONN_BODY && c->req->body_alloc)
                                c->req->body_len += (size_t) n;
                        else
                                c->len += (size_t) n;
                        drained = (size_t) n < room;
                        continue;
                }
                if (n == 0) {
                        conn_eof(c);
                        return;
                }
                if (errno == EINTR)
                        continue;
                if (errno == EAGAIN) {
                        drained = true;
                        continue;
                }
                goto fail;
        }
fail:
        if (c->state == HTTP_CONN_BODY)
                http_server_end(c->req);
        http_conn_close(c);
}

/* ---- running requests --------------------------------------------------------------- */

static Step conn_dispatch(HttpConn *c, HttpConn **run) {
        HttpServer *s = c->server;
        bool expired;

        http_conn_clear_timer(c);
        pthread_mutex_lock(&c->lock);
        expired = c->expired;
        pthread_mutex_unlock(&c->lock);
        if (expired) {
                http_server_end(c->req);
                http_conn_close(c);
                return STEP_DONE;
        }
        /* A stream route's handler reads more input into the room after the head. */
        if (c->req->route && (c->req->route->flags & HTTP_ROUTE_STREAM_BODY) &&
            http_buf_reserve(&c->buf, &c->cap, c->len + HTTP_BUF_INITIAL) < 0) {
                http_server_end(c->req);
                http_conn_close(c);
                return STEP_DONE;
        }
        request_strings(c);
        c->state = HTTP_CONN_RUNNING;
        c->req->in_loop = false;
        if (*run == HTTP_SLOT_HELD) {
                *run = c; /* this thread's slot, free after the previous request */
                return STEP_DONE;
        }
        pthread_mutex_lock(&s->qlock);
        if (s->running < s->config.threads) {
                s->running++;
                *run = c;
        } else if (
                c->req->route && (c->req->route->flags & HTTP_ROUTE_CONTROL) &&
                s->controls < HTTP_CONTROL_SLOTS) {
                s->controls++;
                c->control_slot = true;
                *run = c;
        } else {
                c->qnext = NULL;
                if (s->qtail)
                        s->qtail->qnext = c;
                else
                        s->qhead = c;
                s->qtail = c;
        }
        pthread_mutex_unlock(&s->qlock);
        return STEP_DONE;
}

/* After a handler (this thread holds its slot, *run == HTTP_SLOT_HELD): the next request on
 * the connection, or closing it as the reply said. */
void http_input_after_run(HttpConn *c, HttpConn **run) {
        HttpRequest *req = c->req;
        bool consumed;

        http_conn_unwatch_gone(c);
        if (req->streaming || req->stream_raw) {
                http_conn_close(c); /* an unterminated or close-delimited body */
                return;
        }
        consumed = !(req->route && (req->route->flags & HTTP_ROUTE_STREAM_BODY)) || req->body_done;
        conn_set_after(c, consumed && !req->body_unread);
        if (c->after != HTTP_AFTER_KEEP) {
                (void) http_input_flush(c);
                return;
        }
        conn_next_request(c);
        http_input_advance(c, run, false);
}

static void conn_next_request(HttpConn *c) {
        http_conn_release_body(c);
        if (c->saved_valid) {
                c->buf[c->next] = c->saved;
                c->saved_valid = false;
        }
        if (c->req) {
                free(c->req->body_alloc);
                c->req->body_alloc = NULL;
        }
        memmove(c->buf, c->buf + c->next, c->len - c->next);
        c->len -= c->next;
        c->next = c->raw = c->scan = 0;
        c->state = HTTP_CONN_IDLE;
        if (c->len == 0) {
                if (c->cap > HTTP_BUF_INLINE_MAX) {
                        free(c->buf);
                        c->buf = NULL;
                        c->cap = 0;
                }
                /* Draining: the client's next request, if it comes soon, hears Connection: close. */
                http_conn_set_timer(
                        c,
                        HTTP_TIMER_IDLE,
                        atomic_load(&c->server->draining) ? HTTP_DRAIN_IDLE_GRACE_MS
                                                          : c->server->config.keep_alive_timeout_ms);
        }
}

/* Sends what the event threads queued, then does c->after. Returns true when the
 * caller still owns the connection and should go on reading (next request, or a body
 * after 100 Continue); false when it was armed, closed or left to linger. */
bool http_input_flush(HttpConn *c) {
        c->state = HTTP_CONN_WRITE;
        while (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);

                if (n > 0) {
                        c->out_sent += (size_t) n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN && http_conn_arm(c, EPOLLOUT, EPOLL_CTL_MOD) >= 0)
                        return false;
                http_conn_close(c);
                return false;
        }
        c->out_len = c->out_sent = 0;
        switch (c->after) {
        case HTTP_AFTER_BODY:
                c->state = HTTP_CONN_BODY;
                return true;
        case HTTP_AFTER_KEEP:
                conn_next_request(c);
                return true;
        case HTTP_AFTER_CLOSE:
                break;
        case HTTP_AFTER_LINGER:
        case HTTP_AFTER_LINGER_DRAIN:
                /* FIN after the reply, then read nothing more (or a small declared body)
                 * until the client closes: closing with unread input sends an RST, which
                 * can destroy the reply before the client has read it. */
                (void) shutdown(c->fd, SHUT_WR);
                c->state = HTTP_CONN_LINGER;
                if (c->after == HTTP_AFTER_LINGER)
                        c->drain_left = 0;
                http_conn_set_timer(
                        c, HTTP_TIMER_LINGER, MIN(c->server->config.request_timeout_ms, HTTP_LINGER_MS));
                if (http_conn_arm(c, c->drain_left > 0 ? EPOLLIN | EPOLLRDHUP : EPOLLRDHUP, EPOLL_CTL_MOD) >=
                    0)
                        return false;
                break;
        }
        http_conn_close(c);
        return false;
}

void http_input_linger(HttpConn *c) {
        char buf[4096];

        while (c->drain_left > 0) {
                ssize_t n = recv(c->fd, buf, MIN(sizeof(buf), c->drain_left), 0);

                if (n > 0) {
                        c->drain_left -= (uint64_t) n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN && http_conn_arm(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_MOD) >= 0)
                        return;
                break;
        }
        http_conn_close(c); /* drained, or the client closed, or reset */
}

/* The deadline passed while the connection waited: a request that had begun gets 408. */
