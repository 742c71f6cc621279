/* SPDX-License-Identifier: MIT */
/* api-keys.c — API keys: POST /keys (the key shown once), GET /keys, DELETE /keys/{id}
 * (admins); the lookup of a key's token for the bearer gate; and a key's budgets (tokens a
 * UTC day or month, from the usage table) and RPM/TPM (apikey-meter.c), checked before a
 * metered route stores a job or calls a backend. */
#include <openssl/crypto.h>
#include <time.h>

#include "api-internal.h"
#include "time-util.h"
#include "usage.h"
#include "uuid.h"

#define KEY_LIMIT_MAX INT64_C(1000000000000)

int api_keys_lookup(const char *token, size_t len, AuthClaims *ret, void *userdata) {
        Orchestrator *o = userdata;
        uint8_t hash[KEY_HASH_SIZE];
        char name[APIKEY_NAME_MAX + 1], role[16];
        int r;

        r = apikey_hash(token, len, hash);
        if (r >= 0)
                r = job_store_key_lookup(o->store, hash, name, sizeof(name), role, sizeof(role));
        if (r < 0)
                return r;
        *ret = (AuthClaims){ .role = auth_role_from_string(role), .exp = INT64_MAX };
        snprintf(ret->sub, sizeof(ret->sub), APIKEY_SUB_PREFIX "%s", name);
        return 0;
}

/* POST /keys {name, role = operator, budget_tokens_day, budget_tokens_month, rpm, tpm} */
int api_keys_create(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *in = NULL, *errs = NULL, *resp = NULL;
        const char *name = NULL, *role = "operator";
        char secret[APIKEY_SECRET_MAX], prefix[APIKEY_SHOWN_PREFIX_LEN + 1], id[UUID_STRING_MAX], t[32];
        KeyNew k = {};
        int r;

        r = http_request_parse_json(req, &in);
        if (r < 0)
                return r == -EBADMSG ? 0 : r;
        if (json_get_string(in, "name", true, &errs, &name) >= 0 && name && !apikey_name_valid(name))
                (void) json_errors_add(
                        &errs,
                        "name",
                        "must be 1-%d characters of [A-Za-z0-9._-], not \"%s\" (the metrics' label of "
                        "the keys past the first %d)",
                        APIKEY_NAME_MAX,
                        APIKEY_METRICS_OTHER,
                        APIKEY_METRICS_KEYS);
        if (json_get_string(in, "role", false, &errs, &role) >= 0 && role && !streq(role, "viewer") &&
            !streq(role, "operator"))
                (void) json_errors_add(
                        &errs, "role", "must be viewer or operator (a key is never an admin)");
        (void) json_get_int(
                in, "budget_tokens_day", false, 1, KEY_LIMIT_MAX, &errs, &k.limits.budget_tokens_day);
        (void) json_get_int(
                in, "budget_tokens_month", false, 1, KEY_LIMIT_MAX, &errs, &k.limits.budget_tokens_month);
        (void) json_get_int(in, "rpm", false, 1, KEY_LIMIT_MAX, &errs, &k.limits.rpm);
        (void) json_get_int(in, "tpm", false, 1, KEY_LIMIT_MAX, &errs, &k.limits.tpm);
        if (errs)
                return http_reply_validation(req, errs);
        api_context_set_target(ctx, name);

        r = uuid_v7_string(id);
        if (r >= 0)
                r = apikey_generate(secret, prefix, k.hash);
        if (r < 0)
                return r;
        k.id = id;
        k.name = name;
        k.role = role;
        k.prefix = prefix;
        k.created_by = ctx->who.sub[0] ? ctx->who.sub : NULL;
        r = job_store_key_insert(o->store, &k);
        if (r == -EEXIST) {
                _cleanup_problem_ Problem *p = NULL;

                OPENSSL_cleanse(secret, sizeof(secret));
                r = problem_for_field(
                        &p, 409, "name", "an API key named %s exists already (revoked ones included)", name);
                return r < 0 ? r : http_reply_problem(req, p);
        }
        if (r < 0) {
                OPENSSL_cleanse(secret, sizeof(secret));
                return r;
        }
        resp = json_object_new_object();
        if (!resp) {
                OPENSSL_cleanse(secret, sizeof(secret));
                return -ENOMEM;
        }
        job_format_time(time_now_s(CLOCK_REALTIME), t);
        json_object_object_add(resp, "id", json_object_new_string(id));
        json_object_object_add(resp, "name", json_object_new_string(name));
        json_object_object_add(resp, "role", json_object_new_string(role));
        json_object_object_add(resp, "prefix", json_object_new_string(prefix));
        json_object_object_add(resp, "created_at", json_object_new_string(t));
        json_object_object_add(resp, "key", json_object_new_string(secret));
        OPENSSL_cleanse(secret, sizeof(secret));
        {
                char sub[AUTH_SUB_MAX + 1];

                snprintf(sub, sizeof(sub), APIKEY_SUB_PREFIX "%s", name);
                json_object_object_add(resp, "principal", json_object_new_string(sub));
        }
#define ADD_LIMIT(f) \
        json_object_object_add(resp, #f, k.limits.f > 0 ? json_object_new_int64(k.limits.f) : NULL)
        ADD_LIMIT(budget_tokens_day);
        ADD_LIMIT(budget_tokens_month);
        ADD_LIMIT(rpm);
        ADD_LIMIT(tpm);
#undef ADD_LIMIT
        (void) http_reply_add_header(req, "Cache-Control", "no-store");
        return http_reply_json(req, 201, resp);
}

int api_keys_list(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *list = NULL, *resp = json_object_new_object();
        int r;

        if (!resp)
                return -ENOMEM;
        r = job_store_key_list(o->store, &list);
        if (r < 0)
                return r;
        json_object_object_add(resp, "keys", TAKE_PTR(list));
        return http_reply_json(req, 200, resp);
}

int api_keys_revoke(HttpRequest *req, Orchestrator *o, ApiContext *ctx) {
        _cleanup_json_ json_object *resp = json_object_new_object();
        const char *id = http_request_param(req, "id");
        char name[APIKEY_NAME_MAX + 1] = "";
        int r;

        if (!resp)
                return -ENOMEM;
        api_context_set_target(ctx, id);
        r = job_store_key_revoke(o->store, id, name, sizeof(name));
        if (r == -ENOENT)
                return http_reply_error(req, 404, "no API key %.64s", id);
        if (r < 0 && r != -EALREADY)
                return r;
        json_object_object_add(resp, "id", json_object_new_string(id));
        json_object_object_add(resp, "name", json_object_new_string(name));
        json_object_object_add(resp, "revoked", json_object_new_boolean(true));
        return http_reply_json(req, 200, resp);
}

/* ---- budgets and limits ------------------------------------------------------------- */

/* 429 naming the limit, with Retry-After and RateLimit-* (RFC 9331 draft fields, as the
 * bucket of ORCH_RATE_LIMIT_RPS sends them). */
static int
refuse(HttpRequest *req,
       Orchestrator *o,
       const char *name,
       const char *limit,
       int64_t max,
       unsigned reset_s,
       const char *what) {
        _cleanup_problem_ Problem *p = NULL;
        char v[32];

        snprintf(v, sizeof(v), "%u", reset_s);
        (void) http_reply_add_header(req, "Retry-After", v);
        (void) http_reply_add_header(req, "RateLimit-Reset", v);
        snprintf(v, sizeof(v), "%" PRId64, max);
        (void) http_reply_add_header(req, "RateLimit-Limit", v);
        (void) http_reply_add_header(req, "RateLimit-Remaining", "0");
        if (o->key_limited)
                (void) metrics_counter_add(
                        o->key_limited,
                        (const char *[]){ apikey_meter_label(o->key_meter, name), limit },
                        1);
        p = problem_newf(
                429,
                NULL,
                "API key %s has used its %s of %" PRId64 " %s; retry in %u s",
                name,
                limit,
                max,
                what,
                reset_s);
        if (!p || problem_add_extension(p, "limit", json_object_new_string(limit)) < 0 ||
            problem_add_extension(p, "limit_value", json_object_new_int64(max)) < 0)
                return -ENOMEM;
        (void) http_reply_problem(req, p);
        return -EBUSY;
}

/* Seconds from now to the start of the next UTC day, and of the next UTC month. */
static void next_periods(double now, unsigned *ret_day, unsigned *ret_month) {
        time_t secs = (time_t) now;
        struct tm tm = {};

        *ret_day = (unsigned) (86400 - (secs % 86400));
        (void) gmtime_r(&secs, &tm);
        tm = (struct tm){ .tm_year = tm.tm_year + (tm.tm_mon == 11),
                          .tm_mon = (tm.tm_mon + 1) % 12,
                          .tm_mday = 1 };
        *ret_month = (unsigned) MAX(timegm(&tm) - secs, (time_t) 1);
}

int api_keys_check_limits(HttpRequest *req, Orchestrator *o, const AuthClaims *who) {
        const char *name = o->jwt ? apikey_name_of(who->sub) : NULL;
        double now = time_now_s(CLOCK_REALTIME);
        unsigned to_day, to_month;
        char today[11], month[11];
        ApiKeyDecision d;
        KeyLimits lim;
        int64_t used;
        int r;

        if (!name)
                return 0;
        r = job_store_key_limits(o->store, name, &lim);
        if (r == -ENOENT) /* revoked since the gate let it in, a moment ago */
                return 0;
        if (r < 0)
                return r;
        usage_day(now, today);
        next_periods(now, &to_day, &to_month);
        if (lim.budget_tokens_day > 0) {
                r = job_store_usage_total(o->store, who->sub, today, today, &used);
                if (r < 0)
                        return r;
                if (used >= lim.budget_tokens_day)
                        return refuse(
                                req, o, name, "budget_tokens_day", lim.budget_tokens_day, to_day, "tokens");
        }
        if (lim.budget_tokens_month > 0) {
                memcpy(month, today, sizeof(month));
                memcpy(month + 8, "01", 2);
                r = job_store_usage_total(o->store, who->sub, month, today, &used);
                if (r < 0)
                        return r;
                if (used >= lim.budget_tokens_month)
                        return refuse(
                                req,
                                o,
                                name,
                                "budget_tokens_month",
                                lim.budget_tokens_month,
                                to_month,
                                "tokens");
        }
        apikey_meter_take(o->key_meter, name, &lim, now, &d);
        if (d.limit)
                return refuse(
                        req,
                        o,
                        name,
                        d.limit,
                        d.max,
                        d.reset_s,
                        streq(d.limit, "rpm") ? "requests" : "tokens");
        return 0;
}
