/* SPDX-License-Identifier: MIT */
/* probe.c — ai-semble-probe: a static program run in a container with a service's
 * flags and seccomp profile (tests/integration/service-security.sh). It tries what an
 * attacker inside a service would try first and prints one line per attempt:
 * "<name> <result>" where result is "blocked:EPERM", "blocked:ENOSYS" or "ALLOWED".
 * Exits 0 when every attempt failed with EPERM or ENOSYS, 1 otherwise. */
#include <errno.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int try_ptrace(void) {
        return (int) syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
}
static int try_mount(void) {
        return mount("none", "/tmp", "tmpfs", 0, NULL);
}
static int try_unshare_user(void) {
        return unshare(CLONE_NEWUSER);
}
static int try_keyctl(void) {
        return (int) syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0);
}
static int try_bpf(void) {
        union bpf_attr attr;
        memset(&attr, 0, sizeof attr);
        attr.map_type = BPF_MAP_TYPE_ARRAY;
        attr.key_size = 4;
        attr.value_size = 4;
        attr.max_entries = 1;
        return (int) syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
}
static int try_af_packet(void) {
        return socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
}
static int try_init_module(void) {
        return (int) syscall(SYS_init_module, NULL, 0, "");
}
static int try_setuid0(void) {
        return (int) syscall(SYS_setuid, 0);
}

static void seccomp_mode(char *buf, size_t n) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];

        snprintf(buf, n, "unknown");
        if (!f)
                return;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, "Seccomp:", 8) == 0) {
                        const char *v = line + 8;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        snprintf(
                                buf,
                                n,
                                "%s",
                                strncmp(v, "2", 1) == 0           ? "filter"
                                        : strncmp(v, "0", 1) == 0 ? "off"
                                                                  : v);
                        buf[strcspn(buf, "\n")] = 0;
                }
        fclose(f);
}

int main(void) {
        static const struct {
                const char *name;
                int (*fn)(void);
        } probes[] = {
                { "ptrace", try_ptrace },
                { "mount", try_mount },
                { "unshare(NEWUSER)", try_unshare_user },
                { "keyctl", try_keyctl },
                { "bpf", try_bpf },
                { "socket(AF_PACKET)", try_af_packet },
                { "init_module", try_init_module },
                { "setuid(0)", try_setuid0 },
        };
        char mode[256];
        int bad = 0;

        /* As root outside a container these attempts would succeed for real (a tmpfs
         * over the host's /tmp, a new keyring): never run them there. */
        if (getuid() == 0 || geteuid() == 0) {
                fprintf(stderr,
                        "ai-semble-probe: refusing to run as root; run it in a container as a non-root user\n");
                return 2;
        }
        seccomp_mode(mode, sizeof mode);
        printf("seccomp %s uid %u\n", mode, (unsigned) getuid());
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
                errno = 0;
                int r = probes[i].fn();
                if (r >= 0) {
                        printf("%s ALLOWED\n", probes[i].name);
                        bad = 1;
                } else if (errno == EPERM || errno == ENOSYS)
                        printf("%s blocked:%s\n", probes[i].name, errno == EPERM ? "EPERM" : "ENOSYS");
                else {
                        printf("%s failed:%s\n", probes[i].name, strerrorname_np(errno));
                        bad = 1;
                }
        }
        return bad;
}
