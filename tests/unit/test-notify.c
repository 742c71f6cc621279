/* SPDX-License-Identifier: MIT */
/* test-notify.c — the sd_notify datagram reaches path and abstract sockets intact. */
#include <check.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "check-run.h"
#include "notify.h"

/* Binds a datagram socket at name ('@' = abstract) and returns its fd. */
static int listen_at(const char *name) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t l = strlen(name);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        memcpy(sa.sun_path, name, l);
        if (name[0] == '@')
                sa.sun_path[0] = '\0';
        ck_assert_int_eq(
                bind(fd,
                     (struct sockaddr *) &sa,
                     (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + (name[0] == '/'))),
                0);
        return fd;
}

static void expect_datagram(int fd, const char *want) {
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

        ck_assert_int_eq(n, (ssize_t) strlen(want));
        buf[n] = '\0';
        ck_assert_str_eq(buf, want);
}

START_TEST(test_path_socket) {
        char path[] = "/tmp/test-notify-XXXXXX";
        char sock[64];
        _cleanup_close_ int fd = -1;

        ck_assert_ptr_nonnull(mkdtemp(path));
        snprintf(sock, sizeof(sock), "%s/notify", path);
        fd = listen_at(sock);
        setenv("NOTIFY_SOCKET", sock, 1);
        ck_assert_int_eq(notify_send("READY=1\nSTATUS=Listening on 127.0.0.1:1"), 1);
        expect_datagram(fd, "READY=1\nSTATUS=Listening on 127.0.0.1:1");
        ck_assert_int_eq(notify_sendf("STATUS=%d in flight", 3), 1);
        expect_datagram(fd, "STATUS=3 in flight");
        unlink(sock);
        rmdir(path);
}
END_TEST

START_TEST(test_abstract_socket) {
        char name[64];
        _cleanup_close_ int fd = -1;

        snprintf(name, sizeof(name), "@ai-semble-test-notify-%d", (int) getpid());
        fd = listen_at(name);
        setenv("NOTIFY_SOCKET", name, 1);
        ck_assert_int_eq(notify_send("STOPPING=1"), 1);
        expect_datagram(fd, "STOPPING=1");
}
END_TEST

START_TEST(test_unset_and_invalid) {
        unsetenv("NOTIFY_SOCKET");
        ck_assert_int_eq(notify_send("READY=1"), 0);
        setenv("NOTIFY_SOCKET", "", 1);
        ck_assert_int_eq(notify_send("READY=1"), 0);
        setenv("NOTIFY_SOCKET", "relative/path", 1);
        ck_assert_int_eq(notify_send("READY=1"), -EINVAL);
        setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify", 1);
        ck_assert_int_lt(notify_send("READY=1"), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("notify");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_path_socket);
        tcase_add_test(tc, test_abstract_socket);
        tcase_add_test(tc, test_unset_and_invalid);
        suite_add_tcase(s, tc);
        return check_run(s);
}
