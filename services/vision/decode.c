/* SPDX-License-Identifier: MIT */
/* decode.c — safe opening of untrusted image bytes (see decode.h). */
#include <inttypes.h>
#include <string.h>

#include "decode.h"

static const char *const format_names[_VISION_FORMAT_MAX] = {
        [VISION_FORMAT_JPEG] = "jpeg", [VISION_FORMAT_PNG] = "png",   [VISION_FORMAT_WEBP] = "webp",
        [VISION_FORMAT_GIF] = "gif",   [VISION_FORMAT_TIFF] = "tiff",
};

const char *vision_format_to_string(VisionFormat f) {
        return f >= 0 && f < _VISION_FORMAT_MAX ? format_names[f] : NULL;
}

int vision_decode_sniff(const uint8_t *buf, size_t len) {
        if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
                return VISION_FORMAT_JPEG;
        if (len >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
                return VISION_FORMAT_PNG;
        if (len >= 12 && memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0)
                return VISION_FORMAT_WEBP;
        if (len >= 6 && (memcmp(buf, "GIF87a", 6) == 0 || memcmp(buf, "GIF89a", 6) == 0))
                return VISION_FORMAT_GIF;
        if (len >= 4 && (memcmp(buf, "II*\0", 4) == 0 || memcmp(buf, "MM\0*", 4) == 0))
                return VISION_FORMAT_TIFF;
        return -EMEDIUMTYPE;
}

int vision_decode_vips_error(const char *what, char error[static VISION_DECODE_ERROR_MAX]) {
        const char *e = vips_error_buffer();
        size_t n;

        snprintf(error, VISION_DECODE_ERROR_MAX, "%s: %s", what, isempty(e) ? "unknown libvips error" : e);
        /* libvips' messages are multi-line "domain: text\n"; keep one line. */
        n = strcspn(error, "\n");
        error[n] = 0;
        vips_error_clear();
        return -EBADMSG;
}

int vision_decode_shrink(
        const uint8_t *buf,
        size_t len,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        VipsImage **ret) {
        if (vips_thumbnail_buffer(
                    (void *) buf,
                    len,
                    ret,
                    width,
                    "height",
                    height,
                    "size",
                    VIPS_SIZE_DOWN,
                    "option_string",
                    "fail_on=error",
                    NULL) < 0)
                return vision_decode_vips_error("the image data is corrupt or truncated", error);
        return 0;
}

int vision_decode_open(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        VipsAccess access,
        char error[static VISION_DECODE_ERROR_MAX],
        VipsImage **ret,
        VisionFormat *ret_format) {
        _cleanup_image_ VipsImage *im = NULL;
        uint64_t w, h;          /* the loaders read only the first page of GIF/TIFF/WebP */
        void *b = (void *) buf; /* libvips' loaders take void * but do not write */
        int fmt, r;

        fmt = vision_decode_sniff(buf, len);
        if (fmt < 0) {
                snprintf(
                        error,
                        VISION_DECODE_ERROR_MAX,
                        "not a supported image (JPEG, PNG, WebP, GIF or TIFF)");
                return fmt;
        }

        /* Each format's own loader: never libvips' guesser, which could reach a loader
         * (ImageMagick, PDF, ...) we did not mean to expose. These calls read the header only. */
        switch (fmt) {
        case VISION_FORMAT_JPEG:
                r = vips_jpegload_buffer(b, len, &im, "access", access, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
                break;
        case VISION_FORMAT_PNG:
                r = vips_pngload_buffer(b, len, &im, "access", access, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
                break;
        case VISION_FORMAT_WEBP:
                r = vips_webpload_buffer(b, len, &im, "access", access, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
                break;
        case VISION_FORMAT_GIF:
                r = vips_gifload_buffer(b, len, &im, "access", access, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
                break;
        case VISION_FORMAT_TIFF:
                r = vips_tiffload_buffer(b, len, &im, "access", access, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
                break;
        default:
                return -EMEDIUMTYPE;
        }
        if (r < 0)
                return vision_decode_vips_error("the image header is invalid", error);

        w = (uint64_t) vips_image_get_width(im);
        h = (uint64_t) vips_image_get_height(im);
        if (w == 0 || h == 0) {
                snprintf(error, VISION_DECODE_ERROR_MAX, "the image has no pixels");
                return -EBADMSG;
        }
        if (w > limits->max_dimension || h > limits->max_dimension) {
                snprintf(
                        error,
                        VISION_DECODE_ERROR_MAX,
                        "image is %" PRIu64 "×%" PRIu64 ", over VISION_MAX_DIMENSION (%" PRIu64
                        " px per side)",
                        w,
                        h,
                        limits->max_dimension);
                return -EFBIG;
        }
        if (w * h > limits->max_pixels) {
                snprintf(
                        error,
                        VISION_DECODE_ERROR_MAX,
                        "image has %" PRIu64 " pixels, over VISION_MAX_PIXELS (%" PRIu64 ")",
                        w * h,
                        limits->max_pixels);
                return -EFBIG;
        }

        *ret = TAKE_PTR(im);
        if (ret_format)
                *ret_format = fmt;
        return 0;
}

int vision_decode_grey(
        VipsImage *image,
        char error[static VISION_DECODE_ERROR_MAX],
        uint8_t **ret,
        int *ret_width,
        int *ret_height) {
        _cleanup_image_ VipsImage *rot = NULL, *flat = NULL, *grey = NULL, *u8 = NULL;
        VipsImage *cur = image;
        size_t size = 0;
        void *data;

        if (vips_autorot(cur, &rot, NULL) < 0)
                return vision_decode_vips_error("cannot rotate the image", error);
        cur = rot;
        if (vips_image_hasalpha(cur)) {
                VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
                int r = vips_flatten(cur, &flat, "background", white, NULL);

                vips_area_unref(VIPS_AREA(white));
                if (r < 0)
                        return vision_decode_vips_error("cannot flatten the alpha channel", error);
                cur = flat;
        }
        if (vips_colourspace(cur, &grey, VIPS_INTERPRETATION_B_W, NULL) < 0)
                return vision_decode_vips_error("cannot convert the image to greyscale", error);
        if (vips_cast_uchar(grey, &u8, NULL) < 0)
                return vision_decode_vips_error("cannot convert the image to 8 bits", error);
        if (vips_image_get_bands(u8) != 1) {
                snprintf(error, VISION_DECODE_ERROR_MAX, "unexpected band count after greyscale conversion");
                return -EBADMSG;
        }
        /* The one full decode: truncated or corrupt data fails here. */
        data = vips_image_write_to_memory(u8, &size);
        if (!data)
                return vision_decode_vips_error("the image data is corrupt or truncated", error);
        *ret_width = vips_image_get_width(u8);
        *ret_height = vips_image_get_height(u8);
        *ret = data; /* g_malloc'ed; glib uses the system allocator, so free() is right */
        return 0;
}
