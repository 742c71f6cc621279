/* SPDX-License-Identifier: MIT */
/* paths.h — where the supervisor reads and writes, all under the user's home:
 * Quadlet's user directory, systemd's user unit directory and ai-semble's own state. */
#pragma once

#include <sys/types.h>

#include "macro.h"

typedef struct Paths {
        char *home;
        char *config_home; /* $XDG_CONFIG_HOME or ~/.config */
        char *quadlet_dir; /* ~/.config/containers/systemd */
        char *unit_dir;    /* ~/.config/systemd/user */
        char *state_dir;   /* ~/.config/ai-semble */
        char *manifest;    /* ~/.config/ai-semble/installed */
        char *env_file;    /* default AI_SEMBLE_ENV_FILE: ~/.config/ai-semble/ai-semble.env */
} Paths;

/* From $HOME (or the password database) and $XDG_CONFIG_HOME. */
int paths_init(Paths *ret);
void paths_done(Paths *p);
/* mkdir -p with mode for the missing components. */
int paths_mkdir_p(const char *path, mode_t mode);
