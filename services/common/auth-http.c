/* SPDX-License-Identifier: MIT */
/* auth-http.c — the bearer token of a request and the answers that refuse one (see
 * auth-http.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth-http.h"

int auth_http_bearer(HttpRequest *req, const char **ret_tok, size_t *ret_len) {
        const char *h = http_request_header(req, "Authorization"), *tok;
        size_t len;

        if (!h || !*h)
                return -ENOKEY;
        if (strncasecmp(h, "Bearer ", 7) != 0)
                return -EBADMSG;
        tok = h + 7;
        while (*tok == ' ')
                tok++;
        len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ')
                len--;
        *ret_tok = tok;
        *ret_len = len;
        return 0;
}

int auth_http_refuse(HttpRequest *req, int status, const char *error, const char *description) {
        char h[256];
        int r;

        if (error)
                snprintf(
                        h,
                        sizeof(h),
                        "Bearer realm=\"" AUTH_HTTP_REALM "\", error=\"%s\", error_description=\"%s\"",
                        error,
                        description);
        else
                snprintf(h, sizeof(h), "Bearer realm=\"" AUTH_HTTP_REALM "\"");
        r = http_reply_add_header(req, "WWW-Authenticate", h);
        if (r < 0)
                return r;
        r = http_reply_error(req, status, "%s", description);
        return r < 0 ? r : -EACCES;
}
