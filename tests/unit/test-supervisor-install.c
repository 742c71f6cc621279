/* SPDX-License-Identifier: MIT */
/* test-supervisor-install.c — the published address (the orchestrator's socket, the pod's
 * --dev ports), unit names of both flavors and the install manifest. */
#include <check.h>
#include <stdlib.h>

#include "argv-util.h"
#include "check-run.h"
#include "manifest.h"
#include "unit-install.h"
#include "unit-names.h"

static char *listen_joined(const char *publish) {
        _cleanup_argv_free_ char **list = NULL;

        ck_assert_int_eq(unit_install_listen_list(publish, &list), 0);
        return argv_join(list, ",");
}

/* AI_SEMBLE_PUBLISH → the orchestrator socket's ListenStream= values; --dev → the pod's
 * PublishPort= values for the other services only. */
START_TEST(test_listen_list) {
        struct {
                const char *in, *out;
        } ok[] = {
                { "127.0.0.1:8080", "127.0.0.1:8080" },
                { "0.0.0.0:9000", "0.0.0.0:9000" },
                { "8080", "8080" },
                { "9000:8080", "9000" },
                { "127.0.0.1:9000:8080", "127.0.0.1:9000" },
                { "[::1]:8080", "[::1]:8080" },
                { "127.0.0.1:8080,192.168.1.2:80", "127.0.0.1:8080,192.168.1.2:80" },
        };
        const char *bad[] = { "",          "abc",   "127.0.0.1:", "127.0.0.1:70000", "1:2:3:4",
                              "[::1]8080", ":8080", "0",          "9000:9000",       "127.0.0.1:80:81" };
        _cleanup_argv_free_ char **dev = NULL, **none = NULL;
        _cleanup_free_ char *dev_joined = NULL;

        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                _cleanup_free_ char *got = listen_joined(ok[i].in);
                ck_assert_msg(streq(got, ok[i].out), "%s → %s, want %s", ok[i].in, got, ok[i].out);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_argv_free_ char **list = NULL;
                ck_assert_msg(unit_install_listen_list(bad[i], &list) == -EINVAL, "'%s' accepted", bad[i]);
        }
        ck_assert_int_eq(unit_install_dev_publish_list(true, &dev), 0);
        dev_joined = argv_join(dev, ",");
        ck_assert_str_eq(
                dev_joined,
                "127.0.0.1:8081:8081,127.0.0.1:8082:8082,127.0.0.1:8083:8083,127.0.0.1:8084:8084");
        ck_assert_int_eq(unit_install_dev_publish_list(false, &none), 0);
        ck_assert_ptr_null(none);
}
END_TEST

START_TEST(test_rewrite_pod) {
        const char *in =
                "# comment PublishPort=1\n[Unit]\nDescription=p\n\n[Pod]\nPodName=ai-semble\n"
                "PublishPort=127.0.0.1:8080:8080\nPublishPort=1.2.3.4:1:1\n\n[Install]\nWantedBy="
                "default.target\n";
        const char *want =
                "# comment PublishPort=1\n[Unit]\nDescription=p\n\n[Pod]\nPodName=ai-semble\n"
                "PublishPort=0.0.0.0:9000:8080\nPublishPort=127.0.0.1:8081:8081\n\n[Install]\n"
                "WantedBy=default.target\n";
        const char *want_none =
                "# comment PublishPort=1\n[Unit]\nDescription=p\n\n[Pod]\nPodName=ai-semble\n"
                "\n[Install]\nWantedBy=default.target\n";
        char *publish[] = { (char *) "0.0.0.0:9000:8080", (char *) "127.0.0.1:8081:8081", NULL };
        _cleanup_free_ char *out = NULL, *out_none = NULL;

        ck_assert_int_eq(unit_install_rewrite(in, "[Pod]", "PublishPort", publish, NULL, &out), 0);
        ck_assert_str_eq(out, want);
        ck_assert_int_eq(unit_install_rewrite(in, "[Pod]", "PublishPort", NULL, NULL, &out_none), 0);
        ck_assert_str_eq(out_none, want_none);
}
END_TEST

START_TEST(test_rewrite_socket) {
        char *listen[] = { (char *) "127.0.0.1:9000", (char *) "[::1]:9000", NULL };
        _cleanup_free_ char *a = NULL, *b = NULL;

        ck_assert_int_eq(
                unit_install_rewrite(
                        "[Socket]\nListenStream=127.0.0.1:8080\n[Install]\nWantedBy=sockets.target\n",
                        "[Socket]",
                        "ListenStream",
                        listen,
                        "/e.env",
                        &a),
                0);
        ck_assert_str_eq(
                a,
                "[Socket]\nListenStream=127.0.0.1:9000\nListenStream=[::1]:9000\n[Install]\nWantedBy=sockets.target\n");
        /* No line yet: the values go at the end of the section. */
        ck_assert_int_eq(
                unit_install_rewrite("[Socket]\n", "[Socket]", "ListenStream", listen, NULL, &b), 0);
        ck_assert_str_eq(b, "[Socket]\nListenStream=127.0.0.1:9000\nListenStream=[::1]:9000\n");
}
END_TEST

START_TEST(test_rewrite_env_file) {
        const char *in =
                "[Container]\nImage=i\n# "
                "EnvironmentFile=keep\nEnvironmentFile=%h/.config/ai-semble/ai-semble.env\n";
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(unit_install_rewrite(in, NULL, NULL, NULL, "/srv/ai.env", &out), 0);
        ck_assert_str_eq(out, "[Container]\nImage=i\n# EnvironmentFile=keep\nEnvironmentFile=/srv/ai.env\n");
}
END_TEST

START_TEST(test_unit_names) {
        _cleanup_(unit_file_freep) UnitFile *pod = NULL, *ctr = NULL, *bare = NULL, *vol = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL,
                            *h = NULL;

        ck_assert_int_eq(unit_source_parse("ai-semble.pod", "[Pod]\nPodName=ai-semble\n", &pod, NULL), 0);
        ck_assert_int_eq(
                unit_source_parse(
                        "ai-semble-llm.container",
                        "[Container]\nContainerName=ai-semble-llm\nImage=i\n",
                        &ctr,
                        NULL),
                0);
        ck_assert_int_eq(unit_source_parse("extra.container", "[Container]\nImage=i\n", &bare, NULL), 0);
        ck_assert_int_eq(unit_source_parse("models.volume", "[Volume]\n", &vol, NULL), 0);

        ck_assert_int_eq(unit_names_pod_unit(pod, UNIT_FLAVOR_QUADLET, &a), 0);
        ck_assert_str_eq(a, "ai-semble-pod.service");
        ck_assert_int_eq(unit_names_pod_unit(pod, UNIT_FLAVOR_GENERATED, &b), 0);
        ck_assert_str_eq(b, "ai-semble.service");
        ck_assert_int_eq(unit_names_container_unit(ctr, UNIT_FLAVOR_QUADLET, &c), 0);
        ck_assert_str_eq(c, "ai-semble-llm.service");
        ck_assert_int_eq(unit_names_container_unit(ctr, UNIT_FLAVOR_GENERATED, &d), 0);
        ck_assert_str_eq(d, "ai-semble-llm.service");
        /* Quadlet's default names when the file sets none */
        ck_assert_int_eq(unit_names_container_unit(bare, UNIT_FLAVOR_GENERATED, &e), 0);
        ck_assert_str_eq(e, "systemd-extra.service");
        ck_assert_int_eq(unit_names_volume_name(vol, &f), 0);
        ck_assert_str_eq(f, "systemd-models");
        ck_assert_int_eq(unit_names_service(pod, ctr, &g), 0);
        ck_assert_str_eq(g, "llm");
        ck_assert_int_eq(unit_names_service(pod, bare, &h), 0);
        ck_assert_str_eq(h, "extra");
        ck_assert_int_eq(unit_names_pod_unit(ctr, UNIT_FLAVOR_QUADLET, &a), -EINVAL);

        ck_assert_str_eq(unit_flavor_to_string(UNIT_FLAVOR_GENERATED), "generated");
        ck_assert_int_eq(unit_flavor_from_string("quadlet"), UNIT_FLAVOR_QUADLET);
        ck_assert_int_lt(unit_flavor_from_string("kube"), 0);
}
END_TEST

START_TEST(test_manifest_from_real_quadlets) {
        const char *dir = getenv("AI_SEMBLE_TEST_QUADLETS");
        InstallOptions o = { .publish = "127.0.0.1:8080", .env_file = "/e.env", .home = "/home/u" };
        _cleanup_(install_source_done) InstallSource src = {};
        _cleanup_(manifest_done) Manifest q = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_(manifest_done) Manifest g = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_(manifest_done) Manifest back = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_free_ char *text = NULL, *services = NULL, *units = NULL;
        char *error = NULL;

        if (!dir)
                return;
        o.source_dir = dir;
        o.dev = true;
        ck_assert_msg(unit_install_load(&o, &src, &error) == 0, "%s", error ? error : "?");
        ck_assert_str_eq(unit_file_get(unit_set_pod(src.set), "Pod", "PublishPort"), "127.0.0.1:8084:8084");
        ck_assert_str_eq(
                unit_file_get(
                        unit_set_find(src.set, "ai-semble-orchestrator.socket"), "Socket", "ListenStream"),
                "127.0.0.1:8080");
        ck_assert_str_eq(
                unit_file_get(
                        unit_set_find(src.set, "ai-semble-llm.container"), "Container", "EnvironmentFile"),
                "/e.env");

        ck_assert_int_eq(unit_install_manifest(src.set, UNIT_FLAVOR_QUADLET, &q), 0);
        ck_assert_str_eq(q.pod_unit, "ai-semble-pod.service");
        services = argv_join(q.services, ",");
        ck_assert_str_eq(services, "data,llm,nlp,orchestrator,vision");
        ck_assert_str_eq(q.units[3], "ai-semble-orchestrator.service");
        ck_assert_str_eq(q.sockets[0], "ai-semble-orchestrator.socket");
        ck_assert_ptr_null(q.sockets[1]);

        ck_assert_int_eq(unit_install_manifest(src.set, UNIT_FLAVOR_GENERATED, &g), 0);
        ck_assert_str_eq(g.pod_unit, "ai-semble.service");
        units = argv_join(g.units, ",");
        ck_assert_str_eq(
                units,
                "ai-semble-data.service,ai-semble-llm.service,"
                "ai-semble-nlp.service,ai-semble-orchestrator.service,"
                "ai-semble-vision.service");

        ck_assert_int_eq(argv_push(&g.files, "/home/u/.config/systemd/user/ai-semble.service"), 0);
        g.inputs = strdup("0f1e2d3c");
        ck_assert_int_eq(manifest_format(&g, &text), 0);
        ck_assert_int_eq(manifest_parse(text, &back), 0);
        ck_assert_str_eq(back.inputs, "0f1e2d3c");
        ck_assert_int_eq(back.flavor, UNIT_FLAVOR_GENERATED);
        ck_assert_str_eq(back.pod_unit, "ai-semble.service");
        ck_assert_str_eq(back.units[1], "ai-semble-llm.service");
        ck_assert_str_eq(back.files[0], "/home/u/.config/systemd/user/ai-semble.service");
        ck_assert_str_eq(back.sockets[0], "ai-semble-orchestrator.socket");
        ck_assert_int_eq(manifest_find_service(&back, "vision"), 4);
        ck_assert_int_eq(manifest_find_service(&back, "ai-semble-nlp.service"), 2);
        ck_assert_int_eq(manifest_find_service(&back, "nope"), -ENOENT);
}
END_TEST

START_TEST(test_manifest_bad) {
        Manifest m = { .flavor = _UNIT_FLAVOR_INVALID };

        ck_assert_int_eq(manifest_parse("flavor=kube\npod=x\n", &m), -EBADMSG);
        ck_assert_int_eq(manifest_parse("flavor=quadlet\n", &m), -EBADMSG);
        ck_assert_int_eq(manifest_parse("flavor=quadlet\npod=p\nservice=lonely\n", &m), -EBADMSG);
        ck_assert_int_eq(manifest_parse("flavor=quadlet\npod=p\nwhat=ever\n", &m), -EBADMSG);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("supervisor-install");
        TCase *tc = tcase_create("install");

        tcase_add_test(tc, test_listen_list);
        tcase_add_test(tc, test_rewrite_pod);
        tcase_add_test(tc, test_rewrite_socket);
        tcase_add_test(tc, test_rewrite_env_file);
        tcase_add_test(tc, test_unit_names);
        tcase_add_test(tc, test_manifest_from_real_quadlets);
        tcase_add_test(tc, test_manifest_bad);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
