/* SPDX-License-Identifier: MIT */
/* test-base64.c — RFC 4648's test vectors in both alphabets, and the strictness of the
 * decoders: one encoding per byte string, padding only at the end, size before content. */
#include <check.h>
#include <errno.h>

#include "base64.h"
#include "check-run.h"
#include "macro.h"

static const struct {
        const char *plain, *std, *url;
} vectors[] = {
        /* RFC 4648 section 10 */
        { "", "", "" },
        { "f", "Zg==", "Zg" },
        { "fo", "Zm8=", "Zm8" },
        { "foo", "Zm9v", "Zm9v" },
        { "foob", "Zm9vYg==", "Zm9vYg" },
        { "fooba", "Zm9vYmE=", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy", "Zm9vYmFy" },
        /* the two alphabets differ in 62 and 63 */
        { "\xfb\xff\xbf", "+/+/", "-_-_" },
};

START_TEST(test_vectors) {
        const char *plain = vectors[_i].plain;
        size_t n = strlen(plain);
        _cleanup_free_ char *std = NULL, *url = NULL;
        _cleanup_free_ uint8_t *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;

        ck_assert_int_eq(base64_encode(plain, n, &std), 0);
        ck_assert_str_eq(std, vectors[_i].std);
        ck_assert_int_eq(base64url_encode(plain, n, &url), 0);
        ck_assert_str_eq(url, vectors[_i].url);
        if (n > 0) { /* an empty text is not an image */
                ck_assert_int_eq(base64_decode(std, strlen(std), n, &a, &alen), 0);
                ck_assert_uint_eq(alen, n);
                ck_assert_mem_eq(a, plain, n);
                ck_assert_int_eq(a[alen], 0); /* NUL-terminated */
                ck_assert_int_eq(base64_decoded_size(std, strlen(std)), (int64_t) n);
        }
        ck_assert_int_eq(base64url_decode(url, strlen(url), &b, &blen), 0);
        ck_assert_uint_eq(blen, n);
        ck_assert_mem_eq(b, plain, n);
        ck_assert_int_eq(b[blen], 0);
}
END_TEST

static const char *const bad_std[] = {
        "",          /* nothing */
        "aGVsbG8",   /* not a multiple of 4 */
        "aGV$bG8=",  /* not the alphabet */
        "aG=sbG8=",  /* padding inside */
        "aGVs bG8",  /* whitespace */
        "aGVsbG8\n", /* a newline */
        "a===",      /* three padding characters */
        "ab=c",      /* data after padding */
        "====",      /* only padding */
        "-_-_",      /* the URL alphabet */
};

START_TEST(test_std_refuses) {
        const char *s = bad_std[_i];
        uint8_t *out = NULL;
        size_t len = 0;

        ck_assert_int_eq(base64_decode(s, strlen(s), 100, &out, &len), -EBADMSG);
        ck_assert_ptr_null(out);
        ck_assert_int_eq(base64_decoded_size(s, strlen(s)), -EBADMSG);
}
END_TEST

START_TEST(test_std_size_first) {
        uint8_t *out = NULL;
        size_t len = 0;

        ck_assert_int_eq(base64_decode("aGVsbG8=", 8, 4, &out, &len), -EFBIG);
        ck_assert_int_eq(base64_decode("aGVsbG8=", 8, 5, &out, &len), 0);
        free(out);
        /* Too big is told before the characters are looked at. */
        ck_assert_int_eq(base64_decode("$$$$$$$$", 8, 5, &out, &len), -EFBIG);
}
END_TEST

START_TEST(test_url_refuses) {
        uint8_t *out = NULL;
        size_t len = 0;

        ck_assert_int_eq(base64url_decode("Zm9vY", 5, &out, &len), -EBADMSG);   /* 4n+1 characters */
        ck_assert_int_eq(base64url_decode("Zg==", 4, &out, &len), -EBADMSG);    /* padded */
        ck_assert_int_eq(base64url_decode("+/+/", 4, &out, &len), -EBADMSG);    /* standard alphabet */
        ck_assert_int_eq(base64url_decode("Zh", 2, &out, &len), -EBADMSG);      /* leftover bits set */
        ck_assert_int_eq(base64url_decode("Zm9vYmF", 7, &out, &len), -EBADMSG); /* leftover bits set */
        ck_assert_ptr_null(out);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("base64");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_vectors, 0, (int) ELEMENTSOF(vectors));
        tcase_add_loop_test(tc, test_std_refuses, 0, (int) ELEMENTSOF(bad_std));
        tcase_add_test(tc, test_std_size_first);
        tcase_add_test(tc, test_url_refuses);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return check_run(suite());
}
