/* SPDX-License-Identifier: MIT */
/* api-audit.c — the audit row every state-changing request leaves (written by the route
 * table after the handler, so that none can forget it), and GET /audit to read them. */
#include "api-internal.h"
#include "http-query.h"
#include "log.h"

/* The audit row of a state-changing request, written here after the handler (or the
 * refusal) so that no handler can forget it. */
void api_audit_record(
        HttpRequest *req, Orchestrator *o, const ApiRoute *ar, ApiContext *ctx, int gate, int status) {
        const char *addr = http_request_remote_addr(req), *actor, *role = "none";
        AuditRecord rec;
        int r;

        if (ar->signed_body)
                actor = "webhook"; /* authenticated (or not) by its signature */
        else if (!o->jwt)
                /* Auth off: nobody is named. The peer address stays in remote_addr, but
                 * behind Podman's port forwarder it is the forwarder's for every caller:
                 * as the actor it would read as one caller. */
                actor = "anonymous";
        else if (gate == -EACCES && status == 401)
                actor = "anonymous";
        else {
                actor = ctx->who.sub;
                role = auth_role_to_string(ctx->who.role);
        }
        if (!ctx->target[0])
                api_context_set_target(
                        ctx, http_request_param(req, "id") ?: http_request_param(req, "name"));
        rec = (AuditRecord){
                .time = ctx->t_received,
                .actor = actor && *actor ? actor : "anonymous",
                .role = role,
                .action = ar->action,
                .target = ctx->target,
                .result = status,
                .request_id = http_request_id(req),
                .remote_addr = addr,
        };
        audit_journal(&rec);
        if (o->audit) {
                r = audit_write(o->audit, &rec);
                if (r < 0)
                        log_warning_errno(
                                r, "Failed to write the audit row of %s %s: %m", ar->method, ar->path);
        }
}

/* GET /audit?actor=&action=&since=&limit=&cursor= (admins): newest first. */
int api_audit_query(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *errs = NULL, *list = NULL;
        const char *q = http_request_query(req);
        char actor[AUTH_SUB_MAX + 1], action[64], buf[64];
        AuditQuery aq = { .limit = 100 };
        char *end;
        int r;

        if (!o->audit)
                return http_reply_error(req, 503, "the audit log is not open");
        r = http_query_get_decoded(q, "actor", actor, sizeof(actor));
        if (r < 0)
                (void) json_errors_add(
                        &errs, "actor", "must be 1-%d characters, percent-encoded", AUTH_SUB_MAX);
        else if (r > 0 && actor[0])
                aq.actor = actor;
        r = http_query_get_decoded(q, "action", action, sizeof(action));
        if (r < 0)
                (void) json_errors_add(&errs, "action", "must be an action such as job.submit");
        else if (r > 0 && action[0])
                aq.action = action;
        r = http_query_get_decoded(q, "since", buf, sizeof(buf));
        if (r != 0 && (r < 0 || audit_parse_time(buf, &aq.since) < 0))
                (void) json_errors_add(
                        &errs, "since", "must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z");
        if (http_query_get(q, "limit", buf, sizeof(buf)) != 0) {
                long long v;

                errno = 0;
                v = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || v < 1 || v > AUDIT_QUERY_LIMIT_MAX)
                        (void) json_errors_add(
                                &errs, "limit", "must be an integer from 1 to %d", AUDIT_QUERY_LIMIT_MAX);
                else
                        aq.limit = (unsigned) v;
        }
        if (http_query_get(q, "cursor", buf, sizeof(buf)) != 0 && buf[0]) {
                errno = 0;
                aq.cursor = strtoll(buf, &end, 10);
                if (errno || end == buf || *end || aq.cursor < 1)
                        (void) json_errors_add(
                                &errs, "cursor", "must be a next_cursor value from an earlier page");
        }
        if (errs)
                return http_reply_validation(req, errs);
        r = audit_query_json(o->audit, &aq, &list);
        if (r < 0)
                return r;
        return http_reply_json(req, 200, list);
}
