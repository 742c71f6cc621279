/* SPDX-License-Identifier: MIT */
/* ai-semble-vision — image analysis, OCR and barcode reading with libvips, Tesseract and
 * ZBar, hardened against hostile images and URLs. This file holds the configuration
 * table and the service definition; each concern lives in its own file. */
#include <stddef.h>
#include <stdlib.h>

#include "api.h"
#include "log.h"
#include "ocr.h"
#include "pod-services.h"
#include "runtime.h"
#include "service.h"
#include "version.h"

static VisionConfig config;
static VisionApi api;
static int pin_openmp_result;

#define VISION(field) offsetof(VisionConfig, field)

/* clang-format off */
static const ConfigEntry config_table[] = {
        CONFIG_INT("VISION_MAX_PIXELS", "40000000", 1, 1000000000, VISION(max_pixels),
                "Largest image accepted, in pixels (width × height), "
                "checked from the header before decoding (413 above)."),
        CONFIG_INT("VISION_MAX_DIMENSION", "16384", 1, 1000000, VISION(max_dimension),
                "Largest width or height accepted, checked from the header before decoding (413 above)."),
        CONFIG_SIZE("VISION_MAX_IMAGE_BYTES", "20M", 1024, 256LL * 1024 * 1024, VISION(max_image_bytes),
                "Largest encoded image (image_base64 decoded or "
                "image_url body). image_base64 also needs HTTP_MAX_BODY."),
        CONFIG_DURATION("VISION_FETCH_TIMEOUT", "10s", 100, 120000, VISION(fetch_timeout_ms),
                "Time an image_url download may take, redirects included."),
        CONFIG_STR("VISION_FETCH_ALLOW", NULL, VISION(fetch_allow),
                "Comma-separated CIDRs image_url may reach although "
                "loopback, private, link-local or metadata (default: none)."),
        CONFIG_STR("VISION_TESSDATA", "/usr/share/tesseract-ocr/5/tessdata", VISION(tessdata),
                "Directory of Tesseract's LANG.traineddata files."),
        CONFIG_STR("VISION_OCR_LANGUAGES", "eng", VISION(ocr_languages),
                "Tesseract languages when a request names none (e.g. eng+jpn)."),
        CONFIG_INT("VISION_CONCURRENCY", "0", 0, 64, VISION(concurrency),
                "Images processed at once (0 = the CPU quota); bounds memory under concurrent requests."),
        CONFIG_DURATION("VISION_QUEUE_TIMEOUT", "30s", 0, 600000, VISION(queue_timeout_ms),
                "How long a request waits for a processing slot before 503."),
        CONFIG_STR("VISION_LLM_URL", NULL, VISION(llm_url),
                "The llm service (pod: http://127.0.0.1:" AI_SEMBLE_PORT_LLM_S ") whose vision model "
                "answers detect_objects, classify and face_detection; unset = those answer 501."),
        CONFIG_STR("VISION_LLM_MODEL", "auto", VISION(llm_model),
                "Model asked through VISION_LLM_URL (auto = the llm's best model marked \"vision\")."),
        CONFIG_DURATION("VISION_LLM_TIMEOUT", "50s", 100, 600000, VISION(llm_timeout_ms),
                "How long a neural task waits for the llm's answer before 504 (the "
                "orchestrator's job timeout for these tasks follows it, through GET /tasks)."),
};
/* clang-format on */

static const HttpRoute routes[] = {
        { "POST", "/analyze", vision_api_handle_analyze, 0, &api },
};

static int setup(ServiceContext *ctx, void *userdata) {
        unsigned cpus = vision_runtime_cpu_quota(NULL);
        unsigned concurrency = config.concurrency > 0 ? (unsigned) config.concurrency : cpus;
        int r;

        if (!isempty(config.llm_url) && !startswith(config.llm_url, "http://") &&
            !startswith(config.llm_url, "https://"))
                return log_error_errno(
                        -EINVAL, "VISION_LLM_URL: '%s' is not an http(s) URL", config.llm_url);
        r = vision_api_init(&api, &config);
        if (r < 0)
                return log_error_errno(
                        r, "VISION_FETCH_ALLOW: '%s' is not a list of CIDRs: %m", config.fetch_allow);
        vision_ocr_pool_init(concurrency);
        r = vision_runtime_init("ai-semble-vision", cpus, concurrency);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the processing gate: %m");
        if (pin_openmp_result < 0)
                log_warning_errno(
                        pin_openmp_result,
                        "Could not re-execute with OMP_THREAD_LIMIT=1 (%m); set it in the environment");
        {
                char error[VISION_DECODE_ERROR_MAX];

                r = vision_ocr_check_languages(config.tessdata, config.ocr_languages, error);
                if (r < 0)
                        log_warning_errno(
                                r, "VISION_OCR_LANGUAGES: %s; extract_text will fail until fixed", error);
        }
        log_info("vision: %u CPU(s), %u image(s) at once, tessdata %s", cpus, concurrency, config.tessdata);
        if (isempty(config.llm_url))
                log_info("VISION_LLM_URL is unset: detect_objects, classify and face_detection answer 501");
        else
                log_info("neural tasks through %s (model %s)", config.llm_url, config.llm_model);
        return vision_api_register_metrics(&api, service_metrics(ctx));
}

/* libvips starts with the first image (runtime.h), so ready means: listening, the
 * configuration checked, and libvips not known to have failed to start. */
static int readiness(json_object *response, bool *ret_ready, void *userdata) {
        json_object *checks = json_object_new_object();
        int started = vision_runtime_started();

        if (!checks)
                return -ENOMEM;
        json_object_object_add(response, "checks", checks);
        json_object_object_add(checks, "http", json_object_new_string("listening"));
        json_object_object_add(
                checks,
                "libvips",
                json_object_new_string(
                        started > 0            ? "started"
                                : started == 0 ? "starts with the first image"
                                               : "failed to start"));
        *ret_ready = started >= 0;
        return 0;
}

static void teardown(void *userdata) {
        vision_ocr_pool_free();
        vision_runtime_shutdown();
}

static const ServiceDefinition definition = {
        .name = "vision",
        .version = PROJECT_VERSION,
        .description = "image analysis, OCR and barcode service",
        .listen_env = "VISION_LISTEN",
        .listen_default = "127.0.0.1:" AI_SEMBLE_PORT_VISION_S,
        .config = config_table,
        .n_config = ELEMENTSOF(config_table),
        .config_data = &config,
        .routes = routes,
        .n_routes = ELEMENTSOF(routes),
        .readiness = readiness,
        .tasks = vision_api_tasks,
        .userdata = &api,
        .setup = setup,
        .teardown = teardown,
};

int main(int argc, char **argv) {
        /* Only returns when no re-exec was needed, or when it failed: then OCR is slower
         * but correct, and setup() says so. */
        pin_openmp_result = vision_runtime_pin_openmp(argv);
        return service_main(&definition, argc, argv);
}
