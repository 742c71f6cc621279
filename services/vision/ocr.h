/* SPDX-License-Identifier: MIT */
/* ocr.h — the `extract_text` task through Tesseract's C API: one TessBaseAPI per worker
 * thread, created on the thread's first OCR request and re-initialised only when the
 * requested languages change; page text plus words with boxes and confidences. */
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

/* OCR of an 8-bit greyscale image. results gets text, words[{text, confidence, box}],
 * languages; *ret_confidence is the mean word confidence, 0..1. */
int vision_ocr_run(
        const char *tessdata,
        const char *langs,
        const uint8_t *grey,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results,
        double *ret_confidence);

/* Releases the calling thread's handle (worker threads release theirs at exit). */
void vision_ocr_thread_release(void);
/* Handles created so far (tests and metrics). */
unsigned vision_ocr_handles_created(void);
