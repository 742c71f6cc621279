/* SPDX-License-Identifier: MIT */
/* barcodes.h — the `detect_barcodes` task through ZBar: every symbol's type, data and
 * location (polygon and bounding box) in an 8-bit greyscale image. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "decode.h"

/* results gets barcodes[{type, data, quality, points, box}] and count. */
int vision_barcodes_scan(
        const uint8_t *grey,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results);
