/* SPDX-License-Identifier: MIT */
/* fetch.c — SSRF-safe image_url download (see fetch.h). The order matters: parse, check
 * the scheme, resolve, check every resolved address, and only then let libcurl connect,
 * to exactly the checked address (CURLOPT_RESOLVE pins it, the open-socket callback
 * refuses anything else, so a second DNS answer can never slip in). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "http-client.h"
#include "time-util.h"

static atomic_uint_fast64_t sockets_opened;

uint64_t vision_fetch_sockets_opened(void) {
        return atomic_load(&sockets_opened);
}

/* ---- allow-list ---------------------------------------------------------------- */

static int parse_net(const char *s, VisionNet *ret) {
        char buf[INET6_ADDRSTRLEN + 8];
        VisionNet n = {};
        char *slash, *end;
        unsigned max;

        if (strlen(s) >= sizeof(buf))
                return -EINVAL;
        strcpy(buf, s);
        slash = strchr(buf, '/');
        if (slash)
                *slash++ = 0;
        if (inet_pton(AF_INET, buf, n.addr) == 1) {
                n.family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, buf, n.addr) == 1) {
                n.family = AF_INET6;
                max = 128;
        } else
                return -EINVAL;
        n.prefix = max;
        if (slash) {
                unsigned long p;

                errno = 0;
                p = strtoul(slash, &end, 10);
                if (errno != 0 || end == slash || *end || p > max)
                        return -EINVAL;
                n.prefix = (unsigned) p;
        }
        *ret = n;
        return 0;
}

int vision_fetch_parse_allow(const char *list, VisionFetchPolicy *policy) {
        _cleanup_free_ char *copy = NULL;
        char *save = NULL, *tok;
        size_t n = 0;
        int r;

        policy->n_allow = 0;
        if (isempty(list))
                return 0;
        copy = strdup(list);
        if (!copy)
                return -ENOMEM;
        for (tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
                if (n >= VISION_FETCH_MAX_ALLOW)
                        return -E2BIG;
                r = parse_net(tok, &policy->allow[n]);
                if (r < 0)
                        return r;
                n++;
        }
        policy->n_allow = n;
        return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix) {
        unsigned bytes = prefix / 8, bits = prefix % 8;

        if (memcmp(a, net, bytes) != 0)
                return false;
        if (bits == 0)
                return true;
        return ((a[bytes] ^ net[bytes]) & (uint8_t) (0xff << (8 - bits))) == 0;
}

/* ---- deny list ------------------------------------------------------------------ */

static const char *ipv4_denied(const uint8_t a[4]) {
        uint32_t v = (uint32_t) a[0] << 24 | (uint32_t) a[1] << 16 | (uint32_t) a[2] << 8 | a[3];
        static const struct {
                uint32_t net;
                unsigned prefix;
                const char *why;
        } table[] = {
                { 0x00000000, 8, "an unspecified (0.0.0.0/8) address" },
                { 0x7f000000, 8, "a loopback address" },
                { 0x0a000000, 8, "a private address" },
                { 0xac100000, 12, "a private address" },
                { 0xc0a80000, 16, "a private address" },
                { 0x64400000, 10, "a shared (carrier-grade NAT) address" },
                { 0xa9fe0000, 16, "a link-local or cloud metadata address" },
                { 0xc0000000, 24, "an IETF protocol assignment address" },
                { 0xc0586300, 24, "a 6to4 relay anycast address" },
                { 0xc0000200, 24, "a documentation address" },
                { 0xc6336400, 24, "a documentation address" },
                { 0xcb007100, 24, "a documentation address" },
                { 0xc6120000, 15, "a benchmarking address" },
                { 0xe0000000, 4, "a multicast address" },
                { 0xf0000000, 4, "a reserved or broadcast address" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint32_t mask = table[i].prefix == 0 ? 0 : UINT32_MAX << (32 - table[i].prefix);
                if ((v & mask) == table[i].net)
                        return table[i].why;
        }
        return NULL;
}

static const char *ipv6_denied(const uint8_t a[16]) {
        static const uint8_t zero[16] = {};
        /* Each of these carries an IPv4 address in its last 32 bits, which is what a
         * connection to it reaches: ::ffff:0:0/96 (IPv4-mapped), ::ffff:0:0:0/96
         * (IPv4-translated, SIIT) and 64:ff9b::/96 (well-known NAT64). */
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        static const uint8_t translated[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 };
        static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
        static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 0x01 };

        if (memcmp(a, zero, 15) == 0)
                return a[15] == 1 ? "a loopback address" : "an unspecified address";
        if (memcmp(a, mapped, 12) == 0 || memcmp(a, translated, 12) == 0 || memcmp(a, nat64, 12) == 0)
                return ipv4_denied(a + 12);
        /* RFC 8215's local-use NAT64 prefix: where the IPv4 address sits depends on the
         * prefix length the site chose, so none of it is fetched. */
        if (memcmp(a, nat64_local, 6) == 0)
                return "a local-use NAT64 address";
        if (memcmp(a, zero, 12) == 0)
                return "an IPv4-compatible address";
        if (a[0] == 0x20 && a[1] == 0x02) /* 6to4 embeds an IPv4 address */
                return ipv4_denied(a + 2);
        if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0)
                return "a Teredo tunnel address";
        if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
                return "a documentation address";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
                return "a link-local address";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
                return "a site-local address";
        if ((a[0] & 0xfe) == 0xfc)
                return "a unique-local (private) address";
        if (a[0] == 0xff)
                return "a multicast address";
        if (a[0] == 0x01 && a[1] == 0 && memcmp(a + 2, zero, 6) == 0)
                return "a discard-only address";
        return NULL;
}

const char *vision_fetch_address_denied(const VisionFetchPolicy *policy, const struct sockaddr *sa) {
        const uint8_t *bytes;
        int family = sa->sa_family;

        if (family == AF_INET)
                bytes = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
        else if (family == AF_INET6)
                bytes = (const uint8_t *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
        else
                return "not an IP address";

        for (size_t i = 0; policy && i < policy->n_allow; i++)
                if (policy->allow[i].family == family &&
                    prefix_match(bytes, policy->allow[i].addr, policy->allow[i].prefix))
                        return NULL;

        return family == AF_INET ? ipv4_denied(bytes) : ipv6_denied(bytes);
}

/* ---- download ------------------------------------------------------------------- */

typedef struct Transfer {
        const VisionFetchPolicy *policy;
        struct sockaddr_storage pinned;
        uint8_t *buf;
        size_t len, cap;
        bool too_big;
        bool refused_socket;
} Transfer;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata) {
        Transfer *t = userdata;
        size_t n = size * nmemb;

        if (t->len + n > t->policy->max_bytes) {
                t->too_big = true;
                return 0;
        }
        if (t->len + n > t->cap) {
                size_t cap = MAX(t->cap * 2, MAX(t->len + n, (size_t) 64 * 1024));
                uint8_t *p;

                cap = MIN(cap, (size_t) t->policy->max_bytes);
                p = realloc(t->buf, cap);
                if (!p)
                        return 0;
                t->buf = p;
                t->cap = cap;
        }
        memcpy(t->buf + t->len, data, n);
        t->len += n;
        return n;
}

static bool same_address(const struct sockaddr *a, const struct sockaddr_storage *b) {
        if (a->sa_family != b->ss_family)
                return false;
        if (a->sa_family == AF_INET)
                return memcmp(&((const struct sockaddr_in *) a)->sin_addr,
                              &((const struct sockaddr_in *) b)->sin_addr,
                              sizeof(struct in_addr)) == 0;
        return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
                      &((const struct sockaddr_in6 *) b)->sin6_addr,
                      sizeof(struct in6_addr)) == 0;
}

/* The last line of defence: libcurl may only open a socket to the address we checked. */
static curl_socket_t opensocket_cb(void *userdata, curlsocktype purpose, struct curl_sockaddr *addr) {
        Transfer *t = userdata;
        int fd;

        if (purpose != CURLSOCKTYPE_IPCXN || !same_address(&addr->addr, &t->pinned) ||
            vision_fetch_address_denied(t->policy, &addr->addr)) {
                t->refused_socket = true;
                return CURL_SOCKET_BAD;
        }
        fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
        if (fd >= 0)
                atomic_fetch_add(&sockets_opened, 1);
        return fd;
}

static void curl_url_cleanupp(CURLU **u) {
        if (*u)
                curl_url_cleanup(*u);
}
static void curl_freep(char **p) {
        if (*p)
                curl_free(*p);
}
static void curl_easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}
static void curl_slist_free_allp(struct curl_slist **l) {
        if (*l)
                curl_slist_free_all(*l);
}
static void freeaddrinfop(struct addrinfo **ai) {
        if (*ai)
                freeaddrinfo(*ai);
}

/* ---- name lookup within the deadline ---------------------------------------------- */

/* getaddrinfo() cannot be interrupted and takes as long as resolv.conf's timeouts say
 * (5 s per try and server by default). It runs on a thread of its own; the caller waits
 * until the fetch's deadline only, and a lookup it gives up on finishes (and frees itself)
 * in the background. At most VISION_FETCH_MAX_LOOKUPS run at once, abandoned ones
 * included, so slow names cannot pile up threads. */
#define VISION_FETCH_MAX_LOOKUPS 32

static atomic_uint lookups_running;

typedef struct Lookup {
        atomic_int refs; /* the caller's and the thread's */
        pthread_mutex_t lock;
        pthread_cond_t cond; /* on CLOCK_MONOTONIC */
        bool done;
        int rc;
        struct addrinfo *res;
        char host[];
} Lookup;

static void lookup_unref(Lookup *l) {
        if (atomic_fetch_sub(&l->refs, 1) != 1)
                return;
        if (l->res)
                freeaddrinfo(l->res);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->lock);
        free(l);
}

static void *lookup_thread(void *userdata) {
        Lookup *l = userdata;
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
        int rc = getaddrinfo(l->host, NULL, &hints, &res);

        pthread_mutex_lock(&l->lock);
        l->rc = rc;
        l->res = res;
        l->done = true;
        pthread_cond_signal(&l->cond);
        pthread_mutex_unlock(&l->lock);
        lookup_unref(l);
        atomic_fetch_sub(&lookups_running, 1);
        return NULL;
}

/* getaddrinfo(host) until deadline (CLOCK_MONOTONIC ms): 0 with *ret_rc and *ret_res as
 * it answered, -ETIMEDOUT, -EBUSY (too many lookups running), -ENOMEM, -EAGAIN. */
static int lookup_within(const char *host, uint64_t deadline, int *ret_rc, struct addrinfo **ret_res) {
        size_t n = strlen(host);
        pthread_condattr_t ca;
        pthread_attr_t ta;
        pthread_t t;
        Lookup *l;
        int r;

        if (atomic_fetch_add(&lookups_running, 1) >= VISION_FETCH_MAX_LOOKUPS) {
                atomic_fetch_sub(&lookups_running, 1);
                return -EBUSY;
        }
        l = calloc(1, sizeof(Lookup) + n + 1);
        if (!l) {
                atomic_fetch_sub(&lookups_running, 1);
                return -ENOMEM;
        }
        memcpy(l->host, host, n + 1);
        atomic_init(&l->refs, 2);
        pthread_mutex_init(&l->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&l->cond, &ca);
        pthread_condattr_destroy(&ca);
        pthread_attr_init(&ta);
        pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
        r = -pthread_create(&t, &ta, lookup_thread, l);
        pthread_attr_destroy(&ta);
        if (r < 0) {
                atomic_fetch_sub(&lookups_running, 1);
                atomic_store(&l->refs, 1);
                lookup_unref(l);
                return r;
        }

        pthread_mutex_lock(&l->lock);
        while (!l->done) {
                uint64_t now = time_now_ms(CLOCK_MONOTONIC);
                struct timespec ts;

                if (now >= deadline)
                        break;
                ts = timespec_deadline_on(CLOCK_MONOTONIC, deadline - now);
                (void) pthread_cond_timedwait(&l->cond, &l->lock, &ts);
        }
        r = l->done ? 0 : -ETIMEDOUT;
        if (l->done) {
                *ret_rc = l->rc;
                *ret_res = TAKE_PTR(l->res);
        }
        pthread_mutex_unlock(&l->lock);
        lookup_unref(l);
        return r;
}

/* Resolves host within the deadline and checks every answer: one refused answer refuses
 * the host, so that a name with a public and a private record cannot be used to reach the
 * private one. */
static int resolve_checked(
        const VisionFetchPolicy *policy,
        const char *host,
        uint64_t deadline,
        char error[static VISION_FETCH_ERROR_MAX],
        struct sockaddr_storage *ret) {
        _cleanup_(freeaddrinfop) struct addrinfo *res = NULL;
        char text[INET6_ADDRSTRLEN];
        int r, rc = 0;

        r = lookup_within(host, deadline, &rc, &res);
        if (r == -ETIMEDOUT) {
                snprintf(
                        error,
                        VISION_FETCH_ERROR_MAX,
                        "looking up host '%s' took longer than VISION_FETCH_TIMEOUT",
                        host);
                return r;
        }
        if (r == -EBUSY) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "too many host lookups running; try again");
                return -EAGAIN;
        }
        if (r < 0)
                return r;
        if (rc != 0 || !res) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "host '%s' does not resolve", host);
                return rc == EAI_MEMORY ? -ENOMEM : -ENOENT;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                const char *why = vision_fetch_address_denied(policy, ai->ai_addr);

                if (!why)
                        continue;
                if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof(text), NULL, 0, NI_NUMERICHOST) !=
                    0)
                        strcpy(text, "?");
                snprintf(
                        error,
                        VISION_FETCH_ERROR_MAX,
                        "host '%s' resolves to %s, %s; refused before connecting "
                        "(VISION_FETCH_ALLOW lists networks that may be fetched)",
                        host,
                        text,
                        why);
                return -EACCES;
        }
        memcpy(ret, res->ai_addr, res->ai_addrlen);
        return 0;
}

static int fetch_one(
        const VisionFetchPolicy *policy,
        const char *url,
        uint64_t deadline,
        char error[static VISION_FETCH_ERROR_MAX],
        Transfer *t,
        char **ret_redirect) {
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        _cleanup_(curl_freep) char *scheme = NULL, *host = NULL, *port = NULL;
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *resolve = NULL;
        char addr[INET6_ADDRSTRLEN], entry[512];
        const char *bare_host;
        _cleanup_free_ char *host_copy = NULL;
        long status = 0;
        uint64_t now;
        CURLcode cc;
        int r;

        u = curl_url();
        if (!u)
                return -ENOMEM;
        if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "not a valid URL");
                return -EINVAL;
        }
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
            (!streq(scheme, "http") && !streq(scheme, "https"))) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "only http and https URLs are fetched");
                return -EPROTONOSUPPORT;
        }
        if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "URL has no host");
                return -EINVAL;
        }
        /* IPv6 literals come bracketed; getaddrinfo wants them bare. */
        bare_host = host;
        if (host[0] == '[') {
                size_t l = strlen(host);
                if (l < 3 || host[l - 1] != ']')
                        return -EINVAL;
                host_copy = strndup(host + 1, l - 2);
                if (!host_copy)
                        return -ENOMEM;
                bare_host = host_copy;
        }

        r = resolve_checked(policy, bare_host, deadline, error, &t->pinned);
        if (r < 0)
                return r;

        if (getnameinfo(
                    (struct sockaddr *) &t->pinned,
                    sizeof(t->pinned),
                    addr,
                    sizeof(addr),
                    NULL,
                    0,
                    NI_NUMERICHOST) != 0)
                return -EINVAL;
        snprintf(
                entry,
                sizeof(entry),
                "%s:%s:%s%s%s",
                host,
                port,
                t->pinned.ss_family == AF_INET6 ? "[" : "",
                addr,
                t->pinned.ss_family == AF_INET6 ? "]" : "");
        resolve = curl_slist_append(NULL, entry);
        if (!resolve)
                return -ENOMEM;

        now = time_now_ms(CLOCK_MONOTONIC);
        if (now >= deadline)
                return -ETIMEDOUT;

        c = curl_easy_init();
        if (!c)
                return -ENOMEM;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c, CURLOPT_PROXY, ""); /* a proxy would connect elsewhere */
        curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, t);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) policy->max_bytes);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) (deadline - now));
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long) MIN(deadline - now, (uint64_t) 5000));
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "ai-semble-vision");
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);

        cc = curl_easy_perform(c);
        if (t->refused_socket) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "connection to an unchecked address refused");
                return -EACCES;
        }
        if (t->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
                snprintf(
                        error,
                        VISION_FETCH_ERROR_MAX,
                        "image is larger than VISION_MAX_IMAGE_BYTES (%llu bytes)",
                        (unsigned long long) policy->max_bytes);
                return -EFBIG;
        }
        if (cc != CURLE_OK) {
                snprintf(
                        error,
                        VISION_FETCH_ERROR_MAX,
                        "fetching the image failed: %s",
                        curl_easy_strerror(cc));
                return http_client_errno_from_curl(cc);
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 300 && status < 400) {
                char *location = NULL;

                curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
                if (!location) {
                        snprintf(error, VISION_FETCH_ERROR_MAX, "redirect without a Location");
                        return -EREMOTEIO;
                }
                *ret_redirect = strdup(location);
                return *ret_redirect ? 0 : -ENOMEM;
        }
        if (status < 200 || status >= 300) {
                snprintf(error, VISION_FETCH_ERROR_MAX, "the image URL answered HTTP %ld", status);
                return -EREMOTEIO;
        }
        return 0;
}

int vision_fetch_url(
        const VisionFetchPolicy *policy,
        const char *url,
        char error[static VISION_FETCH_ERROR_MAX],
        uint8_t **ret,
        size_t *ret_len) {
        uint64_t deadline = time_now_ms(CLOCK_MONOTONIC) + policy->timeout_ms;
        _cleanup_free_ char *current = strdup(url);

        error[0] = 0;
        if (!current)
                return -ENOMEM;
        for (unsigned hop = 0; hop <= VISION_FETCH_MAX_REDIRECTS; hop++) {
                Transfer t = { .policy = policy };
                char *next = NULL;
                int r;

                r = fetch_one(policy, current, deadline, error, &t, &next);
                if (r < 0) {
                        free(t.buf);
                        if (r == -ETIMEDOUT && !error[0])
                                snprintf(error, VISION_FETCH_ERROR_MAX, "fetching the image timed out");
                        return r;
                }
                if (next) {
                        free(t.buf);
                        free(current);
                        current = next;
                        continue;
                }
                if (t.len == 0) {
                        free(t.buf);
                        snprintf(error, VISION_FETCH_ERROR_MAX, "the image URL returned an empty body");
                        return -ENODATA;
                }
                *ret = t.buf;
                *ret_len = t.len;
                return 0;
        }
        snprintf(error, VISION_FETCH_ERROR_MAX, "more than %d redirects", VISION_FETCH_MAX_REDIRECTS);
        return -ELOOP;
}
