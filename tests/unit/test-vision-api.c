/* SPDX-License-Identifier: MIT */
/* test-vision-api.c — POST /analyze through the real HTTP server and handler: the seed's
 * response shape, every task, and one 4xx/5xx per kind of bad input (malformed JSON,
 * missing/unknown fields, non-image, truncated image, bomb, forbidden URL, neural tasks
 * without a model). */
#include <check.h>
#include <zlib.h>

#include "api.h"
#include "base64.h"
#include "check-run.h"
#include "http-client.h"
#include "json-util.h"
#include "log.h"
#include "ocr.h"
#include "runtime.h"

static VisionConfig config = {
        .max_pixels = 40000000,
        .max_dimension = 16384,
        .max_image_bytes = 8 * 1024 * 1024,
        .fetch_timeout_ms = 2000,
        .fetch_allow = (char *) "",
        .tessdata = (char *) "/usr/share/tesseract-ocr/5/tessdata",
        .ocr_languages = (char *) "eng",
        .concurrency = 2,
        .queue_timeout_ms = 5000,
};
static VisionApi api;
static HttpServer *server;
static MetricsRegistry *registry;
static char url[64];

static void unit_setup(void) {
        HttpServerConfig c = { .listen = "127.0.0.1:0", .threads = 4, .max_body = 16 * 1024 * 1024 };
        static const HttpRoute route = { "POST", "/analyze", vision_api_handle_analyze, 0, &api };

        log_set_max_level(LOG_WARNING);
        ck_assert_int_eq(vision_runtime_init("test-vision-api", 2, 2), 0);
        /* libvips waits for the first image (or, here, for the test's own images). */
        ck_assert_int_eq(vision_runtime_started(), 0);
        ck_assert_int_eq(vision_runtime_start(), 0);
        ck_assert_int_eq(vision_runtime_started(), 1);
        ck_assert_int_eq(vision_api_init(&api, &config), 0);
        ck_assert_int_eq(metrics_registry_new(&registry), 0);
        ck_assert_int_eq(vision_api_register_metrics(&api, registry), 0);
        c.metrics = registry;
        ck_assert_int_eq(http_server_new(&c, &server), 0);
        ck_assert_int_eq(http_server_add_routes(server, &route, 1), 0);
        ck_assert_int_eq(http_server_start(server), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/analyze", http_server_get_port(server));
}

static void unit_teardown(void) {
        http_server_shutdown(server);
        http_server_free(server);
        metrics_registry_free(registry);
        http_client_pool_flush();
}

/* POSTs body; returns the status and the parsed answer in *ret. */
static long post(const char *body, json_object **ret) {
        HttpClientRequest req = { .url = url,
                                  .body = body,
                                  .body_len = strlen(body),
                                  .timeout_ms = 30000,
                                  .max_body = 8 * 1024 * 1024 };
        long status;

        ck_assert_int_eq(http_client_perform(&req), 0);
        status = req.response.status;
        *ret = req.response.body ? json_tokener_parse(req.response.body) : NULL;
        http_client_response_done(&req.response);
        return status;
}

static char *request_for(const char *task, VipsImage *im, const char *suffix, const char *options) {
        void *buf = NULL;
        size_t len = 0;
        _cleanup_free_ char *b64 = NULL;
        char *body = NULL;

        ck_assert_int_eq(vips_image_write_to_buffer(im, suffix, &buf, &len, NULL), 0);
        ck_assert_int_eq(base64_encode(buf, len, &b64), 0);
        g_free(buf);
        ck_assert_int_ge(
                asprintf(
                        &body,
                        "{\"task\":\"%s\",\"image_base64\":\"%s\"%s%s}",
                        task,
                        b64,
                        options ? ",\"options\":" : "",
                        options ? options : ""),
                0);
        return body;
}

static const char *first_error_field(json_object *problem) {
        json_object *errors = json_object_object_get(problem, "errors");
        ck_assert_ptr_nonnull(errors);
        return json_object_get_string(json_object_object_get(json_object_array_get_idx(errors, 0), "field"));
}

START_TEST(test_analyze_shape) {
        _cleanup_json_ json_object *r = NULL;
        _cleanup_free_ char *body = NULL;
        VipsImage *black = NULL;
        json_object *results;

        ck_assert_int_eq(vips_black(&black, 64, 48, NULL), 0);
        body = request_for("analyze", black, ".png", NULL);
        g_object_unref(black);
        ck_assert_int_eq(post(body, &r), 200);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(r, "analysis_type")), "analyze");
        ck_assert(json_object_is_type(json_object_object_get(r, "confidence"), json_type_double));
        ck_assert(json_object_is_type(json_object_object_get(r, "processing_time"), json_type_double));
        results = json_object_object_get(r, "results");
        ck_assert_int_eq(json_object_get_int(json_object_object_get(results, "width")), 64);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(results, "height")), 48);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(results, "format")), "png");
}
END_TEST

START_TEST(test_ocr_over_http) {
        _cleanup_json_ json_object *r = NULL;
        _cleanup_free_ char *body = NULL;
        VipsImage *t = NULL, *inv = NULL, *page = NULL;

        ck_assert_int_eq(vips_text(&t, "Hello ai-semble", "font", "DejaVu Sans 16", "dpi", 300, NULL), 0);
        ck_assert_int_eq(vips_invert(t, &inv, NULL), 0);
        ck_assert_int_eq(
                vips_embed(
                        inv,
                        &page,
                        40,
                        40,
                        vips_image_get_width(inv) + 80,
                        vips_image_get_height(inv) + 80,
                        "extend",
                        VIPS_EXTEND_WHITE,
                        NULL),
                0);
        body = request_for("extract_text", page, ".png", "{\"languages\":[\"eng\"]}");
        g_object_unref(t);
        g_object_unref(inv);
        g_object_unref(page);
        ck_assert_int_eq(post(body, &r), 200);
        ck_assert_ptr_nonnull(strstr(
                json_object_get_string(json_object_object_get(json_object_object_get(r, "results"), "text")),
                "Hello ai-semble"));
        ck_assert(json_object_get_double(json_object_object_get(r, "confidence")) > 0.8);
}
END_TEST

START_TEST(test_bad_requests) {
        static const struct {
                const char *body;
                long status;
                const char *field;
        } cases[] = {
                { "{not json", 400, NULL },
                { "[1,2]", 422, "" },
                { "{\"task\":\"analyze\"}", 422, "image_url" },
                { "{\"task\":\"analyze\",\"image_url\":\"http://a/\",\"image_base64\":\"AAAA\"}",
                  422,
                  "image_url" },
                { "{\"task\":\"paint\",\"image_base64\":\"AAAA\"}", 422, "task" },
                { "{\"task\":42,\"image_base64\":\"AAAA\"}", 422, "task" },
                { "{\"image_base64\":\"!!!!\"}", 422, "image_base64" },
                { "{\"image_base64\":\"aGVsbG8gd29ybGQh\"}", 415, "image" },
                { "{\"image_url\":\"http://127.0.0.1/a.png\"}", 422, "image_url" },
                { "{\"image_url\":\"http://169.254.169.254/latest/meta-data/\"}", 422, "image_url" },
                { "{\"image_url\":\"http://10.0.0.1/a.png\"}", 422, "image_url" },
                { "{\"image_url\":\"file:///etc/passwd\"}", 422, "image_url" },
                { "{\"task\":\"thumbnail\",\"image_base64\":\"AAAA\",\"options\":{\"width\":0}}",
                  422,
                  "options.width" },
                { "{\"task\":\"thumbnail\",\"image_base64\":\"AAAA\",\"options\":{\"format\":\"bmp\"}}",
                  422,
                  "options.format" },
                { "{\"task\":\"extract_text\",\"image_base64\":\"AAAA\",\"options\":{\"languages\":\"klingon\"}}",
                  422,
                  "options.languages" },
                { "{\"task\":\"extract_text\",\"image_base64\":\"AAAA\",\"options\":{\"languages\":\"../x\"}}",
                  422,
                  "options.languages" },
                { "{\"task\":\"detect_objects\",\"image_base64\":\"AAAA\"}", 501, "task" },
                { "{\"task\":\"classify\",\"image_url\":\"http://example.com/a.png\"}", 501, "task" },
                { "{\"task\":\"face_detection\",\"image_base64\":\"AAAA\"}", 501, "task" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_object *r = NULL;
                long status = post(cases[i].body, &r);

                ck_assert_msg(status == cases[i].status, "%s: %ld", cases[i].body, status);
                if (cases[i].field)
                        ck_assert_str_eq(first_error_field(r), cases[i].field);
        }
}
END_TEST

static size_t put_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len) {
        uint32_t crc;

        out[0] = (uint8_t) (len >> 24), out[1] = (uint8_t) (len >> 16), out[2] = (uint8_t) (len >> 8),
        out[3] = (uint8_t) len;
        memcpy(out + 4, type, 4);
        if (len)
                memcpy(out + 8, data, len);
        crc = (uint32_t) crc32(0, out + 4, len + 4);
        out[8 + len] = (uint8_t) (crc >> 24), out[9 + len] = (uint8_t) (crc >> 16);
        out[10 + len] = (uint8_t) (crc >> 8), out[11 + len] = (uint8_t) crc;
        return 12 + len;
}

/* A valid PNG header claiming w×h 1-bit pixels followed by one short IDAT: what a bomb
 * looks like to a decoder that checks the header before inflating. */
static size_t header_only_png(uint32_t w, uint32_t h, uint8_t out[static 128]) {
        uint8_t ihdr[13] = { (uint8_t) (w >> 24),
                             (uint8_t) (w >> 16),
                             (uint8_t) (w >> 8),
                             (uint8_t) w,
                             (uint8_t) (h >> 24),
                             (uint8_t) (h >> 16),
                             (uint8_t) (h >> 8),
                             (uint8_t) h,
                             1,
                             0,
                             0,
                             0,
                             0 };
        uint8_t zeros[64] = {}, idat[96];
        uLongf idat_len = sizeof(idat);
        size_t n = 8;

        memcpy(out, "\x89PNG\r\n\x1a\n", 8);
        n += put_chunk(out + n, "IHDR", ihdr, 13);
        ck_assert_int_eq(compress(idat, &idat_len, zeros, sizeof(zeros)), Z_OK);
        ck_assert_uint_le(n + 12 + idat_len + 12, 128);
        n += put_chunk(out + n, "IDAT", idat, (uint32_t) idat_len);
        n += put_chunk(out + n, "IEND", NULL, 0);
        return n;
}

START_TEST(test_hostile_images) {
        _cleanup_json_ json_object *r = NULL, *r2 = NULL;
        _cleanup_free_ char *body = NULL, *body2 = NULL, *b64 = NULL;
        VipsImage *n = NULL;
        void *jpg = NULL;
        size_t len;
        uint8_t bomb[128];
        size_t bomb_len = header_only_png(50000, 50000, bomb);

        ck_assert_int_eq(vips_gaussnoise(&n, 640, 480, NULL), 0);
        ck_assert_int_eq(vips_image_write_to_buffer(n, ".jpg", &jpg, &len, NULL), 0);
        g_object_unref(n);
        ck_assert_int_eq(base64_encode(jpg, len / 2, &b64), 0);
        g_free(jpg);
        ck_assert_int_ge(asprintf(&body, "{\"image_base64\":\"%s\"}", b64), 0);
        ck_assert_int_eq(post(body, &r), 422);
        ck_assert_str_eq(first_error_field(r), "image");
        ck_assert_ptr_nonnull(
                strstr(json_object_get_string(json_object_object_get(r, "detail")), "truncated"));

        free(b64);
        b64 = NULL;
        ck_assert_int_eq(base64_encode(bomb, bomb_len, &b64), 0);
        ck_assert_int_ge(asprintf(&body2, "{\"image_base64\":\"%s\"}", b64), 0);
        ck_assert_int_eq(post(body2, &r2), 413);
        ck_assert_str_eq(first_error_field(r2), "image");
        ck_assert_ptr_nonnull(strstr(
                json_object_get_string(json_object_object_get(r2, "detail")), "VISION_MAX_DIMENSION"));
}
END_TEST

START_TEST(test_metrics_counted) {
        _cleanup_free_ char *text = NULL;
        size_t len;

        ck_assert_int_eq(metrics_registry_render(registry, &text, &len), 0);
        ck_assert_ptr_nonnull(strstr(text, "vision_requests_total{task=\"invalid\",code=\"422\"}"));
        ck_assert_ptr_nonnull(strstr(text, "vision_processing_seconds_bucket"));
}
END_TEST

/* GET /tasks lists exactly the tasks /analyze knows: none of them is refused as a task
 * (a black PNG; the neural ones answer 501 without VISION_LLM_URL, naming no "task" error). */
static int collect(ServiceTasks *out, void *userdata) {
        return vision_api_tasks(out, &api);
}

START_TEST(test_listed_tasks) {
        _cleanup_json_ json_object *o = NULL;
        ServiceTaskList l = {};
        const char *text;
        char err[128];

        ck_assert_int_eq(service_tasks_build("vision", collect, NULL, &o), 0);
        text = json_object_to_json_string(o);
        ck_assert_int_eq(service_tasks_parse(text, strlen(text), "vision", &l, err, sizeof(err)), 0);
        ck_assert_uint_eq(l.n, 7);
        for (size_t i = 0; i < l.n; i++) {
                _cleanup_json_ json_object *a = NULL;
                _cleanup_free_ char *body = NULL;
                VipsImage *im = NULL;
                long st;

                ck_assert_int_eq(vips_black(&im, 64, 48, NULL), 0);
                body = request_for(l.tasks[i].name, im, ".png", NULL);
                g_object_unref(im);
                ck_assert_str_eq(l.tasks[i].path, "/analyze");
                st = post(body, &a);
                ck_assert_msg(
                        st == 200 || st == 501,
                        "%s: %ld %s",
                        l.tasks[i].name,
                        st,
                        json_object_to_json_string(a));
                ck_assert_ptr_null(strstr(json_object_to_json_string(a), "\"field\":\"task\""));
        }
        service_task_list_done(&l);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("vision-api");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, unit_setup, unit_teardown);
        tcase_add_test(tc, test_analyze_shape);
        tcase_add_test(tc, test_ocr_over_http);
        tcase_add_test(tc, test_bad_requests);
        tcase_add_test(tc, test_hostile_images);
        tcase_add_test(tc, test_metrics_counted);
        tcase_add_test(tc, test_listed_tasks);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {

        return check_run_nofork(suite());
}
