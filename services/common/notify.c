/* SPDX-License-Identifier: MIT */
/* notify.c — a standalone sender for the sd_notify protocol: one datagram of
 * newline-separated assignments to the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
 * or an abstract name when it starts with '@'). systemd documents this protocol as
 * stable and meant to be reimplemented; Podman forwards it from the container. */
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "notify.h"

int notify_send(const char *state) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        socklen_t salen;
        size_t l;

        if (isempty(e))
                return 0;
        l = strlen(e);
        if ((e[0] != '/' && e[0] != '@') || l < 2 || l >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, e, l);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        /* A path includes its NUL; an abstract name is exactly its bytes. */
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + (e[0] == '/'));

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa, salen) < 0)
                return negative_errno();
        return 1;
}

int notify_sendf(const char *format, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&s, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        return notify_send(s);
}
