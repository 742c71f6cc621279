/* SPDX-License-Identifier: MIT */
/* security-selinux.h — SELinux at run time. What libselinux says about this host
 * (selinux_state_get, the only function that asks the kernel), the decision made from
 * it (selinux_plan, pure, unit-tested for every branch), and the labelling it leads to:
 * a per-service domain ai_semble_<svc>_t for the units and the volume types of
 * security/selinux/ai_semble.te for the volume directories. */
#pragma once

#include <stdbool.h>

/* The ai_semble module's types (security/selinux/ai_semble.te). */
#define SELINUX_DATA_VOLUME_TYPE "ai_semble_data_volume_t"
#define SELINUX_MODELS_VOLUME_TYPE "ai_semble_models_volume_t"

typedef struct SelinuxState {
        bool enabled;
        bool enforcing;
        bool types_present;       /* every type the module defines is known to the policy */
        const char *missing_type; /* the first unknown type (static string), or NULL */
} SelinuxState;

typedef enum SelinuxPlanKind {
        SELINUX_PLAN_DISABLED,       /* nothing to label: say so, continue */
        SELINUX_PLAN_MODULE_MISSING, /* enabled but ai_semble not loaded: an error */
        SELINUX_PLAN_LABEL,          /* label the volumes, run each service in its domain */
} SelinuxPlanKind;

typedef struct SelinuxPlan {
        SelinuxPlanKind kind;
        bool enforcing;      /* for the message: a permissive host only logs denials */
        const char *message; /* one line for the operator (static string) */
} SelinuxPlan;

/* Asks libselinux: is_selinux_enabled, security_getenforce, security_check_context on
 * every domain and volume type. */
void selinux_state_get(SelinuxState *ret);
/* The decision, without side effects. */
SelinuxPlan selinux_plan(const SelinuxState *s);
/* "ai_semble_<service>_t" for a service short name (orchestrator, llm, ...). */
int selinux_service_type(const char *service, char **ret);
/* setfilecon() on path and everything below it: "system_u:object_r:<type>:s0". */
int selinux_label_tree(const char *path, const char *type);
