/* SPDX-License-Identifier: MIT */
/* test-vision-fetch.c — the SSRF guard of image_url: the address deny list, the
 * allow-list, refusals that open no socket at all, and real downloads from a tiny HTTP
 * server on 127.0.0.1 (allow-listed for the test) with redirects, size cap and errors. */
#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>

#include "check-run.h"
#include "fetch.h"
#include "time-util.h"

static int write_file_at(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

        if (fd < 0)
                return -errno;
        if (write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                r = -errno;
        close(fd);
        return r;
}

/* ---- address policy -------------------------------------------------------------- */

static const char *denied(const VisionFetchPolicy *p, const char *text) {
        struct sockaddr_storage ss = {};

        if (inet_pton(AF_INET, text, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
                ss.ss_family = AF_INET;
        else {
                ck_assert_int_eq(inet_pton(AF_INET6, text, &((struct sockaddr_in6 *) &ss)->sin6_addr), 1);
                ss.ss_family = AF_INET6;
        }
        return vision_fetch_address_denied(p, (struct sockaddr *) &ss);
}

START_TEST(test_deny_list) {
        static const char *const refused[] = {
                "127.0.0.1",
                "127.255.0.9",
                "10.0.0.1",
                "172.16.5.4",
                "172.31.255.255",
                "192.168.1.1",
                "169.254.169.254",
                "169.254.0.1",
                "100.64.0.1",
                "100.100.100.200",
                "0.0.0.0",
                "224.0.0.1",
                "255.255.255.255",
                "192.0.2.10",
                "198.18.0.1",
                "::1",
                "::",
                "fe80::1",
                "fc00::1",
                "fd00:ec2::254",
                "ff02::1",
                "::ffff:127.0.0.1",
                "::ffff:10.1.2.3",
                "::ffff:169.254.169.254",
                "64:ff9b::a00:1",
                "2002:7f00:1::1",
                "2001:db8::1",
                "::127.0.0.1",
                /* IPv4-translated (SIIT), checked as the IPv4 address it carries */
                "::ffff:0:127.0.0.1",
                "::ffff:0:10.0.0.1",
                "::ffff:0:169.254.169.254",
                /* NAT64: the well-known prefix as its IPv4, the local-use one wholly */
                "64:ff9b::127.0.0.1",
                "64:ff9b:1::a00:1",
                "64:ff9b:1:ffff::808:808",
                "fec0::1",
                "feff::1",
                "192.88.99.1",
        };
        static const char *const allowed[] = {
                "1.1.1.1",          "8.8.8.8",         "172.32.0.1",
                "192.169.0.1",      "100.128.0.1",     "2606:4700:4700::1111",
                "::ffff:8.8.8.8",   "2002:808:808::1", "::ffff:0:8.8.8.8",
                "64:ff9b::8.8.8.8", "64:ff9b:2::1",    "192.88.100.1",
        };

        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                ck_assert_msg(denied(NULL, refused[i]) != NULL, "%s should be refused", refused[i]);
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                ck_assert_msg(denied(NULL, allowed[i]) == NULL, "%s should be allowed", allowed[i]);
        ck_assert_str_eq(denied(NULL, "169.254.169.254"), "a link-local or cloud metadata address");
        ck_assert_str_eq(denied(NULL, "10.0.0.1"), "a private address");
        ck_assert_str_eq(denied(NULL, "127.0.0.1"), "a loopback address");
        ck_assert_str_eq(denied(NULL, "::ffff:0:127.0.0.1"), "a loopback address");
        ck_assert_str_eq(denied(NULL, "64:ff9b:1::a00:1"), "a local-use NAT64 address");
        ck_assert_str_eq(denied(NULL, "fec0::1"), "a site-local address");
        ck_assert_str_eq(denied(NULL, "192.88.99.1"), "a 6to4 relay anycast address");
}
END_TEST

START_TEST(test_allow_list) {
        VisionFetchPolicy p = {};

        ck_assert_int_eq(vision_fetch_parse_allow("127.0.0.1/32, 10.1.0.0/16 ::1", &p), 0);
        ck_assert_int_eq(p.n_allow, 3);
        ck_assert_ptr_null(denied(&p, "127.0.0.1"));
        ck_assert_ptr_nonnull(denied(&p, "127.0.0.2"));
        ck_assert_ptr_null(denied(&p, "10.1.200.3"));
        ck_assert_ptr_nonnull(denied(&p, "10.2.0.1"));
        ck_assert_ptr_null(denied(&p, "::1"));
        ck_assert_ptr_nonnull(denied(&p, "169.254.169.254"));
        ck_assert_int_eq(vision_fetch_parse_allow("10.0.0.0/8,fe80::/10", &p), 0);
        ck_assert_ptr_null(denied(&p, "fe80::1234"));

        ck_assert_int_eq(vision_fetch_parse_allow("", &p), 0);
        ck_assert_int_eq(p.n_allow, 0);
        ck_assert_int_eq(vision_fetch_parse_allow(NULL, &p), 0);
        ck_assert_int_eq(vision_fetch_parse_allow("10.0.0.0/33", &p), -EINVAL);
        ck_assert_int_eq(vision_fetch_parse_allow("localhost", &p), -EINVAL);
        ck_assert_int_eq(vision_fetch_parse_allow("10.0.0.0/", &p), -EINVAL);
        ck_assert_int_eq(vision_fetch_parse_allow("::1/129", &p), -EINVAL);
}
END_TEST

/* ---- refusals before any connection ------------------------------------------------ */

START_TEST(test_refused_without_connecting) {
        static const char *const urls[] = {
                "http://127.0.0.1:1/a.png",
                "http://169.254.169.254/latest/meta-data/",
                "http://10.0.0.1/a.png",
                "http://localhost/a.png",
                "http://[::1]/a.png",
                "http://0x7f000001/",
                "http://2130706433/",
                "https://[::ffff:169.254.169.254]/",
                "http://192.168.0.1:8080/x.jpg",
                "http://[fd00:ec2::254]/latest",
        };
        VisionFetchPolicy p = { .max_bytes = 1 << 20, .timeout_ms = 2000 };
        char error[VISION_FETCH_ERROR_MAX];
        uint64_t before = vision_fetch_sockets_opened();

        for (size_t i = 0; i < ELEMENTSOF(urls); i++) {
                uint8_t *buf = NULL;
                size_t len = 0;
                double t0 = (double) clock() / CLOCKS_PER_SEC;

                ck_assert_int_eq(vision_fetch_url(&p, urls[i], error, &buf, &len), -EACCES);
                ck_assert_ptr_null(buf);
                ck_assert_msg(strstr(error, "refused before connecting"), "%s: %s", urls[i], error);
                ck_assert((double) clock() / CLOCKS_PER_SEC - t0 < 0.5);
        }
        /* Not one socket was opened for any of them. */
        ck_assert_uint_eq(vision_fetch_sockets_opened(), before);
}
END_TEST

START_TEST(test_bad_urls) {
        VisionFetchPolicy p = { .max_bytes = 1 << 20, .timeout_ms = 2000 };
        char error[VISION_FETCH_ERROR_MAX];
        uint8_t *buf = NULL;
        size_t len;

        ck_assert_int_eq(
                vision_fetch_url(&p, "ftp://example.com/a.png", error, &buf, &len), -EPROTONOSUPPORT);
        ck_assert_int_eq(vision_fetch_url(&p, "file:///etc/passwd", error, &buf, &len), -EPROTONOSUPPORT);
        ck_assert_int_eq(vision_fetch_url(&p, "gopher://127.0.0.1/", error, &buf, &len), -EPROTONOSUPPORT);
        ck_assert_int_eq(vision_fetch_url(&p, "not a url", error, &buf, &len), -EINVAL);
        ck_assert_int_eq(vision_fetch_url(&p, "http://no-such-host.invalid/", error, &buf, &len), -ENOENT);
        ck_assert_ptr_null(buf);
}
END_TEST

/* ---- a tiny HTTP server on 127.0.0.1 ------------------------------------------------ */

static int server_fd = -1, server_port;
static pthread_t server_thread;
static atomic_bool server_stop;
static atomic_int server_requests;

static void serve_one(int fd) {
        char req[2048] = "", head[512], path[256] = "";
        ssize_t n = recv(fd, req, sizeof(req) - 1, 0);
        static char big[300000];

        if (n <= 0)
                return;
        atomic_fetch_add(&server_requests, 1);
        (void) sscanf(req, "GET %255s", path);
        if (streq(path, "/img.bin")) {
                const char body[] = "\x89PNG\r\n\x1a\nnot-really-a-png";
                snprintf(
                        head,
                        sizeof(head),
                        "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                        sizeof(body) - 1);
                send(fd, head, strlen(head), MSG_NOSIGNAL);
                send(fd, body, sizeof(body) - 1, MSG_NOSIGNAL);
        } else if (streq(path, "/redirect-ok")) {
                snprintf(
                        head,
                        sizeof(head),
                        "HTTP/1.1 302 Found\r\nLocation: /img.bin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                send(fd, head, strlen(head), MSG_NOSIGNAL);
        } else if (streq(path, "/redirect-private") || streq(path, "/redirect-metadata")) {
                snprintf(
                        head,
                        sizeof(head),
                        "HTTP/1.1 302 Found\r\nLocation: http://%s/latest\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        streq(path, "/redirect-private") ? "10.0.0.1" : "169.254.169.254");
                send(fd, head, strlen(head), MSG_NOSIGNAL);
        } else if (streq(path, "/loop")) {
                snprintf(
                        head,
                        sizeof(head),
                        "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                send(fd, head, strlen(head), MSG_NOSIGNAL);
        } else if (streq(path, "/big") || streq(path, "/big-chunked")) {
                if (streq(path, "/big"))
                        snprintf(
                                head,
                                sizeof(head),
                                "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                                sizeof(big));
                else /* no Content-Length: only the running count can stop it */
                        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                send(fd, head, strlen(head), MSG_NOSIGNAL);
                send(fd, big, sizeof(big), MSG_NOSIGNAL);
        } else if (streq(path, "/slow")) {
                snprintf(
                        head,
                        sizeof(head),
                        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n");
                send(fd, head, strlen(head), MSG_NOSIGNAL);
                usleep(1500 * 1000);
        } else {
                snprintf(
                        head,
                        sizeof(head),
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                send(fd, head, strlen(head), MSG_NOSIGNAL);
        }
}

static void *server_main(void *arg) {
        while (!atomic_load(&server_stop)) {
                struct pollfd pfd = { .fd = server_fd, .events = POLLIN };
                int c;

                if (poll(&pfd, 1, 100) <= 0)
                        continue;
                c = accept4(server_fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        continue;
                serve_one(c);
                shutdown(c, SHUT_WR);
                close(c);
        }
        return NULL;
}

static void server_start(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);

        server_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(server_fd, 0);
        ck_assert_int_eq(bind(server_fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(server_fd, 16), 0);
        ck_assert_int_eq(getsockname(server_fd, (struct sockaddr *) &sa, &sl), 0);
        server_port = ntohs(sa.sin_port);
        atomic_store(&server_stop, false);
        ck_assert_int_eq(pthread_create(&server_thread, NULL, server_main, NULL), 0);
}

static void server_end(void) {
        atomic_store(&server_stop, true);
        pthread_join(server_thread, NULL);
        close(server_fd);
}

static int
fetch(const VisionFetchPolicy *p,
      const char *path,
      char error[static VISION_FETCH_ERROR_MAX],
      size_t *ret_len) {
        char url[128];
        uint8_t *buf = NULL;
        int r;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", server_port, path);
        r = vision_fetch_url(p, url, error, &buf, ret_len);
        free(buf);
        return r;
}

START_TEST(test_loopback_refused_by_default) {
        VisionFetchPolicy p = { .max_bytes = 1 << 20, .timeout_ms = 2000 };
        char error[VISION_FETCH_ERROR_MAX];
        size_t len;

        server_start();
        ck_assert_int_eq(fetch(&p, "/img.bin", error, &len), -EACCES);
        ck_assert_int_eq(atomic_load(&server_requests), 0);
        server_end();
}
END_TEST

START_TEST(test_allow_listed_fetch) {
        VisionFetchPolicy p = { .max_bytes = 1 << 20, .timeout_ms = 1000 };
        char error[VISION_FETCH_ERROR_MAX];
        size_t len = 0;
        uint64_t sockets;
        int before;

        ck_assert_int_eq(vision_fetch_parse_allow("127.0.0.1/32", &p), 0);
        server_start();
        ck_assert_int_eq(fetch(&p, "/img.bin", error, &len), 0);
        ck_assert_uint_eq(len, 24);
        ck_assert_int_eq(fetch(&p, "/redirect-ok", error, &len), 0);
        ck_assert_uint_eq(len, 24);

        /* A redirect to a private or metadata address is re-checked and refused: the
         * first hop connects, the second never does. */
        sockets = vision_fetch_sockets_opened();
        before = atomic_load(&server_requests);
        ck_assert_int_eq(fetch(&p, "/redirect-private", error, &len), -EACCES);
        ck_assert_ptr_nonnull(strstr(error, "10.0.0.1"));
        ck_assert_int_eq(fetch(&p, "/redirect-metadata", error, &len), -EACCES);
        ck_assert_ptr_nonnull(strstr(error, "metadata"));
        ck_assert_uint_eq(vision_fetch_sockets_opened(), sockets + 2);
        ck_assert_int_eq(atomic_load(&server_requests), before + 2);

        ck_assert_int_eq(fetch(&p, "/loop", error, &len), -ELOOP);
        ck_assert_int_eq(fetch(&p, "/missing", error, &len), -EREMOTEIO);
        ck_assert_ptr_nonnull(strstr(error, "404"));

        p.max_bytes = 100000;
        ck_assert_int_eq(fetch(&p, "/big", error, &len), -EFBIG);
        ck_assert_int_eq(fetch(&p, "/big-chunked", error, &len), -EFBIG);
        ck_assert_ptr_nonnull(strstr(error, "VISION_MAX_IMAGE_BYTES"));

        ck_assert_int_eq(fetch(&p, "/slow", error, &len), -ETIMEDOUT);
        server_end();
}
END_TEST

/* ---- the name lookup within VISION_FETCH_TIMEOUT ------------------------------------ */

/* In a user, mount and network namespace of its own (the only way to point the resolver
 * at a server of ours without root): resolv.conf names 127.0.0.1, where a UDP socket takes
 * the queries and never answers. getaddrinfo() then waits 3 s; the fetch must give up at
 * its own 400 ms. Exit code: 0 ok, 1 too slow or wrong error, 2-6 the setup step that
 * failed. */
static int slow_dns_child(void) {
        char conf[] = "/tmp/test-vision-resolv-XXXXXX", map[64], error[VISION_FETCH_ERROR_MAX];
        VisionFetchPolicy p = { .max_bytes = 1 << 20, .timeout_ms = 400 };
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
        struct ifreq ifr = { .ifr_name = "lo" };
        uid_t uid = getuid();
        gid_t gid = getgid();
        uint8_t *buf = NULL;
        size_t len = 0;
        double t0, took;
        int fd, r;

        fd = mkstemp(conf);
        if (fd < 0 || write(fd, "nameserver 127.0.0.1\noptions timeout:3 attempts:1\n", 51) != 51)
                return 2;
        close(fd);
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET) < 0)
                return 3;
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        if (write_file_at("/proc/self/setgroups", "deny") < 0 ||
            write_file_at("/proc/self/uid_map", map) < 0)
                return 4;
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        if (write_file_at("/proc/self/gid_map", map) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
                return 5;
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return 6;
        ifr.ifr_flags |= IFF_UP;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return 6;

        t0 = time_now_s(CLOCK_MONOTONIC);
        r = vision_fetch_url(&p, "http://slow.example/a.png", error, &buf, &len);
        took = time_now_s(CLOCK_MONOTONIC) - t0;
        free(buf);
        fprintf(stderr, "slow lookup: %d after %.3f s: %s\n", r, took, error);
        return r == -ETIMEDOUT && took < 1.0 && strstr(error, "VISION_FETCH_TIMEOUT") ? 0 : 1;
}

START_TEST(test_lookup_within_timeout) {
        int status;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(slow_dns_child());
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        ck_assert_msg(
                WEXITSTATUS(status) != 3,
                "unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET) failed: "
                "this test needs user namespaces");
        ck_assert_msg(
                WEXITSTATUS(status) == 0,
                "exit %d (1: the lookup outlived the fetch's timeout)",
                WEXITSTATUS(status));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("vision-fetch");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_deny_list);
        tcase_add_test(tc, test_allow_list);
        tcase_add_test(tc, test_refused_without_connecting);
        tcase_add_test(tc, test_bad_urls);
        tcase_add_test(tc, test_loopback_refused_by_default);
        tcase_add_test(tc, test_allow_listed_fetch);
        tcase_add_test(tc, test_lookup_within_timeout);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run_nofork(suite());
}
