/* SPDX-License-Identifier: MIT */
/* auth-roles.c — which role may call which route. Deny by default: a route missing from
 * this table is admin-only, so a new endpoint is never accidentally open to viewers. */
#include <string.h>

#include "auth.h"
#include "macro.h"

typedef struct AuthRule {
        const char *method, *route;
        AuthRole min_role;
} AuthRule;

static const AuthRule auth_rules[] = {
        { "GET", "/jobs", AUTH_ROLE_VIEWER },
        { "GET", "/jobs/{id}", AUTH_ROLE_VIEWER },
        { "GET", "/jobs/{id}/events", AUTH_ROLE_VIEWER },
        { "POST", "/ai/llm/completion", AUTH_ROLE_OPERATOR },
        { "POST", "/ai/vision/analyze", AUTH_ROLE_OPERATOR },
        { "POST", "/ai/nlp/process", AUTH_ROLE_OPERATOR },
        { "POST", "/data/process", AUTH_ROLE_OPERATOR },
        { "POST", "/dispatch", AUTH_ROLE_OPERATOR },
        { "POST", "/workflows", AUTH_ROLE_OPERATOR },
        { "GET", "/tasks", AUTH_ROLE_VIEWER },
        { "POST", "/v1/chat/completions", AUTH_ROLE_OPERATOR },
        { "POST", "/v1/completions", AUTH_ROLE_OPERATOR },
        { "POST", "/v1/messages", AUTH_ROLE_OPERATOR },
        { "POST", "/v1/embeddings", AUTH_ROLE_OPERATOR },
        /* Listing models is a job too (it asks the llm): an operator's, as every call. */
        { "GET", "/v1/models", AUTH_ROLE_OPERATOR },
        { "GET", "/data/datasets", AUTH_ROLE_VIEWER },
        { "GET", "/data/datasets/{name}", AUTH_ROLE_VIEWER },
        { "POST", "/data/datasets", AUTH_ROLE_OPERATOR },
        { "DELETE", "/data/datasets/{name}", AUTH_ROLE_OPERATOR },
        /* Operators may cancel their own jobs only: the handler compares the job's
         * submitter with the token's sub (admins cancel any). */
        { "DELETE", "/jobs/{id}", AUTH_ROLE_OPERATOR },
        /* The built-in routes, when not listed in ORCH_AUTH_EXEMPT. */
        { "GET", "/health", AUTH_ROLE_VIEWER },
        { "GET", "/health/live", AUTH_ROLE_VIEWER },
        { "GET", "/health/ready", AUTH_ROLE_VIEWER },
        { "GET", "/metrics", AUTH_ROLE_VIEWER },
        /* Everyone sees their own token usage (admins anyone's: the handler scopes it). */
        { "GET", "/usage", AUTH_ROLE_VIEWER },
        /* Schedules: operators make and change their own (the handlers scope them). */
        { "POST", "/schedules", AUTH_ROLE_OPERATOR },
        { "GET", "/schedules", AUTH_ROLE_VIEWER },
        { "GET", "/schedules/{id}", AUTH_ROLE_VIEWER },
        { "POST", "/schedules/{id}/pause", AUTH_ROLE_OPERATOR },
        { "POST", "/schedules/{id}/resume", AUTH_ROLE_OPERATOR },
        { "DELETE", "/schedules/{id}", AUTH_ROLE_OPERATOR },
        /* Locks, the audit log and API keys are admin-only by design. */
        { "GET", "/audit", AUTH_ROLE_ADMIN },
        { "GET", "/locks", AUTH_ROLE_ADMIN },
        { "POST", "/locks/{name}", AUTH_ROLE_ADMIN },
        { "DELETE", "/locks/{name}", AUTH_ROLE_ADMIN },
        { "POST", "/keys", AUTH_ROLE_ADMIN },
        { "GET", "/keys", AUTH_ROLE_ADMIN },
        { "DELETE", "/keys/{id}", AUTH_ROLE_ADMIN },
};

bool auth_role_allows(AuthRole role, const char *method, const char *route) {
        if (role == AUTH_ROLE_NONE || !method || !route)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(auth_rules); i++)
                if (strcmp(auth_rules[i].method, method) == 0 && strcmp(auth_rules[i].route, route) == 0)
                        return role >= auth_rules[i].min_role;
        return role == AUTH_ROLE_ADMIN;
}
