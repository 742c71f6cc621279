/* SPDX-License-Identifier: MIT */
/* webhook.c — webhook signature verification (see webhook.h). The replay memory is an
 * open-addressing table of accepted MACs with the time each stops being acceptable; a
 * MAC found there and not yet expired is a replay. When the table holds replay_max live
 * MACs, expired ones are swept out; if none are, the delivery is refused (busy) and
 * nothing is forgotten. For X-Hub-Signature-256, which carries no timestamp, the memory
 * is the only replay defence (a redelivery after the window passes again). Orchestrators
 * sharing a store remember the MACs there instead (webhook_verifier_set_memory). */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "webhook.h"

typedef struct ReplayEntry {
        unsigned char mac[32];
        int64_t expires; /* Unix seconds: replays are refused through this second; 0 = free */
} ReplayEntry;

struct WebhookVerifier {
        unsigned char *secret;
        size_t secret_len;
        int64_t window_s;
        pthread_mutex_t lock;
        ReplayEntry *table; /* size: a power of two > replay_max * 4 / 3 */
        size_t size, used, replay_max;
        WebhookRemember remember; /* shared instead; NULL = the table */
        void *remember_userdata;
};

static const char *const result_names[_WEBHOOK_RESULT_MAX] = {
        [WEBHOOK_VALID] = "valid",     [WEBHOOK_MISSING] = "missing", [WEBHOOK_MALFORMED] = "malformed",
        [WEBHOOK_INVALID] = "invalid", [WEBHOOK_STALE] = "stale",     [WEBHOOK_REPLAY] = "replay",
        [WEBHOOK_BUSY] = "busy",
};

const char *webhook_result_to_string(WebhookResult r) {
        return (unsigned) r < _WEBHOOK_RESULT_MAX ? result_names[r] : "invalid";
}

int webhook_verifier_new(
        const void *secret, size_t secret_len, uint64_t window_s, size_t replay_max, WebhookVerifier **ret) {
        WebhookVerifier *v;

        if (!secret || secret_len == 0 || replay_max > (size_t) 1 << 24)
                return -EINVAL;
        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        v->replay_max = replay_max ?: WEBHOOK_REPLAY_MAX_DEFAULT;
        for (v->size = 16; v->size <= v->replay_max * 4 / 3; v->size *= 2)
                ;
        v->table = calloc(v->size, sizeof(ReplayEntry));
        v->secret = OPENSSL_memdup(secret, secret_len);
        if (!v->secret || !v->table) {
                OPENSSL_free(v->secret);
                free(v->table);
                free(v);
                return -ENOMEM;
        }
        v->secret_len = secret_len;
        v->window_s = (int64_t) (window_s ? MIN(window_s, (uint64_t) 86400) : WEBHOOK_WINDOW_DEFAULT_S);
        pthread_mutex_init(&v->lock, NULL);
        *ret = v;
        return 0;
}

void webhook_verifier_free(WebhookVerifier *v) {
        if (!v)
                return;
        OPENSSL_clear_free(v->secret, v->secret_len);
        pthread_mutex_destroy(&v->lock);
        free(v->table);
        free(v);
}

static int unhex(const char *s, size_t len, unsigned char out[static 32]) {
        if (len != 64)
                return -EBADMSG;
        for (size_t i = 0; i < 32; i++) {
                int hi, lo;
                char a = s[2 * i], b = s[2 * i + 1];
#define NIB(c)                                                                          \
        ((c) >= '0' && (c) <= '9'                             ? (c) - '0'               \
                 : ((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f' ? ((c) | 0x20) - 'a' + 10 \
                                                              : -1)
                hi = NIB(a);
                lo = NIB(b);
#undef NIB
                if (hi < 0 || lo < 0)
                        return -EBADMSG;
                out[i] = (unsigned char) (hi << 4 | lo);
        }
        return 0;
}

static int
mac_of(const WebhookVerifier *v,
       const char *prefix,
       size_t plen,
       const void *body,
       size_t len,
       unsigned char out[static 32]) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string("digest", (char *) "SHA256", 0),
                OSSL_PARAM_construct_end(),
        };
        size_t out_len = 0;
        bool ok = ctx && EVP_MAC_init(ctx, v->secret, v->secret_len, params) == 1 &&
                EVP_MAC_update(ctx, (const unsigned char *) prefix, plen) == 1 &&
                EVP_MAC_update(ctx, body, len) == 1 && EVP_MAC_final(ctx, out, &out_len, 32) == 1 &&
                out_len == 32;

        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(mac);
        return ok ? 0 : -EIO;
}

/* A MAC is the output of HMAC-SHA256 under our secret: its bytes are as good as a hash. */
static size_t replay_slot(const WebhookVerifier *v, const unsigned char mac[static 32]) {
        uint64_t h;

        memcpy(&h, mac, sizeof(h));
        return (size_t) h & (v->size - 1);
}

/* The slot holding mac, else the first free one on its probe path. */
static ReplayEntry *replay_find(WebhookVerifier *v, const unsigned char mac[static 32]) {
        for (size_t i = replay_slot(v, mac);; i = (i + 1) & (v->size - 1)) {
                ReplayEntry *e = &v->table[i];

                if (e->expires == 0 || CRYPTO_memcmp(e->mac, mac, 32) == 0)
                        return e;
        }
}

/* Drops the expired entries (rebuilding the probe paths). -ENOMEM leaves the table as it is. */
static int replay_sweep(WebhookVerifier *v, int64_t now) {
        ReplayEntry *old = v->table;
        size_t used = 0;

        v->table = calloc(v->size, sizeof(ReplayEntry));
        if (!v->table) {
                v->table = old;
                return -ENOMEM;
        }
        for (size_t i = 0; i < v->size; i++)
                if (old[i].expires >= now) {
                        *replay_find(v, old[i].mac) = old[i];
                        used++;
                }
        free(old);
        v->used = used;
        return 0;
}

void webhook_verifier_set_memory(WebhookVerifier *v, WebhookRemember remember, void *userdata) {
        v->remember = remember;
        v->remember_userdata = userdata;
}

/* 1 if mac was accepted before and is not expired; else records it until expires and
 * returns 0; -ENOSPC when replay_max live MACs are remembered already. */
static int
replay_check_and_add(WebhookVerifier *v, const unsigned char mac[static 32], int64_t expires, int64_t now) {
        ReplayEntry *e;
        int r = 0;

        pthread_mutex_lock(&v->lock);
        e = replay_find(v, mac);
        if (e->expires >= now)
                r = 1;
        else if (e->expires > 0)
                e->expires = expires; /* this MAC's earlier, expired entry */
        else if (v->used >= v->replay_max && (replay_sweep(v, now) < 0 || v->used >= v->replay_max))
                r = -ENOSPC;
        else {
                e = replay_find(v, mac); /* the sweep may have moved things */
                memcpy(e->mac, mac, 32);
                e->expires = expires;
                v->used++;
        }
        pthread_mutex_unlock(&v->lock);
        return r;
}

#define RESULT(res, why)             \
        do {                         \
                *ret_reason = (why); \
                return (res);        \
        } while (0)

WebhookResult webhook_verify(
        WebhookVerifier *v,
        const char *hub_signature,
        const char *x_signature,
        const void *body,
        size_t len,
        int64_t now,
        const char **ret_reason) {
        unsigned char want[32], got[32];
        bool matched = false;
        int64_t expires = now + v->window_s; /* a hub signature: the window after it came */
        int r;

        if (x_signature && *x_signature) {
                /* t=<digits>,v1=<hex>[,v1=<hex>…] in any order; every v1 is tried (key rotation). */
                const char *p = x_signature;
                char prefix[32];
                int64_t t = -1;
                size_t n_v1 = 0;

                while (*p) {
                        const char *end = strchr(p, ',');
                        size_t l = end ? (size_t) (end - p) : strlen(p);
                        while (l > 0 && *p == ' ')
                                p++, l--;
                        if (l > 2 && p[0] == 't' && p[1] == '=') {
                                char *e;
                                if (t >= 0 || l - 2 > 12)
                                        RESULT(WEBHOOK_MALFORMED, "malformed X-Signature timestamp");
                                errno = 0;
                                t = strtoll(p + 2, &e, 10);
                                if (errno || e != p + l || t < 0)
                                        RESULT(WEBHOOK_MALFORMED, "malformed X-Signature timestamp");
                        } else if (l > 3 && strncmp(p, "v1=", 3) == 0)
                                n_v1++;
                        p += l;
                        if (*p == ',')
                                p++;
                }
                if (t < 0 || n_v1 == 0)
                        RESULT(WEBHOOK_MALFORMED, "X-Signature needs t=<unix time>,v1=<hex>");
                if (t > now + v->window_s || t < now - v->window_s)
                        RESULT(WEBHOOK_STALE, "timestamp outside the window");
                expires = t + v->window_s; /* acceptable until then, however far ahead t is */
                snprintf(prefix, sizeof(prefix), "%lld.", (long long) t);
                if (mac_of(v, prefix, strlen(prefix), body, len, want) < 0)
                        RESULT(WEBHOOK_INVALID, "signature check failed");
                for (p = x_signature; *p;) {
                        const char *end = strchr(p, ',');
                        size_t l = end ? (size_t) (end - p) : strlen(p);
                        while (l > 0 && *p == ' ')
                                p++, l--;
                        if (l > 3 && strncmp(p, "v1=", 3) == 0 && unhex(p + 3, l - 3, got) >= 0 &&
                            CRYPTO_memcmp(want, got, 32) == 0)
                                matched = true;
                        p += l;
                        if (*p == ',')
                                p++;
                }
        } else if (hub_signature && *hub_signature) {
                if (strncmp(hub_signature, "sha256=", 7) != 0 ||
                    unhex(hub_signature + 7, strlen(hub_signature + 7), got) < 0)
                        RESULT(WEBHOOK_MALFORMED, "X-Hub-Signature-256 must be sha256=<64 hex>");
                if (mac_of(v, "", 0, body, len, want) < 0)
                        RESULT(WEBHOOK_INVALID, "signature check failed");
                matched = CRYPTO_memcmp(want, got, 32) == 0;
        } else
                RESULT(WEBHOOK_MISSING, "X-Hub-Signature-256 or X-Signature required");

        if (!matched)
                RESULT(WEBHOOK_INVALID, "signature does not match");
        r = v->remember ? v->remember(want, expires, now, v->remember_userdata)
                        : replay_check_and_add(v, want, expires, now);
        if (r > 0)
                RESULT(WEBHOOK_REPLAY, "signature already used (replay)");
        if (r < 0)
                RESULT(WEBHOOK_BUSY, "too many webhook deliveries within the window: retry later");
        *ret_reason = NULL;
        return WEBHOOK_VALID;
}

/* ---- event → job map ------------------------------------------------------------ */

static bool event_name_valid(const char *s, size_t l) {
        if (l == 0 || l > 64)
                return false;
        for (size_t i = 0; i < l; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == ':' || c == '-'))
                        return false;
        }
        return true;
}

int webhook_events_parse(const char *spec, WebhookEvent *events, size_t max, size_t *ret_n) {
        size_t n = 0;
        const char *p = spec;

        while (p && *p) {
                const char *end = strchr(p, ','), *eq, *slash;
                size_t l = end ? (size_t) (end - p) : strlen(p);

                eq = memchr(p, '=', l);
                slash = eq ? memchr(eq, '/', l - (size_t) (eq - p)) : NULL;
                if (!eq || !slash || n >= max || !event_name_valid(p, (size_t) (eq - p)) ||
                    (size_t) (slash - eq - 1) == 0 ||
                    (size_t) (slash - eq - 1) >= sizeof(events[n].service) ||
                    l - (size_t) (slash - p) - 1 == 0 ||
                    l - (size_t) (slash - p) - 1 >= sizeof(events[n].task))
                        return -EINVAL;
                snprintf(events[n].event, sizeof(events[n].event), "%.*s", (int) (eq - p), p);
                snprintf(
                        events[n].service,
                        sizeof(events[n].service),
                        "%.*s",
                        (int) (slash - eq - 1),
                        eq + 1);
                snprintf(
                        events[n].task,
                        sizeof(events[n].task),
                        "%.*s",
                        (int) (l - (size_t) (slash - p) - 1),
                        slash + 1);
                n++;
                p += l;
                if (*p == ',')
                        p++;
        }
        *ret_n = n;
        return 0;
}

const WebhookEvent *webhook_events_find(const WebhookEvent *events, size_t n, const char *event) {
        for (size_t i = 0; event && i < n; i++)
                if (strcmp(events[i].event, event) == 0)
                        return &events[i];
        return NULL;
}
