/* SPDX-License-Identifier: MIT */
/* neural.h — detect_objects, classify and face_detection through a multimodal model
 * behind the llm service (VISION_LLM_URL): the image, decoded and checked like every
 * other task's, is re-encoded small (longest side ≤ VISION_NEURAL_SIDE) and sent to the
 * llm's POST /v1/chat/completions with a prompt asking for strict JSON; the answer is
 * validated field by field and a reply that does not validate is an error, never a
 * label of our own. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "decode.h"

#define VISION_NEURAL_SIDE 1024
#define VISION_NEURAL_ERROR_MAX 768
#define VISION_NEURAL_MAX_OBJECTS 50
#define VISION_NEURAL_MAX_LABELS 10
#define VISION_NEURAL_MAX_FACES 50

typedef enum VisionNeuralTask {
        VISION_NEURAL_OBJECTS,
        VISION_NEURAL_CLASSIFY,
        VISION_NEURAL_FACES,
        _VISION_NEURAL_TASK_MAX,
} VisionNeuralTask;

typedef struct VisionNeuralImage {
        char *data_url;    /* data:image/jpeg;base64,... of the bounded copy */
        int width, height; /* of the original, EXIF rotation applied: boxes are mapped to these */
} VisionNeuralImage;

typedef struct VisionNeuralClient {
        const char *url;   /* the llm service's base URL, e.g. http://127.0.0.1:8081 */
        const char *model; /* "auto" or a model the llm knows */
        uint64_t timeout_ms;
} VisionNeuralClient;

/* Opens buf with the limits every task has, and re-encodes it as a JPEG of at most
 * VISION_NEURAL_SIDE px a side (alpha flattened on white). -EMEDIUMTYPE, -EFBIG, -EBADMSG
 * as decode.h says, with the sentence in error. Runs under a processing slot. */
int vision_neural_prepare(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        char error[static VISION_DECODE_ERROR_MAX],
        VisionNeuralImage *ret);
void vision_neural_image_done(VisionNeuralImage *img);

/* Asks the llm and fills results ({objects|labels|faces, count, method, model, width,
 * height}). Returns 0; -EPROTO when the model's reply does not validate (→ 502);
 * -EREMOTEIO when the llm answered an error other than 503/504 or could not be reached
 * (→ 502); -EAGAIN when it answered 503 (→ 503); -ETIMEDOUT (→ 504); -ENOMEM. error says
 * what went wrong for the client. */
int vision_neural_ask(
        const VisionNeuralClient *client,
        VisionNeuralTask task,
        const VisionNeuralImage *img,
        const char *request_id,
        char error[static VISION_NEURAL_ERROR_MAX],
        json_object *results,
        double *ret_confidence);

/* Validates the model's text (JSON, optionally in a ``` fence) for task and adds its
 * items to results, boxes also in pixels of a width × height image. -EPROTO with error
 * naming the offending item and field. Exposed for tests. */
int vision_neural_parse_reply(
        VisionNeuralTask task,
        const char *text,
        int width,
        int height,
        char error[static VISION_NEURAL_ERROR_MAX],
        json_object *results,
        double *ret_confidence);
