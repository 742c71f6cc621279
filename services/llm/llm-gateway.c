/* SPDX-License-Identifier: MIT */
/* llm-gateway.c — retries, breaker, fallback chain, trimming, usage and metrics around
 * llm_upstream_run(). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "backoff.h"
#include "llm-gateway.h"
#include "time-util.h"

#define BACKOFF_BASE_MS 100
#define BACKOFF_MAX_MS 2000

void llm_outcome_done(LlmOutcome *o) {
        llm_tool_calls_clear(&o->tools);
}

void llm_gateway_init(LlmGateway *g) {
        /* A call in flight when the breaker opened still counts: its success closes it. */
        for (size_t i = 0; i < g->config.n_backends; i++)
                breaker_init(
                        &g->breakers[i],
                        &(BreakerConfig){
                                .failure_threshold = (unsigned) g->config.backends[i].allowed_fails,
                                .open_ms = g->config.backends[i].cooldown_ms,
                                .late_results = true,
                        });
        if (g->retry_wait_max_ms == 0)
                g->retry_wait_max_ms = BACKOFF_MAX_MS;
}

void llm_gateway_done(LlmGateway *g) {
        for (size_t i = 0; i < g->config.n_backends; i++)
                breaker_done(&g->breakers[i]);
        llm_config_done(&g->config);
}

bool llm_gateway_configured(const LlmGateway *g) {
        return g->config.n_backends > 0;
}

int llm_gateway_setup_metrics(LlmGateway *g, MetricsRegistry *r) {
        int k = llm_metrics_register(&g->metrics, r);
        if (k < 0)
                return k;
        g->have_metrics = true;
        for (size_t i = 0; i < g->config.n_backends; i++)
                (void) metrics_gauge_set(
                        g->metrics.backend_up, (const char *[]){ g->config.backends[i].name }, 1);
        return 0;
}

static void sleep_ms(uint64_t ms) {
        struct timespec ts = { .tv_sec = (time_t) (ms / 1000), .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

typedef struct Run {
        LlmGateway *g;
        const LlmSink *sink;
        LlmOutcome *out;
        const LlmCandidate *c;
        bool fallback;
        size_t text_bytes;
} Run;

static int run_event(void *userdata, const LlmEvent *ev) {
        Run *x = userdata;
        int r;

        if (ev->text_len == 0 && ev->n_tools == 0 && !ev->embeddings)
                return 0;
        if (!x->out->streamed) {
                x->out->streamed = true;
                r = x->sink->begin(x->sink->userdata, x->c, x->fallback, x->out->fallback_from);
                if (r < 0)
                        return r;
        }
        if (ev->embeddings)
                return x->sink->embeddings ? x->sink->embeddings(x->sink->userdata, ev->embeddings)
                                           : -EPROTO;
        if (ev->text_len > 0) {
                x->text_bytes += ev->text_len;
                r = x->sink->text(x->sink->userdata, ev->text, ev->text_len);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ev->n_tools; i++) {
                LlmToolDelta d = ev->tools[i];

                r = llm_tool_calls_add(&x->out->tools, &d);
                if (r == -ENOMEM)
                        return -ENOMEM;
                if (r < 0)
                        return -EPROTO;
                x->text_bytes += d.arguments_len + (d.name ? strlen(d.name) : 0);
                r = x->sink->tool ? x->sink->tool(x->sink->userdata, &d) : 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int run_idle(void *userdata) {
        Run *x = userdata;
        return x->sink->idle ? x->sink->idle(x->sink->userdata) : 0;
}

static bool run_cancelled(void *userdata) {
        Run *x = userdata;
        return x->sink->cancelled && x->sink->cancelled(x->sink->userdata);
}

/* The prompt's tokens by the documented estimate, for backends that do not say. */
static int64_t prompt_estimate(const LlmCallRequest *req) {
        int64_t t = 0;

        if (req->messages)
                return llm_tokens_estimate_messages(req->messages, req->n_messages);
        for (size_t i = 0; i < req->n_inputs; i++)
                t += llm_tokens_estimate_text(req->inputs[i], strlen(req->inputs[i]));
        return req->inputs ? t : llm_tokens_estimate_text(req->prompt, strlen(strempty(req->prompt)));
}

/* Tokens a backend spent on an attempt that was cancelled midway (hybrid's loser, a client
 * that left): the backend did the work, so the per-model counters say so, estimated where
 * the backend did not report. */
static void count_cancelled_tokens(
        LlmGateway *g,
        const LlmCandidate *c,
        const LlmCallRequest *req,
        const LlmAttempt *a,
        size_t text_bytes) {
        int64_t p, k;

        if (!g->have_metrics)
                return;
        p = a->prompt_tokens >= 0 ? a->prompt_tokens : prompt_estimate(req);
        k = a->completion_tokens >= 0 ? a->completion_tokens : (int64_t) ((text_bytes + 3) / 4);
        (void) metrics_counter_add(
                g->metrics.tokens,
                (const char *[]){ c->backend->name, c->model->name, "prompt" },
                (double) p);
        (void) metrics_counter_add(
                g->metrics.tokens,
                (const char *[]){ c->backend->name, c->model->name, "completion" },
                (double) k);
}

static void count(LlmGateway *g, const LlmCandidate *c, const char *status) {
        if (g->have_metrics)
                (void) metrics_counter_add(
                        g->metrics.requests,
                        (const char *[]){ c->backend->name, c->model->name, status },
                        1);
}

static void update_up(LlmGateway *g, size_t bi) {
        if (g->have_metrics)
                (void) metrics_gauge_set(
                        g->metrics.backend_up,
                        (const char *[]){ g->config.backends[bi].name },
                        breaker_state(&g->breakers[bi], time_now_ms(CLOCK_MONOTONIC)) == BREAKER_OPEN ? 0
                                                                                                      : 1);
}

static bool retryable(LlmFailure f) {
        return f == LLM_FAIL_CONNECT || f == LLM_FAIL_TIMEOUT || f == LLM_FAIL_HTTP_5XX ||
                f == LLM_FAIL_HTTP_429 || f == LLM_FAIL_PROTOCOL || f == LLM_FAIL_RESET;
}

static int status_for(LlmFailure f) {
        switch (f) {
        case LLM_FAIL_TIMEOUT:
                return 504;
        case LLM_FAIL_HTTP_429:
                return 429;
        case LLM_FAIL_CLIENT_GONE:
                return 499;
        default:
                return 502;
        }
}

/* The messages that fit candidate c, or all of them; keep is scratch of n entries. */
static int trim_for(
        const LlmCallRequest *req,
        const LlmCandidate *c,
        LlmMessage *scratch,
        bool *keep,
        LlmCallRequest *ret,
        size_t *ret_dropped) {
        int64_t tokens;
        size_t dropped = 0, n = 0;
        int r;

        r = llm_tokens_trim(
                req->messages,
                req->n_messages,
                c->model->context_window - req->max_tokens,
                keep,
                &dropped,
                &tokens);
        if (r < 0)
                return r;
        for (size_t i = 0; i < req->n_messages; i++)
                if (keep[i])
                        scratch[n++] = req->messages[i];
        *ret = *req;
        ret->messages = scratch;
        ret->n_messages = n;
        *ret_dropped = dropped;
        return 0;
}

int llm_gateway_run(
        LlmGateway *g,
        const LlmRoute *route,
        const LlmCallRequest *req,
        bool trim,
        const LlmSink *sink,
        LlmOutcome *out) {
        _cleanup_free_ LlmMessage *scratch = NULL;
        _cleanup_free_ bool *keep = NULL;
        Run x = { .g = g, .sink = sink, .out = out };
        LlmUpstreamCallbacks cb = {
                .event = run_event, .idle = run_idle, .cancelled = run_cancelled, .userdata = &x
        };
        const LlmCandidate *prev = NULL;
        uint64_t min_wait = 0;
        bool all_open = true;
        int r;

        *out = (LlmOutcome){ .status = 502, .prompt_tokens = -1, .completion_tokens = -1 };
        if (trim && req->messages) {
                scratch = calloc(MAX(req->n_messages, (size_t) 1), sizeof(*scratch));
                keep = calloc(MAX(req->n_messages, (size_t) 1), sizeof(*keep));
                if (!scratch || !keep)
                        return -ENOMEM;
        }

        for (size_t ci = 0; ci < route->n; ci++) {
                const LlmCandidate *c = &route->candidates[ci];
                Breaker *br = &g->breakers[c->backend_index];
                LlmCallRequest creq = *req;
                size_t dropped = 0;

                if (prev) {
                        x.fallback = true;
                        snprintf(out->fallback_from, sizeof(out->fallback_from), "%s", prev->backend->name);
                }
                if (breaker_allow(br, time_now_ms(CLOCK_MONOTONIC), NULL) < 0) {
                        uint64_t w = breaker_wait_ms(br, time_now_ms(CLOCK_MONOTONIC));
                        count(g, c, "breaker_open");
                        if (min_wait == 0 || (w > 0 && w < min_wait))
                                min_wait = w;
                        prev = c;
                        if (out->failure == LLM_FAIL_NONE) {
                                out->status = 503;
                                snprintf(
                                        out->detail,
                                        sizeof(out->detail),
                                        "backend %s is cooling down after failures (circuit breaker open)",
                                        c->backend->name);
                        }
                        continue;
                }
                all_open = false;
                if (trim && req->messages) {
                        r = trim_for(req, c, scratch, keep, &creq, &dropped);
                        if (r < 0) {
                                breaker_release(br);
                                out->status = 413;
                                out->failure = LLM_FAIL_HTTP_4XX;
                                snprintf(
                                        out->detail,
                                        sizeof(out->detail),
                                        "the newest message and the system messages do not fit the %" PRId64
                                        "-token window of %s with max_tokens %" PRId64,
                                        c->model->context_window,
                                        c->model->name,
                                        req->max_tokens);
                                continue;
                        }
                }
                if (prev && g->have_metrics)
                        (void) metrics_counter_add(
                                g->metrics.fallbacks,
                                (const char *[]){ prev->backend->name, c->backend->name },
                                1);
                prev = c;
                x.c = c;

                for (unsigned attempt = 0;; attempt++) {
                        _cleanup_(llm_http_call_done) LlmHttpCall call = {};
                        LlmAttempt a;

                        if (run_cancelled(&x)) {
                                breaker_release(br);
                                out->failure = LLM_FAIL_CLIENT_GONE;
                                out->status = 499;
                                snprintf(out->detail, sizeof(out->detail), "cancelled before it finished");
                                return -EIO;
                        }
                        r = llm_provider_build(c->backend, c->model, &creq, &call);
                        if (r < 0) {
                                breaker_release(br);
                                return r;
                        }
                        x.text_bytes = 0;
                        r = llm_upstream_run(c->backend, &call, &cb, &a);
                        if (r >= 0 && out->tools.n > 0) {
                                r = llm_tool_calls_check(&out->tools, a.detail, sizeof(a.detail));
                                if (r == -ENOMEM) {
                                        breaker_release(br);
                                        return r;
                                }
                                if (r < 0) {
                                        a.failure = LLM_FAIL_PROTOCOL;
                                        r = -EIO;
                                }
                        }
                        count(g, c, llm_failure_to_string(a.failure));
                        if (r >= 0) {
                                breaker_record(br, true, time_now_ms(CLOCK_MONOTONIC));
                                update_up(g, c->backend_index);
                                if (!out->streamed) { /* an empty answer */
                                        out->streamed = true;
                                        if (sink->begin(sink->userdata, c, x.fallback, out->fallback_from) <
                                            0) {
                                                out->failure = LLM_FAIL_CLIENT_GONE;
                                                out->status = 499;
                                                return -EIO;
                                        }
                                }
                                out->used = c;
                                out->fallback = x.fallback;
                                out->dropped_messages = dropped;
                                out->kept_messages = creq.n_messages;
                                out->usage_estimated = a.prompt_tokens < 0 || a.completion_tokens < 0;
                                out->prompt_tokens =
                                        a.prompt_tokens >= 0 ? a.prompt_tokens : prompt_estimate(&creq);
                                out->completion_tokens = a.completion_tokens >= 0
                                        ? a.completion_tokens
                                        : (int64_t) ((x.text_bytes + 3) / 4);
                                /* Ollama ends an answer that calls tools with "stop". */
                                snprintf(
                                        out->finish_reason,
                                        sizeof(out->finish_reason),
                                        "%s",
                                        out->tools.n > 0 &&
                                                        (!a.finish_reason[0] ||
                                                         streq(a.finish_reason, "stop"))
                                                ? "tool_calls"
                                                : a.finish_reason[0] ? a.finish_reason
                                                                     : "stop");
                                if (g->have_metrics) {
                                        const char *bn = c->backend->name, *mn = c->model->name;
                                        (void) metrics_counter_add(
                                                g->metrics.tokens,
                                                (const char *[]){ bn, mn, "prompt" },
                                                (double) out->prompt_tokens);
                                        (void) metrics_counter_add(
                                                g->metrics.tokens,
                                                (const char *[]){ bn, mn, "completion" },
                                                (double) out->completion_tokens);
                                        if (a.first_byte)
                                                (void) metrics_histogram_observe(
                                                        g->metrics.ttft,
                                                        (const char *[]){ bn },
                                                        (double) a.ttft_ms / 1000.0);
                                        (void) metrics_histogram_observe(
                                                g->metrics.duration,
                                                (const char *[]){ bn },
                                                (double) a.duration_ms / 1000.0);
                                }
                                return 0;
                        }

                        out->failure = a.failure;
                        out->status = status_for(a.failure);
                        snprintf(
                                out->detail,
                                sizeof(out->detail),
                                "%s (%s): %s",
                                c->backend->name,
                                c->model->name,
                                a.detail);
                        if (a.failure == LLM_FAIL_CLIENT_GONE) {
                                breaker_release(br);
                                count_cancelled_tokens(g, c, &creq, &a, x.text_bytes);
                                return -EIO;
                        }
                        if (a.failure == LLM_FAIL_HTTP_BAD_REQUEST || a.failure == LLM_FAIL_INTERNAL) {
                                /* The request itself was refused: no other try would be better. */
                                breaker_release(br);
                                out->status = 502;
                                return -EIO;
                        }
                        if (a.failure == LLM_FAIL_HTTP_4XX) {
                                /* A key, permission or model this backend lacks: never retried here, but
                                 * the next backend may have it. Says nothing about the backend's health. */
                                breaker_release(br);
                                if (out->streamed || a.first_byte)
                                        return -EIO;
                                break;
                        }
                        breaker_record_failure(br, time_now_ms(CLOCK_MONOTONIC), a.retry_after_ms);
                        update_up(g, c->backend_index);
                        if (a.retry_after_ms > 0)
                                out->retry_after_ms = a.retry_after_ms;
                        if (out->streamed || a.first_byte) {
                                if (!sink->reset)
                                        return -EIO; /* bytes are out: no retry, the caller ends the stream
                                                      */
                                if (sink->reset(sink->userdata) < 0)
                                        return -ENOMEM;
                                out->streamed = false;
                                llm_tool_calls_clear(&out->tools);
                        }
                        if (!retryable(a.failure) || (int64_t) attempt >= c->backend->retries)
                                break;
                        {
                                uint64_t wait = a.retry_after_ms > 0 ? a.retry_after_ms
                                                                     : backoff_equal_jitter_ms(
                                                                               attempt,
                                                                               BACKOFF_BASE_MS,
                                                                               BACKOFF_MAX_MS,
                                                                               backoff_random());

                                wait = MAX(wait, breaker_wait_ms(br, time_now_ms(CLOCK_MONOTONIC)));
                                if (wait > g->retry_wait_max_ms)
                                        break; /* not worth waiting for here: next backend */
                                sleep_ms(wait);
                                if (breaker_allow(br, time_now_ms(CLOCK_MONOTONIC), NULL) < 0)
                                        break;
                        }
                }
        }
        if (all_open && route->n > 0) {
                out->status = 503;
                out->retry_after_ms = MAX(min_wait, (uint64_t) 1000);
        }
        return -EIO;
}
