/* SPDX-License-Identifier: MIT */
/* decode.h — turning untrusted bytes into a libvips image safely: the format is chosen
 * from the magic bytes (JPEG, PNG, WebP, GIF, TIFF only, each with its own loader), the
 * header is read without decoding pixels, and dimension and pixel-count limits are
 * checked from it before anything the size of the image is allocated. Pixels are
 * decoded lazily, sequentially, failing on truncation. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* macro.h first: GLib undefines and redefines MIN/MAX/CLAMP identically, the reverse
 * order would be a redefinition error. */
#include "macro.h"
#include <vips/vips.h>

#define VISION_DECODE_ERROR_MAX 256

typedef struct VisionLimits {
        uint64_t max_pixels;    /* width × height × pages */
        uint64_t max_dimension; /* width and height each */
} VisionLimits;

typedef enum VisionFormat {
        VISION_FORMAT_JPEG,
        VISION_FORMAT_PNG,
        VISION_FORMAT_WEBP,
        VISION_FORMAT_GIF,
        VISION_FORMAT_TIFF,
        _VISION_FORMAT_MAX,
        _VISION_FORMAT_INVALID = -EINVAL,
} VisionFormat;

const char *vision_format_to_string(VisionFormat f);
/* The format the magic bytes announce, or -EMEDIUMTYPE. */
int vision_decode_sniff(const uint8_t *buf, size_t len);

/* Opens buf (which must outlive *ret) with the loader of its sniffed format, header only,
 * and checks limits. -EMEDIUMTYPE (not a supported image), -EBADMSG (broken header),
 * -EFBIG (over a limit), with a sentence for the client in error. access is
 * VIPS_ACCESS_SEQUENTIAL unless the caller needs to read pixels twice. */
int vision_decode_open(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        VipsAccess access,
        char error[static VISION_DECODE_ERROR_MAX],
        VipsImage **ret,
        VisionFormat *ret_format);

/* Decodes the whole image into 8-bit greyscale (alpha flattened on white, EXIF rotation
 * applied) for OCR and barcode reading: *ret is malloc'ed width × height bytes.
 * -EBADMSG when the pixel data is corrupt or truncated. */
int vision_decode_grey(
        VipsImage *image,
        char error[static VISION_DECODE_ERROR_MAX],
        uint8_t **ret,
        int *ret_width,
        int *ret_height);

/* libvips' last error, one line, into error; clears it. Returns -EBADMSG for convenience. */
int vision_decode_vips_error(const char *what, char error[static VISION_DECODE_ERROR_MAX]);
/* buf (checked by vision_decode_open() first) shrunk to fit width x height, never enlarged,
 * with shrink-on-load where the format allows (JPEG decodes at 1/2..1/8, WebP and TIFF
 * pyramids likewise). -EBADMSG with error set when the data is corrupt or truncated. */
int vision_decode_shrink(
        const uint8_t *buf,
        size_t len,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        VipsImage **ret);

static inline void vision_unrefp(VipsImage **im) {
        if (*im)
                g_object_unref(*im);
}
#define _cleanup_image_ _cleanup_(vision_unrefp)
