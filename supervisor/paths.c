/* SPDX-License-Identifier: MIT */
/* paths.c — per-user locations. */
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "paths.h"

void paths_done(Paths *p) {
        free(p->home);
        free(p->config_home);
        free(p->quadlet_dir);
        free(p->unit_dir);
        free(p->state_dir);
        free(p->manifest);
        free(p->env_file);
        *p = (Paths){};
}

int paths_init(Paths *ret) {
        _cleanup_(paths_done) Paths p = {};
        const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");

        if (isempty(home) || home[0] != '/') {
                const struct passwd *pw = getpwuid(getuid());
                if (!pw || isempty(pw->pw_dir))
                        return -ENOENT;
                home = pw->pw_dir;
        }
        p.home = strdup(home);
        if (!p.home)
                return -ENOMEM;
        if (!isempty(xdg) && xdg[0] == '/')
                p.config_home = strdup(xdg);
        else if (asprintf(&p.config_home, "%s/.config", home) < 0)
                p.config_home = NULL;
        if (!p.config_home)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return -ENOMEM;
        if (asprintf(&p.quadlet_dir, "%s/containers/systemd", p.config_home) < 0 ||
            asprintf(&p.unit_dir, "%s/systemd/user", p.config_home) < 0 ||
            asprintf(&p.state_dir, "%s/ai-semble", p.config_home) < 0 ||
            asprintf(&p.manifest, "%s/installed", p.state_dir) < 0 ||
            asprintf(&p.env_file, "%s/ai-semble.env", p.state_dir) < 0)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return -ENOMEM;
        *ret = p;
        p = (Paths){};
        return 0;
}

int paths_mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *copy = strdup(path);

        if (!copy)
                return -ENOMEM;
        for (char *p = copy + 1;; p++) {
                if (*p != '/' && *p != 0)
                        continue;
                char saved = *p;
                *p = 0;
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *p = saved;
                if (!saved)
                        return 0;
        }
}
