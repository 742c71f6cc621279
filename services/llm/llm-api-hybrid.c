/* SPDX-License-Identifier: MIT */
/* llm-api-hybrid.c — the endpoints' side of hybrid mode (llm-hybrid.h runs the two legs):
 * which two candidates, the policy LLM_HYBRID, the X-LLM-Hybrid-* headers, the hybrid
 * member of the answer and the reply when neither leg answered. */
#include <inttypes.h>
#include <stdio.h>

#include "json-util.h"
#include "llm-api-internal.h"

int llm_api_hybrid_headers(ApiReply *x, const LlmCandidate *winner) {
        char v[160];
        int r;

        if (!x->h)
                return 0;
        r = http_reply_add_header(x->req, "X-LLM-Hybrid", llm_hybrid_mode_to_string(x->h->mode));
        snprintf(
                v,
                sizeof(v),
                "%s,%s",
                x->h->legs[0].route.candidates[0].backend->name,
                x->h->legs[1].route.candidates[0].backend->name);
        if (r >= 0)
                r = http_reply_add_header(x->req, "X-LLM-Hybrid-Backends", v);
        if (r >= 0 && winner && x->h->mode == LLM_HYBRID_FIRST)
                r = http_reply_add_header(x->req, "X-LLM-Hybrid-Winner", winner->backend->name);
        return r;
}

/* answers: [{backend, model, status: ok|failed|cancelled, text, finish_reason, usage,
 * latency_ms, error: {status, detail}}]. A leg still winding down (the cancelled loser of
 * mode first) is reported from what is known without reading its outcome, which its
 * thread may still be writing. */
json_object *llm_api_hybrid_json(LlmHybrid *h, bool with_text) {
        json_object *o = json_object_new_object(), *answers = json_object_new_array();

        if (!o || !answers) {
                json_object_put(o);
                json_object_put(answers);
                return NULL;
        }
        pthread_mutex_lock(&h->lock);
        json_object_object_add(o, "mode", json_object_new_string(llm_hybrid_mode_to_string(h->mode)));
        json_object_object_add(
                o,
                "winner",
                h->mode == LLM_HYBRID_FIRST && h->winner >= 0
                        ? json_object_new_string(h->legs[h->winner].route.candidates[0].backend->name)
                        : NULL);
        for (size_t i = 0; i < 2; i++) {
                const LlmHybridLeg *l = &h->legs[i];
                const LlmCandidate *c = &l->route.candidates[0];
                json_object *e = json_object_new_object(), *err = NULL;
                bool ok = l->done && l->r >= 0;

                if (!e)
                        break;
                json_object_object_add(e, "backend", json_object_new_string(c->backend->name));
                json_object_object_add(e, "model", json_object_new_string(c->model->name));
                json_object_object_add(
                        e,
                        "status",
                        json_object_new_string(
                                ok                ? "ok"
                                        : l->lost ? "cancelled"
                                                  : "failed"));
                if (ok) {
                        json_object *u = llm_api_usage_json(&l->out);
                        if (with_text)
                                json_object_object_add(
                                        e,
                                        "text",
                                        json_object_new_string_len(
                                                llm_text_str(&l->text), (int) l->text.len));
                        json_object_object_add(
                                e, "finish_reason", json_object_new_string(l->out.finish_reason));
                        if (u)
                                json_object_object_add(
                                        u, "estimated", json_object_new_boolean(l->out.usage_estimated));
                        json_object_object_add(e, "usage", u);
                } else {
                        err = json_object_new_object();
                        if (err && l->done) {
                                json_object_object_add(
                                        err, "status", json_object_new_int(l->lost ? 499 : l->out.status));
                                json_object_object_add(err, "detail", json_object_new_string(l->out.detail));
                        } else if (err) {
                                const LlmCandidate *w = &h->legs[1 - i].route.candidates[0];
                                char d[192];
                                snprintf(
                                        d,
                                        sizeof(d),
                                        "cancelled: %s on %s answered first",
                                        w->model->name,
                                        w->backend->name);
                                json_object_object_add(err, "status", json_object_new_int(499));
                                json_object_object_add(err, "detail", json_object_new_string(d));
                        }
                }
                json_object_object_add(
                        e, "latency_ms", l->done ? json_object_new_int64((int64_t) l->latency_ms) : NULL);
                json_object_object_add(e, "error", err);
                json_object_array_add(answers, e);
        }
        pthread_mutex_unlock(&h->lock);
        json_object_object_add(o, "answers", answers);
        return o;
}

/* selection_reason of a hybrid answer: how the legs were chosen and how each ended. */
static int hybrid_reason(LlmHybrid *h, const char *why, char **ret) {
        char tail[2][LLM_DETAIL_MAX + 200];

        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < 2; i++) {
                const LlmHybridLeg *l = &h->legs[i];
                const char *b = l->route.candidates[0].backend->name;

                if (l->done && l->r >= 0)
                        snprintf(
                                tail[i],
                                sizeof(tail[i]),
                                "%s answered%s in %" PRIu64 " ms",
                                b,
                                h->mode == LLM_HYBRID_FIRST && h->winner == (int) i ? " first" : "",
                                l->latency_ms);
                else if (l->lost || !l->done)
                        snprintf(tail[i], sizeof(tail[i]), "%s was cancelled", b);
                else
                        snprintf(tail[i], sizeof(tail[i]), "%s failed (%s)", b, l->out.detail);
        }
        pthread_mutex_unlock(&h->lock);
        return asprintf(
                       ret,
                       "hybrid %s: %s; %s; %s",
                       llm_hybrid_mode_to_string(h->mode),
                       why,
                       tail[0],
                       tail[1]) < 0
                ? -ENOMEM
                : 0;
}

/* Neither leg answered: one status for both (theirs when they agree, else 502). */
static int reply_hybrid_failure(ApiReply *x) {
        const LlmHybridLeg *l0 = &x->h->legs[0], *l1 = &x->h->legs[1];
        int status = l0->out.status == l1->out.status ? l0->out.status : 502;
        uint64_t wait = MAX(l0->out.retry_after_ms, l1->out.retry_after_ms);

        if (status == 499)
                status = 502;
        if (wait > 0) {
                char v[32];
                snprintf(v, sizeof(v), "%" PRIu64, (wait + 999) / 1000);
                (void) http_reply_add_header(x->req, "Retry-After", v);
        }
        (void) llm_api_hybrid_headers(x, NULL);
        return http_reply_error(
                x->req,
                status,
                "hybrid %s: neither backend produced an answer; %s; %s",
                llm_hybrid_mode_to_string(x->h->mode),
                l0->out.detail,
                l1->out.detail);
}

/* Both legs have run (or the winner has): the reply. p: the answering leg, or < 0. */
static int reply_hybrid(ApiReply *x, int p, const char *why) {
        _cleanup_free_ char *reason = NULL;
        LlmHybrid *h = x->h;
        LlmOutcome out;
        int r;

        if (p < 0) {
                const LlmHybridLeg *w = h->winner >= 0 ? &h->legs[h->winner] : NULL;

                if (w && w->out.failure == LLM_FAIL_CLIENT_GONE && !w->lost)
                        return 0; /* our client left */
                if (w && w->out.streamed && x->a->stream)
                        return llm_api_fail_stream(x, &w->out) < 0 ? 0 : 0;
                return reply_hybrid_failure(x);
        }
        out = h->legs[p].out;
        if (h->mode == LLM_HYBRID_BOTH && h->legs[1 - p].r >= 0) {
                /* The request's usage is what both answers cost. */
                out.prompt_tokens += h->legs[1 - p].out.prompt_tokens;
                out.completion_tokens += h->legs[1 - p].out.completion_tokens;
                out.usage_estimated |= h->legs[1 - p].out.usage_estimated;
        }
        r = hybrid_reason(h, why, &reason);
        if (r < 0)
                return r;
        if (!x->a->stream)
                x->text = h->legs[p].text; /* borrowed: the leg frees it */
        r = llm_api_finish(x, &out, reason);
        if (!x->a->stream)
                x->text = (LlmText){};
        return r;
}

/* hybrid: two backends at once (llm-hybrid.h). route: the request's route, or NULL when
 * hybrid.models names the two models. */
int llm_api_hybrid_serve(
        HttpRequest *req, LlmApi *api, ApiRequest *a, const LlmRoute *route, bool trim, ApiReply *x) {
        LlmSink client;
        char why[LLM_REASON_MAX + 512], how[LLM_REASON_MAX + 64];
        LlmCandidate legs[2];
        LlmHybrid h;
        int r, p;

        if (api->hybrid_policy == LLM_HYBRID_POLICY_OFF)
                return http_reply_error(
                        req,
                        403,
                        "hybrid mode is disabled on this gateway (LLM_HYBRID=off): it doubles the backend "
                        "calls; ask the operator to set LLM_HYBRID=on or local");
        if (!route) { /* hybrid.models names them */
                LlmRoute rt[2];

                for (size_t i = 0; i < 2; i++) {
                        char f[LLM_API_FIELD_MAX];
                        snprintf(f, sizeof(f), "hybrid.models[%zu]", i);
                        r = llm_api_route(api, a, a->hybrid_models[i], trim, &rt[i]);
                        if (r < 0)
                                return llm_api_reply_route_error(req, a, r, &rt[i], f);
                }
                r = llm_hybrid_pick_models(&rt[0], a->hybrid_models[0], &rt[1], a->hybrid_models[1], legs);
                if (r < 0) {
                        _cleanup_json_ json_object *errs = NULL;
                        json_errors_add(
                                &errs,
                                "hybrid.models",
                                "\"%s\" and \"%s\" are served by the same backend only; hybrid needs two "
                                "different backends",
                                a->hybrid_models[0],
                                a->hybrid_models[1]);
                        return http_reply_validation(req, errs);
                }
                snprintf(how, sizeof(how), "as named in hybrid.models");
        } else {
                r = llm_hybrid_pick_route(route, legs);
                if (r < 0) {
                        _cleanup_json_ json_object *errs = NULL;
                        json_errors_add(
                                &errs,
                                "hybrid",
                                "the route offers a single backend (%s); name two models on different "
                                "backends in hybrid.models",
                                route->reason);
                        return http_reply_validation(req, errs);
                }
                snprintf(how, sizeof(how), "the top two backends of the route (%s)", route->reason);
        }
        snprintf(
                why,
                sizeof(why),
                "%s on %s and %s on %s, %s",
                legs[0].model->name,
                legs[0].backend->name,
                legs[1].model->name,
                legs[1].backend->name,
                how);
        for (size_t i = 0; i < 2 && api->hybrid_policy == LLM_HYBRID_POLICY_LOCAL; i++)
                if (legs[i].model->cost > 0)
                        return http_reply_error(
                                req,
                                403,
                                "hybrid mode is limited to local models here (LLM_HYBRID=local): %s costs "
                                "%.2f USD/Mtok",
                                legs[i].model->name,
                                legs[i].model->cost);

        llm_api_sink(x, &client);
        llm_hybrid_init(&h, &api->gateway, a->hybrid_mode, &a->call, trim, a->stream ? &client : NULL, legs);
        x->h = &h;
        p = llm_hybrid_run(&h);
        if (p == -EIO || p >= 0)
                r = reply_hybrid(x, p, why);
        else
                r = p;
        /* The reply is out: only now wait for the cancelled leg to wind down. */
        llm_hybrid_finish(&h);
        llm_hybrid_done(&h);
        x->h = NULL;
        return r == -EPIPE ? 0 : r;
}
