/* SPDX-License-Identifier: MIT */
/* thumbnail.h — the `thumbnail` task: the image (EXIF rotation applied) shrunk to fit a
 * box, never enlarged, encoded as JPEG, PNG or WebP with metadata stripped. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "decode.h"

typedef struct VisionThumbnailOptions {
        int width, height;  /* the box */
        const char *format; /* "jpeg", "png", "webp" */
        int quality;        /* 1-100, JPEG and WebP */
} VisionThumbnailOptions;

/* results gets {format, width, height, bytes, image_base64}. */
int vision_thumbnail(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        const VisionThumbnailOptions *opts,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results);
