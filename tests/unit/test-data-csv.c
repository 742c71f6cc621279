/* SPDX-License-Identifier: MIT */
/* test-data-csv.c — the RFC 4180 reader on its edge cases (quotes, doubled quotes,
 * embedded newlines, BOM, CRLF, missing final line end), fed whole and byte by byte. */
#include <check.h>

#include "check-run.h"
#include "data-csv.h"
#include "macro.h"

/* Records flattened to "a|b;c|d;" for easy comparison. */
typedef struct Out {
        char buf[1024];
        size_t len;
} Out;

static int collect(const char *const *fields, const size_t *lens, size_t n, void *userdata) {
        Out *o = userdata;

        for (size_t i = 0; i < n; i++) {
                ck_assert_uint_eq(strlen(fields[i]), lens[i]);
                o->len += (size_t) snprintf(
                        o->buf + o->len, sizeof(o->buf) - o->len, "%s%s", i ? "|" : "", fields[i]);
        }
        o->len += (size_t) snprintf(o->buf + o->len, sizeof(o->buf) - o->len, ";");
        return 0;
}

/* Parses s whole, then one byte per feed, and checks both give want (NULL = error). */
static void check_csv(const char *s, const char *want) {
        Out whole = {}, bytes = {};
        _cleanup_free_ char *err = NULL;
        CsvReader *r = NULL;
        int k, k2 = 0;

        k = csv_parse_buffer(s, strlen(s), NULL, collect, &whole, &err);
        ck_assert_int_eq(csv_reader_new(NULL, collect, &bytes, &r), 0);
        for (size_t i = 0; s[i] && k2 >= 0; i++)
                k2 = csv_reader_feed(r, s + i, 1);
        if (k2 >= 0)
                k2 = csv_reader_finish(r);
        csv_reader_free(r);
        if (!want) {
                ck_assert_int_eq(k, -EBADMSG);
                ck_assert_int_eq(k2, -EBADMSG);
                ck_assert_ptr_nonnull(err);
                return;
        }
        ck_assert_int_eq(k, 0);
        ck_assert_int_eq(k2, 0);
        ck_assert_str_eq(whole.buf, want);
        ck_assert_str_eq(bytes.buf, want);
}

START_TEST(test_plain) {
        check_csv("a,b\n1,2\n", "a|b;1|2;");
        check_csv("a,b\r\n1,2\r\n", "a|b;1|2;");
        check_csv("a,b\n1,2", "a|b;1|2;");   /* no final line end */
        check_csv("a,b\r1,2\r", "a|b;1|2;"); /* old Mac line ends */
        check_csv("a,,\n,,\n", "a||;||;");   /* empty fields */
        check_csv("a,b\n1,\n", "a|b;1|;");   /* trailing empty field */
        check_csv("a\n\n1\n\n", "a;1;");     /* blank lines are skipped */
        check_csv("", "");
}
END_TEST

START_TEST(test_quotes) {
        check_csv("\"a,b\",c\n", "a,b|c;");
        check_csv("\"say \"\"hi\"\"\",x\n", "say \"hi\"|x;");
        check_csv("\"line1\nline2\",x\r\n", "line1\nline2|x;");
        check_csv("\"crlf\r\ninside\"\r\n", "crlf\r\ninside;");
        check_csv("\"\",x\n", "|x;");
        check_csv("a,\"b\"", "a|b;");
}
END_TEST

START_TEST(test_bom) {
        check_csv(
                "\xef\xbb\xbf"
                "a,b\n1,2\n",
                "a|b;1|2;");
        /* Only at the start, and a partial BOM is data. */
        check_csv("x,\xef\xbb\xbf\n", "x|\xef\xbb\xbf;");
        check_csv(
                "\xef\xbb"
                "a\n",
                "\xef\xbb"
                "a;");
}
END_TEST

START_TEST(test_malformed) {
        check_csv("a\"b,c\n", NULL);   /* quote inside an unquoted field */
        check_csv("\"a\"b,c\n", NULL); /* text after the closing quote */
        check_csv("\"unterminated\n", NULL);
}
END_TEST

START_TEST(test_limits) {
        CsvLimits lim = { .max_fields = 3, .max_record = 16 };
        _cleanup_free_ char *err = NULL, *err2 = NULL;
        Out o = {};

        ck_assert_int_eq(csv_parse_buffer("a,b,c,d\n", 8, &lim, collect, &o, &err), -E2BIG);
        ck_assert_ptr_nonnull(strstr(err, "more than 3 fields"));
        ck_assert_int_eq(csv_parse_buffer("0123456789abcdefghij\n", 21, &lim, collect, &o, &err2), -E2BIG);
        ck_assert_ptr_nonnull(strstr(err2, "longer than 16 bytes"));
}
END_TEST

static int stop_at_two(const char *const *fields, const size_t *lens, size_t n, void *userdata) {
        int *count = userdata;
        return ++*count == 2 ? -ECANCELED : 0;
}

START_TEST(test_callback_stops) {
        int count = 0;
        ck_assert_int_eq(csv_parse_buffer("a\nb\nc\n", 6, NULL, stop_at_two, &count, NULL), -ECANCELED);
        ck_assert_int_eq(count, 2);
}
END_TEST

START_TEST(test_writer) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        csv_write_field(f, "plain", 5);
        fputc(',', f);
        csv_write_field(f, "a,\"b\"\nc", 7);
        fclose(f);
        ck_assert_str_eq(buf, "plain,\"a,\"\"b\"\"\nc\"");
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("data-csv");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_plain);
        tcase_add_test(tc, test_quotes);
        tcase_add_test(tc, test_bom);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_callback_stops);
        tcase_add_test(tc, test_writer);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run(suite());
}
