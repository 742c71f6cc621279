/* SPDX-License-Identifier: MIT */
/* test-vision-neural.c — strict validation of a vision model's reply (neural.c): fences,
 * types, ranges, item caps, box clamping and the mapping of boxes to pixels; and the
 * bounded re-encode of the image sent to the model. */
#include <check.h>

#include "check-run.h"
#include "json-util.h"
#include "neural.h"
#include "runtime.h"

static int parse(VisionNeuralTask task, const char *text, json_object **ret, char *error) {
        json_object *results = json_object_new_object();
        double conf = -1;
        int r;

        r = vision_neural_parse_reply(task, text, 1000, 500, error, results, &conf);
        if (r >= 0)
                json_object_object_add(results, "_confidence", json_object_new_double(conf));
        *ret = results;
        return r;
}

START_TEST(test_reply_good) {
        _cleanup_json_ json_object *r = NULL, *f = NULL;
        char error[VISION_NEURAL_ERROR_MAX] = "";
        json_object *o, *px;

        ck_assert_int_eq(
                parse(VISION_NEURAL_OBJECTS,
                      "  [{\"label\":\"cat\",\"confidence\":1,\"box\":[0.1,0.2,0.905,0.3],\"extra\":true}]\n",
                      &r,
                      error),
                0);
        o = json_object_array_get_idx(json_object_object_get(r, "objects"), 0);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "label")), "cat");
        /* 0.1 + 0.905 overshoots by less than the slack: clamped to the edge */
        ck_assert_double_eq_tol(
                json_object_get_double(json_object_array_get_idx(json_object_object_get(o, "box"), 2)),
                0.9,
                1e-9);
        px = json_object_object_get(o, "box_pixels");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(px, "x")), 100);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(px, "y")), 100);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(px, "width")), 900);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(px, "height")), 150);
        ck_assert_double_eq(json_object_get_double(json_object_object_get(r, "_confidence")), 1.0);

        ck_assert_int_eq(parse(VISION_NEURAL_CLASSIFY, "```\n[]\n```", &f, error), 0);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(f, "count")), 0);
        ck_assert_double_eq(json_object_get_double(json_object_object_get(f, "_confidence")), 0.0);
}
END_TEST

START_TEST(test_reply_bad) {
        static const struct {
                VisionNeuralTask task;
                const char *text, *error;
        } cases[] = {
                { VISION_NEURAL_CLASSIFY, "", "not JSON" },
                { VISION_NEURAL_CLASSIFY, "[{\"label\":\"a\",\"confidence\":0.5}] trailing", "not JSON" },
                { VISION_NEURAL_CLASSIFY, "\"cat\"", "not a JSON array" },
                { VISION_NEURAL_CLASSIFY, "[1]", "reply[0]: must be an object" },
                { VISION_NEURAL_CLASSIFY, "[{\"label\":\"\",\"confidence\":0.5}]", "reply[0].label" },
                { VISION_NEURAL_CLASSIFY, "[{\"label\":\"a\\nb\",\"confidence\":0.5}]", "reply[0].label" },
                { VISION_NEURAL_CLASSIFY,
                  "[{\"label\":\"a\",\"confidence\":\"0.5\"}]",
                  "reply[0].confidence" },
                { VISION_NEURAL_CLASSIFY, "[{\"label\":\"a\",\"confidence\":-0.1}]", "reply[0].confidence" },
                { VISION_NEURAL_OBJECTS, "[{\"label\":\"a\",\"confidence\":0.5}]", "reply[0].box" },
                { VISION_NEURAL_OBJECTS,
                  "[{\"label\":\"a\",\"confidence\":0.5,\"box\":[0,0,0,0.5]}]",
                  "w, h > 0" },
                { VISION_NEURAL_FACES, "[{\"confidence\":0.5,\"box\":[0,0,0.5,1.2]}]", "reply[0].box[3]" },
                { VISION_NEURAL_FACES,
                  "[{\"confidence\":0.5,\"box\":[0.5,0.6,0.5,0.5]}]",
                  "inside the image" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_object *r = NULL;
                char error[VISION_NEURAL_ERROR_MAX] = "";

                ck_assert_int_eq(parse(cases[i].task, cases[i].text, &r, error), -EPROTO);
                ck_assert_msg(strstr(error, cases[i].error), "case %zu: %s", i, error);
                ck_assert_ptr_null(json_object_object_get(r, "labels"));
        }
}
END_TEST

START_TEST(test_reply_too_many) {
        _cleanup_free_ char *text = NULL;
        _cleanup_json_ json_object *r = NULL;
        char error[VISION_NEURAL_ERROR_MAX] = "";
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        fputc('[', f);
        for (int i = 0; i <= VISION_NEURAL_MAX_FACES; i++)
                fprintf(f, "%s{\"confidence\":0.5,\"box\":[0,0,0.1,0.1]}", i ? "," : "");
        fputc(']', f);
        fclose(f);
        ck_assert_int_eq(parse(VISION_NEURAL_FACES, text, &r, error), -EPROTO);
        ck_assert_ptr_nonnull(strstr(error, "more than 50"));
}
END_TEST

START_TEST(test_prepare_bounds_the_image) {
        static const VisionLimits limits = { .max_pixels = 40000000, .max_dimension = 16384 };
        _cleanup_(vision_neural_image_done) VisionNeuralImage img = {};
        char error[VISION_DECODE_ERROR_MAX] = "";
        VipsImage *im = NULL;
        void *buf = NULL;
        size_t len = 0;

        ck_assert_int_eq(vips_black(&im, 3000, 1500, "bands", 4, NULL), 0);
        ck_assert_int_eq(vips_image_write_to_buffer(im, ".png", &buf, &len, NULL), 0);
        g_object_unref(im);
        ck_assert_int_eq(vision_neural_prepare(&limits, buf, len, error, &img), 0);
        ck_assert_int_eq(img.width, 3000);
        ck_assert_int_eq(img.height, 1500);
        ck_assert(strncmp(img.data_url, "data:image/jpeg;base64,", 23) == 0);
        /* 1024 x 512 JPEG of black: a few kB, not the original's size */
        ck_assert_uint_lt(strlen(img.data_url), 64 * 1024);
        ck_assert_int_eq(vision_neural_prepare(&limits, buf, len / 2, error, &img), -EBADMSG);
        g_free(buf);
        ck_assert_int_eq(
                vision_neural_prepare(&limits, (const uint8_t *) "hello", 5, error, &img), -EMEDIUMTYPE);
}
END_TEST

int main(void) {
        Suite *s = suite_create("vision-neural");
        TCase *tc = tcase_create("neural");
        int r;

        if (vision_runtime_init("test-vision-neural", 1, 1) < 0 || vision_runtime_start() < 0)
                return 1;
        tcase_add_test(tc, test_reply_good);
        tcase_add_test(tc, test_reply_bad);
        tcase_add_test(tc, test_reply_too_many);
        tcase_add_test(tc, test_prepare_bounds_the_image);
        suite_add_tcase(s, tc);
        r = check_run(s);
        vision_runtime_shutdown();
        return r;
}
