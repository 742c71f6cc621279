/* SPDX-License-Identifier: MIT */
/* test-json-util.c — strict parsing of hostile input and typed field getters. */
#include <check.h>

#include "check-run.h"
#include "json-util.h"

static int parse(const char *s, size_t len, json_object **o, char **err) {
        *o = NULL;
        *err = NULL;
        return json_parse_strict(s, len, o, err);
}

static void expect_bad(const char *s, size_t len, const char *needle) {
        json_object *o;
        char *err;

        ck_assert_int_eq(parse(s, len, &o, &err), -EBADMSG);
        ck_assert_ptr_null(o);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
        free(err);
}

#define BAD(lit, needle) expect_bad(lit, sizeof(lit) - 1, needle)

START_TEST(test_valid) {
        json_object *o, *v;
        char *err;

        ck_assert_int_eq(parse("{\"a\": [1, 2.5, \"x\", true, null]}  \n", 34, &o, &err), 0);
        ck_assert_ptr_nonnull(o);
        ck_assert(json_object_object_get_ex(o, "a", &v));
        ck_assert_int_eq((int) json_object_array_length(v), 5);
        json_object_put(o);

        /* A bare top-level number must not wait for more input. */
        ck_assert_int_eq(parse("42", 2, &o, &err), 0);
        ck_assert_int_eq(json_object_get_int(o), 42);
        json_object_put(o);
        ck_assert_int_eq(parse("\"\xc3\xa9\"", 4, &o, &err), 0);
        json_object_put(o);
}
END_TEST

START_TEST(test_malformed) {
        BAD("{\"a\": }", "offset");
        BAD("{\"a\": 1", "offset");
        BAD("", "offset");
        BAD("{'a': 1}", "offset");    /* strict: no single quotes */
        BAD("{\"a\": 1,}", "offset"); /* strict: no trailing comma */
        BAD("[01]", "offset");
        BAD("{\"a\": NaN}", "offset 6");
        BAD("{\"a\": nan}", "offset");
        BAD("[1e999]", "finite");
}
END_TEST

START_TEST(test_trailing_garbage) {
        BAD("{\"a\":1} x", "at offset 8");
        BAD("{} {}", "at offset 3");
        BAD("1 2", "at offset 2");
        BAD("{} ]", "at offset 3");
        BAD("{\"a\":1} \"x\"", "at offset 8");
}
END_TEST

START_TEST(test_nul_byte) {
        BAD("{\"a\":\"x\0y\"}", "NUL byte at offset 7");
        BAD("{}\0", "NUL byte at offset 2");
}
END_TEST

START_TEST(test_invalid_utf8) {
        BAD("{\"a\":\"\xff\xfe\"}", "offset");
        BAD("{\"a\":\"\xc3\"}", "offset");
        BAD("\"\xed\xa0\x80\"", "invalid UTF-8 at offset 1"); /* encoded surrogate */
        BAD("\"\xc0\xaf\"", "invalid UTF-8 at offset 1");     /* overlong */
        BAD("\"a\x01\"", "control character in string at offset 2");
}
END_TEST

START_TEST(test_depth_bomb) {
        size_t n = 100000;
        char *s = malloc(n * 2);
        json_object *o;
        char *err;

        ck_assert_ptr_nonnull(s);
        memset(s, '[', n);
        memset(s + n, ']', n);
        ck_assert_int_eq(parse(s, n * 2, &o, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "nesting too deep"));
        free(err);

        /* Just under the limit parses. */
        memset(s, '[', JSON_MAX_DEPTH - 1);
        memset(s + JSON_MAX_DEPTH - 1, ']', JSON_MAX_DEPTH - 1);
        ck_assert_int_eq(parse(s, (JSON_MAX_DEPTH - 1) * 2, &o, &err), 0);
        json_object_put(o);
        free(s);
}
END_TEST

static const char *err_field(json_object *errs, size_t i, const char **ret_msg) {
        json_object *e = json_object_array_get_idx(errs, i), *f, *m;

        ck_assert_ptr_nonnull(e);
        ck_assert(json_object_object_get_ex(e, "field", &f));
        ck_assert(json_object_object_get_ex(e, "message", &m));
        if (ret_msg)
                *ret_msg = json_object_get_string(m);
        return json_object_get_string(f);
}

START_TEST(test_getters) {
        _cleanup_json_ json_object *o = NULL, *errs = NULL;
        const char *s = "untouched", *msg;
        int64_t i = -1;
        double d = -1;
        bool b = false;
        json_object *sub = NULL;
        char *err;

        ck_assert_int_eq(
                parse("{\"s\":\"x\",\"i\":7,\"d\":0.5,\"di\":2,\"b\":true,\"o\":{},\"a\":[],\"n\":null,"
                      "\"big\":99999999999999999999}",
                      89,
                      &o,
                      &err),
                0);
        ck_assert_int_eq(json_get_string(o, "s", true, &errs, &s), 1);
        ck_assert_str_eq(s, "x");
        ck_assert_int_eq(json_get_int(o, "i", true, 0, 10, &errs, &i), 1);
        ck_assert_int_eq(i, 7);
        ck_assert_int_eq(json_get_double(o, "d", true, 0, 1, &errs, &d), 1);
        ck_assert(d == 0.5);
        ck_assert_int_eq(json_get_double(o, "di", true, 0, 10, &errs, &d), 1); /* ints are numbers */
        ck_assert(d == 2.0);
        ck_assert_int_eq(json_get_bool(o, "b", true, &errs, &b), 1);
        ck_assert(b);
        ck_assert_int_eq(json_get_object(o, "o", true, &errs, &sub), 1);
        ck_assert_int_eq(json_get_array(o, "a", true, &errs, &sub), 1);
        ck_assert_ptr_null(errs);

        /* Absent optional: 0 and untouched; explicit null counts as absent. */
        s = "default";
        ck_assert_int_eq(json_get_string(o, "missing", false, &errs, &s), 0);
        ck_assert_int_eq(json_get_string(o, "n", false, &errs, &s), 0);
        ck_assert_str_eq(s, "default");
        ck_assert_ptr_null(errs);

        /* Errors accumulate, each naming its field. */
        ck_assert_int_eq(json_get_string(o, "i", true, &errs, &s), -EINVAL);
        ck_assert_int_eq(json_get_int(o, "s", true, 0, 10, &errs, &i), -EINVAL);
        ck_assert_int_eq(json_get_int(o, "d", true, 0, 10, &errs, &i), -EINVAL); /* 0.5 is not an integer */
        ck_assert_int_eq(json_get_int(o, "i", true, 8, 10, &errs, &i), -EINVAL);
        ck_assert_int_eq(json_get_int(o, "big", true, 0, 10, &errs, &i), -EINVAL);
        ck_assert_int_eq(json_get_bool(o, "s", true, &errs, &b), -EINVAL);
        ck_assert_int_eq(json_get_object(o, "a", true, &errs, &sub), -EINVAL);
        ck_assert_int_eq(json_get_array(o, "o", true, &errs, &sub), -EINVAL);
        ck_assert_int_eq(json_get_string(o, "prompt", true, &errs, &s), -EINVAL);
        ck_assert_int_eq(json_get_string_bounded(o, "s", true, 2, 0, &errs, &s), -EINVAL);
        ck_assert_int_eq(json_get_double(o, "d", true, 1, 2, &errs, &d), -EINVAL);
        ck_assert_int_eq((int) json_object_array_length(errs), 11);

        ck_assert_str_eq(err_field(errs, 0, &msg), "i");
        ck_assert_str_eq(msg, "must be a string, got integer");
        ck_assert_str_eq(err_field(errs, 1, &msg), "s");
        ck_assert_str_eq(msg, "must be an integer, got string");
        ck_assert_str_eq(err_field(errs, 2, NULL), "d");
        ck_assert_str_eq(err_field(errs, 3, &msg), "i");
        ck_assert_str_eq(msg, "must be between 8 and 10");
        ck_assert_str_eq(err_field(errs, 4, NULL), "big");
        ck_assert_str_eq(err_field(errs, 8, &msg), "prompt");
        ck_assert_str_eq(msg, "field is required");
        ck_assert_int_eq(i, 7); /* untouched on failure */
}
END_TEST

START_TEST(test_not_an_object) {
        _cleanup_json_ json_object *o = json_object_new_array(), *errs = NULL;
        const char *s = NULL;

        ck_assert_int_eq(json_get_string(o, "x", true, &errs, &s), -EINVAL);
        ck_assert_int_eq(json_get_string(NULL, "x", false, &errs, &s), -EINVAL);
        ck_assert_int_eq((int) json_object_array_length(errs), 2);
        ck_assert_str_eq(err_field(errs, 0, NULL), "");
}
END_TEST

/* Non-ASCII text comes back byte for byte, whatever the json-c at hand (0.18's strict mode
 * refuses it; json_parse_strict then parses the escaped form). */
START_TEST(test_utf8_text) {
        static const char in[] =
                "{\"ja\": \"\xe4\xbb\x8a\xe6\x97\xa5\", \"fr\": \"\xc3\xa9t\xc3\xa9\", "
                "\"emoji\": [\"\xf0\x9f\x98\x80!\"], \"\xc3\xbc\": 1}";
        json_object *o, *v;
        char *err;

        ck_assert_int_eq(parse(in, sizeof(in) - 1, &o, &err), 0);
        ck_assert(json_object_object_get_ex(o, "ja", &v));
        ck_assert_str_eq(json_object_get_string(v), "\xe4\xbb\x8a\xe6\x97\xa5");
        ck_assert(json_object_object_get_ex(o, "fr", &v));
        ck_assert_str_eq(json_object_get_string(v), "\xc3\xa9t\xc3\xa9");
        ck_assert(json_object_object_get_ex(o, "emoji", &v));
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "\xf0\x9f\x98\x80!");
        ck_assert(json_object_object_get_ex(o, "\xc3\xbc", &v));
        json_object_put(o);
        /* An error after non-ASCII text names the offset in the caller's bytes. */
        BAD("[\"\xe4\xbb\x8a\", tru]", "offset 11");
}
END_TEST

START_TEST(test_escape_non_ascii) {
        static const char in[] = "[\"a\xc3\xa9\\\"\xe4\xbb\x8a\", \"\xf0\x9f\x98\x80\"]";
        json_object *o;
        char *out, *err;
        size_t n;

        ck_assert_int_eq(json_escape_non_ascii(in, sizeof(in) - 1, &out, &n), 0);
        ck_assert_str_eq(out, "[\"a\\u00e9\\\"\\u4eca\", \"\\ud83d\\ude00\"]");
        ck_assert_uint_eq(n, strlen(out));
        ck_assert_int_eq(parse(out, n, &o, &err), 0);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o, 0)), "a\xc3\xa9\"\xe4\xbb\x8a");
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o, 1)), "\xf0\x9f\x98\x80");
        json_object_put(o);
        free(out);
        ck_assert_int_eq(json_escape_non_ascii("\"\xc0\xaf\"", 4, &out, &n), -EBADMSG);
}
END_TEST

/* A \u0000 inside a string survives json-c (the length says so) but a C string stops
 * there: a getter refuses it naming the field, and a key (which json-c keeps as a C
 * string, cut at the NUL) is refused by the parser. */
START_TEST(test_embedded_nul) {
        _cleanup_json_ json_object *o = NULL, *errs = NULL, *nested = NULL, *clean = NULL;
        const char *s = "untouched", *msg;
        char *err;
        static const char in[] = "{\"sub\":\"bob\\u0000x\",\"ok\":\"a\\\\u0000\"}";
        static const char deep[] = "{\"a\":[1,{\"b\":[\"x\",\"\\u0000\"]}]}";
        static const char deep_ok[] = "{\"a\":[1,{\"b\":[\"x\",\"\\u0001\"]}]}";

        ck_assert_int_eq(parse(in, sizeof(in) - 1, &o, &err), 0);
        ck_assert_int_eq(json_get_string(o, "sub", true, &errs, &s), -EINVAL);
        ck_assert_str_eq(s, "untouched");
        ck_assert_str_eq(err_field(errs, 0, &msg), "sub");
        ck_assert_str_eq(msg, "must not contain a NUL character (\\u0000)");
        ck_assert_int_eq(json_get_string_bounded(o, "sub", true, 1, 128, &errs, &s), -EINVAL);
        /* An escaped backslash followed by u0000 is six ordinary characters. */
        ck_assert_int_eq(json_get_string(o, "ok", true, &errs, &s), 1);
        ck_assert_str_eq(s, "a\\u0000");
        ck_assert(json_has_nul_string(o));

        ck_assert_int_eq(parse(deep, sizeof(deep) - 1, &nested, &err), 0);
        ck_assert(json_has_nul_string(nested));
        ck_assert_int_eq(parse(deep_ok, sizeof(deep_ok) - 1, &clean, &err), 0);
        ck_assert(!json_has_nul_string(clean));

        BAD("{\"te\\u0000xt\":\"a\"}", "\\u0000 in an object key at offset 13");
        BAD("{\"a\":{\"\\u0000\" :1}}", "\\u0000 in an object key at offset 15");
}
END_TEST

/* Key order and whitespace do not change the canonical text; values do. */
START_TEST(test_canonical) {
        const char *a = "{ \"b\" : [1, {\"y\":2,\"x\":\"\\u00e9\"}], \"a\": null }";
        const char *b = "{\"a\":null,\"b\":[1,{\"x\":\"\u00e9\",\"y\":2}]}";
        const char *c = "{\"a\":null,\"b\":[{\"x\":\"\u00e9\",\"y\":2},1]}";
        _cleanup_json_ json_object *oa = NULL, *ob = NULL, *oc = NULL;
        _cleanup_free_ char *ta = NULL, *tb = NULL, *tc = NULL;
        size_t la = 0;

        ck_assert_int_eq(json_parse_strict(a, strlen(a), &oa, NULL), 0);
        ck_assert_int_eq(json_parse_strict(b, strlen(b), &ob, NULL), 0);
        ck_assert_int_eq(json_parse_strict(c, strlen(c), &oc, NULL), 0);
        ck_assert_int_eq(json_canonical_string(oa, &ta, &la), 0);
        ck_assert_int_eq(json_canonical_string(ob, &tb, NULL), 0);
        ck_assert_int_eq(json_canonical_string(oc, &tc, NULL), 0);
        ck_assert_str_eq(ta, "{\"a\":null,\"b\":[1,{\"x\":\"\u00e9\",\"y\":2}]}");
        ck_assert_str_eq(ta, tb);
        ck_assert_uint_eq(la, strlen(ta));
        /* Array order is the input's: a different value. */
        ck_assert_str_ne(ta, tc);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("json-util");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_valid);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_trailing_garbage);
        tcase_add_test(tc, test_nul_byte);
        tcase_add_test(tc, test_invalid_utf8);
        tcase_add_test(tc, test_utf8_text);
        tcase_add_test(tc, test_escape_non_ascii);
        tcase_add_test(tc, test_depth_bomb);
        tcase_add_test(tc, test_getters);
        tcase_add_test(tc, test_not_an_object);
        tcase_add_test(tc, test_embedded_nul);
        tcase_add_test(tc, test_canonical);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
