/* SPDX-License-Identifier: MIT */
/* test-config.c — every config type, defaults, bounds, aliases, and errors that name
 * the variable; plus the --help / Markdown printers. */
#include <check.h>
#include <stddef.h>

#include "check-run.h"
#include "config.h"
#include "log.h"

typedef struct TestConfig {
        char *str;
        int64_t num;
        bool flag;
        uint64_t timeout_ms;
        uint64_t size;
        char *url;
        char *mode;
        int level;
        char *listen;
        char *unset;
} TestConfig;

static const char *const modes[] = { "fast", "slow", NULL };

#define FIELD(field) offsetof(TestConfig, field)

/* clang-format off */
static const ConfigEntry table[] = {
        CONFIG_STR("T_STR", "hello", FIELD(str), "a string", CONFIG_ALIAS("T_OLD_STR")),
        CONFIG_INT("T_NUM", "5", 1, 10, FIELD(num), "an int"),
        CONFIG_BOOL("T_FLAG", "no", FIELD(flag), "a bool"),
        CONFIG_DURATION("T_TIMEOUT", "2s", 100, 60000, FIELD(timeout_ms), "a duration"),
        CONFIG_SIZE("T_SIZE", "16K", 1024, 1024 * 1024, FIELD(size), "a size"),
        CONFIG_URL("T_URL", "http://127.0.0.1:1", FIELD(url), "a url", CONFIG_ALIAS("T_LEGACY_URL")),
        CONFIG_ENUM("T_MODE", "fast", modes, FIELD(mode), "an enum"),
        CONFIG_LOG_LEVEL("T_LEVEL", "info", FIELD(level), "a level"),
        CONFIG_HOST_PORT("T_LISTEN", "0.0.0.0:8080", FIELD(listen), "listen"),
        CONFIG_STR("T_UNSET", NULL, FIELD(unset), "no default"),
};
/* clang-format on */

/* Environment for one test: NULL-terminated "NAME=value" list. */
static const char *const *env;

static const char *lookup(const char *name, void *userdata) {
        size_t l = strlen(name);
        for (const char *const *e = env; e && *e; e++)
                if (strncmp(*e, name, l) == 0 && (*e)[l] == '=')
                        return *e + l + 1;
        return NULL;
}

static int load(const char *const *e, TestConfig *c, char **err) {
        env = e;
        memset(c, 0x5a, sizeof(*c)); /* garbage: the loader must not depend on zeroed memory */
        return config_load_from(table, ELEMENTSOF(table), c, lookup, NULL, err);
}

/* Loads one bad value and checks the error names the variable. */
static void expect_bad(const char *kv, const char *var) {
        TestConfig c;
        char *err = NULL;
        const char *e[] = { kv, NULL };

        ck_assert_int_eq(load(e, &c, &err), -EINVAL);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(startswith(err, var) != NULL, "error '%s' does not start with %s", err, var);
        free(err);
}

START_TEST(test_defaults) {
        TestConfig c;
        char *err = NULL;

        ck_assert_int_eq(load(NULL, &c, &err), 0);
        ck_assert_ptr_null(err);
        ck_assert_str_eq(c.str, "hello");
        ck_assert_int_eq(c.num, 5);
        ck_assert(!c.flag);
        ck_assert_uint_eq(c.timeout_ms, 2000);
        ck_assert_uint_eq(c.size, 16384);
        ck_assert_str_eq(c.url, "http://127.0.0.1:1");
        ck_assert_str_eq(c.mode, "fast");
        ck_assert_int_eq(c.level, LOG_INFO);
        ck_assert_str_eq(c.listen, "0.0.0.0:8080");
        ck_assert_ptr_null(c.unset);
        config_free(table, ELEMENTSOF(table), &c);
        ck_assert_ptr_null(c.str);
}
END_TEST

START_TEST(test_values) {
        TestConfig c;
        char *err = NULL;
        const char *e[] = { "T_STR=world",          "T_NUM=10",           "T_FLAG=yes",  "T_TIMEOUT=250ms",
                            "T_SIZE=64K",           "T_URL=https://x:2/", "T_MODE=slow", "T_LEVEL=debug",
                            "T_LISTEN=127.0.0.1:0", "T_UNSET=set",        NULL };

        ck_assert_int_eq(load(e, &c, &err), 0);
        ck_assert_str_eq(c.str, "world");
        ck_assert_int_eq(c.num, 10);
        ck_assert(c.flag);
        ck_assert_uint_eq(c.timeout_ms, 250);
        ck_assert_uint_eq(c.size, 65536);
        ck_assert_str_eq(c.url, "https://x:2/");
        ck_assert_str_eq(c.mode, "slow");
        ck_assert_int_eq(c.level, LOG_DEBUG);
        ck_assert_str_eq(c.listen, "127.0.0.1:0");
        ck_assert_str_eq(c.unset, "set");
        config_free(table, ELEMENTSOF(table), &c);
}
END_TEST

START_TEST(test_empty_means_default) {
        TestConfig c;
        const char *e[] = { "T_NUM=", "T_STR=", NULL };

        ck_assert_int_eq(load(e, &c, NULL), 0);
        ck_assert_int_eq(c.num, 5);
        ck_assert_str_eq(c.str, "hello");
        config_free(table, ELEMENTSOF(table), &c);
}
END_TEST

START_TEST(test_aliases) {
        TestConfig c;
        const char *e1[] = { "T_OLD_STR=legacy", "T_LEGACY_URL=http://old:1", NULL };
        const char *e2[] = { "T_OLD_STR=legacy", "T_STR=primary", NULL };
        const char *e3[] = { "T_LEGACY_URL=ftp://old", NULL };
        char *err = NULL;

        ck_assert_int_eq(load(e1, &c, NULL), 0);
        ck_assert_str_eq(c.str, "legacy");
        ck_assert_str_eq(c.url, "http://old:1");
        config_free(table, ELEMENTSOF(table), &c);

        ck_assert_int_eq(load(e2, &c, NULL), 0);
        ck_assert_str_eq(c.str, "primary");
        config_free(table, ELEMENTSOF(table), &c);

        /* The error names the variable the bad value came from. */
        ck_assert_int_eq(load(e3, &c, &err), -EINVAL);
        ck_assert_ptr_nonnull(startswith(err, "T_LEGACY_URL:"));
        free(err);
}
END_TEST

START_TEST(test_bad_values) {
        expect_bad("T_NUM=abc", "T_NUM:");
        expect_bad("T_NUM=11", "T_NUM:");
        expect_bad("T_NUM=0", "T_NUM:");
        expect_bad("T_NUM=5x", "T_NUM:");
        expect_bad("T_NUM=99999999999999999999", "T_NUM:");
        expect_bad("T_FLAG=maybe", "T_FLAG:");
        expect_bad("T_TIMEOUT=5 s", "T_TIMEOUT:");
        expect_bad("T_TIMEOUT=5d", "T_TIMEOUT:");
        expect_bad("T_TIMEOUT=50ms", "T_TIMEOUT:"); /* below 100ms */
        expect_bad("T_TIMEOUT=2m", "T_TIMEOUT:");   /* above 60s */
        expect_bad("T_TIMEOUT=-1s", "T_TIMEOUT:");
        expect_bad("T_TIMEOUT=99999999999999999999h", "T_TIMEOUT:");
        expect_bad("T_SIZE=1T", "T_SIZE:");
        expect_bad("T_SIZE=512", "T_SIZE:"); /* below 1K */
        expect_bad("T_SIZE=2M", "T_SIZE:");  /* above 1M */
        expect_bad("T_URL=ftp://x", "T_URL:");
        expect_bad("T_URL=http://", "T_URL:");
        expect_bad("T_MODE=medium", "T_MODE:");
        expect_bad("T_LEVEL=loud", "T_LEVEL:");
        expect_bad("T_LISTEN=8080", "T_LISTEN:");
        expect_bad("T_LISTEN=host:70000", "T_LISTEN:");
        expect_bad("T_LISTEN=ho st:80", "T_LISTEN:");
        expect_bad("T_LISTEN=:80", "T_LISTEN:");
}
END_TEST

START_TEST(test_parsers) {
        uint64_t u;
        bool b;
        char *host = NULL;
        uint16_t port;

        ck_assert_int_eq(config_parse_duration_ms("3", &u), 0);
        ck_assert_uint_eq(u, 3000);
        ck_assert_int_eq(config_parse_duration_ms("2m", &u), 0);
        ck_assert_uint_eq(u, 120000);
        ck_assert_int_eq(config_parse_duration_ms("1h", &u), 0);
        ck_assert_uint_eq(u, 3600000);
        ck_assert_int_eq(config_parse_duration_ms("", &u), -EINVAL);
        ck_assert_int_eq(config_parse_size("1G", &u), 0);
        ck_assert_uint_eq(u, 1073741824ULL);
        ck_assert_int_eq(config_parse_size("2MiB", &u), 0);
        ck_assert_uint_eq(u, 2097152ULL);
        ck_assert_int_eq(config_parse_size("2MX", &u), -EINVAL);
        ck_assert_int_eq(config_parse_size("99999999999999G", &u), -ERANGE);
        ck_assert_int_eq(config_parse_bool("On", &b), 0);
        ck_assert(b);
        ck_assert_int_eq(config_parse_bool("off", &b), 0);
        ck_assert(!b);
        ck_assert_int_eq(config_parse_host_port("localhost:8081", &host, &port), 0);
        ck_assert_str_eq(host, "localhost");
        ck_assert_uint_eq(port, 8081);
        free(host);
        ck_assert_int_eq(config_parse_host_port("localhost:", NULL, &port), -EINVAL);
        ck_assert_int_eq(config_parse_host_port("a:000080", NULL, &port), -EINVAL);
}
END_TEST

START_TEST(test_printers) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        config_print_help(table, ELEMENTSOF(table), f);
        fflush(f);
        ck_assert_ptr_nonnull(strstr(buf, "T_TIMEOUT"));
        ck_assert_ptr_nonnull(strstr(buf, "100ms..60000ms"));
        ck_assert_ptr_nonnull(strstr(buf, "fast|slow"));
        ck_assert_ptr_nonnull(strstr(buf, "T_OLD_STR"));
        fclose(f);
        free(buf);

        buf = NULL;
        f = open_memstream(&buf, &size);
        config_print_markdown(table, ELEMENTSOF(table), f);
        fclose(f);
        ck_assert_ptr_nonnull(strstr(buf, "| Variable |"));
        ck_assert_ptr_nonnull(strstr(buf, "| `T_SIZE` | size | `16K` | 1024..1048576 | a size |"));
        /* header + separator + one row per entry */
        size_t lines = 0;
        for (const char *c = buf; *c; c++)
                lines += *c == '\n';
        ck_assert_uint_eq(lines, ELEMENTSOF(table) + 2);
        free(buf);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_values);
        tcase_add_test(tc, test_empty_means_default);
        tcase_add_test(tc, test_aliases);
        tcase_add_test(tc, test_bad_values);
        tcase_add_test(tc, test_parsers);
        tcase_add_test(tc, test_printers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
