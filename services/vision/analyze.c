/* SPDX-License-Identifier: MIT */
/* analyze.c — the `analyze` task (see analyze.h). Statistics over all pixels stream the
 * image once (sequential access, a few scanlines in memory); everything that needs
 * random access runs on a small copy made with shrink-on-load, so a 24 MP photo never
 * sits decoded in memory. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "analyze.h"
#include "json-number.h"

/* ---- perceptual hash ------------------------------------------------------------- */

uint64_t vision_analyze_phash32(const uint8_t pixels[static 32 * 32]) {
        static double cosines[8][32];
        static bool init;
        double rows[32][8], coef[64], sorted[63], median;
        uint64_t hash = 0;

        if (!init) { /* benign race: every thread computes the same table */
                for (int u = 0; u < 8; u++)
                        for (int x = 0; x < 32; x++)
                                cosines[u][x] = cos((2 * x + 1) * u * M_PI / 64.0);
                init = true;
        }
        /* Separable 2-D DCT-II, keeping only the 8×8 lowest frequencies. */
        for (int y = 0; y < 32; y++)
                for (int u = 0; u < 8; u++) {
                        double s = 0;
                        for (int x = 0; x < 32; x++)
                                s += pixels[y * 32 + x] * cosines[u][x];
                        rows[y][u] = s;
                }
        for (int v = 0; v < 8; v++)
                for (int u = 0; u < 8; u++) {
                        double s = 0;
                        for (int y = 0; y < 32; y++)
                                s += rows[y][u] * cosines[v][y];
                        coef[v * 8 + u] = s;
                }
        /* Median of the 63 AC terms (the DC term would dominate). */
        memcpy(sorted, coef + 1, sizeof(sorted));
        for (int i = 1; i < 63; i++) {
                double k = sorted[i];
                int j = i - 1;
                while (j >= 0 && sorted[j] > k) {
                        sorted[j + 1] = sorted[j];
                        j--;
                }
                sorted[j + 1] = k;
        }
        median = sorted[31];
        for (int i = 0; i < 64; i++)
                if (coef[i] > median)
                        hash |= UINT64_C(1) << (63 - i);
        return hash;
}

unsigned vision_analyze_hash_distance(uint64_t a, uint64_t b) {
        return (unsigned) __builtin_popcountll(a ^ b);
}

/* ---- helpers --------------------------------------------------------------------- */

static const char *interpretation_name(VipsInterpretation i) {
        switch (i) {
        case VIPS_INTERPRETATION_B_W:
                return "grey";
        case VIPS_INTERPRETATION_GREY16:
                return "grey16";
        case VIPS_INTERPRETATION_sRGB:
                return "srgb";
        case VIPS_INTERPRETATION_RGB16:
                return "rgb16";
        case VIPS_INTERPRETATION_CMYK:
                return "cmyk";
        case VIPS_INTERPRETATION_MULTIBAND:
                return "multiband";
        default:
                return vips_enum_nick(VIPS_TYPE_INTERPRETATION, i);
        }
}

static int add_double(json_object *o, const char *key, double v, int decimals) {
        json_object *d = vision_json_double(v, decimals);

        if (!d)
                return -ENOMEM;
        json_object_object_add(o, key, d);
        return 0;
}

/* 8-bit sRGB (plus alpha if any) view of an image, for statistics in the units people
 * know whatever the file stored (16-bit, CMYK, greyscale). */
static int to_srgb8(VipsImage *in, VipsImage **ret, char error[static VISION_DECODE_ERROR_MAX]) {
        _cleanup_image_ VipsImage *c = NULL;
        VipsInterpretation want = vips_image_get_bands(in) - (vips_image_hasalpha(in) ? 1 : 0) == 1
                ? VIPS_INTERPRETATION_B_W
                : VIPS_INTERPRETATION_sRGB;

        if (vips_colourspace(in, &c, want, NULL) < 0)
                return vision_decode_vips_error("cannot convert the image to sRGB", error);
        if (vips_image_get_format(c) != VIPS_FORMAT_UCHAR) {
                VipsImage *u = NULL;
                if (vips_cast_uchar(c, &u, NULL) < 0)
                        return vision_decode_vips_error("cannot convert the image to 8 bits", error);
                g_object_unref(c);
                c = u;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- statistics over every pixel -------------------------------------------------- */

static int full_statistics(
        VipsImage *image,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results,
        double *ret_luma) {
        _cleanup_image_ VipsImage *srgb = NULL, *stats = NULL;
        json_object *channels;
        static const char *const rgb_names[] = { "red", "green", "blue", "alpha" };
        static const char *const grey_names[] = { "grey", "alpha" };
        const char *const *names;
        int bands, r;
        double mean[4] = {};

        r = to_srgb8(image, &srgb, error);
        if (r < 0)
                return r;
        /* One sequential pass; truncated or corrupt pixel data fails here. */
        if (vips_stats(srgb, &stats, NULL) < 0)
                return vision_decode_vips_error("the image data is corrupt or truncated", error);

        bands = MIN(vips_image_get_bands(srgb), 4);
        names = bands <= 2 ? grey_names : rgb_names;
        channels = json_object_new_array();
        if (!channels)
                return -ENOMEM;
        json_object_object_add(results, "channels", channels);
        for (int b = 0; b < bands; b++) {
                json_object *ch = json_object_new_object();

                if (!ch)
                        return -ENOMEM;
                json_object_array_add(channels, ch);
                json_object_object_add(ch, "name", json_object_new_string(names[b]));
                mean[b] = *VIPS_MATRIX(stats, 4, b + 1);
                add_double(ch, "min", *VIPS_MATRIX(stats, 0, b + 1), 0);
                add_double(ch, "max", *VIPS_MATRIX(stats, 1, b + 1), 0);
                add_double(ch, "mean", mean[b], 3);
                add_double(ch, "stddev", *VIPS_MATRIX(stats, 5, b + 1), 3);
        }
        /* Rec. 709 luma of the mean colour = mean luma (it is linear in the channels). */
        if (bands >= 3)
                *ret_luma = (0.2126 * mean[0] + 0.7152 * mean[1] + 0.0722 * mean[2]) / 255.0;
        else
                *ret_luma = mean[0] / 255.0;
        return 0;
}

/* ---- the small copy ------------------------------------------------------------- */

typedef struct Bin {
        uint64_t n, r, g, b;
} Bin;

static int compare_bins(const void *a, const void *b) {
        const Bin *x = a, *y = b;
        return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

/* Dominant colours: a 3-bits-per-channel histogram (512 bins) of the small copy, each bin reported
 * as the mean colour of its pixels, the most populated first. */
static int dominant_colours(const uint8_t *px, int w, int h, int bands, json_object *results) {
        _cleanup_free_ Bin *bins = calloc(512, sizeof(Bin));
        uint64_t total = (uint64_t) w * h;
        json_object *arr;

        if (!bins)
                return -ENOMEM;
        for (uint64_t i = 0; i < total; i++) {
                const uint8_t *p = px + i * bands;
                uint8_t r = p[0], g = bands >= 3 ? p[1] : p[0], b = bands >= 3 ? p[2] : p[0];
                Bin *bin = &bins[(r >> 5) << 6 | (g >> 5) << 3 | (b >> 5)];

                bin->n++;
                bin->r += r;
                bin->g += g;
                bin->b += b;
        }
        qsort(bins, 512, sizeof(Bin), compare_bins);
        arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        json_object_object_add(results, "dominant_colors", arr);
        for (int i = 0; i < VISION_ANALYZE_MAX_COLOURS && bins[i].n > 0; i++) {
                json_object *c, *rgb;
                unsigned r = (unsigned) ((bins[i].r + bins[i].n / 2) / bins[i].n),
                         g = (unsigned) ((bins[i].g + bins[i].n / 2) / bins[i].n),
                         b = (unsigned) ((bins[i].b + bins[i].n / 2) / bins[i].n);
                char hex[8];
                double share = (double) bins[i].n / (double) total;

                if (share < 0.01)
                        break;
                c = json_object_new_object();
                if (!c)
                        return -ENOMEM;
                snprintf(hex, sizeof(hex), "#%02x%02x%02x", r, g, b);
                json_object_array_add(arr, c);
                json_object_object_add(c, "hex", json_object_new_string(hex));
                rgb = json_object_new_array();
                json_object_array_add(rgb, json_object_new_int((int) r));
                json_object_array_add(rgb, json_object_new_int((int) g));
                json_object_array_add(rgb, json_object_new_int((int) b));
                json_object_object_add(c, "rgb", rgb);
                add_double(c, "fraction", share, 4);
        }
        return 0;
}

static int small_copy_measures(
        const uint8_t *buf,
        size_t len,
        VipsImage *decoded,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results) {
        _cleanup_image_ VipsImage *thumb = NULL, *flat = NULL, *srgb = NULL, *grey = NULL, *lap = NULL,
                                  *tiny = NULL, *srgb_mem = NULL;
        _cleanup_free_ uint8_t *tiny_px = NULL;
        VipsImage *cur;
        double sd, lap_sd;
        size_t size;
        int w, h, bands, r;
        char hash[17];

        /* An image already decoded in memory is shrunk from there. Otherwise
         * thumbnail_buffer uses shrink-on-load (JPEG decodes at 1/2..1/8, WebP and TIFF
         * pyramids likewise); the bytes were sniffed and the header checked, so libvips
         * picks the same loader as vision_decode_open(). */
        if (decoded) {
                if (vips_thumbnail_image(
                            decoded,
                            &thumb,
                            VISION_ANALYZE_SIDE,
                            "height",
                            VISION_ANALYZE_SIDE,
                            "size",
                            VIPS_SIZE_DOWN,
                            NULL) < 0)
                        return vision_decode_vips_error("cannot shrink the image", error);
        } else {
                r = vision_decode_shrink(buf, len, VISION_ANALYZE_SIDE, VISION_ANALYZE_SIDE, error, &thumb);
                if (r < 0)
                        return r;
        }
        cur = thumb;
        if (vips_image_hasalpha(cur)) {
                VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
                r = vips_flatten(cur, &flat, "background", white, NULL);
                vips_area_unref(VIPS_AREA(white));
                if (r < 0)
                        return vision_decode_vips_error("cannot flatten the alpha channel", error);
                cur = flat;
        }
        r = to_srgb8(cur, &srgb, error);
        if (r < 0)
                return r;
        /* The thumbnail pipeline reads its source sequentially, once: keep the result. */
        srgb_mem = vips_image_copy_memory(srgb);
        if (!srgb_mem)
                return vision_decode_vips_error("the image data is corrupt or truncated", error);
        w = vips_image_get_width(srgb_mem);
        h = vips_image_get_height(srgb_mem);
        bands = vips_image_get_bands(srgb_mem);
        r = dominant_colours(VIPS_IMAGE_ADDR(srgb_mem, 0, 0), w, h, bands, results);
        if (r < 0)
                return r;

        /* Greyscale copy for contrast, sharpness and the hash. */
        if (vips_colourspace(srgb_mem, &grey, VIPS_INTERPRETATION_B_W, NULL) < 0)
                return vision_decode_vips_error("cannot convert to greyscale", error);
        {
                _cleanup_image_ VipsImage *mask =
                        vips_image_new_matrixv(3, 3, 0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0);
                _cleanup_image_ VipsImage *mem = NULL;

                /* A memory copy: the measures below each read it in full. */
                mem = vips_image_copy_memory(grey);
                if (!mask || !mem)
                        return vision_decode_vips_error("cannot make the greyscale copy", error);
                if (vips_deviate(mem, &sd, NULL) < 0)
                        return vision_decode_vips_error("cannot measure contrast", error);
                if (vips_conv(mem, &lap, mask, "precision", VIPS_PRECISION_FLOAT, NULL) < 0 ||
                    vips_deviate(lap, &lap_sd, NULL) < 0)
                        return vision_decode_vips_error("cannot measure sharpness", error);
                if (vips_thumbnail_image(mem, &tiny, 32, "height", 32, "size", VIPS_SIZE_FORCE, NULL) < 0)
                        return vision_decode_vips_error("cannot compute the perceptual hash", error);
        }
        tiny_px = vips_image_write_to_memory(tiny, &size);
        if (!tiny_px || size != 32 * 32)
                return vision_decode_vips_error("cannot compute the perceptual hash", error);

        /* RMS contrast of luma, 0..1 (0.5 = half black half white). */
        add_double(results, "contrast", sd / 255.0, 4);
        /* Variance of the Laplacian: low for blurred images (a flat image scores 0).
         * sharpness is it squashed to 0..1 (1 - e^(-var/1000)), blurry below ~0.1. */
        add_double(results, "sharpness_laplacian_variance", lap_sd * lap_sd, 2);
        add_double(results, "sharpness", 1.0 - exp(-lap_sd * lap_sd / 1000.0), 4);
        json_object_object_add(results, "is_blurry", json_object_new_boolean(lap_sd * lap_sd < 100.0));
        snprintf(hash, sizeof(hash), "%016" PRIx64, vision_analyze_phash32(tiny_px));
        json_object_object_add(results, "perceptual_hash", json_object_new_string(hash));
        json_object_object_add(results, "analysis_size", json_object_new_int(MAX(w, h)));
        return 0;
}

/* ---- the task --------------------------------------------------------------------- */

int vision_analyze(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results) {
        _cleanup_image_ VipsImage *image = NULL, *decoded = NULL;
        VisionFormat format;
        int orientation = 1, r;
        double luma = 0;
        json_object *dims;

        r = vision_decode_open(limits, buf, len, VIPS_ACCESS_SEQUENTIAL, error, &image, &format);
        if (r < 0)
                return r;

        json_object_object_add(results, "format", json_object_new_string(vision_format_to_string(format)));
        json_object_object_add(results, "width", json_object_new_int(vips_image_get_width(image)));
        json_object_object_add(results, "height", json_object_new_int(vips_image_get_height(image)));
        json_object_object_add(results, "channels_count", json_object_new_int(vips_image_get_bands(image)));
        json_object_object_add(results, "has_alpha", json_object_new_boolean(vips_image_hasalpha(image)));
        json_object_object_add(
                results,
                "color_space",
                json_object_new_string(interpretation_name(vips_image_get_interpretation(image))));
        json_object_object_add(results, "bytes", json_object_new_int64((int64_t) len));
        if (vips_image_get_typeof(image, VIPS_META_ORIENTATION))
                (void) vips_image_get_int(image, VIPS_META_ORIENTATION, &orientation);
        json_object_object_add(results, "exif_orientation", json_object_new_int(orientation));
        /* Dimensions as displayed once the EXIF orientation is applied. */
        dims = json_object_new_object();
        if (!dims)
                return -ENOMEM;
        json_object_object_add(results, "display_size", dims);
        {
                bool swap = orientation >= 5 && orientation <= 8;
                json_object_object_add(
                        dims,
                        "width",
                        json_object_new_int(
                                swap ? vips_image_get_height(image) : vips_image_get_width(image)));
                json_object_object_add(
                        dims,
                        "height",
                        json_object_new_int(
                                swap ? vips_image_get_width(image) : vips_image_get_height(image)));
        }

        /* Up to VISION_ANALYZE_MEMORY_PIXELS (a 1080p frame is 2 MP) the pixels are decoded
         * once into memory and every measure reads them there; larger images are streamed
         * for the statistics and shrunk on load for the rest, so they never sit decoded. */
        if ((uint64_t) vips_image_get_width(image) * (uint64_t) vips_image_get_height(image) <=
            VISION_ANALYZE_MEMORY_PIXELS) {
                decoded = vips_image_copy_memory(image);
                if (!decoded)
                        return vision_decode_vips_error("the image data is corrupt or truncated", error);
        }

        r = full_statistics(decoded ? decoded : image, error, results, &luma);
        if (r < 0)
                return r;
        add_double(results, "brightness", luma, 4);

        return small_copy_measures(buf, len, decoded, error, results);
}
