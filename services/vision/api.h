/* SPDX-License-Identifier: MIT */
/* api.h — the vision service's HTTP API: POST /analyze {image_url | image_base64, task,
 * options} → {analysis_type, results, confidence, processing_time}, the seed's shape. */
#pragma once

#include "decode.h"
#include "fetch.h"
#include "http-server.h"
#include "metrics.h"
#include "service-tasks.h"

typedef struct VisionConfig {
        int64_t max_pixels;
        int64_t max_dimension;
        uint64_t max_image_bytes;
        uint64_t fetch_timeout_ms;
        char *fetch_allow;
        char *tessdata;
        char *ocr_languages;
        int64_t concurrency; /* 0 = the CPU quota */
        uint64_t queue_timeout_ms;
        char *llm_url; /* NULL or empty: the neural tasks answer 501 */
        char *llm_model;
        uint64_t llm_timeout_ms;
} VisionConfig;

typedef struct VisionApi {
        VisionConfig *config;
        VisionLimits limits;
        VisionFetchPolicy fetch;
        MetricsFamily *requests;  /* vision_requests_total{task,code} */
        MetricsFamily *durations; /* vision_processing_seconds{task} */
} VisionApi;

/* Derives limits and the fetch policy from config. -EINVAL when VISION_FETCH_ALLOW is bad. */
int vision_api_init(VisionApi *api, VisionConfig *config);
int vision_api_register_metrics(VisionApi *api, MetricsRegistry *registry);

int vision_api_handle_analyze(HttpRequest *req, void *userdata);
/* GET /tasks (ServiceDefinition.tasks, userdata = the VisionApi): every task of /analyze. */
int vision_api_tasks(ServiceTasks *out, void *userdata);
/* image_base64: strict RFC 4648 base64 (base64_decode()), optionally behind a
 * "data:<type>;base64," prefix. -EBADMSG, -EFBIG above max. */
int vision_api_decode_image_base64(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len);
