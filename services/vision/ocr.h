/* SPDX-License-Identifier: MIT */
/* ocr.h — the `extract_text` task through Tesseract's C API: one TessBaseAPI per
 * processing worker, created on first use and re-initialised only when the requested
 * languages change; page text plus words with boxes and confidences. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "decode.h"

#define VISION_OCR_LANGS_MAX 64

/* Checks a Tesseract language spec ("eng", "eng+jpn"): 1-4 names of [a-z_]{3,16} each with
 * a <name>.traineddata in tessdata. -EINVAL (malformed), -ENOENT (no model for it) or
 * -ENOMEDIUM (no model at all: OCR unavailable), with a sentence for the client in error. */
int vision_ocr_check_languages(
        const char *tessdata, const char *langs, char error[static VISION_DECODE_ERROR_MAX]);

/* OCR of an 8-bit greyscale image (-EBUSY if every pool handle is in use). results gets text, words[{text,
 * confidence, box}], languages; *ret_confidence is the mean word confidence, 0..1. */
int vision_ocr_run(
        const char *tessdata,
        const char *langs,
        const uint8_t *grey,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results,
        double *ret_confidence);

#define VISION_OCR_POOL_MAX 64

/* Sizes the handle pool: one handle per processing worker (the runtime gate admits as many
 * requests at once). Handles are created on first use. */
void vision_ocr_pool_init(unsigned workers);
/* Frees every handle (exit, tests); none may be in use. */
void vision_ocr_pool_free(void);
/* Handles created so far (tests and metrics). */
unsigned vision_ocr_handles_created(void);
