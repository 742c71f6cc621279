/* SPDX-License-Identifier: MIT */
/* http-internal.h — what the files of the HTTP server share: the server, a connection and
 * a request. http-loop.c owns connections and the threads that poll them, http-server.c
 * routing and the request's life, http-reply.c replies, http-body.c a stream route's body.
 *
 * Ownership: a connection belongs to exactly one thread at a time. While it waits for
 * input it belongs to nobody and is "armed" in the epoll set (EPOLLONESHOT) with a fresh
 * sequence number in the event's data; the thread that claims the event under conn->lock
 * (armed, same sequence) owns it, as does the timer sweep when it claims an armed
 * connection whose deadline passed. A stale event (older sequence) is ignored, so no
 * thread ever acts on a connection it does not own. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/uio.h>

#include "http-parse.h"
#include "http-server.h"

#define HTTP_EXTRA_HEADERS_MAX 2048
#define HTTP_MAX_LISTENERS 8
#define HTTP_CONTROL_SLOTS 2 /* threads beyond config.threads for HTTP_ROUTE_CONTROL handlers */
#define HTTP_BUF_INITIAL 4096
#define HTTP_BUF_INLINE_MAX (64 * 1024) /* larger Content-Length bodies get their own buffer */
#define HTTP_DRAIN_MAX (64 * 1024)      /* unread body bytes worth reading so a reply survives */
#define HTTP_LINGER_MS 1000             /* how long a closing connection waits for the client */
#define HTTP_DRAIN_IDLE_GRACE_MS 500    /* an idle connection from an adopted socket, draining */

typedef struct HttpConn HttpConn;

typedef enum HttpConnState {
        HTTP_CONN_IDLE,    /* keep-alive: waiting for the next request */
        HTTP_CONN_HEAD,    /* reading a request head */
        HTTP_CONN_BODY,    /* reading an ordinary route's body */
        HTTP_CONN_RUNNING, /* queued for or running a handler */
        HTTP_CONN_WRITE,   /* sending a reply the event threads made, then `after` */
        HTTP_CONN_LINGER,  /* reply sent with the body unread: waiting for the client's close */
} HttpConnState;

typedef enum HttpAfter {
        HTTP_AFTER_KEEP,        /* next request */
        HTTP_AFTER_BODY,        /* go on reading the body (after 100 Continue) */
        HTTP_AFTER_CLOSE,       /* close now */
        HTTP_AFTER_LINGER,      /* half-close, read nothing more, wait for the client */
        HTTP_AFTER_LINGER_DRAIN /* half-close, read and drop a small declared body */
} HttpAfter;

typedef enum HttpTimerList {
        HTTP_TIMER_NONE = -1,
        HTTP_TIMER_REQUEST, /* deadline = start of the request + request_timeout_ms */
        HTTP_TIMER_IDLE,    /* keep_alive_timeout_ms */
        HTTP_TIMER_LINGER,  /* HTTP_LINGER_MS */
        _HTTP_TIMER_MAX,
} HttpTimerList;

struct HttpRequest {
        HttpServer *server;
        HttpConn *conn;
        HttpHead head; /* slices of conn->buf */
        const char *method, *path, *query;
        const HttpRoute *route;
        char request_id[HTTP_REQUEST_ID_MAX + 1];
        TraceContext trace; /* this request's span ("" trace id = not traced) */
        uint64_t t0;        /* µs, monotonic: the head was complete */
        uint64_t deadline;  /* µs: the head and body must have arrived */
        /* The body: in conn->buf, or in body_alloc when large. */
        char *body, *body_alloc;
        size_t body_len;
        struct {
                const char *name; /* points into the route pattern */
                size_t name_len;
                const char *value; /* points into conn->aux */
        } params[HTTP_MAX_PARAMS];
        size_t n_params;
        char extra_headers[HTTP_EXTRA_HEADERS_MAX];
        size_t extra_len;
        bool in_loop; /* replies are queued on the connection, never block */
        bool replied, streaming, stream_raw, body_unread, body_incomplete, refused, said_close;
        bool head_sent; /* the reply's head is composed: said_close is what it said */
        /* A stream route's body as its handler pulls it. */
        bool body_started, body_done, chunked_end;
        int body_error;
        uint64_t body_read, body_left; /* Content-Length bytes still on the wire */
        HttpChunked chunked;
        int status;
        size_t bytes;
        /* Watching for the client's close while a handler runs. */
        atomic_bool gone;
        void (*gone_cb)(void *userdata);
        void *gone_userdata;
        bool scratch_used;
        _Alignas(max_align_t) unsigned char scratch[HTTP_REQUEST_SCRATCH_SIZE];
};

struct HttpConn {
        pthread_mutex_t lock; /* armed, seq, gen, expired, fd's lifetime, the gone watch */
        HttpServer *server;
        uint32_t slot, seq;
        _Atomic uint32_t gen; /* bumped when the slot gets a new connection */
        bool armed, expired;
        atomic_bool arming; /* a thread is in epoll_ctl() for it */
        int fd;
        HttpConnState state;
        HttpAfter after;
        /* Timer list membership, under server->tlock. */
        HttpConn *tprev, *tnext;
        int tlist;
        uint64_t deadline;
        /* Input: buf[0..len) holds the current request from its first byte on. */
        char *buf;
        size_t cap, len;
        size_t scan;      /* http_parse_head_end() position */
        size_t next;      /* where the next request starts once this one is done */
        size_t raw;       /* chunked: undecoded input starts here */
        bool saved_valid; /* buf[next] was overwritten by the body's NUL */
        char saved;
        uint64_t drain_left;
        uint64_t reserved; /* body bytes held against server->body_budget */
        /* Output queued by the event threads. */
        char *out;
        size_t out_cap, out_len, out_sent;
        char *aux; /* route parameters */
        size_t aux_cap;
        HttpRequest *req;  /* from the first complete head on */
        HttpConn *qnext;   /* run queue */
        bool control_slot; /* its handler runs on a control slot (HTTP_ROUTE_CONTROL) */
        bool adopted;      /* came from an adopted socket */
        char remote_addr[48];
};

typedef struct HttpListener {
        int fd;
        bool adopted;
        atomic_bool armed; /* false once taken out while draining (adopted sockets) */
} HttpListener;

typedef struct HttpConnList {
        HttpConn *head, *tail;
} HttpConnList;

struct HttpServer {
        HttpServerConfig config;
        char *listen;
        HttpRoute *routes;
        size_t n_routes;
        HttpPreBodyHook pre_body;
        void *pre_body_userdata;
        HttpListener listeners[HTTP_MAX_LISTENERS];
        size_t n_listeners;
        int port;
        bool started;
        atomic_bool draining, stopping;
        atomic_uint in_flight;
        MetricsFamily *m_requests, *m_duration, *m_in_flight;
        /* Bodies being received by the event threads, in bytes: at most what HTTP_THREADS
         * handlers reading a full body each held when a thread read every body. */
        uint64_t body_budget;
        _Atomic uint64_t body_reserved;

        /* The event engine (http-loop.c). */
        int epfd, timerfd, stopfd, spare_fd;
        int pingfd;             /* http_server_ping(): an event the threads answer */
        _Atomic uint64_t pongs; /* pings answered */
        pthread_t *threads;
        unsigned n_threads;
        pthread_mutex_t slots_lock;
        HttpConn **conns;
        uint32_t n_slots, n_created, *free_slots, n_free;
        atomic_uint n_conns;
        atomic_uint n_adopted_conns; /* of them, accepted on an adopted socket */
        pthread_mutex_t tlock;
        HttpConnList timers[_HTTP_TIMER_MAX];
        uint64_t timer_at;
        pthread_mutex_t qlock;
        HttpConn *qhead, *qtail;
        unsigned running;  /* handlers running or claimed, at most config.threads */
        unsigned controls; /* control routes running beyond them, at most HTTP_CONTROL_SLOTS */
};

/* epoll data of an armed connection: its slot and the arm's sequence number. */
#define HTTP_EV_DATA(slot, seq) ((uint64_t) (seq) << 32 | (uint32_t) (slot))
#define HTTP_EV_LISTENER 0xffffff00u /* + listener index */
#define HTTP_EV_PING 0xfffffffdu
#define HTTP_EV_TIMER 0xfffffffeu
#define HTTP_EV_STOP 0xffffffffu
#define HTTP_THREAD_STACK (8u * 1024 * 1024)

/* *run through the input steps: NULL, or HTTP_SLOT_HELD when this thread holds a
 * handler slot it may use, or the connection whose request this thread must now run. */
#define HTTP_SLOT_HELD ((HttpConn *) 1)

uint64_t http_now_usec(void);
int http_buf_reserve(char **buf, size_t *cap, size_t need);

/* ---- http-conn.c ------------------------------------------------------------------- */
/* Arms c in the epoll set (op ADD or MOD) with a new sequence; -ETIMEDOUT if the deadline
 * sweep marked it expired meanwhile (the caller then closes it). */
int http_conn_arm(HttpConn *c, uint32_t events, int op);
/* The event with sequence seq reported c: true (with c->lock held) if it is this thread's
 * now, false for a stale event. */
bool http_conn_claim_event(HttpConn *c, uint32_t seq);
/* Takes c if it is armed and still connection gen; otherwise marks it expired. */
bool http_conn_claim(HttpConn *c, uint32_t gen);
void http_conn_close(HttpConn *c);
/* Puts c at the tail of a deadline list, now + timeout_ms. */
void http_conn_set_timer(HttpConn *c, HttpTimerList list, uint64_t timeout_ms);
void http_conn_clear_timer(HttpConn *c);
/* The head of a list if its deadline is before `before` (0 = any), unlinked, with its gen. */
HttpConn *http_conn_pop_timer(HttpServer *s, HttpTimerList list, uint64_t before, uint32_t *ret_gen);
/* The timerfd fired: claims and closes what is past its deadline (408 to a begun request). */
void http_conn_expire_timers(HttpServer *s);
/* Counts n more body bytes of c against the server's budget; false when over it. */
bool http_conn_reserve_body(HttpConn *c, uint64_t n);
void http_conn_release_body(HttpConn *c);
/* A free slot; at the cap the connection idle longest is closed for it; NULL if none. */
HttpConn *http_conn_take_or_evict(HttpServer *s);
/* Blocking write of a handler's reply: waits for room up to the request timeout. */
int http_conn_write(HttpConn *c, const struct iovec *iov, int n);
/* Queues bytes for the event threads to send (replies made before a handler runs). */
int http_conn_queue(HttpConn *c, const struct iovec *iov, int n);
/* recv() for a handler's thread: waits until deadline; 0 at EOF, -ETIMEDOUT, -EIO. */
ssize_t http_conn_read(HttpConn *c, void *buf, size_t len, uint64_t deadline);
/* Arms the EPOLLRDHUP watch of a running handler's connection; unwatch ends it: on
 * return no callback runs or will run. */
int http_conn_watch_gone(HttpConn *c);
void http_conn_unwatch_gone(HttpConn *c);
bool http_conn_peer_closed(HttpConn *c);

/* ---- http-input.c ------------------------------------------------------------------ */
/* Reads and steps c until it moves on (dispatched, armed, closed); ready: an event said
 * there is input. */
void http_input_advance(HttpConn *c, HttpConn **run, bool ready);
/* A handler finished on this thread (*run == HTTP_SLOT_HELD): keep-alive or close. */
void http_input_after_run(HttpConn *c, HttpConn **run);
/* Sends queued output, then does c->after; true if the caller should go on reading. */
bool http_input_flush(HttpConn *c);
void http_input_linger(HttpConn *c);

/* ---- http-loop.c ------------------------------------------------------------------- */
int http_loop_start(HttpServer *s);
/* Closes idle connections and stops accepting on adopted sockets (the next instance will). */
void http_loop_begin_drain(HttpServer *s);
/* After the drain timeout: shuts down every open connection (running handlers see -EPIPE). */
void http_loop_abort_running(HttpServer *s);
void http_loop_stop(HttpServer *s);

/* ---- http-server.c ----------------------------------------------------------------- */
typedef enum HttpAdmit {
        HTTP_ADMIT_RUN,       /* hand the request to a handler now */
        HTTP_ADMIT_READ_BODY, /* read the body first, then run */
        HTTP_ADMIT_REPLIED,   /* answered already (an error or a refusal) */
} HttpAdmit;

/* The head is complete: request id, routing, draining, the pre-body hook, body limits. */
HttpAdmit http_server_admit(HttpRequest *req);
/* The body of a READ_BODY request went wrong: -E2BIG (413), -EBADMSG or -EIO (400),
 * -ENOBUFS (503: the server's budget for bodies being received is spent). */
void http_server_reject_body(HttpRequest *req, int error);
/* Runs the handler on this thread and finishes the request. */
void http_server_run(HttpRequest *req);
/* Metrics, access log, in-flight count: the request is over. */
void http_server_end(HttpRequest *req);
/* Answers a head the parser refused (status from http_parse_head()) and ends it. */
void http_server_reply_bad_head(HttpRequest *req, int status, const char *why);

/* ---- http-reply.c ------------------------------------------------------------------ */
/* A reply must close the connection: unread body, draining, HTTP/1.0 without keep-alive. */
bool http_reply_must_close(const HttpRequest *req);
