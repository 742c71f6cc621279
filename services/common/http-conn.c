/* SPDX-License-Identifier: MIT */
/* http-conn.c — a connection's primitives: the slot table, arming and claiming (see the
 * ownership rules in http-internal.h), the three deadline lists and their timer, closing,
 * and the blocking reads and writes a handler's thread does on its connection. */
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

#include "http-internal.h"

uint64_t http_now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* ---- deadlines ------------------------------------------------------------------- */

static void timer_unlink_locked(HttpServer *s, HttpConn *c) {
        HttpConnList *l;

        if (c->tlist < 0)
                return;
        l = &s->timers[c->tlist];
        if (c->tprev)
                c->tprev->tnext = c->tnext;
        else
                l->head = c->tnext;
        if (c->tnext)
                c->tnext->tprev = c->tprev;
        else
                l->tail = c->tprev;
        c->tprev = c->tnext = NULL;
        c->tlist = HTTP_TIMER_NONE;
}

static void timer_arm_locked(HttpServer *s, uint64_t at) {
        struct itimerspec its = {
                .it_value = { .tv_sec = (time_t) (at / 1000000u), .tv_nsec = (long) (at % 1000000u) * 1000 },
        };

        if (s->timer_at != 0 && s->timer_at <= at)
                return;
        if (at == 0)
                its.it_value.tv_nsec = 1; /* zero would disarm */
        if (timerfd_settime(s->timerfd, TFD_TIMER_ABSTIME, &its, NULL) >= 0)
                s->timer_at = at;
}

void http_conn_set_timer(HttpConn *c, HttpTimerList list, uint64_t timeout_ms) {
        HttpServer *s = c->server;
        HttpConnList *l = &s->timers[list];

        pthread_mutex_lock(&s->tlock);
        timer_unlink_locked(s, c);
        c->deadline = http_now_usec() + timeout_ms * 1000u;
        c->tlist = list;
        c->tprev = l->tail;
        if (l->tail)
                l->tail->tnext = c;
        else
                l->head = c;
        l->tail = c;
        timer_arm_locked(s, c->deadline);
        pthread_mutex_unlock(&s->tlock);
}

void http_conn_clear_timer(HttpConn *c) {
        pthread_mutex_lock(&c->server->tlock);
        timer_unlink_locked(c->server, c);
        pthread_mutex_unlock(&c->server->tlock);
}

/* Takes the head of a list whose deadline is before `before` (0 = any), with its gen. */
HttpConn *http_conn_pop_timer(HttpServer *s, HttpTimerList list, uint64_t before, uint32_t *ret_gen) {
        HttpConn *c;

        pthread_mutex_lock(&s->tlock);
        c = s->timers[list].head;
        if (c && (before == 0 || c->deadline <= before)) {
                *ret_gen = atomic_load(&c->gen);
                timer_unlink_locked(s, c);
        } else
                c = NULL;
        pthread_mutex_unlock(&s->tlock);
        return c;
}

/* ---- connections ------------------------------------------------------------------- */

int http_conn_arm(HttpConn *c, uint32_t events, int op) {
        struct epoll_event ev = { .events = events | EPOLLONESHOT };
        uint32_t seq;
        int fd, r = 0;

        pthread_mutex_lock(&c->lock);
        if (c->expired) {
                pthread_mutex_unlock(&c->lock);
                return -ETIMEDOUT;
        }
        seq = ++c->seq;
        c->armed = true;
        atomic_store(&c->arming, true);
        fd = c->fd;
        pthread_mutex_unlock(&c->lock);
        /* Outside the lock: the event may fire at once, and its thread must not wait for
         * ours to leave epoll_ctl() (on a keep-alive connection it rarely has to: see
         * http_conn_claim_event()). While `arming`, the deadline sweep leaves it alone. */
        ev.data.u64 = HTTP_EV_DATA(c->slot, seq);
        if (epoll_ctl(c->server->epfd, op, fd, &ev) < 0)
                r = -errno;
        pthread_mutex_lock(&c->lock);
        atomic_store_explicit(&c->arming, false, memory_order_release);
        if (c->armed && c->seq == seq) {
                if (r < 0 || c->expired) {
                        c->armed = false; /* ours again: the caller closes it */
                        c->seq++;
                        r = r < 0 ? r : -ETIMEDOUT;
                }
        } else
                r = 0; /* the event's thread has it now: touch nothing more */
        pthread_mutex_unlock(&c->lock);
        return r;
}

bool http_conn_claim_event(HttpConn *c, uint32_t seq) {
        pthread_mutex_lock(&c->lock);
        /* The arming thread may still be returning from epoll_ctl() (a microsecond, as a
         * rule): the connection is not ours before it is out. */
        while (c->armed && c->seq == seq && atomic_load_explicit(&c->arming, memory_order_acquire)) {
                pthread_mutex_unlock(&c->lock);
                for (unsigned i = 0; atomic_load_explicit(&c->arming, memory_order_acquire); i++)
                        if (i > 256)
                                sched_yield();
                        else
                                __builtin_ia32_pause();
                pthread_mutex_lock(&c->lock);
        }
        if (!c->armed || c->seq != seq) {
                pthread_mutex_unlock(&c->lock);
                return false; /* stale, or the arming thread took it back */
        }
        c->armed = false;
        return true; /* locked */
}

/* Claims a connection for the caller if it is armed and still the same connection. */
bool http_conn_claim(HttpConn *c, uint32_t gen) {
        bool claimed = false;

        pthread_mutex_lock(&c->lock);
        if (atomic_load(&c->gen) == gen) {
                if (c->armed && !c->arming) {
                        c->armed = false;
                        c->seq++;
                        claimed = true;
                } else
                        c->expired = true; /* its owner will see it at the next arm */
        }
        pthread_mutex_unlock(&c->lock);
        return claimed;
}

bool http_conn_reserve_body(HttpConn *c, uint64_t n) {
        HttpServer *s = c->server;
        uint64_t cur = atomic_load(&s->body_reserved);

        do {
                if (cur + n > s->body_budget)
                        return false;
        } while (!atomic_compare_exchange_weak(&s->body_reserved, &cur, cur + n));
        c->reserved += n;
        return true;
}

void http_conn_release_body(HttpConn *c) {
        atomic_fetch_sub(&c->server->body_reserved, c->reserved);
        c->reserved = 0;
}

void http_conn_close(HttpConn *c) {
        HttpServer *s = c->server;
        int fd;

        http_conn_release_body(c);
        http_conn_clear_timer(c);
        free(c->req ? c->req->body_alloc : NULL);
        if (c->req)
                c->req->body_alloc = NULL;
        /* Keep the buffers of a typical connection for the next one in this slot. */
        if (c->cap > HTTP_BUF_INITIAL) {
                free(c->buf);
                c->buf = NULL;
                c->cap = 0;
        }
        c->len = c->out_len = c->out_sent = 0;
        pthread_mutex_lock(&c->lock);
        atomic_fetch_add(&c->gen, 1);
        c->armed = c->expired = false;
        fd = c->fd;
        c->fd = -1;
        pthread_mutex_unlock(&c->lock);
        /* The slot is free before the client can see the close and connect again. */
        atomic_fetch_sub(&s->n_conns, 1);
        if (c->adopted)
                atomic_fetch_sub(&s->n_adopted_conns, 1);
        c->adopted = false;
        pthread_mutex_lock(&s->slots_lock);
        s->free_slots[s->n_free++] = c->slot;
        pthread_mutex_unlock(&s->slots_lock);
        if (fd >= 0)
                (void) close(fd);
}

int http_buf_reserve(char **buf, size_t *cap, size_t need) {
        size_t ncap = *cap ? *cap : HTTP_BUF_INITIAL;
        char *nb;

        if (need <= *cap)
                return 0;
        while (ncap < need)
                ncap *= 2;
        nb = realloc(*buf, ncap);
        if (!nb)
                return -ENOMEM;
        *buf = nb;
        *cap = ncap;
        return 0;
}

int http_conn_queue(HttpConn *c, const struct iovec *iov, int n) {
        size_t total = 0;
        int r;

        for (int i = 0; i < n; i++)
                total += iov[i].iov_len;
        r = http_buf_reserve(&c->out, &c->out_cap, c->out_len + total);
        if (r < 0)
                return r;
        for (int i = 0; i < n; i++) {
                memcpy(c->out + c->out_len, iov[i].iov_base, iov[i].iov_len);
                c->out_len += iov[i].iov_len;
        }
        return 0;
}

static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                uint64_t now = http_now_usec();
                struct pollfd p = { .fd = fd, .events = events };
                int k;

                if (now >= deadline)
                        return -ETIMEDOUT;
                k = poll(&p, 1, (int) MIN((deadline - now + 999) / 1000, (uint64_t) INT32_MAX));
                if (k > 0)
                        return 0;
                if (k < 0 && errno != EINTR)
                        return -errno;
        }
}

int http_conn_write(HttpConn *c, const struct iovec *iov_in, int n) {
        struct iovec iov[8];
        struct msghdr m = { .msg_iov = iov };
        uint64_t stall = c->server->config.request_timeout_ms * 1000u;

        if (n > (int) ELEMENTSOF(iov))
                return -EINVAL;
        memcpy(iov, iov_in, sizeof(struct iovec) * (size_t) n);
        m.msg_iovlen = (size_t) n;
        while (m.msg_iovlen > 0) {
                ssize_t k = sendmsg(c->fd, &m, MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        /* A client that stops reading gets request_timeout_ms per stall. */
                        if (errno == EAGAIN && wait_fd(c->fd, POLLOUT, http_now_usec() + stall) >= 0)
                                continue;
                        return -EPIPE;
                }
                while (m.msg_iovlen > 0 && (size_t) k >= m.msg_iov[0].iov_len) {
                        k -= (ssize_t) m.msg_iov[0].iov_len;
                        m.msg_iov++;
                        m.msg_iovlen--;
                }
                if (m.msg_iovlen > 0) {
                        m.msg_iov[0].iov_base = (char *) m.msg_iov[0].iov_base + k;
                        m.msg_iov[0].iov_len -= (size_t) k;
                }
        }
        return 0;
}

ssize_t http_conn_read(HttpConn *c, void *buf, size_t len, uint64_t deadline) {
        for (;;) {
                ssize_t n = recv(c->fd, buf, len, 0);
                int r;

                if (n >= 0)
                        return n;
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -EIO;
                r = wait_fd(c->fd, POLLIN, deadline);
                if (r < 0)
                        return r == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
        }
}

int http_conn_watch_gone(HttpConn *c) {
        return http_conn_arm(c, EPOLLRDHUP, EPOLL_CTL_MOD);
}

void http_conn_unwatch_gone(HttpConn *c) {
        pthread_mutex_lock(&c->lock); /* a callback running holds it */
        if (c->armed) {
                c->armed = false;
                c->seq++;
        }
        c->req->gone_cb = NULL;
        pthread_mutex_unlock(&c->lock);
}

bool http_conn_peer_closed(HttpConn *c) {
        struct pollfd p = { .fd = c->fd, .events = POLLRDHUP };

        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void conn_timed_out(HttpConn *c) {
        static const char timeout_reply[] =
                "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

        if (c->state == HTTP_CONN_HEAD || c->state == HTTP_CONN_BODY) {
                (void) send(c->fd, timeout_reply, sizeof(timeout_reply) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (c->state == HTTP_CONN_BODY) {
                        c->req->status = 408;
                        http_server_end(c->req);
                }
        }
        http_conn_close(c);
}

void http_conn_expire_timers(HttpServer *s) {
        uint64_t now = http_now_usec(), ticks;

        if (read(s->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
                ticks = 0; /* nothing to do: the lists say what expired */
        pthread_mutex_lock(&s->tlock);
        s->timer_at = 0;
        pthread_mutex_unlock(&s->tlock);
        for (int l = 0; l < _HTTP_TIMER_MAX; l++) {
                HttpConn *c;
                uint32_t gen;

                while ((c = http_conn_pop_timer(s, (HttpTimerList) l, now, &gen)))
                        if (http_conn_claim(c, gen))
                                conn_timed_out(c);
        }
        pthread_mutex_lock(&s->tlock);
        for (int l = 0; l < _HTTP_TIMER_MAX; l++)
                if (s->timers[l].head)
                        timer_arm_locked(s, s->timers[l].head->deadline);
        pthread_mutex_unlock(&s->tlock);
        (void) epoll_ctl(
                s->epfd,
                EPOLL_CTL_MOD,
                s->timerfd,
                &(struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = HTTP_EV_TIMER });
}

/* ---- slots ------------------------------------------------------------------------------ */

static HttpConn *slot_take(HttpServer *s) {
        HttpConn *c = NULL;
        uint32_t slot;

        pthread_mutex_lock(&s->slots_lock);
        if (s->n_free > 0)
                c = __atomic_load_n(&s->conns[s->free_slots[--s->n_free]], __ATOMIC_RELAXED);
        else if (s->n_created < s->n_slots) {
                slot = s->n_created;
                c = calloc(1, sizeof(HttpConn));
                if (c) {
                        pthread_mutex_init(&c->lock, NULL);
                        c->server = s;
                        c->slot = slot;
                        c->fd = -1;
                        c->tlist = HTTP_TIMER_NONE;
                        __atomic_store_n(&s->conns[slot], c, __ATOMIC_RELEASE);
                        s->n_created++;
                }
        }
        pthread_mutex_unlock(&s->slots_lock);
        return c;
}

/* At the cap: the connection idle the longest makes room, or the new one hears 503. */
HttpConn *http_conn_take_or_evict(HttpServer *s) {
        HttpConn *c = slot_take(s), *old;
        uint32_t gen;

        while (!c && (old = http_conn_pop_timer(s, HTTP_TIMER_IDLE, 0, &gen))) {
                if (http_conn_claim(old, gen))
                        http_conn_close(old);
                c = slot_take(s);
        }
        return c;
}
