/* SPDX-License-Identifier: MIT */
/* http-loop.c — the event engine: listening sockets, accept, the connection table, every
 * deadline, and reading request heads and bodies without a thread per connection.
 *
 * All threads are equal: each waits on one shared epoll set for one event at a time,
 * reads and parses what arrived, and runs the handler itself once a request is complete
 * (no hand-off between threads on the hot path). At most config.threads of them run
 * handlers; the one thread more never does, so accepting, parsing and deadlines go on
 * while every handler blocks, and a complete request then waits in the run queue — but a
 * control route (HTTP_ROUTE_CONTROL) runs on one of HTTP_CONTROL_SLOTS threads more, so
 * that a service busy with slow work still answers its health checks and its supervisor.
 * Deadlines live in three FIFO lists (request, idle, linger): each list has one timeout,
 * so its head is always the earliest, and one timerfd is armed for the earliest head. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "config.h"
#include "http-internal.h"

#define ACCEPT_BATCH 64

static const char busy_reply[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\n"
        "Retry-After: 1\r\nConnection: close\r\nContent-Length: 109\r\n\r\n"
        "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"
        "\"detail\":\"too many open connections\"}";

/* ---- accepting ------------------------------------------------------------------------ */

/* No room for the connection: 503 and close. What the client already sent is read first,
 * or closing with it unread would reset the connection and lose the 503 on the way. */
static void refuse_busy(int fd) {
        char buf[4096];

        for (int i = 0; i < 4 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) == (ssize_t) sizeof(buf); i++)
                ;
        (void) send(fd, busy_reply, sizeof(busy_reply) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void) shutdown(fd, SHUT_WR);
        (void) close(fd);
}

static void conn_accepted(HttpServer *s, int fd, const struct sockaddr_storage *sa, bool adopted) {
        HttpConn *c = http_conn_take_or_evict(s);

        if (!c) {
                refuse_busy(fd);
                return;
        }
        atomic_fetch_add(&s->n_conns, 1);
        if (sa->ss_family == AF_INET || sa->ss_family == AF_INET6)
                (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
        if (sa->ss_family == AF_INET)
                inet_ntop(
                        AF_INET,
                        &((const struct sockaddr_in *) sa)->sin_addr,
                        c->remote_addr,
                        sizeof(c->remote_addr));
        else if (sa->ss_family == AF_INET6)
                inet_ntop(
                        AF_INET6,
                        &((const struct sockaddr_in6 *) sa)->sin6_addr,
                        c->remote_addr,
                        sizeof(c->remote_addr));
        else
                c->remote_addr[0] = '\0';
        pthread_mutex_lock(&c->lock); /* http_loop_abort_running() reads it under the lock */
        c->fd = fd;
        pthread_mutex_unlock(&c->lock);
        c->adopted = adopted;
        if (adopted)
                atomic_fetch_add(&s->n_adopted_conns, 1);
        c->state = HTTP_CONN_HEAD;
        c->len = c->scan = c->next = c->raw = c->out_len = c->out_sent = 0;
        c->saved_valid = false;
        /* The first request's deadline runs from the connection: a silent client counts. */
        http_conn_set_timer(c, HTTP_TIMER_REQUEST, s->config.request_timeout_ms);
        if (http_conn_arm(c, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD) < 0)
                http_conn_close(c);
}

static void listener_accept(HttpServer *s, size_t i) {
        HttpListener *l = &s->listeners[i];

        for (int k = 0; k < ACCEPT_BATCH; k++) {
                struct sockaddr_storage sa = {};
                socklen_t sl = sizeof(sa);
                int fd = accept4(l->fd, (struct sockaddr *) &sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (fd >= 0) {
                        conn_accepted(s, fd, &sa, l->adopted);
                        continue;
                }
                if (errno == EINTR || errno == ECONNABORTED)
                        continue;
                if (errno == EMFILE || errno == ENFILE) {
                        /* Out of descriptors: free the spare one to take the connection off
                         * the queue with a 503 instead of spinning on a ready listener. */
                        pthread_mutex_lock(&s->slots_lock);
                        if (s->spare_fd >= 0) {
                                (void) close(s->spare_fd);
                                fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                                if (fd >= 0)
                                        refuse_busy(fd);
                                s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                        }
                        pthread_mutex_unlock(&s->slots_lock);
                }
                break;
        }
        if (l->armed)
                (void) epoll_ctl(
                        s->epfd,
                        EPOLL_CTL_MOD,
                        l->fd,
                        &(struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT,
                                               .data.u64 = HTTP_EV_LISTENER + i });
}

/* ---- the threads ------------------------------------------------------------------------ */

/* Who owns what an event reports: a listener, the timer, or an armed connection. */
static HttpConn *on_event(HttpServer *s, const struct epoll_event *ev) {
        uint64_t d = ev->data.u64;
        uint32_t slot = (uint32_t) d, seq = (uint32_t) (d >> 32);
        HttpConn *c, *run = NULL;

        if (slot == HTTP_EV_TIMER) {
                http_conn_expire_timers(s);
                return NULL;
        }
        if (slot == HTTP_EV_PING) {
                eventfd_t v;

                (void) eventfd_read(s->pingfd, &v);
                atomic_fetch_add(&s->pongs, 1);
                (void) epoll_ctl(
                        s->epfd,
                        EPOLL_CTL_MOD,
                        s->pingfd,
                        &(struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = HTTP_EV_PING });
                return NULL;
        }
        if (slot >= HTTP_EV_LISTENER && slot < HTTP_EV_LISTENER + HTTP_MAX_LISTENERS) {
                listener_accept(s, slot - HTTP_EV_LISTENER);
                return NULL;
        }
        if (slot >= s->n_slots || !(c = __atomic_load_n(&s->conns[slot], __ATOMIC_ACQUIRE)))
                return NULL;
        if (!http_conn_claim_event(c, seq))
                return NULL;
        if (c->state == HTTP_CONN_RUNNING) {
                /* The watch of a running handler: the client closed or reset. */
                atomic_store(&c->req->gone, true);
                if (c->req->gone_cb)
                        c->req->gone_cb(c->req->gone_userdata);
                pthread_mutex_unlock(&c->lock);
                return NULL;
        }
        pthread_mutex_unlock(&c->lock);

        switch (c->state) {
        case HTTP_CONN_WRITE:
                if (http_input_flush(c))
                        http_input_advance(c, &run, false);
                break;
        case HTTP_CONN_LINGER:
                http_input_linger(c);
                break;
        default:
                http_input_advance(c, &run, true);
                break;
        }
        return run;
}

static void *loop_thread(void *userdata) {
        HttpServer *s = userdata;
        sigset_t all;

        /* Signals go to the service's signalfd, never to these threads. */
        sigfillset(&all);
        (void) pthread_sigmask(SIG_BLOCK, &all, NULL);
        while (!atomic_load(&s->stopping)) {
                struct epoll_event ev;
                HttpConn *run;
                int n = epoll_wait(s->epfd, &ev, 1, -1);

                if (n <= 0 || ev.data.u64 == HTTP_EV_STOP)
                        continue;
                run = on_event(s, &ev);
                while (run) {
                        HttpConn *c = run;
                        bool control;

                        http_server_run(c->req);
                        control = c->control_slot;
                        c->control_slot = false;
                        /* A control slot is not kept for what follows on the connection: that
                         * takes a handler slot, or the queue, as if it had just arrived. */
                        run = control ? NULL : HTTP_SLOT_HELD;
                        http_input_after_run(c, &run);
                        if (control) {
                                pthread_mutex_lock(&s->qlock);
                                s->controls--;
                                pthread_mutex_unlock(&s->qlock);
                                continue;
                        }
                        if (run != HTTP_SLOT_HELD)
                                continue; /* a pipelined request on the same connection */
                        pthread_mutex_lock(&s->qlock);
                        run = s->qhead;
                        if (run) {
                                s->qhead = run->qnext;
                                if (!s->qhead)
                                        s->qtail = NULL;
                        } else
                                s->running--;
                        pthread_mutex_unlock(&s->qlock);
                }
        }
        return NULL;
}

/* ---- start and stop ------------------------------------------------------------------- */

static int listener_bind(HttpServer *s, int *ret_fd) {
        _cleanup_free_ char *host = NULL;
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE },
                        *ai;
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);
        char port[8];
        uint16_t p;
        int fd, r;

        r = config_parse_host_port(s->listen, &host, &p);
        if (r < 0)
                return r;
        snprintf(port, sizeof(port), "%u", p);
        if (getaddrinfo(host, port, &hints, &ai) != 0)
                return -EADDRNOTAVAIL;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        r = fd < 0 ? -errno : 0;
        if (r >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int)) < 0)
                r = -errno;
        if (r >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) < 0)
                r = -errno;
        if (r >= 0 && listen(fd, (int) s->config.listen_backlog) < 0)
                r = -errno;
        if (r >= 0 && getsockname(fd, (struct sockaddr *) &sa, &sl) < 0)
                r = -errno;
        freeaddrinfo(ai);
        if (r < 0) {
                if (fd >= 0)
                        (void) close(fd);
                return r;
        }
        s->port = ntohs(sa.sin_port);
        *ret_fd = fd;
        return 0;
}

static int loop_add(HttpServer *s, int fd, uint32_t events, uint64_t data) {
        struct epoll_event ev = { .events = events, .data.u64 = data };

        return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int http_loop_start(HttpServer *s) {
        pthread_attr_t attr;
        int fd, r;

        s->n_slots = s->config.max_connections;
        s->conns = calloc(s->n_slots, sizeof(HttpConn *));
        s->free_slots = calloc(s->n_slots, sizeof(uint32_t));
        s->threads = calloc(s->config.threads + 1 + HTTP_CONTROL_SLOTS, sizeof(pthread_t));
        if (!s->conns || !s->free_slots || !s->threads)
                return -ENOMEM;
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        s->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        s->pingfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (s->epfd < 0 || s->timerfd < 0 || s->stopfd < 0 || s->pingfd < 0)
                return -errno;

        r = listener_bind(s, &fd);
        if (r < 0)
                return r;
        /* The own address first: index 0 is what http_server_get_port() reports. */
        memmove(s->listeners + 1, s->listeners, s->n_listeners * sizeof(HttpListener));
        s->listeners[0] = (HttpListener){ .fd = fd };
        s->n_listeners++;
        for (size_t i = 0; i < s->n_listeners; i++) {
                atomic_store(&s->listeners[i].armed, true);
                r = loop_add(s, s->listeners[i].fd, EPOLLIN | EPOLLONESHOT, HTTP_EV_LISTENER + i);
                if (r < 0)
                        return r;
        }
        r = loop_add(s, s->timerfd, EPOLLIN | EPOLLONESHOT, HTTP_EV_TIMER);
        if (r >= 0)
                r = loop_add(s, s->pingfd, EPOLLIN | EPOLLONESHOT, HTTP_EV_PING);
        if (r >= 0)
                r = loop_add(s, s->stopfd, EPOLLIN, HTTP_EV_STOP);
        if (r < 0)
                return r;

        /* Handlers get the stack a main thread would have: user SQL and JSON recurse. */
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, HTTP_THREAD_STACK);
        for (unsigned i = 0; i <= s->config.threads + HTTP_CONTROL_SLOTS; i++) {
                r = -pthread_create(&s->threads[i], &attr, loop_thread, s);
                if (r < 0)
                        break;
                s->n_threads++;
        }
        pthread_attr_destroy(&attr);
        return r;
}

void http_loop_begin_drain(HttpServer *s) {
        size_t n_keep = 0, max_keep = atomic_load(&s->n_adopted_conns);
        _cleanup_free_ HttpConn **keep = max_keep > 0 ? calloc(max_keep, sizeof(HttpConn *)) : NULL;
        HttpConn *c;
        uint32_t gen;

        /* Connections on an adopted socket wait in its queue for the next instance. */
        for (size_t i = 0; i < s->n_listeners; i++)
                if (s->listeners[i].adopted) {
                        atomic_store(&s->listeners[i].armed, false);
                        (void) epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listeners[i].fd, NULL);
                }
        /* Idle keep-alive connections close, except those from an adopted socket: a
         * request the client sends on one just now is still served, with Connection:
         * close, so that it reconnects to the socket's queue instead of meeting a closed
         * connection; they close after HTTP_DRAIN_IDLE_GRACE_MS. (One accepted since
         * max_keep was read, or all when out of memory, closes: the old behaviour.) */
        while ((c = http_conn_pop_timer(s, HTTP_TIMER_IDLE, 0, &gen)))
                if (c->adopted && keep && n_keep < max_keep)
                        keep[n_keep++] = c;
                else if (http_conn_claim(c, gen))
                        http_conn_close(c);
        for (size_t i = 0; i < n_keep; i++)
                http_conn_set_timer(keep[i], HTTP_TIMER_IDLE, HTTP_DRAIN_IDLE_GRACE_MS);
}

void http_loop_abort_running(HttpServer *s) {
        uint32_t n;

        pthread_mutex_lock(&s->slots_lock);
        n = s->n_created;
        pthread_mutex_unlock(&s->slots_lock);
        /* Every open connection: a handler's writes fail at once, the rest close. */
        for (uint32_t i = 0; i < n; i++) {
                HttpConn *c = __atomic_load_n(&s->conns[i], __ATOMIC_ACQUIRE);

                pthread_mutex_lock(&c->lock);
                if (c->fd >= 0)
                        (void) shutdown(c->fd, SHUT_RDWR);
                pthread_mutex_unlock(&c->lock);
        }
}

void http_loop_stop(HttpServer *s) {
        atomic_store(&s->stopping, true);
        if (s->stopfd >= 0)
                (void) eventfd_write(s->stopfd, 1);
        for (unsigned i = 0; i < s->n_threads; i++)
                pthread_join(s->threads[i], NULL);
        s->n_threads = 0;
        for (size_t i = 0; i < s->n_listeners; i++)
                (void) close(s->listeners[i].fd);
        s->n_listeners = 0;
        for (uint32_t i = 0; i < s->n_created; i++) {
                HttpConn *c = s->conns[i];

                if (c->fd >= 0)
                        (void) close(c->fd);
                if (c->req)
                        free(c->req->body_alloc);
                free(c->req);
                free(c->buf);
                free(c->out);
                free(c->aux);
                pthread_mutex_destroy(&c->lock);
                free(c);
        }
        s->n_created = 0;
        free(s->conns);
        free(s->free_slots);
        free(s->threads);
        s->conns = NULL;
        s->free_slots = NULL;
        s->threads = NULL;
        for (int *const *fd =
                     (int *const[]){ &s->epfd, &s->timerfd, &s->stopfd, &s->pingfd, &s->spare_fd, NULL };
             *fd;
             fd++)
                if (**fd >= 0) {
                        (void) close(**fd);
                        **fd = -1;
                }
}
