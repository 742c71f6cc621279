/* SPDX-License-Identifier: MIT */
/* api-datasets.c — the data service's stored datasets on the published port:
 * POST /data/datasets?name=N (text/csv, or JSON {name, records|csv}) relays the body to
 * the data service's POST /datasets as it arrives, never holding it: the data service's
 * caps apply, and a client that goes away mid-upload cuts the relayed body short too, so
 * the data service keeps nothing. GET /data/datasets, GET and DELETE /data/datasets/{name}
 * are relayed as they are. Each principal has its own datasets (UpstreamRequest.owner), as
 * the data operations its jobs run see them. */
#include <strings.h>

#include "api-internal.h"
#include "http-query.h"

/* An upload may take as long as its client keeps sending (the server's HTTP_BODY_MIN_RATE
 * bounds a slow one); a data service that stops reading fails it after this. */
#define UPLOAD_IDLE_MS (60 * 1000)
#define UPLOAD_TIMEOUT_MS (6 * 3600 * 1000)
#define DATASETS_TIMEOUT_MS (60 * 1000)

typedef struct Relay {
        HttpRequest *req;
        ssize_t body_error; /* how reading the client's body failed (-EIO, -E2BIG), else 0 */
        char content_type[128];
        char location[192];
} Relay;

static ssize_t relay_read(void *buf, size_t len, void *userdata) {
        Relay *x = userdata;
        ssize_t n = http_request_read_body(x->req, buf, len);

        if (n < 0)
                x->body_error = n; /* aborts the upstream transfer: the data service sees it cut */
        return n;
}

static int relay_header(const char *name, const char *value, void *userdata) {
        Relay *x = userdata;

        if (strcasecmp(name, "Content-Type") == 0)
                snprintf(x->content_type, sizeof(x->content_type), "%s", value);
        else if (strcasecmp(name, "Location") == 0 && startswith(value, "/datasets/"))
                /* Where the dataset is on this door. */
                snprintf(x->location, sizeof(x->location), "/data%s", value);
        return 0;
}

/* Sends the data service's answer on as it is, or a problem when there was none. */
static int reply_relayed(HttpRequest *req, const Relay *x, int r, const UpstreamResult *res) {
        if (r >= 0 && res->status > 0) {
                if (x->location[0])
                        (void) http_reply_add_header(req, "Location", x->location);
                return http_reply(
                        req,
                        (int) res->status,
                        x->content_type[0] ? x->content_type : "application/json",
                        strempty(res->body),
                        res->body_len);
        }
        if (r == -EBUSY) {
                char ra[32];

                snprintf(ra, sizeof(ra), "%" PRIu64, MAX((res->retry_after_ms + 999) / 1000, (uint64_t) 1));
                (void) http_reply_add_header(req, "Retry-After", ra);
                return api_reply_problem(req, 503, NULL, "data", NULL, "%s", res->error);
        }
        return api_reply_problem(req, r == -ETIMEDOUT ? 504 : 502, NULL, "data", NULL, "%s", res->error);
}

static int relay(HttpRequest *req, Orchestrator *o, ApiContext *ctx, const char *method, const char *path) {
        _cleanup_(upstream_result_done) UpstreamResult res = {};
        Relay x = { .req = req };
        int r;

        r = upstream_request(
                &o->upstreams,
                &(UpstreamRequest){
                        .service = UPSTREAM_DATA,
                        .method = method,
                        .path = path,
                        .idempotent = !streq(method, "DELETE"),
                        .on_header = relay_header,
                        .userdata = &x,
                        .timeout_ms = DATASETS_TIMEOUT_MS,
                        .request_id = http_request_id(req),
                        .owner = ctx->who.sub,
                },
                &res);
        return reply_relayed(req, &x, r, &res);
}

int api_datasets_upload(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_(upstream_result_done) UpstreamResult res = {};
        _cleanup_free_ char *path = NULL;
        const char *query = http_request_query(req), *cl = http_request_header(req, "Content-Length"),
                   *ct = http_request_header(req, "Content-Type");
        Relay x = { .req = req };
        char name[80];
        int r;

        /* The data service reads name and replace from the query as the client wrote it. */
        if (http_query_get(query, "name", name, sizeof(name)) > 0)
                api_context_set_target(ctx, name);
        if (asprintf(&path, "/datasets%s%s", query ? "?" : "", strempty(query)) < 0)
                return -ENOMEM;
        r = upstream_request(
                &o->upstreams,
                &(UpstreamRequest){
                        .service = UPSTREAM_DATA,
                        .method = "POST",
                        .path = path,
                        .content_type = ct ?: "application/octet-stream",
                        /* Known: the data service refuses an oversized upload before a byte. */
                        .body_len = cl ? (size_t) strtoull(cl, NULL, 10) : 0,
                        .read_body = relay_read,
                        .on_header = relay_header,
                        .userdata = &x,
                        .timeout_ms = UPLOAD_TIMEOUT_MS,
                        .idle_timeout_ms = UPLOAD_IDLE_MS,
                        .request_id = http_request_id(req),
                        .owner = ctx->who.sub,
                },
                &res);
        if (r >= 0 && x.body_error == 0) {
                char end;

                /* With a Content-Length the relay stops at its last byte: take the end of
                 * the body too, so that the connection stays open for the next request. */
                (void) http_request_read_body(req, &end, 1);
        }
        if (x.body_error == -E2BIG)
                return http_reply_error(req, 413, "the upload is larger than the orchestrator relays");
        if (x.body_error < 0)
                return http_reply_error(
                        req,
                        400,
                        "the upload was incomplete: the client went away, sent less than its Content-Length "
                        "or stalled; the data service kept nothing");
        return reply_relayed(req, &x, r, &res);
}

int api_datasets_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        return relay(req, o, ctx, "GET", "/datasets");
}

static int relay_named(HttpRequest *req, Orchestrator *o, ApiContext *ctx, const char *method) {
        _cleanup_free_ char *path = NULL;
        const char *name = http_request_param(req, "name");

        api_context_set_target(ctx, name);
        if (asprintf(&path, "/datasets/%s", name) < 0)
                return -ENOMEM;
        return relay(req, o, ctx, method, path);
}

int api_datasets_get(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        return relay_named(req, o, ctx, "GET");
}

int api_datasets_delete(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        return relay_named(req, o, ctx, "DELETE");
}
