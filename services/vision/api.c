/* SPDX-License-Identifier: MIT */
/* api.c — request validation, image acquisition (base64 or SSRF-safe fetch), the
 * processing gate, task dispatch and the mapping of every failure to its status. */
#include <math.h>
#include <time.h>

#include "analyze.h"
#include "api.h"
#include "barcodes.h"
#include "base64.h"
#include "json-number.h"
#include "json-util.h"
#include "log.h"
#include "neural.h"
#include "ocr.h"
#include "runtime.h"
#include "thumbnail.h"
#include "time-util.h"

typedef enum Task {
        TASK_ANALYZE,
        TASK_EXTRACT_TEXT,
        TASK_DETECT_BARCODES,
        TASK_THUMBNAIL,
        TASK_DETECT_OBJECTS,
        TASK_CLASSIFY,
        TASK_FACE_DETECTION,
        _TASK_MAX,
} Task;

static const char *const task_names[_TASK_MAX] = {
        [TASK_ANALYZE] = "analyze",
        [TASK_EXTRACT_TEXT] = "extract_text",
        [TASK_DETECT_BARCODES] = "detect_barcodes",
        [TASK_THUMBNAIL] = "thumbnail",
        [TASK_DETECT_OBJECTS] = "detect_objects",
        [TASK_CLASSIFY] = "classify",
        [TASK_FACE_DETECTION] = "face_detection",
};

static bool task_is_neural(Task t) {
        return t == TASK_DETECT_OBJECTS || t == TASK_CLASSIFY || t == TASK_FACE_DETECTION;
}

int vision_api_tasks(ServiceTasks *out, void *userdata) {
        static const char *const fields[] = { "image_url?", "image_base64?", "task?", "options?", NULL };
        const VisionApi *api = userdata;

        for (int i = 0; i < _TASK_MAX; i++) {
                /* A neural task waits for a processing slot and then for the llm: its
                 * default job timeout covers both (else the orchestrator's for vision). */
                uint64_t timeout = task_is_neural((Task) i) && !isempty(api->config->llm_url)
                        ? api->config->queue_timeout_ms + api->config->llm_timeout_ms + 5000
                        : 0;
                int r = service_tasks_add(
                        out,
                        &(ServiceTask){
                                .name = task_names[i],
                                .path = "/analyze",
                                .field = "task",
                                .idempotent = true,
                                .timeout_ms = timeout,
                                .body = "application/json",
                                .fields = fields,
                        });
                if (r < 0)
                        return r;
        }
        return 0;
}

static int task_from_string(const char *s) {
        for (int i = 0; i < _TASK_MAX; i++)
                if (streq(task_names[i], s))
                        return i;
        return -EINVAL;
}

int vision_api_init(VisionApi *api, VisionConfig *config) {
        api->config = config;
        api->limits = (VisionLimits){
                .max_pixels = (uint64_t) config->max_pixels,
                .max_dimension = (uint64_t) config->max_dimension,
        };
        api->fetch.max_bytes = config->max_image_bytes;
        api->fetch.timeout_ms = config->fetch_timeout_ms;
        return vision_fetch_parse_allow(config->fetch_allow, &api->fetch);
}

int vision_api_register_metrics(VisionApi *api, MetricsRegistry *registry) {
        static const char *const req_labels[] = { "task", "code", NULL };
        static const char *const dur_labels[] = { "task", NULL };
        int r;

        r = metrics_counter_new(
                registry,
                "vision_requests_total",
                "Analyze requests by task and HTTP status.",
                req_labels,
                &api->requests);
        if (r < 0)
                return r;
        return metrics_histogram_new(
                registry,
                "vision_processing_seconds",
                "Time spent processing an image, by task (after it was obtained).",
                dur_labels,
                NULL,
                0,
                &api->durations);
}

/* A problem naming the field it is about. */
static int reply_field(HttpRequest *req, int status, const char *field, const char *detail) {
        _cleanup_problem_ Problem *p = problem_new(status, NULL, detail);

        if (!p || (field && problem_add_error(p, field, detail) < 0))
                return -ENOMEM;
        return http_reply_problem(req, p);
}

static void count(VisionApi *api, const char *task, int status) {
        char code[8];

        if (!api->requests)
                return;
        snprintf(code, sizeof(code), "%d", status);
        (void) metrics_counter_add(api->requests, (const char *const[]){ task, code }, 1);
}

/* Options of each task, validated before any work. */
typedef struct TaskOptions {
        const char *languages;
        VisionThumbnailOptions thumb;
} TaskOptions;

/* The getters name fields relative to options; clients know them as options.<name>. */
static void prefix_errors(json_object *from, json_object **errs) {
        size_t n = from ? json_object_array_length(from) : 0;

        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(from, i), *f = NULL, *m = NULL;

                json_object_object_get_ex(e, "field", &f);
                json_object_object_get_ex(e, "message", &m);
                char name[128];

                snprintf(name, sizeof(name), "options.%s", strempty(json_object_get_string(f)));
                json_errors_add(errs, name, "%s", strempty(json_object_get_string(m)));
        }
}

static void
parse_options(VisionApi *api, Task task, json_object *options, json_object **errs, TaskOptions *o) {
        o->languages = api->config->ocr_languages;
        _cleanup_json_ json_object *oerrs = NULL;

        o->thumb = (VisionThumbnailOptions){ .width = 256, .height = 256, .format = "jpeg", .quality = 80 };
        if (!options)
                return;

        if (task == TASK_EXTRACT_TEXT) {
                json_object *langs = NULL;

                /* "eng+jpn" or ["eng", "jpn"] */
                if (json_object_object_get_ex(options, "languages", &langs) &&
                    json_object_is_type(langs, json_type_array)) {
                        static _Thread_local char joined[VISION_OCR_LANGS_MAX];
                        size_t n = json_object_array_length(langs), used = 0;

                        joined[0] = 0;
                        for (size_t i = 0; i < n; i++) {
                                json_object *e = json_object_array_get_idx(langs, i);
                                const char *s = json_object_is_type(e, json_type_string)
                                        ? json_object_get_string(e)
                                        : NULL;
                                int k;

                                if (!s) {
                                        json_errors_add(
                                                errs, "options.languages", "must be an array of strings");
                                        return;
                                }
                                k = snprintf(joined + used, sizeof(joined) - used, "%s%s", i ? "+" : "", s);
                                if (k < 0 || (size_t) k >= sizeof(joined) - used) {
                                        json_errors_add(errs, "options.languages", "too many languages");
                                        return;
                                }
                                used += (size_t) k;
                        }
                        o->languages = joined;
                } else if (langs)
                        (void) json_get_string_bounded(
                                options, "languages", false, 1, 63, &oerrs, &o->languages);
        }
        if (task == TASK_THUMBNAIL) {
                int64_t w = o->thumb.width, h = o->thumb.height, q = o->thumb.quality;
                const char *f = o->thumb.format;

                (void) json_get_int(options, "width", false, 1, 4096, &oerrs, &w);
                (void) json_get_int(options, "height", false, 1, 4096, &oerrs, &h);
                (void) json_get_int(options, "quality", false, 1, 100, &oerrs, &q);
                if (json_get_string(options, "format", false, &oerrs, &f) > 0 && !streq(f, "jpeg") &&
                    !streq(f, "png") && !streq(f, "webp"))
                        json_errors_add(errs, "options.format", "must be one of jpeg, png, webp");
                o->thumb.width = (int) w;
                o->thumb.height = (int) h;
                o->thumb.quality = (int) q;
                o->thumb.format = f;
        }
        prefix_errors(oerrs, errs);
}

/* Maps a processing error to its reply. Returns what the handler returns. */
static int reply_processing_error(HttpRequest *req, int r, const char *error, int *ret_status) {
        int status;

        switch (r) {
        case -EMEDIUMTYPE:
                status = 415;
                break;
        case -EFBIG:
                status = 413;
                break;
        case -EBADMSG:
                status = 422;
                break;
        default:
                *ret_status = 500;
                return r; /* the server logs it and answers 500 */
        }
        *ret_status = status;
        return reply_field(req, status, "image", error);
}

int vision_api_decode_image_base64(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len) {
        if (len >= 5 && strncmp(s, "data:", 5) == 0) {
                const char *comma = memchr(s, ',', len);

                if (!comma || comma - s < 12 || strncmp(comma - 7, ";base64", 7) != 0)
                        return -EBADMSG;
                len -= (size_t) (comma + 1 - s);
                s = comma + 1;
        }
        return base64_decode(s, len, max, ret, ret_len);
}

static int obtain_image(
        HttpRequest *req,
        VisionApi *api,
        const char *url,
        const char *b64,
        size_t b64_len,
        uint8_t **ret,
        size_t *ret_len,
        int *ret_status) {
        char error[VISION_FETCH_ERROR_MAX] = "";
        int r, status;

        if (b64) {
                r = vision_api_decode_image_base64(b64, b64_len, api->config->max_image_bytes, ret, ret_len);
                if (r == -EBADMSG) {
                        *ret_status = 422;
                        return reply_field(req, 422, "image_base64", "image_base64 is not valid base64");
                }
                if (r == -EFBIG) {
                        snprintf(
                                error,
                                sizeof(error),
                                "the image is larger than VISION_MAX_IMAGE_BYTES (%llu bytes)",
                                (unsigned long long) api->config->max_image_bytes);
                        *ret_status = 413;
                        return reply_field(req, 413, "image_base64", error);
                }
                return r;
        }

        r = vision_fetch_url(&api->fetch, url, error, ret, ret_len);
        if (r >= 0)
                return 0;
        switch (r) {
        case -EACCES:
        case -EPROTONOSUPPORT:
        case -EINVAL:
        case -ENOENT:
                status = 422;
                break;
        case -EFBIG:
                status = 413;
                break;
        case -ETIMEDOUT:
                status = 504;
                break;
        case -EAGAIN: /* too many host lookups running */
                status = 503;
                break;
        case -ENOMEM:
                return r;
        default: /* the remote failed: refused, reset, HTTP error, too many redirects */
                status = 502;
                break;
        }
        log_info("image_url refused or failed: %s", error);
        *ret_status = status;
        return reply_field(req, status, "image_url", error);
}

static int run_task(
        VisionApi *api,
        Task task,
        const TaskOptions *o,
        const uint8_t *img,
        size_t len,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results,
        double *ret_confidence) {
        _cleanup_image_ VipsImage *image = NULL;
        _cleanup_free_ uint8_t *grey = NULL;
        int w, h, r;

        switch (task) {
        case TASK_ANALYZE:
                *ret_confidence = 1.0; /* measurements, not guesses */
                return vision_analyze(&api->limits, img, len, error, results);
        case TASK_THUMBNAIL:
                *ret_confidence = 1.0;
                return vision_thumbnail(&api->limits, img, len, &o->thumb, error, results);
        case TASK_EXTRACT_TEXT:
        case TASK_DETECT_BARCODES:
                r = vision_decode_open(&api->limits, img, len, VIPS_ACCESS_SEQUENTIAL, error, &image, NULL);
                if (r < 0)
                        return r;
                r = vision_decode_grey(image, error, &grey, &w, &h);
                if (r < 0)
                        return r;
                json_object_object_add(results, "width", json_object_new_int(w));
                json_object_object_add(results, "height", json_object_new_int(h));
                if (task == TASK_EXTRACT_TEXT)
                        return vision_ocr_run(
                                api->config->tessdata,
                                o->languages,
                                grey,
                                w,
                                h,
                                error,
                                results,
                                ret_confidence);
                r = vision_barcodes_scan(grey, w, h, error, results);
                if (r >= 0)
                        *ret_confidence =
                                json_object_array_length(json_object_object_get(results, "barcodes")) > 0
                                ? 1.0
                                : 0.0;
                return r;
        default:
                return -EOPNOTSUPP;
        }
}

/* The neural tasks, entered holding a processing slot: decode and re-encode under it,
 * then ask the llm without it. Takes response and *img. */
static int handle_neural(
        HttpRequest *req,
        VisionApi *api,
        Task task,
        uint8_t **img,
        size_t len,
        double start,
        json_object *response) {
        _cleanup_json_ json_object *resp = response;
        _cleanup_(vision_neural_image_done) VisionNeuralImage small = {};
        const VisionNeuralClient client = {
                .url = api->config->llm_url,
                .model = api->config->llm_model ?: "auto",
                .timeout_ms = api->config->llm_timeout_ms,
        };
        char derror[VISION_DECODE_ERROR_MAX] = "", error[VISION_NEURAL_ERROR_MAX] = "";
        const char *name = task_names[task];
        json_object *results = json_object_new_object();
        double t0 = time_now_s(CLOCK_MONOTONIC), confidence = 0;
        int r, status;

        if (!results) {
                vision_runtime_release();
                return -ENOMEM;
        }
        json_object_object_add(resp, "analysis_type", json_object_new_string(name));
        json_object_object_add(resp, "results", results);
        r = vision_neural_prepare(&api->limits, *img, len, derror, &small);
        vision_runtime_release();
        free(TAKE_PTR(*img)); /* not held while the model thinks */
        vision_runtime_trim();
        if (r < 0) {
                r = reply_processing_error(req, r, derror, &status);
                count(api, name, status);
                return r;
        }
        r = vision_neural_ask(
                &client,
                task == TASK_DETECT_OBJECTS     ? VISION_NEURAL_OBJECTS
                        : task == TASK_CLASSIFY ? VISION_NEURAL_CLASSIFY
                                                : VISION_NEURAL_FACES,
                &small,
                http_request_id(req),
                error,
                results,
                &confidence);
        if (api->durations)
                (void) metrics_histogram_observe(
                        api->durations, (const char *const[]){ name }, time_now_s(CLOCK_MONOTONIC) - t0);
        switch (r) {
        case 0:
                break;
        case -EAGAIN:
                status = 503;
                break;
        case -ETIMEDOUT:
                status = 504;
                break;
        case -EPROTO:
        case -EREMOTEIO:
                status = 502;
                break;
        default:
                count(api, name, 500);
                return r;
        }
        if (r < 0) {
                log_info("%s through the llm failed: %s", name, error);
                count(api, name, status);
                return reply_field(req, status, NULL, error);
        }
        json_object_object_add(resp, "confidence", vision_json_double(confidence, 4));
        json_object_object_add(
                resp, "processing_time", vision_json_double(time_now_s(CLOCK_MONOTONIC) - start, 4));
        count(api, name, 200);
        return http_reply_json(req, 200, resp);
}

int vision_api_handle_analyze(HttpRequest *req, void *userdata) {
        VisionApi *api = userdata;
        _cleanup_json_ json_object *body = NULL, *errs = NULL, *response = NULL;
        _cleanup_free_ uint8_t *img = NULL;
        const char *task_name = "analyze", *url = NULL, *b64 = NULL;
        char error[VISION_DECODE_ERROR_MAX] = "";
        json_object *options = NULL, *results;
        TaskOptions opts;
        size_t img_len = 0;
        double start = time_now_s(CLOCK_MONOTONIC), t0, confidence = 0;
        int task, r, status = 200;

        r = http_request_parse_json(req, &body);
        if (r < 0) {
                count(api, "invalid", 400);
                return 0;
        }
        if (!json_object_is_type(body, json_type_object)) {
                json_errors_add(&errs, "", "the body must be a JSON object");
                count(api, "invalid", 422);
                return http_reply_validation(req, errs);
        }
        (void) json_get_string_bounded(body, "task", false, 1, 32, &errs, &task_name);
        (void) json_get_string_bounded(body, "image_url", false, 1, 4096, &errs, &url);
        (void) json_get_string_bounded(body, "image_base64", false, 1, 0, &errs, &b64);
        (void) json_get_object(body, "options", false, &errs, &options);
        task = task_from_string(task_name);
        if (task < 0)
                json_errors_add(
                        &errs,
                        "task",
                        "must be one of analyze, extract_text, detect_barcodes, thumbnail, "
                        "detect_objects, classify, face_detection");
        if (json_object_object_get_ex(body, "image_url", NULL) ==
            json_object_object_get_ex(body, "image_base64", NULL))
                json_errors_add(&errs, "image_url", "exactly one of image_url and image_base64 is required");
        if (task >= 0)
                parse_options(api, task, options, &errs, &opts);
        if (task == TASK_EXTRACT_TEXT && !errs) {
                r = vision_ocr_check_languages(api->config->tessdata, opts.languages, error);
                if (r == -ENOMEDIUM) {
                        count(api, task_names[task], 503);
                        return reply_field(req, 503, NULL, error);
                }
                if (r < 0)
                        json_errors_add(&errs, "options.languages", "%s", error);
        }
        if (errs || task < 0) {
                count(api, "invalid", 422);
                return http_reply_validation(req, errs);
        }
        task_name = task_names[task];

        if (task_is_neural((Task) task) && isempty(api->config->llm_url)) {
                count(api, task_name, 501);
                return reply_field(
                        req,
                        501,
                        "task",
                        "this task needs a neural vision model: set VISION_LLM_URL to the llm service "
                        "(in the pod http://127.0.0.1:8081) and give the llm a multimodal model marked "
                        "\"vision\": true in LLM_BACKENDS_FILE (e.g. an Ollama llava); this vision service "
                        "runs no neural network itself and answers no labels without one");
        }
        r = obtain_image(req, api, url, b64, b64 ? strlen(b64) : 0, &img, &img_len, &status);
        if (r < 0 || http_request_replied(req)) {
                count(api, task_name, r < 0 ? 500 : status);
                return r < 0 ? r : 0;
        }

        r = vision_runtime_acquire(api->config->queue_timeout_ms);
        if (r == -EBUSY) {
                count(api, task_name, 503);
                (void) http_reply_add_header(req, "Retry-After", "1");
                return reply_field(
                        req, 503, NULL, "every image processing slot stayed busy (VISION_CONCURRENCY)");
        }
        if (r == -EIO) {
                count(api, task_name, 503);
                return reply_field(req, 503, NULL, "libvips failed to initialise; see the service log");
        }
        if (r < 0)
                return r;

        response = json_object_new_object();
        results = json_object_new_object();
        if (!response || !results) {
                json_object_put(results);
                vision_runtime_release();
                return -ENOMEM;
        }
        if (task == TASK_DETECT_OBJECTS || task == TASK_CLASSIFY || task == TASK_FACE_DETECTION) {
                /* The slot covers decoding only: the model may take seconds to answer. */
                json_object_put(results);
                return handle_neural(req, api, task, &img, img_len, start, TAKE_PTR(response));
        }
        json_object_object_add(response, "analysis_type", json_object_new_string(task_name));
        json_object_object_add(response, "results", results);
        t0 = time_now_s(CLOCK_MONOTONIC);
        r = run_task(api, task, &opts, img, img_len, error, results, &confidence);
        vision_runtime_release();
        free(TAKE_PTR(img));
        vision_runtime_trim();
        if (api->durations)
                (void) metrics_histogram_observe(
                        api->durations,
                        (const char *const[]){ task_name },
                        time_now_s(CLOCK_MONOTONIC) - t0);
        if (r < 0) {
                r = reply_processing_error(req, r, error, &status);
                count(api, task_name, status);
                return r;
        }
        json_object_object_add(response, "confidence", vision_json_double(confidence, 4));
        json_object_object_add(
                response, "processing_time", vision_json_double(time_now_s(CLOCK_MONOTONIC) - start, 4));
        count(api, task_name, 200);
        return http_reply_json(req, 200, response);
}
