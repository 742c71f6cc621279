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

/* Whether a model that model=auto may choose (or any, when !auto_only) is marked for
 * images (vision) or embeddings. */
static bool any_model(const LlmConfig *cfg, bool auto_only, bool vision) {
        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++) {
                        const LlmModel *m = &cfg->backends[i].models[j];
                        if ((vision ? m->vision : m->embeddings) && (!auto_only || m->in_auto))
                                return true;
                }
        return false;
}

/* The features of needs that backend b's kind does not honour. */
static uint32_t lacking(const LlmBackend *b, const LlmNeeds *needs) {
        return needs->features & ~b->ops->features;
}

static bool fits(const LlmCandidate *c, const LlmNeeds *needs) {
        return c->model->context_window >= needs->tokens && (!needs->vision || c->model->vision) &&
                c->model->embeddings == needs->embeddings && lacking(c->backend, needs) == 0;
}

/* Why model m cannot take the request at all, as a route error; 0 when it can. */
static int mismatch(const LlmConfig *cfg, const LlmModel *m, const LlmNeeds *needs, LlmRoute *r) {
        if (needs->embeddings && !m->embeddings) {
                bool some = any_model(cfg, false, false);
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" is not marked \"embeddings\": true in LLM_BACKENDS_FILE%s",
                        m->name,
                        some ? "; name an embeddings model or use model=auto"
                             : "; add an embeddings model (e.g. an Ollama nomic-embed-text) with "
                               "\"embeddings\": true to LLM_BACKENDS_FILE");
                return some ? -EMEDIUMTYPE : -ENOMEDIUM;
        }
        if (!needs->embeddings && m->embeddings) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" is an embeddings model; it answers POST /v1/embeddings only",
                        m->name);
                return -EMEDIUMTYPE;
        }
        if (needs->vision && !m->vision) {
                bool some = any_model(cfg, false, true);
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" is not marked \"vision\": true in LLM_BACKENDS_FILE and cannot take images%s",
                        m->name,
                        some ? "; name a vision model or use model=auto"
                             : "; no vision model is configured: add a multimodal model (e.g. an Ollama "
                               "llava) with \"vision\": true to LLM_BACKENDS_FILE");
                return some ? -EMEDIUMTYPE : -ENOMEDIUM;
        }
        if (m->context_window < needs->tokens) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" has a %" PRId64 "-token window; the request needs about %" PRId64,
                        m->name,
                        m->context_window,
                        needs->tokens);
                return -E2BIG;
        }
        return 0;
}

static int route_explicit(const LlmConfig *cfg, const char *model, const LlmNeeds *needs, LlmRoute *r) {
        const LlmModel *first = NULL;
        const LlmBackend *closest = NULL;
        size_t n;
        int k;

        n = add_serving(r, cfg, model, &first);
        if (n == 0) {
                snprintf(r->reason, sizeof(r->reason), "model \"%s\" is not configured", model);
                return -ENOENT;
        }
        k = mismatch(cfg, first, needs, r);
        if (k < 0) {
                r->n = 0;
                return k;
        }
        for (size_t i = 0; i < first->n_fallbacks; i++)
                (void) add_serving(r, cfg, first->fallbacks[i], NULL);
        /* Candidates that cannot hold the request, its images or its features would only
         * fail again. */
        closest = r->candidates[0].backend;
        n = 0;
        for (size_t i = 0; i < r->n; i++)
                if (fits(&r->candidates[i], needs))
                        r->candidates[n++] = r->candidates[i];
        r->n = n;
        if (n == 0 || !streq(r->candidates[0].model->name, model)) {
                r->n = 0;
                r->missing = lacking(closest, needs);
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "model \"%s\" is served by %s (%s), whose kind cannot honour %s",
                        model,
                        closest->name,
                        closest->ops->name,
                        llm_feature_to_string(r->missing & -r->missing));
                return -EPROTONOSUPPORT;
        }
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
        const LlmNeeds *needs,
        LlmRoute *ret) {
        int64_t needed_tokens = needs->tokens;
        bool vision = needs->vision;
        size_t total = 0, fit = 0;
        const LlmModel *largest = NULL;
        const LlmBackend *closest = NULL;
        double max_cost = 0;
        LlmRoute *r = ret;

        *r = (LlmRoute){};
        if (cfg->n_backends == 0) {
                snprintf(r->reason, sizeof(r->reason), "no backend is configured");
                return -ENODATA;
        }
        if (model && !streq(model, "auto"))
                return route_explicit(cfg, model, needs, r);
        if (vision && !any_model(cfg, true, true)) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "the request carries images but no model that model=auto may choose is marked "
                        "\"vision\": true in LLM_BACKENDS_FILE: add a multimodal model (e.g. an Ollama "
                        "llava) with \"vision\": true");
                return -ENOMEDIUM;
        }
        if (needs->embeddings && !any_model(cfg, true, false)) {
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "no model that model=auto may choose is marked \"embeddings\": true in "
                        "LLM_BACKENDS_FILE: add an embeddings model (e.g. an Ollama nomic-embed-text) with "
                        "\"embeddings\": true");
                return -ENOMEDIUM;
        }

        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++)
                        max_cost = MAX(max_cost, cfg->backends[i].models[j].cost);
        for (size_t i = 0; i < cfg->n_backends; i++)
                for (size_t j = 0; j < cfg->backends[i].n_models; j++) {
                        const LlmModel *m = &cfg->backends[i].models[j];

                        if (!m->in_auto || (vision && !m->vision) || m->embeddings != needs->embeddings)
                                continue;
                        if (lacking(&cfg->backends[i], needs) != 0) {
                                /* The backend closest to honouring everything names what is lacking. */
                                if (!closest ||
                                    __builtin_popcount(lacking(&cfg->backends[i], needs)) <
                                            __builtin_popcount(lacking(closest, needs)))
                                        closest = &cfg->backends[i];
                                continue;
                        }
                        total++;
                        if (!largest || m->context_window > largest->context_window)
                                largest = m;
                        if (m->context_window < needed_tokens)
                                continue;
                        fit++;
                        (void) add(r, cfg, i, m, llm_router_score(m, priority, task, max_cost));
                }
        if (r->n == 0 && closest && total == 0) {
                r->missing = lacking(closest, needs);
                snprintf(
                        r->reason,
                        sizeof(r->reason),
                        "auto: no configured backend honours everything the request uses; the closest, %s "
                        "(%s), cannot honour %s",
                        closest->name,
                        closest->ops->name,
                        llm_feature_to_string(r->missing & -r->missing));
                return -EPROTONOSUPPORT;
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
