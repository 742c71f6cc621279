/* SPDX-License-Identifier: MIT */
/* test-vision-image.c — decoding limits, analyze, OCR, barcodes and thumbnails on images
 * the test makes itself, so every answer is known: solid colours, text rendered with a
 * DejaVu font from Debian's fonts-dejavu-core, QR and EAN-13 symbols drawn by Debian's
 * qrencode and zint, a real 50000×50000 PNG decompression bomb and a truncated JPEG. */
#include <check.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <zlib.h>

#include "analyze.h"
#include "api.h"
#include "barcodes.h"
#include "base64.h"
#include "check-run.h"
#include "decode.h"
#include "json-util.h"
#include "ocr.h"
#include "runtime.h"
#include "thumbnail.h"

#define TESSDATA "/usr/share/tesseract-ocr/5/tessdata"

static const VisionLimits limits = { .max_pixels = 40000000, .max_dimension = 16384 };

static void unit_setup(void) {
        ck_assert_int_eq(vision_runtime_init("test-vision-image", 2, 2), 0);
        ck_assert_int_eq(vision_runtime_start(), 0);
}

/* ---- image makers --------------------------------------------------------------------- */

static VipsImage *solid(int w, int h, double r, double g, double b) {
        VipsImage *black = NULL, *lin = NULL, *u8 = NULL;
        double a[3] = { 1, 1, 1 }, c[3] = { r, g, b };

        ck_assert_int_eq(vips_black(&black, w, h, "bands", 3, NULL), 0);
        ck_assert_int_eq(vips_linear(black, &lin, a, c, 3, NULL), 0);
        ck_assert_int_eq(vips_cast_uchar(lin, &u8, NULL), 0);
        g_object_unref(black);
        g_object_unref(lin);
        u8->Type = VIPS_INTERPRETATION_sRGB;
        return u8;
}

static VipsImage *noise(int w, int h) {
        VipsImage *n = NULL, *u8 = NULL, *rgb = NULL;

        ck_assert_int_eq(vips_gaussnoise(&n, w, h, "mean", 128.0, "sigma", 60.0, NULL), 0);
        ck_assert_int_eq(vips_cast_uchar(n, &u8, NULL), 0);
        u8->Type = VIPS_INTERPRETATION_B_W;
        ck_assert_int_eq(vips_colourspace(u8, &rgb, VIPS_INTERPRETATION_sRGB, NULL), 0);
        g_object_unref(n);
        g_object_unref(u8);
        return rgb;
}

static uint8_t *save(VipsImage *im, const char *suffix, size_t *ret_len) {
        void *buf = NULL;

        ck_assert_int_eq(vips_image_write_to_buffer(im, suffix, &buf, ret_len, NULL), 0);
        return buf;
}

/* Black text on white, rendered by pango/cairo with the DejaVu font. */
static VipsImage *text_page(const char *text, const char *font) {
        VipsImage *t = NULL, *inv = NULL, *big = NULL;

        ck_assert_int_eq(vips_text(&t, text, "font", font, "dpi", 300, NULL), 0);
        ck_assert_int_eq(vips_invert(t, &inv, NULL), 0);
        ck_assert_int_eq(
                vips_embed(
                        inv,
                        &big,
                        60,
                        60,
                        vips_image_get_width(inv) + 120,
                        vips_image_get_height(inv) + 120,
                        "extend",
                        VIPS_EXTEND_WHITE,
                        NULL),
                0);
        g_object_unref(t);
        g_object_unref(inv);
        return big;
}

/* A real decompression bomb: a valid 1-bit PNG of w×h zero pixels, ~300 KB on disk. */
static uint8_t *png_bomb(uint32_t w, uint32_t h, size_t *ret_len) {
        size_t row = 1 + (w + 7) / 8, cap = 4 * 1024 * 1024, n = 0;
        uint8_t *out = malloc(cap), *zeros = calloc(1, row);
        z_stream z = {};
        uint8_t ihdr[13];
        uint32_t crc;

        ck_assert(out && zeros);
        memcpy(out, "\x89PNG\r\n\x1a\n", 8);
        n = 8;
#define PUT32(v)                                 \
        do {                                     \
                uint32_t _v = (v);               \
                out[n++] = (uint8_t) (_v >> 24); \
                out[n++] = (uint8_t) (_v >> 16); \
                out[n++] = (uint8_t) (_v >> 8);  \
                out[n++] = (uint8_t) _v;         \
        } while (0)
        ihdr[0] = (uint8_t) (w >> 24), ihdr[1] = (uint8_t) (w >> 16), ihdr[2] = (uint8_t) (w >> 8),
        ihdr[3] = (uint8_t) w;
        ihdr[4] = (uint8_t) (h >> 24), ihdr[5] = (uint8_t) (h >> 16), ihdr[6] = (uint8_t) (h >> 8),
        ihdr[7] = (uint8_t) h;
        ihdr[8] = 1, ihdr[9] = 0, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;
        PUT32(13);
        memcpy(out + n, "IHDR", 4);
        memcpy(out + n + 4, ihdr, 13);
        crc = (uint32_t) crc32(0, out + n, 17);
        n += 17;
        PUT32(crc);

        size_t len_at = n;
        n += 4;
        memcpy(out + n, "IDAT", 4);
        n += 4;
        ck_assert_int_eq(deflateInit(&z, 9), Z_OK);
        for (uint32_t y = 0; y < h; y++) {
                z.next_in = zeros;
                z.avail_in = (uInt) row;
                do {
                        z.next_out = out + n;
                        z.avail_out = (uInt) (cap - n - 64);
                        ck_assert_int_ne(deflate(&z, y + 1 == h ? Z_FINISH : Z_NO_FLUSH), Z_STREAM_ERROR);
                        n = cap - 64 - z.avail_out;
                } while (z.avail_in > 0 || (y + 1 == h && z.avail_out == 0));
        }
        deflateEnd(&z);
        {
                uint32_t dlen = (uint32_t) (n - len_at - 8);
                size_t save_n = n;
                n = len_at;
                PUT32(dlen);
                n = save_n;
                crc = (uint32_t) crc32(0, out + len_at + 4, dlen + 4);
                PUT32(crc);
        }
        PUT32(0);
        memcpy(out + n, "IEND", 4);
        crc = (uint32_t) crc32(0, out + n, 4);
        n += 4;
        PUT32(crc);
#undef PUT32
        free(zeros);
        *ret_len = n;
        return out;
}

static long max_rss_kb(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

/* Runs a Debian tool writing a PNG; false (test skipped for that symbol) when absent. */
static bool run_tool(const char *cmd) {
        int st = system(cmd);
        return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static uint8_t *read_file(const char *path, size_t *ret_len) {
        gchar *data = NULL;
        gsize len = 0;

        ck_assert(g_file_get_contents(path, &data, &len, NULL));
        *ret_len = len;
        return (uint8_t *) data;
}

/* ---- decoding ---------------------------------------------------------------------- */

START_TEST(test_sniff) {
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "\xff\xd8\xff\xe0", 4), VISION_FORMAT_JPEG);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "\x89PNG\r\n\x1a\n", 8), VISION_FORMAT_PNG);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "RIFF\0\0\0\0WEBP", 12), VISION_FORMAT_WEBP);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "GIF89a", 6), VISION_FORMAT_GIF);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "II*\0", 4), VISION_FORMAT_TIFF);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "%PDF-1.7", 8), -EMEDIUMTYPE);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "<svg ", 5), -EMEDIUMTYPE);
        ck_assert_int_eq(vision_decode_sniff((const uint8_t *) "\xff\xd8", 2), -EMEDIUMTYPE);
}
END_TEST

START_TEST(test_png_bomb_refused_before_allocation) {
        _cleanup_free_ uint8_t *bomb = NULL;
        VipsImage *im = NULL;
        char error[VISION_DECODE_ERROR_MAX];
        size_t len;
        long before;
        _cleanup_(json_object_putp) json_object *results = json_object_new_object();

        bomb = png_bomb(50000, 50000, &len);
        ck_assert_uint_lt(len, 1024 * 1024); /* 2.5 gigapixels in under a megabyte */
        before = max_rss_kb();
        ck_assert_int_eq(
                vision_decode_open(&limits, bomb, len, VIPS_ACCESS_SEQUENTIAL, error, &im, NULL), -EFBIG);
        ck_assert_ptr_null(im);
        ck_assert_ptr_nonnull(strstr(error, "50000×50000"));
        ck_assert_ptr_nonnull(strstr(error, "VISION_MAX_DIMENSION"));
        ck_assert_int_eq(vision_analyze(&limits, bomb, len, error, results), -EFBIG);
        /* Peak memory did not move by anything like the 312 MB of raw 1-bit rows. */
        ck_assert_int_lt(max_rss_kb() - before, 20 * 1024);
}
END_TEST

START_TEST(test_pixel_limit) {
        _cleanup_free_ uint8_t *bomb = NULL;
        VipsImage *im = NULL;
        char error[VISION_DECODE_ERROR_MAX];
        size_t len;

        bomb = png_bomb(10000, 10000, &len); /* within 16384 per side, 100 MP > 40 MP */
        ck_assert_int_eq(
                vision_decode_open(&limits, bomb, len, VIPS_ACCESS_SEQUENTIAL, error, &im, NULL), -EFBIG);
        ck_assert_ptr_nonnull(strstr(error, "VISION_MAX_PIXELS"));
}
END_TEST

START_TEST(test_truncated_and_garbage) {
        _cleanup_image_ VipsImage *img = noise(800, 600);
        _cleanup_free_ uint8_t *jpg = NULL;
        _cleanup_(json_object_putp) json_object *results = json_object_new_object();
        _cleanup_image_ VipsImage *im = NULL;
        uint8_t *grey = NULL;
        char error[VISION_DECODE_ERROR_MAX];
        size_t len;
        int w, h;

        jpg = save(img, ".jpg[Q=90]", &len);
        ck_assert_int_eq(vision_analyze(&limits, jpg, len / 2, error, results), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, "truncated"));
        ck_assert_int_eq(
                vision_decode_open(&limits, jpg, len / 2, VIPS_ACCESS_SEQUENTIAL, error, &im, NULL), 0);
        ck_assert_int_eq(vision_decode_grey(im, error, &grey, &w, &h), -EBADMSG);
        ck_assert_ptr_null(grey);

        /* A JPEG header and nothing else, and plain text. */
        ck_assert_int_eq(vision_analyze(&limits, jpg, 20, error, results), -EBADMSG);
        ck_assert_int_eq(
                vision_analyze(&limits, (const uint8_t *) "hello, not an image", 19, error, results),
                -EMEDIUMTYPE);
}
END_TEST

/* ---- analyze ------------------------------------------------------------------------- */

static json_object *analyze_ok(const uint8_t *buf, size_t len) {
        json_object *results = json_object_new_object();
        char error[VISION_DECODE_ERROR_MAX] = "";

        ck_assert_msg(vision_analyze(&limits, buf, len, error, results) == 0, "analyze: %s", error);
        return results;
}

static const char *get_str(json_object *o, const char *k) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, k, &v), "missing %s", k);
        return json_object_get_string(v);
}
static int64_t get_int(json_object *o, const char *k) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, k, &v), "missing %s", k);
        return json_object_get_int64(v);
}
static double get_double(json_object *o, const char *k) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, k, &v), "missing %s", k);
        return json_object_get_double(v);
}

START_TEST(test_analyze_solid_colour) {
        _cleanup_image_ VipsImage *img = solid(320, 200, 30, 144, 255);
        _cleanup_free_ uint8_t *png = NULL, *jpg = NULL;
        _cleanup_(json_object_putp) json_object *a = NULL, *b = NULL;
        json_object *dom, *first, *channels;
        size_t len;

        png = save(img, ".png", &len);
        a = analyze_ok(png, len);
        ck_assert_str_eq(get_str(a, "format"), "png");
        ck_assert_int_eq(get_int(a, "width"), 320);
        ck_assert_int_eq(get_int(a, "height"), 200);
        ck_assert_int_eq(get_int(a, "exif_orientation"), 1);
        dom = json_object_object_get(a, "dominant_colors");
        ck_assert_int_eq(json_object_array_length(dom), 1);
        first = json_object_array_get_idx(dom, 0);
        ck_assert_str_eq(get_str(first, "hex"), "#1e90ff");
        ck_assert(get_double(first, "fraction") > 0.999);
        channels = json_object_object_get(a, "channels");
        ck_assert_int_eq(json_object_array_length(channels), 3);
        ck_assert_str_eq(get_str(json_object_array_get_idx(channels, 2), "name"), "blue");
        ck_assert(get_double(json_object_array_get_idx(channels, 2), "mean") == 255.0);
        ck_assert(get_double(json_object_array_get_idx(channels, 0), "stddev") == 0.0);
        /* Rec.709 luma of (30,144,255) / 255 = 0.5011 */
        ck_assert(fabs(get_double(a, "brightness") - 0.5011) < 0.001);
        ck_assert(get_double(a, "contrast") == 0.0);
        ck_assert(json_object_get_boolean(json_object_object_get(a, "is_blurry")));

        jpg = save(img, ".jpg[Q=95]", &len);
        b = analyze_ok(jpg, len);
        ck_assert_str_eq(get_str(b, "format"), "jpeg");
        first = json_object_array_get_idx(json_object_object_get(b, "dominant_colors"), 0);
        ck_assert(get_double(first, "fraction") > 0.99);
        {
                json_object *rgb = json_object_object_get(first, "rgb");
                ck_assert(abs(json_object_get_int(json_object_array_get_idx(rgb, 0)) - 30) <= 3);
                ck_assert(abs(json_object_get_int(json_object_array_get_idx(rgb, 1)) - 144) <= 3);
                ck_assert(abs(json_object_get_int(json_object_array_get_idx(rgb, 2)) - 255) <= 3);
        }
}
END_TEST

START_TEST(test_analyze_two_colours_and_hash) {
        _cleanup_image_ VipsImage *left = solid(300, 200, 255, 0, 0), *right = solid(100, 200, 0, 0, 255),
                                  *both = NULL, *blurred = NULL;
        _cleanup_free_ uint8_t *a_png = NULL, *b_jpg = NULL;
        _cleanup_(json_object_putp) json_object *a = NULL, *b = NULL;
        json_object *dom;
        size_t len;

        ck_assert_int_eq(vips_join(left, right, &both, VIPS_DIRECTION_HORIZONTAL, NULL), 0);
        a_png = save(both, ".png", &len);
        a = analyze_ok(a_png, len);
        dom = json_object_object_get(a, "dominant_colors");
        ck_assert_int_ge(json_object_array_length(dom), 2);
        ck_assert_str_eq(get_str(json_object_array_get_idx(dom, 0), "hex"), "#ff0000");
        ck_assert(fabs(get_double(json_object_array_get_idx(dom, 0), "fraction") - 0.75) < 0.02);
        ck_assert_str_eq(get_str(json_object_array_get_idx(dom, 1), "hex"), "#0000ff");
        ck_assert(get_double(a, "sharpness_laplacian_variance") > 0); /* the edge */

        /* Near duplicates: a photo-like picture (smoothed noise), the same picture
         * shrunk, slightly blurred and recompressed, and an unrelated one. */
        {
                _cleanup_image_ VipsImage *n1 = noise(400, 300), *n2 = noise(400, 300), *p1 = NULL,
                                          *p2 = NULL, *small = NULL, *soft = NULL;
                _cleanup_free_ uint8_t *p1_png = NULL, *soft_jpg = NULL, *p2_png = NULL;
                _cleanup_(json_object_putp) json_object *x = NULL, *y = NULL, *z = NULL;
                uint64_t hx, hy, hz;

                _cleanup_image_ VipsImage *b1 = NULL, *b2 = NULL;

                /* Blurred noise is nearly flat: stretch it back to 0..255. */
                ck_assert_int_eq(vips_gaussblur(n1, &b1, 12.0, NULL), 0);
                ck_assert_int_eq(vips_gaussblur(n2, &b2, 12.0, NULL), 0);
                ck_assert_int_eq(vips_scale(b1, &p1, NULL), 0);
                ck_assert_int_eq(vips_scale(b2, &p2, NULL), 0);
                ck_assert_int_eq(vips_resize(p1, &small, 0.5, NULL), 0);
                ck_assert_int_eq(vips_gaussblur(small, &soft, 1.0, NULL), 0);
                p1_png = save(p1, ".png", &len);
                x = analyze_ok(p1_png, len);
                soft_jpg = save(soft, ".jpg[Q=70]", &len);
                y = analyze_ok(soft_jpg, len);
                p2_png = save(p2, ".png", &len);
                z = analyze_ok(p2_png, len);
                hx = strtoull(get_str(x, "perceptual_hash"), NULL, 16);
                hy = strtoull(get_str(y, "perceptual_hash"), NULL, 16);
                hz = strtoull(get_str(z, "perceptual_hash"), NULL, 16);
                ck_assert_uint_le(vision_analyze_hash_distance(hx, hy), 6);
                ck_assert_uint_ge(vision_analyze_hash_distance(hx, hz), 16);
        }
        ck_assert_int_eq(vips_gaussblur(both, &blurred, 2.0, NULL), 0);
        b_jpg = save(blurred, ".jpg[Q=70]", &len);
        b = analyze_ok(b_jpg, len);
        /* Blur lowers the sharpness score. */
        ck_assert(
                get_double(b, "sharpness_laplacian_variance") <
                get_double(a, "sharpness_laplacian_variance"));
}
END_TEST

START_TEST(test_analyze_exif_orientation) {
        _cleanup_image_ VipsImage *img = solid(300, 100, 10, 200, 10), *copy = NULL;
        _cleanup_free_ uint8_t *jpg = NULL;
        _cleanup_(json_object_putp) json_object *a = NULL;
        json_object *disp;
        size_t len;

        ck_assert_int_eq(vips_copy(img, &copy, NULL), 0);
        vips_image_set_int(copy, VIPS_META_ORIENTATION, 6);
        jpg = save(copy, ".jpg", &len);
        a = analyze_ok(jpg, len);
        ck_assert_int_eq(get_int(a, "exif_orientation"), 6);
        disp = json_object_object_get(a, "display_size");
        ck_assert_int_eq(get_int(disp, "width"), 100);
        ck_assert_int_eq(get_int(disp, "height"), 300);
}
END_TEST

/* ---- OCR ---------------------------------------------------------------------------- */

static json_object *ocr(VipsImage *page, const char *langs, double *ret_conf) {
        _cleanup_free_ uint8_t *png = NULL;
        _cleanup_image_ VipsImage *im = NULL;
        _cleanup_free_ uint8_t *grey = NULL;
        json_object *results = json_object_new_object();
        char error[VISION_DECODE_ERROR_MAX] = "";
        size_t len;
        int w, h;

        png = save(page, ".png", &len);
        ck_assert_int_eq(vision_decode_open(&limits, png, len, VIPS_ACCESS_SEQUENTIAL, error, &im, NULL), 0);
        ck_assert_int_eq(vision_decode_grey(im, error, &grey, &w, &h), 0);
        ck_assert_msg(
                vision_ocr_run(TESSDATA, langs, grey, w, h, error, results, ret_conf) == 0, "%s", error);
        return results;
}

START_TEST(test_ocr_reads_rendered_text) {
        _cleanup_image_ VipsImage *page = NULL;
        _cleanup_(json_object_putp) json_object *r = NULL;
        json_object *words, *first, *box;
        double conf = 0;

        if (access(TESSDATA "/eng.traineddata", R_OK) < 0)
                return; /* tesseract-ocr-eng not installed */
        page = text_page("Invoice 4711\nTotal 1234 EUR", "DejaVu Sans 14");
        r = ocr(page, "eng", &conf);
        ck_assert_msg(strstr(get_str(r, "text"), "Invoice 4711"), "got: %s", get_str(r, "text"));
        ck_assert_msg(strstr(get_str(r, "text"), "Total 1234 EUR"), "got: %s", get_str(r, "text"));
        words = json_object_object_get(r, "words");
        ck_assert_int_eq(json_object_array_length(words), 5);
        first = json_object_array_get_idx(words, 0);
        ck_assert_str_eq(get_str(first, "text"), "Invoice");
        ck_assert(get_double(first, "confidence") > 0.8);
        box = json_object_object_get(first, "box");
        /* The text starts at the 60 px margin the page was embedded with. */
        ck_assert_int_ge(get_int(box, "x"), 55);
        ck_assert_int_lt(get_int(box, "x"), 100);
        ck_assert(get_int(box, "width") > 50);
        ck_assert(conf > 0.8);
        /* A second call on this thread reuses its handle. */
        unsigned handles = vision_ocr_handles_created();
        json_object_put(ocr(page, "eng", &conf));
        ck_assert_uint_eq(vision_ocr_handles_created(), handles);
}
END_TEST

START_TEST(test_ocr_languages_checked) {
        char error[VISION_DECODE_ERROR_MAX];

        if (access(TESSDATA "/eng.traineddata", R_OK) < 0)
                return;
        ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "eng", error), 0);
        ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "../../etc/passwd", error), -EINVAL);
        ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "eng+", error), -EINVAL);
        ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "", error), -EINVAL);
        ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "a+b+c+d+e", error), -EINVAL);
        ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "klingon", error), -ENOENT);
        ck_assert_ptr_nonnull(strstr(error, "available: "));
        ck_assert_ptr_nonnull(strstr(error, "eng"));
        if (access(TESSDATA "/jpn.traineddata", R_OK) == 0)
                ck_assert_int_eq(vision_ocr_check_languages(TESSDATA, "eng+jpn", error), 0);
        /* No models at all: OCR is unavailable (503), not a bad request. */
        ck_assert_int_eq(vision_ocr_check_languages("/nonexistent", "eng", error), -ENOMEDIUM);
        ck_assert_ptr_nonnull(strstr(error, "VISION_TESSDATA"));
}
END_TEST

START_TEST(test_ocr_japanese) {
        _cleanup_image_ VipsImage *page = NULL;
        _cleanup_(json_object_putp) json_object *r = NULL;
        double conf = 0;

        /* jpn.traineddata (tesseract-ocr-jpn) and a CJK font (fonts-ipafont-gothic) are in the
         * package lists: without them the test fails rather than passing unseen */
        ck_assert_msg(access(TESSDATA "/jpn.traineddata", R_OK) >= 0, "no " TESSDATA "/jpn.traineddata");
        ck_assert_msg(run_tool("fc-list :lang=ja | grep -q ."), "no Japanese font (fonts-ipafont-gothic)");
        page = text_page("画像解析", "Noto Sans CJK JP 20");
        r = ocr(page, "jpn", &conf);
        ck_assert_msg(strstr(get_str(r, "text"), "画像解析"), "got: %s", get_str(r, "text"));
        /* The pool has one worker here: eng then jpn re-initialised the same handle,
         * memory stays bounded by workers, not by languages or threads. */
        ck_assert_uint_eq(vision_ocr_handles_created(), 1);
}
END_TEST

/* ---- barcodes ---------------------------------------------------------------------- */

static json_object *scan_file(const char *path) {
        _cleanup_free_ uint8_t *buf = NULL, *grey = NULL;
        _cleanup_image_ VipsImage *im = NULL;
        json_object *results = json_object_new_object();
        char error[VISION_DECODE_ERROR_MAX];
        size_t len;
        int w, h;

        buf = read_file(path, &len);
        ck_assert_int_eq(vision_decode_open(&limits, buf, len, VIPS_ACCESS_SEQUENTIAL, error, &im, NULL), 0);
        ck_assert_int_eq(vision_decode_grey(im, error, &grey, &w, &h), 0);
        ck_assert_int_eq(vision_barcodes_scan(grey, w, h, error, results), 0);
        return results;
}

START_TEST(test_qr_code) {
        char dir[] = "/tmp/test-vision-XXXXXX", cmd[512], path[300];
        _cleanup_(json_object_putp) json_object *r = NULL;
        json_object *codes, *c;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/qr.png", dir);
        snprintf(
                cmd,
                sizeof(cmd),
                "qrencode -s 6 -o %s 'https://ai-semble.dev/?q=vision&n=42' 2>/dev/null",
                path);
        /* qrencode is in scripts/packages/vision.test.txt: not running it is a failure */
        ck_assert_msg(run_tool(cmd), "qrencode failed (package qrencode): %s", cmd);
        r = scan_file(path);
        codes = json_object_object_get(r, "barcodes");
        ck_assert_int_eq(json_object_array_length(codes), 1);
        c = json_object_array_get_idx(codes, 0);
        ck_assert_str_eq(get_str(c, "type"), "QR-Code");
        ck_assert_str_eq(get_str(c, "data"), "https://ai-semble.dev/?q=vision&n=42");
        ck_assert_int_eq(json_object_array_length(json_object_object_get(c, "points")), 4);
        unlink(path);
        rmdir(dir);
}
END_TEST

START_TEST(test_ean13) {
        char dir[] = "/tmp/test-vision-XXXXXX", cmd[512], path[300];
        _cleanup_(json_object_putp) json_object *r = NULL;
        json_object *codes, *c;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/ean.png", dir);
        snprintf(cmd, sizeof(cmd), "zint -b 13 --scale 2 -d 400638133393 -o %s >/dev/null 2>&1", path);
        /* zint is in scripts/packages/vision.test.txt: not running it is a failure */
        ck_assert_msg(run_tool(cmd), "zint failed (package zint): %s", cmd);
        r = scan_file(path);
        codes = json_object_object_get(r, "barcodes");
        ck_assert_int_eq(json_object_array_length(codes), 1);
        c = json_object_array_get_idx(codes, 0);
        ck_assert_str_eq(get_str(c, "type"), "EAN-13");
        ck_assert_str_eq(get_str(c, "data"), "4006381333931"); /* zint adds the check digit */
        unlink(path);
        rmdir(dir);
}
END_TEST

START_TEST(test_no_barcode) {
        _cleanup_image_ VipsImage *img = solid(200, 200, 255, 255, 255);
        _cleanup_free_ uint8_t *png = NULL, *grey = NULL;
        _cleanup_image_ VipsImage *im = NULL;
        _cleanup_(json_object_putp) json_object *r = json_object_new_object();
        char error[VISION_DECODE_ERROR_MAX];
        size_t len;
        int w, h;

        png = save(img, ".png", &len);
        ck_assert_int_eq(vision_decode_open(&limits, png, len, VIPS_ACCESS_SEQUENTIAL, error, &im, NULL), 0);
        ck_assert_int_eq(vision_decode_grey(im, error, &grey, &w, &h), 0);
        ck_assert_int_eq(vision_barcodes_scan(grey, w, h, error, r), 0);
        ck_assert_int_eq(get_int(r, "count"), 0);
}
END_TEST

/* ---- thumbnails and base64 ----------------------------------------------------------- */

START_TEST(test_thumbnail) {
        _cleanup_image_ VipsImage *img = noise(1920, 1080);
        _cleanup_free_ uint8_t *jpg = NULL, *decoded = NULL;
        _cleanup_(json_object_putp) json_object *r = json_object_new_object(),
                                                *r2 = json_object_new_object();
        VisionThumbnailOptions o = { .width = 200, .height = 200, .format = "webp", .quality = 70 };
        char error[VISION_DECODE_ERROR_MAX];
        const char *b64;
        size_t len, dlen;

        jpg = save(img, ".jpg", &len);
        ck_assert_int_eq(vision_thumbnail(&limits, jpg, len, &o, error, r), 0);
        ck_assert_int_eq(get_int(r, "width"), 200);
        ck_assert_int_eq(get_int(r, "height"), 113);
        b64 = get_str(r, "image_base64");
        ck_assert_int_eq(vision_api_decode_image_base64(b64, strlen(b64), 1 << 20, &decoded, &dlen), 0);
        ck_assert_int_eq(vision_decode_sniff(decoded, dlen), VISION_FORMAT_WEBP);
        ck_assert_int_eq(get_int(r, "bytes"), (int64_t) dlen);

        /* Never enlarged. */
        o = (VisionThumbnailOptions){ .width = 4000, .height = 4000, .format = "png", .quality = 80 };
        ck_assert_int_eq(vision_thumbnail(&limits, jpg, len, &o, error, r2), 0);
        ck_assert_int_eq(get_int(r2, "width"), 1920);
}
END_TEST

START_TEST(test_base64) {
        uint8_t *out = NULL;
        char *enc = NULL;
        size_t len;

        ck_assert_int_eq(vision_api_decode_image_base64("aGVsbG8=", 8, 100, &out, &len), 0);
        ck_assert_uint_eq(len, 5);
        ck_assert(memcmp(out, "hello", 5) == 0);
        free(out);
        ck_assert_int_eq(
                vision_api_decode_image_base64("data:image/png;base64,aGk=", 26, 100, &out, &len), 0);
        ck_assert_uint_eq(len, 2);
        free(out);
        ck_assert_int_eq(vision_api_decode_image_base64("aGVsbG8", 7, 100, &out, &len), -EBADMSG);
        ck_assert_int_eq(vision_api_decode_image_base64("aGV$bG8=", 8, 100, &out, &len), -EBADMSG);
        ck_assert_int_eq(vision_api_decode_image_base64("aG=sbG8=", 8, 100, &out, &len), -EBADMSG);
        ck_assert_int_eq(vision_api_decode_image_base64("aGVs bG8", 8, 100, &out, &len), -EBADMSG);
        ck_assert_int_eq(vision_api_decode_image_base64("aGVsbG8=", 8, 4, &out, &len), -EFBIG);
        ck_assert_int_eq(base64_encode("hello", 5, &enc), 0);
        ck_assert_str_eq(enc, "aGVsbG8=");
        free(enc);
}
END_TEST

START_TEST(test_cpu_quota) {
        char path[] = "/tmp/test-vision-cpu-XXXXXX";
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "150000 100000\n", 14), 14);
        close(fd);
        ck_assert_uint_le(vision_runtime_cpu_quota(path), 2);
        ck_assert_uint_ge(vision_runtime_cpu_quota(path), 1);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_eq(write(fd, "max 100000\n", 11), 11);
        close(fd);
        ck_assert_uint_ge(vision_runtime_cpu_quota(path), 1);
        unlink(path);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("vision-image");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_unchecked_fixture(tc, unit_setup, NULL);
        tcase_add_test(tc, test_sniff);
        tcase_add_test(tc, test_png_bomb_refused_before_allocation);
        tcase_add_test(tc, test_pixel_limit);
        tcase_add_test(tc, test_truncated_and_garbage);
        tcase_add_test(tc, test_analyze_solid_colour);
        tcase_add_test(tc, test_analyze_two_colours_and_hash);
        tcase_add_test(tc, test_analyze_exif_orientation);
        tcase_add_test(tc, test_ocr_reads_rendered_text);
        tcase_add_test(tc, test_ocr_languages_checked);
        tcase_add_test(tc, test_ocr_japanese);
        tcase_add_test(tc, test_qr_code);
        tcase_add_test(tc, test_ean13);
        tcase_add_test(tc, test_no_barcode);
        tcase_add_test(tc, test_thumbnail);
        tcase_add_test(tc, test_base64);
        tcase_add_test(tc, test_cpu_quota);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        int r;

        r = check_run_nofork(suite());
        vision_ocr_pool_free();
        return r;
}
