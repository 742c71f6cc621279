/* SPDX-License-Identifier: MIT */
/* security-selinux.h — what libselinux says about this host: SELinux on or off,
 * enforcing or permissive, and whether ai-semble's types are loaded. */
#pragma once

#include <stdbool.h>

typedef struct SelinuxState {
        bool enabled;
        bool enforcing;
        bool module_loaded; /* the ai_semble module's types are known to the policy */
} SelinuxState;

void selinux_state_get(SelinuxState *ret);
