/* SPDX-License-Identifier: MIT */
/* nlp-process.c — the one API route. Inputs are checked before any work: body UTF-8
 * (422), JSON (400), fields and types (422 naming the field), text size (413), task and
 * language names (422 naming them). A task whose resource is missing answers 503 naming
 * the setting; a task no method here can back (Japanese sentiment with neither a lexicon
 * nor NLP_LLM_URL) answers 501. */
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "nlp-deadline.h"
#include "nlp-entities.h"
#include "nlp-json.h"
#include "nlp-keywords.h"
#include "nlp-langid.h"
#include "nlp-llm.h"
#include "nlp-mecab.h"
#include "nlp-process.h"
#include "nlp-sentiment-ja.h"
#include "nlp-sentiment.h"
#include "nlp-similarity.h"
#include "nlp-summarize.h"
#include "nlp-tokenize.h"
#include "nlp-utf8.h"
#include "time-util.h"

#define MAX_COMPARE_TEXTS 32
#define NLP_TRIM_AFTER_BYTES (64 * 1024)

static const char *const tasks[] = { "analyze",   "sentiment",  "keywords", "entities",
                                     "summarize", "similarity", "tokenize" };
static const char *const languages[] = { "auto", "en", "ja" };
static const char *const task_fields[] = { "text", "task?", "language?", "options?", NULL };

static const char JA_SENTIMENT_DETAIL[] =
        "Japanese sentiment needs a polarity lexicon or a language model and neither is configured: no openly "
        "licensed lexicon ships with the image, so set NLP_JA_SENTIMENT_LEXICON to a file of 'base "
        "form<TAB>polarity (-4..4)' lines from a lexicon you may use, or NLP_LLM_URL to the llm service "
        "(http://127.0.0.1:8081 in the pod) with a backend in its LLM_BACKENDS_FILE; no score is given rather "
        "than one no method backs";

/* GET /tasks: every name of tasks[], all on POST /process selected by "task"; pure
 * functions of their input, so idempotent. */
int nlp_process_tasks(ServiceTasks *out, void *userdata) {
        for (size_t i = 0; i < ELEMENTSOF(tasks); i++) {
                int r = service_tasks_add(
                        out,
                        &(ServiceTask){
                                .name = tasks[i],
                                .path = "/process",
                                .field = "task",
                                .idempotent = true,
                                .body = "application/json",
                                .fields = task_fields,
                        });
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- resources --------------------------------------------------------------------- */
/* Whether Japanese sentiment may go through the llm: reported by readiness, never probed
 * there (the llm is optional, so it must not make the nlp unready). */
static bool ja_sentiment_llm;

int nlp_resources_load(const NlpConfig *c, char **ret_missing) {
        char missing[256] = "";

        ja_sentiment_llm = !isempty(c->llm_url);

        if (nlp_mecab_init(c->mecab_rc, c->mecab_dicdir) < 0)
                strcat(missing, "NLP_MECAB_DICDIR/NLP_MECAB_RC,");
        if (nlp_langid_init(c->textcat_conf, c->textcat_dir) < 0)
                strcat(missing, "NLP_TEXTCAT_CONF/NLP_TEXTCAT_DIR,");
        if (nlp_sentiment_init(c->vader_lexicon) < 0)
                strcat(missing, "NLP_VADER_LEXICON,");
        /* Optional: only a path that is set and does not load is a problem. */
        if (!isempty(c->ja_sentiment_lexicon) && nlp_sentiment_ja_init(c->ja_sentiment_lexicon) < 0)
                strcat(missing, "NLP_JA_SENTIMENT_LEXICON,");
        if (*missing) {
                missing[strlen(missing) - 1] = 0;
                *ret_missing = strdup(missing);
                return *ret_missing ? 0 : -ENOMEM;
        }
        *ret_missing = NULL;
        return 0;
}

void nlp_resources_free(void) {
        nlp_mecab_done();
        nlp_langid_done();
        nlp_sentiment_done();
        nlp_sentiment_ja_done();
        ja_sentiment_llm = false;
}

int nlp_resources_status(json_object *response, bool *ret_ready) {
        json_object *o = json_object_new_object();
        bool m = nlp_mecab_available(), v = nlp_sentiment_available();
        char buf[8];
        bool t = nlp_langid_detect("x", 1, buf, sizeof(buf), NULL) >= 0;

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "mecab", json_object_new_string(m ? "loaded" : "missing"));
        json_object_object_add(o, "textcat", json_object_new_string(t ? "loaded" : "missing"));
        json_object_object_add(o, "vader", json_object_new_string(v ? "loaded" : "missing"));
        json_object_object_add(
                o,
                "ja_sentiment",
                json_object_new_string(
                        nlp_sentiment_ja_available() ? "loaded"
                                : ja_sentiment_llm   ? "llm"
                                                     : "not configured"));
        json_object_object_add(response, "resources", o);
        *ret_ready = m && t && v;
        return 0;
}

/* ---- helpers ----------------------------------------------------------------------- */

/* Maps a module's failure to the answer the client gets. */
static int task_failure(const NlpConfig *c, int r, Problem **ret) {
        if (r == -ETIME)
                return problem_for_field(
                        ret,
                        503,
                        NULL,
                        "processing exceeded NLP_TIME_LIMIT (%llu ms)",
                        (unsigned long long) c->time_limit_ms);
        if (r == -E2BIG)
                return problem_for_field(
                        ret,
                        413,
                        "text",
                        "text has more than %d sentences, the most summarize ranks",
                        NLP_SUMMARY_MAX_SENTENCES);
        if (r == -ENOTSUP)
                return problem_for_field(
                        ret,
                        503,
                        NULL,
                        "MeCab's dictionary is not loaded: set NLP_MECAB_DICDIR and NLP_MECAB_RC "
                        "(Debian: mecab-ipadic-utf8)");
        return r;
}

typedef struct Request {
        const NlpConfig *config;
        const char *text;
        size_t len;
        const char *task;
        NlpLang lang;
        char lang_code[16];
        int64_t max_keywords;
        int64_t sentences;
        double ratio;
        const char *text2;
        json_object *texts;
        uint64_t deadline;
} Request;

static bool one_of(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(s, list[i]))
                        return true;
        return false;
}

static char *join_names(const char *const *list, size_t n) {
        size_t len = 1;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(list[i]) + 2;
        s = calloc(len, 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (i)
                        strcat(s, ", ");
                strcat(s, list[i]);
        }
        return s;
}

/* ---- tasks --------------------------------------------------------------------------- */
static int do_sentiment(Request *q, const NlpDoc *doc, json_object **ret, Problem **ret_problem) {
        NlpSentimentScores s;
        int r;

        if (q->lang == NLP_LANG_JA) {
                if (nlp_sentiment_ja_available())
                        return nlp_sentiment_ja(doc, ret);
                /* The lexicon, when there is one, wins: it is local and deterministic. */
                if (!isempty(q->config->llm_url))
                        return nlp_llm_sentiment(
                                q->config->llm_url,
                                isempty(q->config->llm_model) ? "auto" : q->config->llm_model,
                                q->config->llm_timeout_ms > 0 ? q->config->llm_timeout_ms : 20000,
                                q->text,
                                q->len,
                                ret,
                                ret_problem);
                return problem_for_field(ret_problem, 501, NULL, "%s", JA_SENTIMENT_DETAIL);
        }
        if (q->lang != NLP_LANG_EN)
                return problem_for_field(
                        ret_problem,
                        501,
                        NULL,
                        "no sentiment method for language '%s': VADER's lexicon is English",
                        q->lang_code);
        if (!nlp_sentiment_available())
                return problem_for_field(
                        ret_problem, 503, NULL, "VADER's lexicon is not loaded: set NLP_VADER_LEXICON");
        r = nlp_sentiment_vader(q->text, q->len, &s);
        if (r < 0)
                return r;
        return nlp_sentiment_to_json(&s, ret);
}

static int do_similarity(Request *q, const NlpDoc *doc, json_object **ret, Problem **ret_problem) {
        NlpDoc *docs[MAX_COMPARE_TEXTS + 1] = { (NlpDoc *) doc };
        double scores[MAX_COMPARE_TEXTS];
        size_t n = 1;
        json_object *o = NULL;
        int r;

        if (q->text2) {
                r = nlp_doc_new(q->text2, strlen(q->text2), q->lang, &docs[n]);
                if (r < 0)
                        goto finish;
                n++;
        } else
                for (size_t i = 0; i < json_object_array_length(q->texts); i++) {
                        const char *s = json_object_get_string(json_object_array_get_idx(q->texts, i));
                        r = nlp_doc_new(s, strlen(s), q->lang, &docs[n]);
                        if (r < 0)
                                goto finish;
                        n++;
                }
        r = nlp_similarity(docs, n, q->deadline, scores);
        if (r < 0)
                goto finish;
        o = json_object_new_object();
        if (!o) {
                r = -ENOMEM;
                goto finish;
        }
        json_object_object_add(o, "method", json_object_new_string("tfidf-cosine"));
        if (q->text2)
                json_object_object_add(o, "similarity", nlp_json_double(scores[0]));
        else {
                json_object *arr = json_object_new_array();
                if (!arr) {
                        r = -ENOMEM;
                        goto finish;
                }
                json_object_object_add(o, "scores", arr);
                for (size_t i = 0; i + 1 < n; i++)
                        json_object_array_add(arr, nlp_json_double(scores[i]));
        }
        *ret = TAKE_PTR(o);
        r = 0;
finish:
        for (size_t i = 1; i < n; i++)
                nlp_doc_free(docs[i]);
        json_object_put(o);
        (void) ret_problem;
        return r;
}

static size_t summary_count(const Request *q, const NlpDoc *d) {
        if (q->sentences > 0)
                return q->sentences;
        return (size_t) MAX(1.0, round(d->n_sentences * q->ratio));
}

static int
run_task(Request *q, const char *task, const NlpDoc *doc, json_object **ret, Problem **ret_problem) {
        if (streq(task, "sentiment"))
                return do_sentiment(q, doc, ret, ret_problem);
        if (streq(task, "tokenize"))
                return nlp_tokenize_to_json(doc, ret);
        if (streq(task, "keywords"))
                return nlp_keywords(doc, q->max_keywords, ret);
        if (streq(task, "entities"))
                return nlp_entities(doc, ret);
        if (streq(task, "summarize"))
                return nlp_summarize(doc, summary_count(q, doc), q->deadline, ret);
        if (streq(task, "similarity"))
                return do_similarity(q, doc, ret, ret_problem);
        return -EINVAL;
}

static int do_analyze(Request *q, const NlpDoc *doc, json_object **ret, Problem **ret_problem) {
        _cleanup_json_ json_object *o = json_object_new_object();
        static const struct {
                const char *task, *key;
        } parts[] = { { "tokenize", "tokens" },   { "sentiment", "sentiment" },
                      { "keywords", "keywords" }, { "entities", "entities" },
                      { "summarize", "summary" }, { "similarity", "similarity" } };

        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(parts); i++) {
                json_object *part = NULL;
                _cleanup_problem_ Problem *p = NULL;
                int r;

                if (streq(parts[i].task, "similarity") && !q->text2 && !q->texts)
                        continue;
                r = run_task(q, parts[i].task, doc, &part, &p);
                if (r == -E2BIG) /* too many sentences to rank: the other parts still count */
                        r = task_failure(q->config, r, &p);
                if (r < 0)
                        return r;
                if (r > 0) {
                        /* One unavailable part (Japanese sentiment) does not fail the others. */
                        _cleanup_json_ json_object *pj = NULL;
                        r = problem_to_json(p, NULL, &pj);
                        if (r < 0)
                                return r;
                        part = json_object_new_object();
                        if (!part)
                                return -ENOMEM;
                        json_object_object_add(part, "method", NULL);
                        json_object_object_add(part, "available", json_object_new_boolean(false));
                        json_object_object_add(part, "status", json_object_new_int(problem_get_status(p)));
                        json_object_object_add(
                                part, "detail", json_object_get(json_object_object_get(pj, "detail")));
                }
                json_object_object_add(o, parts[i].key, part);
        }
        *ret = TAKE_PTR(o);
        (void) ret_problem;
        return 0;
}

/* ---- request ------------------------------------------------------------------------- */
static int parse_options(Request *q, json_object *options, json_object **errs) {
        const char *s = NULL;
        int r = 0;

        if (!options)
                return 0;
        if (json_get_int(options, "max_keywords", false, 1, 100, errs, &q->max_keywords) < 0)
                r = -EINVAL;
        if (json_get_int(options, "sentences", false, 1, 10000, errs, &q->sentences) < 0)
                r = -EINVAL;
        if (json_get_double(options, "ratio", false, 0.0, 1.0, errs, &q->ratio) < 0)
                r = -EINVAL;
        else if (q->ratio <= 0.0) {
                json_errors_add(errs, "options.ratio", "must be above 0 and at most 1");
                r = -EINVAL;
        }
        if (json_get_string(options, "text2", false, errs, &s) < 0)
                r = -EINVAL;
        else
                q->text2 = s;
        if (json_get_array(options, "texts", false, errs, &q->texts) < 0)
                r = -EINVAL;
        else if (q->texts) {
                size_t n = json_object_array_length(q->texts);
                if (n < 1 || n > MAX_COMPARE_TEXTS) {
                        json_errors_add(
                                errs, "options.texts", "must hold 1 to %d strings", MAX_COMPARE_TEXTS);
                        r = -EINVAL;
                }
                for (size_t i = 0; i < n; i++)
                        if (!json_object_is_type(json_object_array_get_idx(q->texts, i), json_type_string)) {
                                json_errors_add(errs, "options.texts", "item %zu is not a string", i);
                                r = -EINVAL;
                                break;
                        }
        }
        return r;
}

int nlp_process(const NlpConfig *c, json_object *body, json_object **ret_result, Problem **ret_problem) {
        _cleanup_json_ json_object *errs = NULL, *results = NULL, *out = NULL;
        _cleanup_(nlp_doc_freep) NlpDoc *doc = NULL;
        _cleanup_free_ char *names = NULL;
        json_object *options = NULL;
        const char *language = "auto";
        uint64_t t0 = time_now_usec(CLOCK_MONOTONIC);
        Request q = { .config = c, .task = "analyze", .max_keywords = 10, .ratio = 0.3 };
        size_t bad;
        int r;

        q.text2 = NULL;
        r = json_get_string(body, "text", true, &errs, &q.text);
        (void) json_get_string(body, "task", false, &errs, &q.task);
        (void) json_get_string(body, "language", false, &errs, &language);
        (void) json_get_object(body, "options", false, &errs, &options);
        if (!errs)
                (void) parse_options(&q, options, &errs);
        if (errs) {
                Problem *p = problem_new(422, NULL, "the request has invalid fields");
                if (!p || problem_add_errors(p, errs) < 0) {
                        if (p)
                                problem_free(p);
                        return -ENOMEM;
                }
                *ret_problem = p;
                return 422;
        }
        (void) r;
        q.len = strlen(q.text);
        /* json-c stores strings with a length; an escaped \u0000 would cut the text here. */
        if (q.len != (size_t) json_object_get_string_len(json_object_object_get(body, "text")))
                return problem_for_field(ret_problem, 422, "text", "text contains a NUL character");
        if (q.len > c->max_text)
                return problem_for_field(
                        ret_problem,
                        413,
                        "text",
                        "text is %zu bytes; the limit (NLP_MAX_TEXT) is %llu",
                        q.len,
                        (unsigned long long) c->max_text);
        if (q.len == 0)
                return problem_for_field(ret_problem, 422, "text", "text is empty");
        if (!nlp_utf8_valid(q.text, q.len, &bad))
                return problem_for_field(
                        ret_problem, 422, "text", "text is not valid UTF-8 (byte %zu)", bad);
        if (q.text2 && (strlen(q.text2) > c->max_text || !nlp_utf8_valid(q.text2, strlen(q.text2), NULL)))
                return problem_for_field(
                        ret_problem,
                        strlen(q.text2) > c->max_text ? 413 : 422,
                        "options.text2",
                        "options.text2 is larger than NLP_MAX_TEXT or not valid UTF-8");
        if (!one_of(q.task, tasks, ELEMENTSOF(tasks))) {
                names = join_names(tasks, ELEMENTSOF(tasks));
                return problem_for_field(
                        ret_problem, 422, "task", "unknown task '%s' (one of: %s)", q.task, strempty(names));
        }
        if (!one_of(language, languages, ELEMENTSOF(languages))) {
                names = join_names(languages, ELEMENTSOF(languages));
                return problem_for_field(
                        ret_problem,
                        422,
                        "language",
                        "unknown language '%s' (one of: %s)",
                        language,
                        strempty(names));
        }
        if (streq(q.task, "similarity") && !q.text2 && !q.texts)
                return problem_for_field(
                        ret_problem,
                        422,
                        "options.text2",
                        "similarity needs options.text2 or options.texts");

        if (streq(language, "auto")) {
                r = nlp_langid_detect(q.text, q.len, q.lang_code, sizeof(q.lang_code), NULL);
                if (r < 0)
                        return problem_for_field(
                                ret_problem,
                                503,
                                NULL,
                                "language identification is not loaded: set NLP_TEXTCAT_CONF and NLP_TEXTCAT_DIR, or pass language");
        } else
                snprintf(q.lang_code, sizeof(q.lang_code), "%s", language);
        /* Too short to tell ("und"): the English pipeline, the service's default. */
        q.lang = streq(q.lang_code, "ja")                               ? NLP_LANG_JA
                : streq(q.lang_code, "en") || streq(q.lang_code, "und") ? NLP_LANG_EN
                                                                        : NLP_LANG_OTHER;
        q.deadline = c->time_limit_ms ? t0 + c->time_limit_ms * 1000 : 0;

        /* English sentiment reads the raw text (VADER's own tokenization), and so does the
         * llm for Japanese: only the Japanese lexicon needs our tokens. */
        if (streq(q.task, "sentiment") && (q.lang != NLP_LANG_JA || !nlp_sentiment_ja_available()))
                r = do_sentiment(&q, NULL, &results, ret_problem);
        else {
                r = nlp_doc_new(q.text, q.len, q.lang, &doc);
                if (r < 0)
                        return task_failure(c, r, ret_problem);
                if (streq(q.task, "analyze"))
                        r = do_analyze(&q, doc, &results, ret_problem);
                else
                        r = run_task(&q, q.task, doc, &results, ret_problem);
        }
        if (r < 0)
                return task_failure(c, r, ret_problem);
        if (r > 0)
                return r;
        out = json_object_new_object();
        if (!out)
                return -ENOMEM;
        json_object_object_add(out, "task", json_object_new_string(q.task));
        json_object_object_add(out, "results", TAKE_PTR(results));
        json_object_object_add(out, "language_detected", json_object_new_string(q.lang_code));
        json_object_object_add(
                out, "processing_time", nlp_json_double((time_now_usec(CLOCK_MONOTONIC) - t0) / 1e6));
        *ret_result = TAKE_PTR(out);
        return 0;
}

/* ---- metrics ---------------------------------------------------------------------------- */
static MetricsFamily *m_requests, *m_seconds, *m_languages;

int nlp_process_setup_metrics(MetricsRegistry *registry) {
        static const char *const task_status[] = { "task", "status", NULL };
        static const char *const task_only[] = { "task", NULL };
        static const char *const language[] = { "language", NULL };
        int r;

        r = metrics_counter_new(
                registry,
                "nlp_requests_total",
                "POST /process requests by task and HTTP status.",
                task_status,
                &m_requests);
        if (r >= 0)
                r = metrics_histogram_new(
                        registry,
                        "nlp_processing_seconds",
                        "Processing time of successful requests by task.",
                        task_only,
                        NULL,
                        0,
                        &m_seconds);
        if (r >= 0)
                r = metrics_counter_new(
                        registry,
                        "nlp_language_detected_total",
                        "Successful requests by processing language (en, ja, other, und).",
                        language,
                        &m_languages);
        return r;
}

/* Labels stay bounded: a task name we do not know is counted as "unknown". */
static void count_request(json_object *body, json_object *result, int status) {
        const char *task = "analyze", *lang;
        char code[16];
        json_object *v;

        if (!m_requests)
                return;
        if (json_object_object_get_ex(body, "task", &v))
                task = json_object_is_type(v, json_type_string) &&
                                one_of(json_object_get_string(v), tasks, ELEMENTSOF(tasks))
                        ? json_object_get_string(v)
                        : "unknown";
        snprintf(code, sizeof(code), "%d", status);
        (void) metrics_counter_add(m_requests, (const char *const[]){ task, code }, 1);
        if (status != 200 || !result)
                return;
        if (json_object_object_get_ex(result, "processing_time", &v))
                (void) metrics_histogram_observe(
                        m_seconds, (const char *const[]){ task }, json_object_get_double(v));
        lang = json_object_get_string(json_object_object_get(result, "language_detected"));
        if (!lang || (!streq(lang, "en") && !streq(lang, "ja") && !streq(lang, "und")))
                lang = "other";
        (void) metrics_counter_add(m_languages, (const char *const[]){ lang }, 1);
}

int nlp_process_handler(HttpRequest *req, void *userdata) {
        _cleanup_json_ json_object *body = NULL, *result = NULL;
        _cleanup_problem_ Problem *p = NULL;
        const char *raw;
        size_t len, bad;
        int r;

        /* Bytes that are not UTF-8 are a 422 about the content, not malformed JSON. */
        raw = http_request_body(req, &len);
        if (raw && !nlp_utf8_valid(raw, len, &bad) && raw[bad] != 0) {
                r = problem_for_field(
                        &p, 422, "text", "the request body is not valid UTF-8 (byte %zu)", bad);
                return r < 0 ? r : http_reply_problem(req, p);
        }
        r = http_request_parse_json(req, &body);
        if (r < 0)
                return 0;
        r = nlp_process(userdata, body, &result, &p);
        if (r < 0)
                return r;
        count_request(body, result, r > 0 ? r : 200);
        r = r > 0 ? http_reply_problem(req, p) : http_reply_json(req, 200, result);
        /* A large text leaves megabytes of token and JSON objects in this thread's arena;
         * hand them back so that RSS follows the load rather than its peak. */
        if (len > NLP_TRIM_AFTER_BYTES) {
                json_object_put(TAKE_PTR(result));
                json_object_put(TAKE_PTR(body));
                malloc_trim(0);
        }
        return r;
}
