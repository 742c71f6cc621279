/* SPDX-License-Identifier: MIT */
/* podman.c — fork/exec of podman with captured output, and version handling. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "argv-util.h"
#include "podman.h"

static int close_fd(int fd) {
        if (fd >= 0)
                close(fd);
        return -1;
}

/* Reads what is available on fd into the memstream; returns 0 at EOF, 1 if more may come. */
static int drain(int fd, FILE *sink) {
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 1 : negative_errno();
        if (n == 0)
                return 0;
        if (sink)
                fwrite(buf, 1, (size_t) n, sink);
        return 1;
}

int podman_run(
        const char *podman,
        char *const *args,
        const char *cwd,
        int *ret_status,
        char **ret_stdout,
        char **ret_stderr) {
        _cleanup_close_ int out_r = -1, out_w = -1, err_r = -1, err_w = -1;
        _cleanup_argv_free_ char **argv = NULL;
        _cleanup_free_ char *out = NULL, *err = NULL;
        size_t out_len = 0, err_len = 0;
        FILE *out_f = NULL, *err_f = NULL;
        int pipe_out[2], pipe_err[2], status, r;
        pid_t pid;

        r = argv_push(&argv, podman);
        for (size_t i = 0; r >= 0 && args && args[i]; i++)
                r = argv_push(&argv, args[i]);
        if (r < 0)
                return r;

        if (pipe2(pipe_out, O_CLOEXEC) < 0)
                return negative_errno();
        out_r = pipe_out[0], out_w = pipe_out[1];
        if (pipe2(pipe_err, O_CLOEXEC) < 0)
                return negative_errno();
        err_r = pipe_err[0], err_w = pipe_err[1];

        pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

                /* dup2 clears O_CLOEXEC on the targets, so only 0-2 survive exec */
                if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_w, STDOUT_FILENO) < 0 ||
                    dup2(err_w, STDERR_FILENO) < 0)
                        _exit(127);
                if (cwd && chdir(cwd) < 0)
                        _exit(126);
                (void) signal(SIGPIPE, SIG_DFL);
                execvp(argv[0], argv);
                dprintf(STDERR_FILENO, "cannot execute %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        out_w = close_fd(out_w);
        err_w = close_fd(err_w);

        out_f = open_memstream(&out, &out_len);
        err_f = open_memstream(&err, &err_len);
        if (!out_f || !err_f)
                r = -ENOMEM;

        while (r >= 0 && (out_r >= 0 || err_r >= 0)) {
                struct pollfd p[2] = { { .fd = out_r, .events = POLLIN },
                                       { .fd = err_r, .events = POLLIN } };

                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        break;
                }
                if (out_r >= 0 && p[0].revents) {
                        r = drain(out_r, out_f);
                        if (r == 0)
                                out_r = close_fd(out_r);
                }
                if (r >= 0 && err_r >= 0 && p[1].revents) {
                        r = drain(err_r, err_f);
                        if (r == 0)
                                err_r = close_fd(err_r);
                }
        }
        if (out_f)
                fclose(out_f);
        if (err_f)
                fclose(err_f);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (r < 0)
                return r;

        if (ret_status)
                *ret_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (ret_stdout)
                *ret_stdout = TAKE_PTR(out);
        if (ret_stderr)
                *ret_stderr = TAKE_PTR(err);
        return 0;
}

static int parse_uint(const char **p, unsigned *ret) {
        unsigned long v;
        char *end;

        if (**p < '0' || **p > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(*p, &end, 10);
        if (errno != 0 || v > 100000)
                return -EINVAL;
        *ret = (unsigned) v;
        *p = end;
        return 0;
}

int podman_version_parse(const char *s, PodmanVersion *ret) {
        PodmanVersion v = {};
        const char *p = s;

        if (!s)
                return -EINVAL;
        while (*p == ' ' || *p == 'v')
                p++;
        if (parse_uint(&p, &v.major) < 0 || *p++ != '.' || parse_uint(&p, &v.minor) < 0)
                return -EINVAL;
        if (*p == '.') {
                p++;
                if (parse_uint(&p, &v.patch) < 0)
                        return -EINVAL;
        }
        if (*p == '-' || *p == '~' || *p == '+') {
                v.prerelease = *p != '+';
                if (!p[1])
                        return -EINVAL;
                p += strcspn(p, " \t\r\n");
        }
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
                p++;
        if (*p)
                return -EINVAL;
        *ret = v;
        return 0;
}

int podman_version_compare(const PodmanVersion *a, const PodmanVersion *b) {
        if (a->major != b->major)
                return a->major < b->major ? -1 : 1;
        if (a->minor != b->minor)
                return a->minor < b->minor ? -1 : 1;
        if (a->patch != b->patch)
                return a->patch < b->patch ? -1 : 1;
        if (a->prerelease != b->prerelease)
                return a->prerelease ? -1 : 1;
        return 0;
}

bool podman_version_at_least(const PodmanVersion *v, unsigned major, unsigned minor) {
        return v->major > major || (v->major == major && v->minor >= minor);
}

int podman_version_detect(const char *podman, PodmanVersion *ret, char **ret_error) {
        static char *const args[] = {
                (char *) "version", (char *) "--format", (char *) "{{.Client.Version}}", NULL
        };
        _cleanup_free_ char *out = NULL, *err = NULL;
        int status, r;

        r = podman_run(podman, args, NULL, &status, &out, &err);
        if (r < 0)
                return r;
        if (status != 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return -EPROTO;
        }
        return podman_version_parse(out, ret);
}
