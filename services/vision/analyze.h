/* SPDX-License-Identifier: MIT */
/* analyze.h — the `analyze` task: format, dimensions, EXIF orientation, per-channel
 * statistics over every pixel (decoded once, or streamed for large images), and from a ≤ VISION_ANALYZE_SIDE
 * px copy: brightness, contrast, dominant colours, a sharpness score and a 64-bit perceptual hash (DCT
 * pHash) for near-duplicate detection. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "decode.h"

#define VISION_ANALYZE_SIDE 512
#define VISION_ANALYZE_MAX_COLOURS 5
/* Images up to this many pixels are decoded once into memory (≤ 16 MB with alpha). */
#define VISION_ANALYZE_MEMORY_PIXELS (4u * 1024 * 1024)

/* results is filled with the task's fields. -EBADMSG (corrupt/truncated data, error set),
 * -ENOMEM. */
int vision_analyze(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results);

/* 64-bit DCT perceptual hash of a 32×32 8-bit greyscale block (row-major). */
uint64_t vision_analyze_phash32(const uint8_t pixels[static 32 * 32]);
/* Hamming distance of two hashes (0 = same picture, ≤ 10 = near duplicate). */
unsigned vision_analyze_hash_distance(uint64_t a, uint64_t b);
