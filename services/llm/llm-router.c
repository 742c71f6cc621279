/* SPDX-License-Identifier: MIT */
/* llm-router.c — candidate ranking and the selection_reason text. */
#include <inttypes.h>
#include <stdio.h>

#include "llm-provider.h"
#include "llm-router.h"

static const char *const priority_names[_LLM_PRIORITY_MAX] = {
        [LLM_PRIORITY_BALANCED] = "balanced",
        [LLM_PRIORITY_QUALITY] = "quality",
        [LLM_PRIORITY_SPEED] = "speed",
        [LLM_PRIORITY_COST] = "cost",
};

const char *llm_priority_to_string(LlmPriority p) {
        return p < _LLM_PRIORITY_MAX ? priority_names[p] : "unknown";
}

int llm_priority_from_string(const char *s) {
        for (size_t i = 0; i < _LLM_PRIORITY_MAX; i++)
                if (streq_ptr(s, priority_names[i]))
                        return (int) i;
        return -EINVAL;
}

static bool model_has_task(const LlmModel *m, const char *task) {
        for (size_t i = 0; task && i < m->n_tasks; i++)
                if (streq(m->tasks[i], task))
                        return true;
        return false;
}

double llm_router_score(const LlmModel *m, LlmPriority priority, const char *task, double max_cost) {
        double q = m->quality / 10.0, s = m->speed / 10.0, c = max_cost > 0 ? m->cost / max_cost : 0, score;

        switch (priority) {
        case LLM_PRIORITY_QUALITY:
                score = q + 0.01 * s;
                break;
        case LLM_PRIORITY_SPEED:
                score = s + 0.01 * q;
                break;
        case LLM_PRIORITY_COST:
                score = (1.0 - c) + 0.01 * q;
                break;
        default:
                score = 0.4 * q + 0.3 * s + 0.3 * (1.0 - c);
                break;
        }
        if (model_has_task(m, task))
                score += 0.25;
        return score;
}

static int add(LlmRoute *r, const LlmConfig *cfg, size_t bi, const LlmModel *m, double score) {
        for (size_t i = 0; i < r->n; i++)
                if (r->candidates[i].backend_index == bi && r->candidates[i].model == m)
                        return 0;
        if (r->n >= LLM_ROUTE_MAX)
                return 0;
        r->candidates[r->n++] = (LlmCandidate){
                .backend = &cfg->backends[bi],
                .model = m,
                .backend_index = bi,
                .score = score,
        };
        return 1;
}

/* Adds every backend serving name; returns how many, and the first model found. */
static size_t add_serving(LlmRoute *r, const LlmConfig *cfg, const char *name, const LlmModel **ret_first) {
        size_t n = 0;

        for (size_t i = 0; i < cfg->n_backends; i++) {
                const LlmModel *m = llm_backend_find_model(&cfg->backends[i], name);
                if (!m)
                        continue;
                if (ret_first && !*ret_first)
                        *ret_first = m;
                n += (size_t) add(r, cfg, i, m, 0);
        }
        return n;
}

static bool any_vision_model(const LlmConfig *cfg, bool auto_only) {
        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++)
                        if (cfg->backends[i].models[j].vision &&
                            (!auto_only || cfg->backends[i].models[j].in_auto))
                                return true;
        return false;
}

static int
route_explicit(const LlmConfig *cfg, const char *model, int64_t needed, bool vision, LlmRoute *r) {
        const LlmModel *first = NULL;
        size_t n;

        n = add_serving(r, cfg, model, &first);
        if (n == 0) {
                snprintf(r->reason, sizeof(r->reason), "model \"%s\" is not configured", model);
                return -ENOENT;
        }
        if (vision && !first->vision) {
                bool some = any_vision_model(cfg, false);
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" is not marked \"vision\": true in LLM_BACKENDS_FILE and cannot take images%s",
                        model,
                        some ? "; name a vision model or use model=auto"
                             : "; no vision model is configured");
                r->n = 0;
                return some ? -EMEDIUMTYPE : -ENOMEDIUM;
        }
        if (first->context_window < needed) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" has a %" PRId64 "-token window; the request needs about %" PRId64,
                        model,
                        first->context_window,
                        needed);
                r->n = 0;
                return -E2BIG;
        }
        for (size_t i = 0; i < first->n_fallbacks; i++)
                (void) add_serving(r, cfg, first->fallbacks[i], NULL);
        /* Fallbacks that cannot hold the request (or its images) would only fail again. */
        n = 0;
        for (size_t i = 0; i < r->n; i++)
                if (r->candidates[i].model->context_window >= needed &&
                    (!vision || r->candidates[i].model->vision))
                        r->candidates[n++] = r->candidates[i];
        r->n = n;
        snprintf(
                r->reason,
                sizeof(r->reason),
                "model \"%s\" requested; served by %s (%s)%s",
                model,
                r->candidates[0].backend->name,
                r->candidates[0].backend->ops->name,
                r->n > 1 ? "; fallbacks configured" : "");
        return 0;
}

int llm_router_route(
        const LlmConfig *cfg,
        const char *model,
        LlmPriority priority,
        const char *task,
        int64_t needed_tokens,
        bool vision,
        LlmRoute *ret) {
        size_t total = 0, fit = 0;
        const LlmModel *largest = NULL;
        double max_cost = 0;
        LlmRoute *r = ret;

        *r = (LlmRoute){};
        if (cfg->n_backends == 0) {
                snprintf(r->reason, sizeof(r->reason), "no backend is configured");
                return -ENODATA;
        }
        if (model && !streq(model, "auto"))
                return route_explicit(cfg, model, needed_tokens, vision, r);
        if (vision && !any_vision_model(cfg, true)) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "the request carries images but no model that model=auto may choose is marked "
                        "\"vision\": true in LLM_BACKENDS_FILE");
                return -ENOMEDIUM;
        }

        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++)
                        max_cost = MAX(max_cost, cfg->backends[i].models[j].cost);
        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++) {
                        const LlmModel *m = &cfg->backends[i].models[j];

                        if (!m->in_auto || (vision && !m->vision))
                                continue;
                        total++;
                        if (!largest || m->context_window > largest->context_window)
                                largest = m;
                        if (m->context_window < needed_tokens)
                                continue;
                        fit++;
                        (void) add(r, cfg, i, m, llm_router_score(m, priority, task, max_cost));
                }
        if (r->n == 0) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "auto: the request needs about %" PRId64 " tokens; the largest window is %" PRId64
                        " (%s)",
                        needed_tokens,
                        largest ? largest->context_window : 0,
                        largest ? largest->name : "none");
                return -E2BIG;
        }
        /* Insertion sort, stable: equal scores keep the configured order. */
        for (size_t i = 1; i < r->n; i++) {
                LlmCandidate c = r->candidates[i];
                size_t j = i;
                while (j > 0 && r->candidates[j - 1].score < c.score) {
                        r->candidates[j] = r->candidates[j - 1];
                        j--;
                }
                r->candidates[j] = c;
        }
        {
                const LlmCandidate *c = &r->candidates[0];
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "auto: priority=%s%s%s%s; %s on %s scored %.3f (quality %.1f, speed %.1f, cost %.2f/Mtok, "
                        "window %" PRId64 " >= %" PRId64 " tokens needed%s); %zu of %zu models fit",
                        llm_priority_to_string(priority),
                        task ? ", task=" : "",
                        strempty(task),
                        vision ? ", vision models only" : "",
                        c->model->name,
                        c->backend->name,
                        c->score,
                        c->model->quality,
                        c->model->speed,
                        c->model->cost,
                        c->model->context_window,
                        needed_tokens,
                        model_has_task(c->model, task) ? ", task match" : "",
                        fit,
                        total);
        }
        return 0;
}
