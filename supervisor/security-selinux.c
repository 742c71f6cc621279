/* SPDX-License-Identifier: MIT */
/* security-selinux.c — SELinux at run time. Only selinux_state_get() and
 * selinux_label_tree() call libselinux; selinux_plan() decides from their answers so
 * that every branch can be tested on a host without SELinux (Debian's default). */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include <selinux/selinux.h>

#include "macro.h"
#include "security-selinux.h"

static const char *const module_types[] = {
        "ai_semble_orchestrator_t", "ai_semble_llm_t",        "ai_semble_vision_t",       "ai_semble_nlp_t",
        "ai_semble_data_t",         SELINUX_DATA_VOLUME_TYPE, SELINUX_MODELS_VOLUME_TYPE,
};

void selinux_state_get(SelinuxState *ret) {
        SelinuxState s = {};

        s.enabled = is_selinux_enabled() > 0;
        if (s.enabled) {
                s.enforcing = security_getenforce() > 0;
                s.types_present = true;
                for (size_t i = 0; i < ELEMENTSOF(module_types) && s.types_present; i++) {
                        /* domains are process contexts, volume types object contexts */
                        char ctx[128];
                        bool domain = !strstr(module_types[i], "_volume_t");
                        snprintf(
                                ctx,
                                sizeof(ctx),
                                "system_u:%s:%s:s0",
                                domain ? "system_r" : "object_r",
                                module_types[i]);
                        if (security_check_context(ctx) < 0) {
                                s.types_present = false;
                                s.missing_type = module_types[i];
                        }
                }
        }
        *ret = s;
}

SelinuxPlan selinux_plan(const SelinuxState *s) {
        if (!s->enabled)
                return (SelinuxPlan){
                        .kind = SELINUX_PLAN_DISABLED,
                        .message = "SELinux is disabled on this host: no labels applied",
                };
        if (!s->types_present)
                return (SelinuxPlan){
                        .kind = SELINUX_PLAN_MODULE_MISSING,
                        .enforcing = s->enforcing,
                        .message =
                                "SELinux is enabled but the ai_semble policy module is not loaded: "
                                "run 'sudo scripts/install-security.sh' first",
                };
        return (SelinuxPlan){
                .kind = SELINUX_PLAN_LABEL,
                .enforcing = s->enforcing,
                .message = s->enforcing ? "SELinux is enforcing: each service runs in its ai_semble_<svc>_t "
                                          "domain, volumes labelled"
                                        : "SELinux is permissive (denials are only logged): each service "
                                          "runs in its ai_semble_<svc>_t domain, volumes labelled",
        };
}

int selinux_service_type(const char *service, char **ret) {
        if (isempty(service) || strpbrk(service, ":/ \t\n"))
                return -EINVAL;
        return asprintf(ret, "ai_semble_%s_t", service) < 0 ? -ENOMEM : 0;
}

static const char *label_context; /* nftw has no user-data argument */

static int label_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return lsetfilecon(path, label_context) < 0 ? -errno : 0;
}

int selinux_label_tree(const char *path, const char *type) {
        char ctx[128];
        int r;

        if ((size_t) snprintf(ctx, sizeof(ctx), "system_u:object_r:%s:s0", type) >= sizeof(ctx))
                return -EINVAL;
        label_context = ctx;
        r = nftw(path, label_one, 16, FTW_PHYS);
        label_context = NULL;
        if (r == -1)
                return -errno;
        return r;
}
