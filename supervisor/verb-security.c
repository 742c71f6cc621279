/* SPDX-License-Identifier: MIT */
/* verb-security.c — `security check [DIR]`: validates every seccomp profile in DIR
 * (default: the installed ~/.config/ai-semble/seccomp) with libseccomp and reports
 * SELinux's state. The first profile that fails stops the check with its name. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "security-seccomp.h"
#include "security-selinux.h"
#include "supervisor.h"

static int json_filter(const struct dirent *d) {
        size_t n = strlen(d->d_name);
        return n > 5 && streq(d->d_name + n - 5, ".json");
}

static int check_dir(const char *dir) {
        struct dirent **list = NULL;
        int n, r = 0;

        n = scandir(dir, &list, json_filter, alphasort);
        if (n < 0)
                return log_error_errno(errno, "Cannot read %s: %m", dir);
        if (n == 0)
                r = log_error_errno(-ENOENT, "No seccomp profiles (*.json) in %s", dir);
        for (int i = 0; i < n; i++) {
                _cleanup_(seccomp_profile_info_done) SeccompProfileInfo info = {};
                _cleanup_free_ char *path = NULL;

                if (r >= 0) {
                        if (asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0)
                                r = log_error_errno(-ENOMEM, "Out of memory");
                        else {
                                r = seccomp_profile_check(path, &info);
                                if (r < 0)
                                        log_error_errno(
                                                r,
                                                "seccomp profile %s is invalid: %s: %m",
                                                path,
                                                info.bad_name ? info.bad_name : "(see error)");
                                else
                                        printf("seccomp  %-24s ok  %zu system calls allowed\n",
                                               list[i]->d_name,
                                               info.n_allowed);
                        }
                }
                free(list[i]);
        }
        free(list);
        return r;
}

int verb_security(Supervisor *s, int argc, char **argv) {
        _cleanup_free_ char *def = NULL;
        const char *dir;
        SelinuxState se;
        int r;

        if (argc < 1 || !streq(argv[0], "check") || argc > 2)
                return log_error_errno(-EINVAL, "usage: security check [DIR]");
        if (argc == 2)
                dir = argv[1];
        else {
                if (asprintf(&def, "%s/seccomp", s->paths.state_dir) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory");
                dir = def;
        }
        r = check_dir(dir);
        if (r < 0)
                return r;

        selinux_state_get(&se);
        if (!se.enabled)
                printf("selinux  disabled on this host: no labels to apply, continuing without "
                       "SecurityLabelType=\n");
        else
                printf("selinux  enabled (%s); ai_semble module %s\n",
                       se.enforcing ? "enforcing" : "permissive",
                       se.module_loaded ? "loaded" : "NOT loaded: run scripts/install-security.sh");
        return 0;
}
