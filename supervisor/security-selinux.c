/* SPDX-License-Identifier: MIT */
/* security-selinux.c — runtime SELinux detection. With SELinux disabled (Debian's
 * default) there is nothing to label and the pod runs without SecurityLabelType=. */
#include <selinux/selinux.h>

#include "security-selinux.h"

void selinux_state_get(SelinuxState *ret) {
        SelinuxState s = {};

        s.enabled = is_selinux_enabled() > 0;
        if (s.enabled) {
                s.enforcing = security_getenforce() > 0;
                /* security_check_context() wants a const-less string in older libselinux */
                char ctx[] = "system_u:system_r:ai_semble_orchestrator_t:s0";
                s.module_loaded = security_check_context(ctx) == 0;
        }
        *ret = s;
}
