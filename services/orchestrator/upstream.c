/* SPDX-License-Identifier: MIT */
/* upstream.c — parallel readiness probes of the backend services. */
#include "upstream.h"
#include "http-client.h"
#include "log.h"

int upstream_setup_metrics(Upstreams *u, MetricsRegistry *registry) {
        static const char *const labels[] = { "service", NULL };

        return metrics_gauge_new(
                registry,
                "orch_upstream_up",
                "1 if the upstream service answered its last readiness probe with 200.",
                labels,
                &u->up);
}

int upstream_probe_all(Upstreams *u, json_object *services, bool *ret_all_ready) {
        const struct {
                const char *name;
                const char *url;
        } targets[] = {
                { "llm", u->config->llm_url },
                { "vision", u->config->vision_url },
                { "nlp", u->config->nlp_url },
                { "data", u->config->data_url },
        };
        HttpClientRequest reqs[ELEMENTSOF(targets)] = {};
        char urls[ELEMENTSOF(targets)][4200];
        bool all = true;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(targets); i++) {
                size_t l = strlen(targets[i].url);

                /* "http://x:1/" and "http://x:1" mean the same base. */
                while (l > 0 && targets[i].url[l - 1] == '/')
                        l--;
                snprintf(
                        urls[i],
                        sizeof(urls[i]),
                        "%.*s/health/ready",
                        (int) MIN(l, (size_t) 4096),
                        targets[i].url);
                reqs[i] = (HttpClientRequest){
                        .url = urls[i],
                        .timeout_ms = u->config->probe_timeout_ms,
                        .max_body = 64 * 1024,
                        .request_id = log_get_request_id(),
                };
        }
        r = http_client_perform_many(reqs, ELEMENTSOF(reqs));
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(targets); i++) {
                HttpClientResponse *resp = &reqs[i].response;
                json_object *o = json_object_new_object();
                bool ready = reqs[i].result >= 0 && resp->status == 200;
                char err[300];

                if (!o) {
                        http_client_response_done(resp);
                        continue;
                }
                json_object_object_add(
                        o,
                        "status",
                        json_object_new_string(
                                ready                        ? "ready"
                                        : reqs[i].result < 0 ? "unreachable"
                                                             : "not_ready"));
                char ms[32];
                snprintf(ms, sizeof(ms), "%.3f", resp->total_ms);
                json_object_object_add(o, "latency_ms", json_object_new_double_s(resp->total_ms, ms));
                json_object_object_add(o, "url", json_object_new_string(targets[i].url));
                if (reqs[i].result < 0) {
                        snprintf(
                                err,
                                sizeof(err),
                                "%s",
                                resp->error[0] ? resp->error : strerror(-reqs[i].result));
                        json_object_object_add(o, "error", json_object_new_string(err));
                } else if (!ready) {
                        snprintf(err, sizeof(err), "HTTP %ld", resp->status);
                        json_object_object_add(o, "error", json_object_new_string(err));
                }
                json_object_object_add(services, targets[i].name, o);
                if (u->up)
                        (void) metrics_gauge_set(u->up, (const char *[]){ targets[i].name }, ready ? 1 : 0);
                if (!ready)
                        all = false;
                http_client_response_done(resp);
        }
        *ret_all_ready = all;
        return 0;
}
