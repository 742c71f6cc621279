/* SPDX-License-Identifier: MIT */
/* http-host.c — the Host allow-list and the cross-site test (see http-host.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http-host.h"
#include "macro.h"

static const char *const local_names[] = { "localhost", "127.0.0.1", "[::1]" };

/* Splits s[0..len) into its name and port ("" when none): -EINVAL unless the name is
 * [A-Za-z0-9.-]+ or a bracketed IPv6 literal and the port, if any, 1-5 digits. */
static int
split_host(const char *s, size_t len, size_t *ret_name_len, const char **ret_port, size_t *ret_port_len) {
        size_t n = 0;

        if (len > 0 && s[0] == '[') {
                const char *close = memchr(s, ']', len);

                if (!close || close == s + 1)
                        return -EINVAL;
                n = (size_t) (close - s) + 1;
                for (size_t i = 1; i < n - 1; i++)
                        if (!strchr("0123456789abcdefABCDEF:.", s[i]))
                                return -EINVAL;
        } else {
                while (n < len && s[n] != ':') {
                        char c = s[n];

                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                              c == '.' || c == '-'))
                                return -EINVAL;
                        n++;
                }
                if (n == 0)
                        return -EINVAL;
        }
        *ret_name_len = n;
        *ret_port = "";
        *ret_port_len = 0;
        if (n == len)
                return 0;
        if (s[n] != ':' || len - n - 1 == 0 || len - n - 1 > 5)
                return -EINVAL;
        for (size_t i = n + 1; i < len; i++)
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
        *ret_port = s + n + 1;
        *ret_port_len = len - n - 1;
        return 0;
}

static bool name_is(const char *a, size_t a_len, const char *b, size_t b_len) {
        return a_len == b_len && strncasecmp(a, b, a_len) == 0;
}

/* Calls fn on each entry of a comma list (blanks around entries ignored) until it
 * returns non-zero; returns that. */
static int
list_each(const char *list, int (*fn)(const char *e, size_t len, void *userdata), void *userdata) {
        for (const char *p = list ?: ""; *p;) {
                const char *end = strchrnul(p, ',');
                size_t n;
                int r;

                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                n = (size_t) (end - p);
                while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                        n--;
                if (n > 0) {
                        r = fn(p, n, userdata);
                        if (r != 0)
                                return r;
                }
                p = *end ? end + 1 : end;
        }
        return 0;
}

typedef struct HostMatch {
        const char *name, *port;
        size_t name_len, port_len;
} HostMatch;

static int entry_matches(const char *e, size_t len, void *userdata) {
        const HostMatch *m = userdata;
        const char *port;
        size_t name_len, port_len;

        if (split_host(e, len, &name_len, &port, &port_len) < 0)
                return 0;
        if (!name_is(e, name_len, m->name, m->name_len))
                return 0;
        return port_len == 0 || name_is(port, port_len, m->port, m->port_len);
}

bool http_host_allowed(const char *host, const char *extra) {
        HostMatch m;

        if (!host)
                return true;
        m.name = host;
        if (split_host(host, strlen(host), &m.name_len, &m.port, &m.port_len) < 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(local_names); i++)
                if (name_is(host, m.name_len, local_names[i], strlen(local_names[i])))
                        return true;
        return list_each(extra, entry_matches, &m) > 0;
}

typedef struct BadEntry {
        char *buf;
        size_t size;
} BadEntry;

static int entry_check(const char *e, size_t len, void *userdata) {
        BadEntry *b = userdata;
        const char *port;
        size_t name_len, port_len;

        if (split_host(e, len, &name_len, &port, &port_len) >= 0)
                return 0;
        snprintf(b->buf, b->size, "%.*s", (int) len, e);
        return -EINVAL;
}

int http_host_list_check(const char *extra, char *bad, size_t bad_size) {
        return list_each(extra, entry_check, &(BadEntry){ bad, bad_size });
}

int http_host_check(HttpRequest *req, const char *extra, const char *setting) {
        const char *host = http_request_header(req, "Host");
        int r;

        if (http_host_allowed(host, extra))
                return 0;
        r = http_reply_error(
                req,
                421,
                "this service is not served under the name '%.128s': it answers localhost, 127.0.0.1, "
                "[::1] and the names in %s",
                host,
                setting);
        return r < 0 ? r : -EPERM;
}

bool http_request_cross_site(HttpRequest *req) {
        const char *origin = http_request_header(req, "Origin"),
                   *site = http_request_header(req, "Sec-Fetch-Site"),
                   *host = http_request_header(req, "Host");

        if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0)
                return true;
        if (origin) {
                /* Only plain http is served: the same origin is exactly http://<Host>. */
                if (!host || strncasecmp(origin, "http://", 7) != 0 || strcasecmp(origin + 7, host) != 0)
                        return true;
        }
        return false;
}
