/* SPDX-License-Identifier: MIT */
/* test-supervisor-podman-args.c — quadlet → podman argv: the exact command line for a
 * sample .container, the pod, generate's [Service] options, and refusals. */
#include <check.h>
#include <stdlib.h>

#include "argv-util.h"
#include "check-run.h"
#include "podman-args.h"

static const char sample_pod[] =
        "[Unit]\nDescription=p\n[Pod]\nPodName=ai-semble\n"
        "PublishPort=127.0.0.1:8080:8080\nPublishPort=127.0.0.1:8081:8081\n"
        "[Install]\nWantedBy=default.target\n";
static const char sample_volume[] = "[Volume]\nVolumeName=ai-semble-data\n";
static const char sample_container[] =
        "[Unit]\nDescription=d\n[Container]\nContainerName=ai-semble-data\nImage=localhost/ai-semble/"
        "data:latest\n"
        "Pod=ai-semble.pod\nUser=10001:10001\nReadOnly=true\nTmpfs=/tmp:rw,size=16m\nNoNewPrivileges=true\n"
        "DropCapability=all\nVolume=ai-semble-data.volume:/data\nVolume=/srv/x:/x:ro\n"
        "EnvironmentFile=%h/.config/ai-semble/ai-semble.env\nEnvironment=A=1 \"B=two words\"\n"
        "LogDriver=journald\nNotify=true\nHealthCmd=/usr/bin/ai-semble-data "
        "--healthcheck\nHealthInterval=30s\n"
        "HealthOnFailure=kill\nSeccompProfile=/etc/ai-semble/seccomp.json\nSecurityLabelType=ai_semble_t\n"
        "PodmanArgs=--pids-limit 64\nExec=--serve fast\n"
        "[Service]\nRestart=on-failure\nTimeoutStartSec=90\nTimeoutStopSec=20\n[Install]\nWantedBy=default."
        "target\n";

static UnitSet *make_set(const char *ctr_text) {
        UnitSet *s = calloc(1, sizeof(UnitSet));
        const char *names[] = { "ai-semble-data.container", "ai-semble-data.volume", "ai-semble.pod" };
        const char *texts[] = { ctr_text, sample_volume, sample_pod };

        ck_assert_ptr_nonnull(s);
        s->files = calloc(3, sizeof(UnitFile *));
        for (size_t i = 0; i < 3; i++) {
                char *error = NULL;
                ck_assert_msg(unit_source_parse(names[i], texts[i], &s->files[i], &error) == 0, "%s", error);
                s->n_files++;
        }
        return s;
}

static void assert_argv(char **got, const char *const *want) {
        _cleanup_free_ char *joined = argv_join(got, "|");
        size_t i;

        for (i = 0; want[i]; i++) {
                ck_assert_msg(got[i], "argv too short at %zu: %s", i, joined);
                ck_assert_msg(
                        streq(got[i], want[i]),
                        "argv[%zu] = '%s', want '%s' (%s)",
                        i,
                        got[i],
                        want[i],
                        joined);
        }
        ck_assert_msg(!got[i], "argv too long: %s", joined);
}

START_TEST(test_container_argv) {
        _cleanup_(unit_set_freep) UnitSet *s = make_set(sample_container);
        _cleanup_argv_free_ char **argv = NULL;
        char *error = NULL;
        const char *const want[] = {
                "create",
                "--name",
                "ai-semble-data",
                "--pod",
                "ai-semble",
                "--user",
                "10001:10001",
                "--read-only",
                "--tmpfs",
                "/tmp:rw,size=16m",
                "--security-opt",
                "no-new-privileges",
                "--cap-drop",
                "all",
                "-v",
                "ai-semble-data:/data",
                "-v",
                "/srv/x:/x:ro",
                "--env-file",
                "/home/u/.config/ai-semble/ai-semble.env",
                "--env",
                "A=1",
                "--env",
                "B=two words",
                "--log-driver",
                "journald",
                "--sdnotify=container",
                "--health-cmd",
                "/usr/bin/ai-semble-data --healthcheck",
                "--health-interval",
                "30s",
                "--health-on-failure",
                "kill",
                "--security-opt",
                "seccomp=/etc/ai-semble/seccomp.json",
                "--security-opt",
                "label=type:ai_semble_t",
                "--pids-limit",
                "64",
                "localhost/ai-semble/data:latest",
                "--serve",
                "fast",
                NULL,
        };

        ck_assert_msg(
                podman_args_container_create(s, s->files[0], "/home/u", &argv, &error) == 0, "%s", error);
        assert_argv(argv, want);
}
END_TEST

START_TEST(test_pod_argv) {
        _cleanup_(unit_set_freep) UnitSet *s = make_set(sample_container);
        _cleanup_argv_free_ char **argv = NULL;
        const char *const want[] = { "pod",
                                     "create",
                                     "--name",
                                     "ai-semble",
                                     "--infra-name=ai-semble-infra",
                                     "-p",
                                     "127.0.0.1:8080:8080",
                                     "-p",
                                     "127.0.0.1:8081:8081",
                                     NULL };

        ck_assert_int_eq(podman_args_pod_create(s, "/home/u", &argv, NULL), 0);
        assert_argv(argv, want);
}
END_TEST

START_TEST(test_generate_argv) {
        _cleanup_(unit_set_freep) UnitSet *s = make_set(sample_container);
        _cleanup_argv_free_ char **argv = NULL;
        const char *const want[] = { "generate",
                                     "systemd",
                                     "--new",
                                     "--files",
                                     "--name",
                                     "--container-prefix=",
                                     "--pod-prefix=",
                                     "--restart-policy",
                                     "on-failure",
                                     "--start-timeout",
                                     "90",
                                     "--stop-timeout",
                                     "20",
                                     "ai-semble",
                                     NULL };

        ck_assert_int_eq(podman_args_generate(s, &argv, NULL), 0);
        assert_argv(argv, want);
        ck_assert_int_eq(podman_args_check(s, "/home/u", NULL), 0);
}
END_TEST

START_TEST(test_unknown_key) {
        _cleanup_(unit_set_freep) UnitSet *s = make_set("[Container]\nImage=i\nFrobnicate=yes\n");
        _cleanup_argv_free_ char **argv = NULL;
        _cleanup_free_ char *error = NULL;

        ck_assert_int_eq(podman_args_container_create(s, s->files[0], "/h", &argv, &error), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, "ai-semble-data.container:3"));
        ck_assert_ptr_nonnull(strstr(error, "'Frobnicate'"));
        ck_assert_ptr_null(argv);
}
END_TEST

START_TEST(test_refusals) {
        struct {
                const char *text;
                const char *needle;
        } cases[] = {
                { "[Container]\nImage=i\nNotify=healthy\n", "Notify=healthy" },
                { "[Container]\nImage=i\nVolume=nope.volume:/x\n", "nope.volume" },
                { "[Container]\nImage=i\nPod=other.pod\n", "other.pod" },
                { "[Container]\nContainerName=x\n", "no Image=" },
                { "[Container]\nImage=i\nEnvironmentFile=%t/env\n", "specifier" },
                { "[Container]\nImage=i\n[Service]\nExecStartPre=/bin/true\n", "'ExecStartPre'" },
                { "[Container]\nImage=i\n[Install]\nWantedBy=multi-user.target\n", "default.target" },
                { "[Container]\nImage=i\nEnvironment=\"A=1\n", "quote" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(unit_set_freep) UnitSet *s = make_set(cases[i].text);
                _cleanup_argv_free_ char **argv = NULL;
                _cleanup_free_ char *error = NULL;

                ck_assert_int_lt(podman_args_container_create(s, s->files[0], "/h", &argv, &error), 0);
                ck_assert_msg(error && strstr(error, cases[i].needle), "case %zu: %s", i, strempty(error));
        }
}
END_TEST

START_TEST(test_generate_disagreement) {
        _cleanup_(unit_set_freep) UnitSet *s =
                make_set("[Container]\nImage=i\n[Service]\nTimeoutStopSec=5\n");
        _cleanup_argv_free_ char **argv = NULL;
        _cleanup_free_ char *error = NULL;
        UnitFile *u = NULL;

        /* a second container with another stop timeout */
        ck_assert_int_eq(
                unit_source_parse(
                        "ai-semble-z.container",
                        "[Container]\nImage=i\n[Service]\nTimeoutStopSec=6\n",
                        &u,
                        NULL),
                0);
        s->files = realloc(s->files, sizeof(UnitFile *) * 4);
        s->files[s->n_files++] = u;
        ck_assert_int_eq(podman_args_generate(s, &argv, &error), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, "TimeoutStopSec"));
}
END_TEST

START_TEST(test_expand_and_seconds) {
        _cleanup_free_ char *a = NULL, *b = NULL;
        unsigned secs;

        ck_assert_int_eq(podman_args_expand("%h/x %% y", "/home/u", &a), 0);
        ck_assert_str_eq(a, "/home/u/x % y");
        ck_assert_int_eq(podman_args_expand("%N", "/h", &b), -EINVAL);
        ck_assert_int_eq(podman_args_parse_seconds("90", &secs), 0);
        ck_assert_uint_eq(secs, 90);
        ck_assert_int_eq(podman_args_parse_seconds("20s", &secs), 0);
        ck_assert_uint_eq(secs, 20);
        ck_assert_int_eq(podman_args_parse_seconds("1min 30s", &secs), 0);
        ck_assert_uint_eq(secs, 90);
        ck_assert_int_eq(podman_args_parse_seconds("infinity", &secs), -EINVAL);
        ck_assert_int_eq(podman_args_parse_seconds("", &secs), -EINVAL);
}
END_TEST

START_TEST(test_real_quadlets_translate) {
        _cleanup_(unit_set_freep) UnitSet *s = NULL;
        _cleanup_argv_free_ char **argv = NULL;
        const char *dir = getenv("AI_SEMBLE_TEST_QUADLETS");
        char *error = NULL;

        if (!dir)
                return;
        ck_assert_int_eq(unit_source_load_dir(dir, &s, NULL), 0);
        ck_assert_msg(podman_args_check(s, "/home/u", &error) == 0, "%s", error ? error : "?");
        ck_assert_int_eq(
                podman_args_container_create(
                        s, unit_set_find(s, "ai-semble-llm.container"), "/home/u", &argv, NULL),
                0);
        /* the .volume reference became the named volume, read-only */
        for (size_t i = 0; argv[i]; i++)
                if (streq(argv[i], "-v"))
                        ck_assert_str_eq(argv[i + 1], "ai-semble-models:/models:ro");
        ck_assert_str_eq(argv[argv_length(argv) - 1], "localhost/ai-semble/llm:latest");
        /* the health check in exec form (no shell in the images), the drain time */
        for (size_t i = 0; argv[i]; i++) {
                if (streq(argv[i], "--health-cmd"))
                        ck_assert_str_eq(
                                argv[i + 1], "[\"/usr/bin/ai-semble-llm\",\"--healthcheck=/health/live\"]");
                if (streq(argv[i], "--stop-timeout"))
                        ck_assert_str_eq(argv[i + 1], "25");
                ck_assert_str_ne(argv[i], "--health-on-failure");
        }
}
END_TEST

/* What generate cannot write goes into a drop-in: the orchestrator's socket dependency,
 * its start after the data service, and every service's watchdog; a container without
 * such keys gets none. */
START_TEST(test_dropin) {
        _cleanup_(unit_set_freep) UnitSet *s = NULL, *sample = make_set(sample_container);
        _cleanup_free_ char *orch = NULL, *llm = NULL, *none = (char *) "unset";
        const char *dir = getenv("AI_SEMBLE_TEST_QUADLETS");

        ck_assert_int_eq(podman_args_dropin(unit_set_find(sample, "ai-semble-data.container"), &none), 0);
        ck_assert_ptr_null(none);
        if (!dir)
                return;
        ck_assert_int_eq(unit_source_load_dir(dir, &s, NULL), 0);
        ck_assert_int_eq(podman_args_dropin(unit_set_find(s, "ai-semble-orchestrator.container"), &orch), 0);
        ck_assert_str_eq(
                orch,
                "# Written by ai-semble-supervisor install: what podman generate systemd cannot write.\n"
                "[Unit]\nRequires=ai-semble-orchestrator.socket\nAfter=ai-semble-orchestrator.socket\n"
                "After=ai-semble-data.service\n"
                "[Service]\nWatchdogSec=60s\n");
        ck_assert_int_eq(podman_args_dropin(unit_set_find(s, "ai-semble-llm.container"), &llm), 0);
        ck_assert_ptr_nonnull(strstr(llm, "[Service]\nWatchdogSec=60s\n"));
        ck_assert_ptr_null(strstr(llm, "[Unit]"));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("supervisor-podman-args");
        TCase *tc = tcase_create("translate");

        tcase_add_test(tc, test_container_argv);
        tcase_add_test(tc, test_pod_argv);
        tcase_add_test(tc, test_generate_argv);
        tcase_add_test(tc, test_unknown_key);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_generate_disagreement);
        tcase_add_test(tc, test_expand_and_seconds);
        tcase_add_test(tc, test_real_quadlets_translate);
        tcase_add_test(tc, test_dropin);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
