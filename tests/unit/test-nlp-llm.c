/* SPDX-License-Identifier: MIT */
/* test-nlp-llm.c — Japanese sentiment through the llm service: nlp_process() against the
 * real ai-semble-llm binary, itself configured with the protocol-faithful fake OpenAI
 * backend (tests/llm/fake_backend.py, say-* models give canned verdicts). Good, fenced,
 * malformed and out-of-range verdicts, an llm without backends (503 naming
 * LLM_BACKENDS_FILE), a slow backend (504), an unreachable llm (503), NLP_LLM_URL unset
 * (501 naming both settings), English staying VADER without calling the llm, readiness
 * not depending on the llm, and the verdict parser on its own.
 * Usage: test-nlp-llm LLM_BINARY PYTHON3 FAKE_BACKEND_PY (exit 77 without them). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check-run.h"
#include "http-client.h"
#include "nlp-llm.h"
#include "nlp-test-util.h"
#include "time-util.h"

#define JA_TEXT "今日はとても良い天気です。"

static const char *llm_bin, *python_bin, *fake_py;
static char tmpdir[] = "/tmp/test-nlp-llm-XXXXXX";
static int fake_port, llm_port, bare_port, dead_port;
static pid_t fake_pid, llm_pid, bare_pid;
static char llm_url[64], bare_url[64], dead_url[64];
static NlpConfig config;

/* ---- the processes ------------------------------------------------------------------ */
static int free_port(void) {
        struct sockaddr_in sa = { .sin_family = AF_INET };
        socklen_t l = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

        if (fd < 0)
                return -errno;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            getsockname(fd, (struct sockaddr *) &sa, &l) < 0) {
                close(fd);
                return -errno;
        }
        port = ntohs(sa.sin_port);
        close(fd);
        return port;
}

/* Runs argv with env (NAME=VALUE strings added to ours); its output goes to tmpdir/log. */
static pid_t spawn(const char *const *argv, const char *const *env, const char *log) {
        pid_t pid = fork();

        if (pid == 0) {
                char path[256];
                int fd;

                snprintf(path, sizeof(path), "%s/%s", tmpdir, log);
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        dup2(fd, STDOUT_FILENO);
                        dup2(fd, STDERR_FILENO);
                }
                for (size_t i = 0; env && env[i]; i++)
                        putenv((char *) env[i]);
                execv(argv[0], (char *const *) argv);
                _exit(127);
        }
        return pid;
}

static bool wait_up(const char *url) {
        for (int i = 0; i < 200; i++) {
                HttpClientResponse r;

                if (http_client_get(url, 500, 0, &r) >= 0) {
                        http_client_response_done(&r);
                        return true;
                }
                usleep(50 * 1000);
        }
        return false;
}

static void stop(pid_t pid) {
        if (pid <= 0)
                return;
        kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
}

static int start_all(void) {
        char path[256], fake_arg[16], env_listen[64], env_bare[64], env_file[300], url[128];
        FILE *f;

        if (!mkdtemp(tmpdir))
                return -errno;
        fake_port = free_port();
        llm_port = free_port();
        bare_port = free_port();
        dead_port = free_port(); /* nothing listens there */
        if (fake_port < 0 || llm_port < 0 || bare_port < 0 || dead_port < 0)
                return -EADDRNOTAVAIL;

        snprintf(path, sizeof(path), "%s/backends.json", tmpdir);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fprintf(f,
                "{\"backends\":[{\"name\":\"fake\",\"kind\":\"openai\",\"base_url\":\"http://127.0.0.1:%d/v1\","
                "\"retries\":0,\"allowed_fails\":100,\"models\":["
                "{\"name\":\"say-positive\"},"
                "{\"name\":\"say-fenced\",\"auto\":false},"
                "{\"name\":\"say-prose\",\"auto\":false},"
                "{\"name\":\"say-out-of-range\",\"auto\":false},"
                "{\"name\":\"say-bad-label\",\"auto\":false},"
                "{\"name\":\"say-slow\",\"auto\":false}]}]}\n",
                fake_port);
        fclose(f);

        snprintf(fake_arg, sizeof(fake_arg), "%d", fake_port);
        fake_pid = spawn(
                (const char *const[]){ python_bin, fake_py, "--port", fake_arg, NULL }, NULL, "fake.log");
        snprintf(env_listen, sizeof(env_listen), "LLM_LISTEN=127.0.0.1:%d", llm_port);
        snprintf(env_file, sizeof(env_file), "LLM_BACKENDS_FILE=%s", path);
        llm_pid =
                spawn((const char *const[]){ llm_bin, NULL },
                      (const char *const[]){ env_listen, env_file, "LOG_LEVEL=warning", NULL },
                      "llm.log");
        snprintf(env_bare, sizeof(env_bare), "LLM_LISTEN=127.0.0.1:%d", bare_port);
        bare_pid =
                spawn((const char *const[]){ llm_bin, NULL },
                      (const char *const[]){ env_bare, "LLM_BACKENDS_FILE=", "LOG_LEVEL=warning", NULL },
                      "bare.log");

        snprintf(llm_url, sizeof(llm_url), "http://127.0.0.1:%d", llm_port);
        snprintf(bare_url, sizeof(bare_url), "http://127.0.0.1:%d/", bare_port); /* a trailing slash too */
        snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%d", dead_port);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/_stats", fake_port);
        if (!wait_up(url))
                return -ETIMEDOUT;
        snprintf(url, sizeof(url), "%s/health/live", llm_url);
        if (!wait_up(url))
                return -ETIMEDOUT;
        snprintf(url, sizeof(url), "%shealth/live", bare_url);
        if (!wait_up(url))
                return -ETIMEDOUT;
        return 0;
}

static void stop_all(void) {
        static const char *const files[] = { "backends.json", "fake.log", "llm.log", "bare.log" };
        char path[300];

        stop(fake_pid);
        stop(llm_pid);
        stop(bare_pid);
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
                (void) unlink(path);
        }
        (void) rmdir(tmpdir);
}

/* The fake's record of the calls: {calls: {model: n}, last: {body}}. */
static json_object *fake_stats(void) {
        HttpClientResponse r;
        char url[128];
        json_object *o = NULL;

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/_stats", fake_port);
        ck_assert_int_ge(http_client_get(url, 2000, 0, &r), 0);
        ck_assert_int_eq(json_parse_strict(r.body, r.body_len, &o, NULL), 0);
        http_client_response_done(&r);
        return o;
}

static void fake_reset(void) {
        HttpClientRequest q = { .url = NULL, .body = "{}", .body_len = 2, .timeout_ms = 2000 };
        char url[128];

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/_reset", fake_port);
        q.url = url;
        ck_assert_int_eq(http_client_perform(&q), 0);
        http_client_response_done(&q.response);
}

/* ---- fixtures ------------------------------------------------------------------------- */
static void setup(void) {
        char *missing = NULL;

        config = nlp_test_config();
        config.llm_url = llm_url;
        config.llm_model = (char *) "say-positive";
        config.llm_timeout_ms = 10000;
        ck_assert_int_eq(nlp_resources_load(&config, &missing), 0);
        free(missing);
}

static void teardown(void) {
        nlp_resources_free();
}

static int ja_sentiment(const char *model, json_object **ret) {
        config.llm_model = (char *) model;
        return nlp_test_request(
                &config, "{\"text\":\"" JA_TEXT "\",\"task\":\"sentiment\",\"language\":\"ja\"}", ret);
}

static const char *detail(json_object *o) {
        return nlp_test_path(o, "detail");
}

/* ---- through the llm ------------------------------------------------------------------ */
START_TEST(test_good_answer) {
        _cleanup_json_ json_object *o = NULL, *a = NULL, *stats = NULL;
        json_object *results;
        int r;

        fake_reset();
        ck_assert_int_eq(ja_sentiment("say-positive", &o), 200);
        ck_assert_str_eq(nlp_test_path(o, "task"), "sentiment");
        ck_assert_str_eq(nlp_test_path(o, "language_detected"), "ja");
        ck_assert_str_eq(nlp_test_path(o, "results.method"), "llm:say-positive");
        ck_assert_str_eq(nlp_test_path(o, "results.label"), "positive");
        ck_assert_str_eq(nlp_test_path(o, "results.score"), "0.8");
        /* Nothing VADER-shaped that this method cannot back. */
        results = json_object_object_get(o, "results");
        ck_assert_int_eq(json_object_object_length(results), 3);
        ck_assert_ptr_null(json_object_object_get(results, "compound"));
        ck_assert_ptr_null(json_object_object_get(results, "pos"));

        /* What reached the backend through the llm: the text as the user message, a system prompt asking for
         * the JSON verdict, temperature 0, the configured model. */
        stats = fake_stats();
        ck_assert_str_eq(nlp_test_path(stats, "last.path"), "/v1/chat/completions");
        ck_assert_str_eq(nlp_test_path(stats, "last.body.model"), "say-positive");
        ck_assert_ptr_nonnull(nlp_test_path(stats, "last.body.temperature"));
        ck_assert_double_eq(strtod(nlp_test_path(stats, "last.body.temperature"), NULL), 0.0);
        ck_assert_str_eq(nlp_test_path(stats, "last.body.messages.0.role"), "system");
        ck_assert_ptr_nonnull(strstr(nlp_test_path(stats, "last.body.messages.0.content"), "\"label\""));
        ck_assert_str_eq(nlp_test_path(stats, "last.body.messages.1.role"), "user");
        ck_assert_str_eq(nlp_test_path(stats, "last.body.messages.1.content"), JA_TEXT);

        /* model "auto": the llm routes, and the method names the model it used. */
        json_object_put(TAKE_PTR(o));
        ck_assert_int_eq(ja_sentiment("auto", &o), 200);
        ck_assert_str_eq(nlp_test_path(o, "results.method"), "llm:say-positive");

        /* analyze gives its sentiment part through the same path. */
        config.llm_model = (char *) "say-positive";
        r = nlp_test_request(&config, "{\"text\":\"" JA_TEXT "\",\"language\":\"ja\"}", &a);
        if (r == 503) /* no MeCab dictionary on this machine: analyze needs tokens */
                return;
        ck_assert_int_eq(r, 200);
        ck_assert_str_eq(nlp_test_path(a, "results.sentiment.method"), "llm:say-positive");
        ck_assert_str_eq(nlp_test_path(a, "results.sentiment.label"), "positive");
        ck_assert_str_eq(nlp_test_path(a, "results.tokens.method"), "mecab-ipadic");
}
END_TEST

START_TEST(test_fenced_answer) {
        _cleanup_json_ json_object *o = NULL;

        ck_assert_int_eq(ja_sentiment("say-fenced", &o), 200);
        ck_assert_str_eq(nlp_test_path(o, "results.method"), "llm:say-fenced");
        ck_assert_str_eq(nlp_test_path(o, "results.label"), "negative");
        ck_assert_str_eq(nlp_test_path(o, "results.score"), "-0.6");
}
END_TEST

START_TEST(test_bad_answers) {
        _cleanup_json_ json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        int r;

        ck_assert_int_eq(ja_sentiment("say-prose", &a), 502);
        ck_assert_ptr_nonnull(strstr(detail(a), "not one JSON object"));
        ck_assert_ptr_nonnull(strstr(detail(a), "say-prose"));
        ck_assert_ptr_null(json_object_object_get(a, "results"));
        ck_assert_int_eq(ja_sentiment("say-out-of-range", &b), 502);
        ck_assert_ptr_nonnull(strstr(detail(b), "score 1.7 is outside [-1, 1]"));
        ck_assert_int_eq(ja_sentiment("say-bad-label", &c), 502);
        ck_assert_ptr_nonnull(strstr(detail(c), "label 'happy'"));

        /* analyze keeps its other parts and marks the sentiment unavailable. */
        config.llm_model = (char *) "say-prose";
        r = nlp_test_request(&config, "{\"text\":\"" JA_TEXT "\",\"language\":\"ja\"}", &d);
        if (r == 503)
                return;
        ck_assert_int_eq(r, 200);
        ck_assert_str_eq(nlp_test_path(d, "results.sentiment.available"), "false");
        ck_assert_str_eq(nlp_test_path(d, "results.sentiment.status"), "502");
        ck_assert_ptr_null(nlp_test_path(d, "results.sentiment.score"));
        ck_assert_str_eq(nlp_test_path(d, "results.tokens.method"), "mecab-ipadic");
}
END_TEST

START_TEST(test_llm_without_backend) {
        _cleanup_json_ json_object *o = NULL;

        config.llm_url = bare_url;
        ck_assert_int_eq(ja_sentiment("auto", &o), 503);
        ck_assert_ptr_nonnull(strstr(detail(o), "LLM_BACKENDS_FILE"));
}
END_TEST

START_TEST(test_llm_unreachable) {
        _cleanup_json_ json_object *o = NULL;

        config.llm_url = dead_url;
        ck_assert_int_eq(ja_sentiment("auto", &o), 503);
        ck_assert_ptr_nonnull(strstr(detail(o), "NLP_LLM_URL"));
}
END_TEST

START_TEST(test_timeout) {
        _cleanup_json_ json_object *o = NULL;
        double t0, s;

        config.llm_timeout_ms = 1000;
        t0 = time_now_s(CLOCK_MONOTONIC);
        ck_assert_int_eq(ja_sentiment("say-slow", &o), 504);
        s = time_now_s(CLOCK_MONOTONIC) - t0;
        ck_assert_double_ge(s, 0.9);
        ck_assert_double_lt(s, 2.5);
        ck_assert_ptr_nonnull(strstr(detail(o), "NLP_LLM_TIMEOUT (1000 ms)"));
}
END_TEST

START_TEST(test_unset_501) {
        _cleanup_json_ json_object *o = NULL;

        config.llm_url = NULL;
        ck_assert_int_eq(ja_sentiment("auto", &o), 501);
        ck_assert_ptr_nonnull(strstr(detail(o), "NLP_JA_SENTIMENT_LEXICON"));
        ck_assert_ptr_nonnull(strstr(detail(o), "NLP_LLM_URL"));
}
END_TEST

START_TEST(test_english_stays_vader) {
        _cleanup_json_ json_object *o = NULL, *stats = NULL;

        fake_reset();
        ck_assert_int_eq(
                nlp_test_request(
                        &config,
                        "{\"text\":\"I love this phone.\",\"task\":\"sentiment\",\"language\":\"en\"}",
                        &o),
                200);
        ck_assert_str_eq(nlp_test_path(o, "results.method"), "vader");
        ck_assert_ptr_nonnull(nlp_test_path(o, "results.compound"));
        stats = fake_stats();
        ck_assert_int_eq(json_object_object_length(json_object_object_get(stats, "calls")), 0);
}
END_TEST

START_TEST(test_readiness_ignores_llm) {
        _cleanup_json_ json_object *with = json_object_new_object(), *without = json_object_new_object();
        char *missing = NULL;
        bool ready_with, ready_without;

        /* An llm that is not there does not make the nlp unready; it is reported, not probed. */
        nlp_resources_free();
        config.llm_url = dead_url;
        ck_assert_int_eq(nlp_resources_load(&config, &missing), 0);
        free(missing);
        ck_assert_int_eq(nlp_resources_status(with, &ready_with), 0);
        ck_assert_str_eq(nlp_test_path(with, "resources.ja_sentiment"), "llm");
        nlp_resources_free();
        config.llm_url = NULL;
        ck_assert_int_eq(nlp_resources_load(&config, &missing), 0);
        free(missing);
        ck_assert_int_eq(nlp_resources_status(without, &ready_without), 0);
        ck_assert_str_eq(nlp_test_path(without, "resources.ja_sentiment"), "not configured");
        ck_assert_int_eq(ready_with, ready_without);
}
END_TEST

/* ---- the verdict parser ------------------------------------------------------------- */
static void verdict_bad(const char *content, const char *why) {
        NlpLlmVerdict v;
        char *err = NULL;

        ck_assert_int_eq(nlp_llm_verdict_parse(content, &v, &err), -EBADMSG);
        ck_assert_msg(err && strstr(err, why), "'%s': got '%s', expected '%s'", content, err, why);
        free(err);
}

START_TEST(test_verdict_parse) {
        NlpLlmVerdict v;
        char *err = NULL;

        ck_assert_int_eq(nlp_llm_verdict_parse("{\"label\":\"mixed\",\"score\":0}", &v, &err), 0);
        ck_assert_str_eq(v.label, "mixed");
        ck_assert_double_eq(v.score, 0.0);
        ck_assert_int_eq(
                nlp_llm_verdict_parse("  ```json\n{\"label\":\"negative\",\"score\":-1}\n```\n", &v, &err),
                0);
        ck_assert_str_eq(v.label, "negative");
        ck_assert_double_eq(v.score, -1.0);
        ck_assert_int_eq(
                nlp_llm_verdict_parse(
                        "```\n{\"label\":\"neutral\",\"score\":0.05,\"why\":\"x\"}```", &v, &err),
                0);
        ck_assert_str_eq(v.label, "neutral");

        verdict_bad("", "empty");
        verdict_bad("```json\n{\"label\":\"neutral\",\"score\":0}", "does not close");
        verdict_bad("{\"label\":\"positive\",\"score\":0.5} and more", "not one JSON object");
        verdict_bad("[1]", "not an object");
        verdict_bad("{\"score\":0.5}", "label is missing");
        verdict_bad("{\"label\":1,\"score\":0.5}", "label is a");
        verdict_bad("{\"label\":\"Positive\",\"score\":0.5}", "label 'Positive'");
        verdict_bad("{\"label\":\"positive\"}", "score is missing");
        verdict_bad("{\"label\":\"positive\",\"score\":\"0.5\"}", "score is a string");
        verdict_bad("{\"label\":\"positive\",\"score\":true}", "score is a");
        verdict_bad("{\"label\":\"negative\",\"score\":-1.01}", "outside [-1, 1]");
        verdict_bad("{\"label\":\"positive\",\"score\":-0.4}", "contradicts label");
        verdict_bad("{\"label\":\"negative\",\"score\":0.4}", "contradicts label");
}
END_TEST

int main(int argc, char **argv) {
        Suite *s = suite_create("nlp-llm");
        TCase *tc = tcase_create("llm");
        TCase *tp = tcase_create("parse");
        int r;

        tcase_add_test(tp, test_verdict_parse);
        suite_add_tcase(s, tp);
        if (argc < 4 || access(argv[1], X_OK) < 0 || access(argv[2], X_OK) < 0 ||
            access(argv[3], R_OK) < 0) {
                fprintf(stderr,
                        "usage: %s LLM_BINARY PYTHON3 FAKE_BACKEND_PY; the llm cases are skipped\n",
                        argv[0]);
                llm_bin = NULL;
        } else {
                llm_bin = argv[1];
                python_bin = argv[2];
                fake_py = argv[3];
                r = start_all();
                if (r < 0) {
                        fprintf(stderr,
                                "could not start the fake backend and the llm service: %s\n",
                                strerror(-r));
                        stop_all();
                        return 1;
                }
                /* Each test runs in a forked child: none may inherit a kept-alive connection. */
                http_client_pool_flush();
                tcase_add_checked_fixture(tc, setup, teardown);
                tcase_set_timeout(tc, 60);
                tcase_add_test(tc, test_good_answer);
                tcase_add_test(tc, test_fenced_answer);
                tcase_add_test(tc, test_bad_answers);
                tcase_add_test(tc, test_llm_without_backend);
                tcase_add_test(tc, test_llm_unreachable);
                tcase_add_test(tc, test_timeout);
                tcase_add_test(tc, test_unset_501);
                tcase_add_test(tc, test_english_stays_vader);
                tcase_add_test(tc, test_readiness_ignores_llm);
                suite_add_tcase(s, tc);
        }
        r = check_run(s);
        if (llm_bin)
                stop_all();
        return r;
}
