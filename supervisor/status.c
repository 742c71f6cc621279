/* SPDX-License-Identifier: MIT */
/* status.c — readiness probe (libcurl), timestamp formatting and status rendering. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <time.h>

#include "json-util.h"
#include "status.h"
#include "time-util.h"

static void status_json_putp(json_object **o) {
        json_object_put(*o);
}

void pod_status_done(PodStatus *s) {
        for (size_t i = 0; i < s->n_services; i++) {
                free(s->services[i].name);
                free(s->services[i].unit);
                unit_state_done(&s->services[i].state);
        }
        free(s->services);
        free(s->unit);
        unit_state_done(&s->state);
        *s = (PodStatus){};
}

int pod_status_add_service(PodStatus *s, const char *name, const char *unit) {
        ServiceStatus *n = realloc(s->services, sizeof(ServiceStatus) * (s->n_services + 1));

        if (!n)
                return -ENOMEM;
        s->services = n;
        n = &s->services[s->n_services];
        *n = (ServiceStatus){ .name = strdup(name), .unit = strdup(unit) };
        if (!n->name || !n->unit) {
                free(n->name);
                free(n->unit);
                return -ENOMEM;
        }
        s->n_services++;
        return 0;
}

int status_format_timestamp(uint64_t usec, char *buf, size_t size) {
        if (usec == 0)
                return -ENODATA;
        return time_format_rfc3339((time_t) (usec / 1000000ULL), -1, buf, size);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
        FILE *f = userdata;
        return fwrite(data, size, nmemb, f) * size;
}

/* The one CURLcode → errno mapping of this binary. */
static int curl_to_errno(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
                return -EHOSTUNREACH;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EINVAL;
        default:
                return -EIO;
        }
}

int status_probe(const char *url, uint64_t timeout_ms, long *ret_http_code, char **ret_body) {
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        long code = 0;
        CURLcode c;
        FILE *f;
        CURL *h;

        h = curl_easy_init();
        if (!h)
                return -ENOMEM;
        f = open_memstream(&body, &len);
        if (!f) {
                curl_easy_cleanup(h);
                return -ENOMEM;
        }
        c = curl_easy_setopt(h, CURLOPT_URL, url);
        if (c == CURLE_OK)
                c = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
        if (c == CURLE_OK)
                c = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (c == CURLE_OK)
                c = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        if (c == CURLE_OK)
                c = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        if (c == CURLE_OK)
                c = curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
        if (c == CURLE_OK)
                c = curl_easy_perform(h);
        if (c == CURLE_OK)
                c = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_cleanup(h);
        if (fclose(f) != 0 && c == CURLE_OK)
                return -ENOMEM;
        if (c != CURLE_OK)
                return curl_to_errno(c);
        *ret_http_code = code;
        *ret_body = TAKE_PTR(body);
        return 0;
}

static bool status_word_ready(const char *s) {
        return streq(s, "ready") || streq(s, "healthy") || streq(s, "ok");
}

int status_apply_ready(PodStatus *s, long http_code, const char *body) {
        _cleanup_(status_json_putp) json_object *root = NULL;
        json_object *services = NULL;
        int r;

        s->probe_answered = true;
        s->probe_http_code = http_code;
        for (size_t i = 0; i < s->n_services; i++)
                if (streq(s->services[i].name, "orchestrator"))
                        s->services[i].ready = true;

        r = json_parse_strict(body, strlen(body), &root, NULL);
        if (r < 0)
                return r;
        if (!json_object_is_type(root, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(root, "services", &services))
                return 0; /* an orchestrator without sub-services to report */
        if (!json_object_is_type(services, json_type_object))
                return -EBADMSG;

        for (size_t i = 0; i < s->n_services; i++) {
                ServiceStatus *svc = &s->services[i];
                json_object *o, *st, *lat;

                if (!json_object_object_get_ex(services, svc->name, &o) ||
                    !json_object_is_type(o, json_type_object))
                        continue;
                if (json_object_object_get_ex(o, "status", &st) &&
                    json_object_is_type(st, json_type_string)) {
                        svc->ready = status_word_ready(json_object_get_string(st));
                        svc->slow = streq(json_object_get_string(st), "timeout");
                }
                if (json_object_object_get_ex(o, "latency_ms", &lat) &&
                    (json_object_is_type(lat, json_type_double) ||
                     json_object_is_type(lat, json_type_int))) {
                        svc->has_latency = true;
                        svc->latency_ms = json_object_get_double(lat);
                }
        }
        return 0;
}

static bool unit_ok(const UnitState *st) {
        return streq_ptr(st->active_state, "active");
}

bool status_all_ok(const PodStatus *s) {
        if (!unit_ok(&s->state) || !s->probe_answered || s->probe_http_code != 200)
                return false;
        for (size_t i = 0; i < s->n_services; i++)
                if (!unit_ok(&s->services[i].state) || !s->services[i].ready)
                        return false;
        return true;
}

static json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static int add_unit_fields(json_object *o, const char *unit, const UnitState *st) {
        char since[64];
        int r = 0;

        r |= json_object_object_add(o, "unit", json_object_new_string(unit));
        r |= json_object_object_add(o, "load", json_string_or_null(st->load_state));
        r |= json_object_object_add(o, "active", json_string_or_null(st->active_state));
        r |= json_object_object_add(o, "sub", json_string_or_null(st->sub_state));
        r |= json_object_object_add(
                o,
                "since",
                status_format_timestamp(st->state_change_usec, since, sizeof(since)) >= 0
                        ? json_object_new_string(since)
                        : NULL);
        return r ? -ENOMEM : 0;
}

int status_render_json(const PodStatus *s, char **ret) {
        _cleanup_(status_json_putp) json_object *root = json_object_new_object();
        json_object *pod = json_object_new_object(), *arr = json_object_new_array();
        char *text;
        int r;

        if (!root || !pod || !arr) {
                json_object_put(pod);
                json_object_put(arr);
                return -ENOMEM;
        }
        if (json_object_object_add(root, "pod", pod) < 0) {
                json_object_put(pod);
                json_object_put(arr);
                return -ENOMEM;
        }
        if (json_object_object_add(root, "services", arr) < 0) {
                json_object_put(arr);
                return -ENOMEM;
        }
        r = add_unit_fields(pod, s->unit, &s->state);
        if (r < 0)
                return r;
        for (size_t i = 0; i < s->n_services; i++) {
                const ServiceStatus *svc = &s->services[i];
                json_object *o = json_object_new_object();

                if (!o || json_object_array_add(arr, o) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                if (json_object_object_add(o, "name", json_object_new_string(svc->name)) < 0)
                        return -ENOMEM;
                r = add_unit_fields(o, svc->unit, &svc->state);
                if (r < 0)
                        return r;
                if (json_object_object_add(o, "ready", json_object_new_boolean(svc->ready)) < 0 ||
                    json_object_object_add(
                            o,
                            "latency_ms",
                            svc->has_latency ? json_object_new_double(svc->latency_ms) : NULL) < 0)
                        return -ENOMEM;
        }
        if (json_object_object_add(root, "ready", json_object_new_boolean(status_all_ok(s))) < 0)
                return -ENOMEM;

        text = strdup(json_object_to_json_string_ext(
                root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static void print_row(FILE *f, const char *name, const char *unit, const UnitState *st, const char *ready) {
        char since[64];

        if (status_format_timestamp(st->state_change_usec, since, sizeof(since)) < 0)
                strcpy(since, "-");
        fprintf(f,
                "%-13s %-40s %-10s %-10s %-12s %-21s %s\n",
                name,
                unit,
                strempty(st->load_state),
                strempty(st->active_state),
                strempty(st->sub_state),
                since,
                ready);
}

void status_print_table(const PodStatus *s, FILE *f) {
        fprintf(f,
                "%-13s %-40s %-10s %-10s %-12s %-21s %s\n",
                "SERVICE",
                "UNIT",
                "LOAD",
                "ACTIVE",
                "SUB",
                "SINCE",
                "READY");
        print_row(f, "(pod)", s->unit, &s->state, "-");
        for (size_t i = 0; i < s->n_services; i++) {
                const ServiceStatus *svc = &s->services[i];
                char ready[64];

                if (svc->has_latency)
                        snprintf(
                                ready,
                                sizeof(ready),
                                "%s (%.1f ms)",
                                svc->ready ? "yes" : "no",
                                svc->latency_ms);
                else
                        snprintf(ready, sizeof(ready), "%s", svc->ready ? "yes" : "no");
                print_row(f, svc->name, svc->unit, &svc->state, ready);
        }
        if (!s->probe_answered)
                fprintf(f, "\nreadiness probe: no answer\n");
        fprintf(f,
                "\n%s\n",
                status_all_ok(s) ? "ai-semble is running and ready." : "ai-semble is NOT fully ready.");
}
