/* SPDX-License-Identifier: MIT */
/* alert.c — levels, thresholds, the deduplicating store and the sinks' wire formats. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "alert.h"
#include "json-util.h"
#include "time-util.h"

static const char *const level_names[_ALERT_LEVEL_MAX] = {
        [ALERT_INFO] = "INFO",
        [ALERT_WARNING] = "WARNING",
        [ALERT_ERROR] = "ERROR",
        [ALERT_CRITICAL] = "CRITICAL",
};

/* seed 002's color_map */
static const char *const level_colors[_ALERT_LEVEL_MAX] = {
        [ALERT_INFO] = "#36a64f",
        [ALERT_WARNING] = "#ff9900",
        [ALERT_ERROR] = "#ff0000",
        [ALERT_CRITICAL] = "#990000",
};

const char *alert_level_to_string(AlertLevel l) {
        return l >= 0 && l < _ALERT_LEVEL_MAX ? level_names[l] : NULL;
}

AlertLevel alert_level_from_string(const char *s) {
        for (int i = 0; s && i < _ALERT_LEVEL_MAX; i++)
                if (strcasecmp(s, level_names[i]) == 0)
                        return (AlertLevel) i;
        return _ALERT_LEVEL_INVALID;
}

const char *alert_level_color(AlertLevel l) {
        return l >= 0 && l < _ALERT_LEVEL_MAX ? level_colors[l] : "#cccccc";
}

static AlertLevel by_thresholds(double v, double warning, double error, double critical) {
        if (v >= critical)
                return ALERT_CRITICAL;
        if (v >= error)
                return ALERT_ERROR;
        if (v >= warning)
                return ALERT_WARNING;
        return _ALERT_LEVEL_INVALID;
}

AlertLevel alert_level_for_idle(double idle_seconds) {
        return by_thresholds(idle_seconds, 300, 600, 900);
}

AlertLevel alert_level_for_restarts(unsigned restarts) {
        return by_thresholds(restarts, 3, 5, 10);
}

AlertLevel alert_level_for_stopped(unsigned stopped) {
        return by_thresholds(stopped, 1, 2, 3);
}

int alert_store_init(
        AlertStore *s, size_t max, uint64_t dedup_usec, unsigned rate_burst, uint64_t rate_window_usec) {
        if (max == 0)
                return -EINVAL;
        *s = (AlertStore){
                .alerts = calloc(max, sizeof(Alert)),
                .max = max,
                .next_id = 1,
                .dedup_usec = dedup_usec,
                .rate_burst = rate_burst,
                .rate_window_usec = rate_window_usec,
        };
        return s->alerts ? 0 : -ENOMEM;
}

static void alert_done(Alert *a) {
        free(a->key);
        free(a->service);
        free(a->message);
        *a = (Alert){};
}

void alert_store_done(AlertStore *s) {
        for (size_t i = 0; s->alerts && i < s->max; i++)
                alert_done(&s->alerts[i]);
        free(s->alerts);
        *s = (AlertStore){};
}

const Alert *alert_store_get(const AlertStore *s, size_t i) {
        if (i >= s->n)
                return NULL;
        return &s->alerts[(s->head + i) % s->max];
}

int alert_store_raise(
        AlertStore *s,
        AlertLevel level,
        const char *key,
        const char *service,
        const char *message,
        uint64_t now_usec,
        const Alert **ret_alert) {
        Alert *a;

        if (level < 0 || level >= _ALERT_LEVEL_MAX || !key || !message)
                return -EINVAL;

        /* newest first: the latest alert of a key decides */
        for (size_t i = s->n; i > 0; i--) {
                a = &s->alerts[(s->head + i - 1) % s->max];
                if (!streq(a->key, key))
                        continue;
                if (a->level == level && now_usec - a->last_usec < s->dedup_usec) {
                        a->last_usec = now_usec;
                        a->count++;
                        if (ret_alert)
                                *ret_alert = a;
                        return 0;
                }
                break;
        }

        if (level != ALERT_CRITICAL && s->rate_burst > 0) {
                if (now_usec - s->window_start >= s->rate_window_usec) {
                        s->window_start = now_usec;
                        s->in_window = 0;
                }
                if (s->in_window >= s->rate_burst) {
                        s->suppressed++;
                        return -EAGAIN;
                }
                s->in_window++;
        }

        Alert n = {
                .id = s->next_id,
                .level = level,
                .key = strdup(key),
                .service = service ? strdup(service) : NULL,
                .message = strdup(message),
                .first_usec = now_usec,
                .last_usec = now_usec,
                .count = 1,
        };
        if (!n.key || !n.message || (service && !n.service)) {
                alert_done(&n);
                return -ENOMEM;
        }
        if (s->n < s->max)
                a = &s->alerts[(s->head + s->n++) % s->max];
        else {
                a = &s->alerts[s->head];
                alert_done(a);
                s->head = (s->head + 1) % s->max;
        }
        *a = n;
        s->next_id++;
        s->totals[level]++;
        if (ret_alert)
                *ret_alert = a;
        return 1;
}

void alert_format_time(uint64_t usec, char *buf, size_t size) {
        if (time_format_rfc3339((time_t) (usec / 1000000ULL), -1, buf, size) < 0)
                snprintf(buf, size, "%llu", (unsigned long long) (usec / 1000000ULL));
}

static int add(json_object *o, const char *k, json_object *v) {
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, k, v) < 0 ? -ENOMEM : 0;
}

int alert_to_json(const Alert *a, json_object **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        char last[32], first[32];
        int r = 0;

        if (!o)
                return -ENOMEM;
        alert_format_time(a->last_usec, last, sizeof(last));
        alert_format_time(a->first_usec, first, sizeof(first));
        r = r ?: add(o, "id", json_object_new_int64((int64_t) a->id));
        r = r ?: add(o, "level", json_object_new_string(alert_level_to_string(a->level)));
        r = r
                ?: (a->service ? add(o, "service", json_object_new_string(a->service))
                               : (json_object_object_add(o, "service", NULL) < 0 ? -ENOMEM : 0));
        r = r ?: add(o, "message", json_object_new_string(a->message));
        r = r ?: add(o, "key", json_object_new_string(a->key));
        r = r ?: add(o, "timestamp", json_object_new_string(last));
        r = r ?: add(o, "first_seen", json_object_new_string(first));
        r = r ?: add(o, "count", json_object_new_int64(a->count));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

int alert_slack_payload(const Alert *a, char **ret) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *att, *arr;
        _cleanup_free_ char *title = NULL;
        const char *s;
        int r = 0;

        if (!root)
                return -ENOMEM;
        if (asprintf(
                    &title,
                    "[%s] %s",
                    alert_level_to_string(a->level),
                    a->service ? a->service : "cluster") < 0)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return -ENOMEM;
        arr = json_object_new_array();
        att = json_object_new_object();
        if (!arr || !att) {
                json_object_put(arr);
                json_object_put(att);
                return -ENOMEM;
        }
        r = r ?: add(root, "text", json_object_new_string(title));
        if (r < 0) {
                json_object_put(arr);
                json_object_put(att);
                return r;
        }
        if (json_object_array_add(arr, att) < 0) {
                json_object_put(arr);
                json_object_put(att);
                return -ENOMEM;
        }
        r = r ?: add(root, "attachments", arr);
        r = r ?: add(att, "color", json_object_new_string(alert_level_color(a->level)));
        r = r ?: add(att, "title", json_object_new_string(title));
        r = r ?: add(att, "text", json_object_new_string(a->message));
        r = r ?: add(att, "ts", json_object_new_int64((int64_t) (a->last_usec / 1000000ULL)));
        if (r < 0)
                return r;
        s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = s ? strdup(s) : NULL;
        return *ret ? 0 : -ENOMEM;
}

int alert_sign(
        const void *secret, size_t secret_len, int64_t ts, const char *body, size_t body_len, char **ret) {
        _cleanup_free_ char *msg = NULL;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        char prefix[32], hex[2 * EVP_MAX_MD_SIZE + 1];
        size_t plen;

        if (!secret || secret_len == 0 || secret_len > INT32_MAX)
                return -EINVAL;
        plen = (size_t) snprintf(prefix, sizeof(prefix), "%lld.", (long long) ts);
        msg = malloc(plen + body_len + 1);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, prefix, plen);
        memcpy(msg + plen, body, body_len);
        if (!HMAC(EVP_sha256(),
                  secret,
                  (int) secret_len,
                  (const unsigned char *) msg,
                  plen + body_len,
                  mac,
                  &mac_len))
                return -EIO;
        for (unsigned i = 0; i < mac_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        hex[2 * mac_len] = 0;
        return asprintf(ret, "t=%lld,v1=%s", (long long) ts, hex) < 0 ? -ENOMEM : 0;
}
