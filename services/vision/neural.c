/* SPDX-License-Identifier: MIT */
/* neural.c — the neural tasks through the llm service (see neural.h): the bounded
 * re-encode, the task prompts, the call, and the strict validation of the model's reply. */
#include <math.h>
#include <stdarg.h>

#include "base64.h"
#include "error-message.h"
#include "json-number.h"
#include "json-util.h"
#include "llm-client.h"
#include "neural.h"

#define NEURAL_REPLY_MAX (1024 * 1024)
#define NEURAL_LABEL_MAX 200
/* Models round; a box that overshoots the edge by less than this is clamped, not refused. */
#define NEURAL_EDGE_SLACK 0.01

static const struct {
        const char *key; /* results member */
        size_t max;
        bool label, box;
        const char *prompt;
} tasks[_VISION_NEURAL_TASK_MAX] = {
        [VISION_NEURAL_OBJECTS] = {
                "objects", VISION_NEURAL_MAX_OBJECTS, true, true,
                "Detect the distinct objects visible in this image. Reply with JSON only, no prose and no "
                "code fences: an array of at most 50 items {\"label\": <short English noun>, \"confidence\": "
                "<number 0..1>, \"box\": [x, y, w, h]} where x, y is the top-left corner and w, h the size of "
                "the object's bounding box, each a fraction 0..1 of the image's width or height. Reply [] if "
                "you see no object. Do not guess objects you cannot see.",
        },
        [VISION_NEURAL_CLASSIFY] = {
                "labels", VISION_NEURAL_MAX_LABELS, true, false,
                "Classify this image. Reply with JSON only, no prose and no code fences: an array of at most "
                "5 items {\"label\": <short English category>, \"confidence\": <number 0..1>}, the most likely "
                "first. Reply [] if you cannot tell.",
        },
        [VISION_NEURAL_FACES] = {
                "faces", VISION_NEURAL_MAX_FACES, false, true,
                "Find every human face in this image. Reply with JSON only, no prose and no code fences: an "
                "array of at most 50 items {\"box\": [x, y, w, h], \"confidence\": <number 0..1>} where x, y is "
                "the top-left corner and w, h the size of the face's bounding box, each a fraction 0..1 of the "
                "image's width or height. Reply [] if there is no face. Do not identify anyone.",
        },
};

static const char system_prompt[] =
        "You are a precise computer vision component. You answer with strict JSON exactly as asked, "
        "nothing else.";

void vision_neural_image_done(VisionNeuralImage *img) {
        free(img->data_url);
        *img = (VisionNeuralImage){};
}

int vision_neural_prepare(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        char error[static VISION_DECODE_ERROR_MAX],
        VisionNeuralImage *ret) {
        _cleanup_image_ VipsImage *header = NULL, *thumb = NULL, *flat = NULL;
        _cleanup_free_ void *out = NULL;
        _cleanup_free_ char *b64 = NULL;
        char *url = NULL;
        size_t out_len = 0;
        int w, h, r;

        /* The same gate as every task: supported format, sane header, within the limits. */
        r = vision_decode_open(limits, buf, len, VIPS_ACCESS_SEQUENTIAL, error, &header, NULL);
        if (r < 0)
                return r;
        w = vips_image_get_width(header);
        h = vips_image_get_height(header);
        if (vips_image_get_orientation_swap(header)) {
                int t = w;
                w = h;
                h = t;
        }
        /* Shrink-on-load where the format allows; EXIF rotation applied like the boxes'. */
        r = vision_decode_shrink(buf, len, VISION_NEURAL_SIDE, VISION_NEURAL_SIDE, error, &thumb);
        if (r < 0)
                return r;
        if (vips_image_hasalpha(thumb)) {
                VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
                r = vips_flatten(thumb, &flat, "background", white, NULL);
                vips_area_unref(VIPS_AREA(white));
                if (r < 0)
                        return vision_decode_vips_error("cannot flatten the image", error);
        }
        if (vips_image_write_to_buffer(flat ?: thumb, ".jpg[Q=85,strip]", &out, &out_len, NULL) < 0)
                return vision_decode_vips_error("cannot encode the image for the model", error);
        r = base64_encode(out, out_len, &b64);
        if (r < 0)
                return r;
        if (asprintf(&url, "data:image/jpeg;base64,%s", b64) < 0)
                return -ENOMEM;
        *ret = (VisionNeuralImage){ .data_url = url, .width = w, .height = h };
        return 0;
}

/* ---- the model's reply -------------------------------------------------------------- */

static bool number_in(json_object *v, double lo, double hi, double *ret) {
        double d;

        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
                return false;
        d = json_object_get_double(v);
        if (!isfinite(d) || d < lo || d > hi)
                return false;
        *ret = d;
        return true;
}

static bool label_ok(const char *s, size_t len) {
        if (len == 0 || len > NEURAL_LABEL_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

/* The text between a leading ```json (or ```) line and a trailing ```, or all of it. */
static void unfence(const char **text, size_t *len) {
        const char *s = *text, *e = s + *len;

        while (s < e && strchr(" \t\r\n", *s))
                s++;
        while (e > s && strchr(" \t\r\n", e[-1]))
                e--;
        if (e - s >= 6 && strncmp(s, "```", 3) == 0 && strncmp(e - 3, "```", 3) == 0) {
                const char *nl = memchr(s, '\n', (size_t) (e - s));
                if (nl && nl < e - 3) {
                        s = nl + 1;
                        e -= 3;
                }
        }
        *text = s;
        *len = (size_t) (e - s);
}

static json_object *box_json(const double b[4]) {
        json_object *box = json_object_new_array();

        for (size_t i = 0; box && i < 4; i++)
                json_object_array_add(box, vision_json_double(b[i], 4));
        return box;
}

int vision_neural_parse_reply(
        VisionNeuralTask task,
        const char *text,
        int width,
        int height,
        char error[static VISION_NEURAL_ERROR_MAX],
        json_object *results,
        double *ret_confidence) {
        _cleanup_json_ json_object *reply = NULL, *items = NULL;
        _cleanup_free_ char *perr = NULL;
        size_t len = strlen(text), n;
        double best = 0;
        int r;

        unfence(&text, &len);
        r = json_parse_strict(text, len, &reply, &perr);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return error_message_buf(
                        error,
                        VISION_NEURAL_ERROR_MAX,
                        -EPROTO,
                        "the model's reply is not JSON (%s)",
                        strempty(perr));
        if (!json_object_is_type(reply, json_type_array))
                return error_message_buf(
                        error, VISION_NEURAL_ERROR_MAX, -EPROTO, "the model's reply is not a JSON array");
        n = json_object_array_length(reply);
        if (n > tasks[task].max)
                return error_message_buf(
                        error,
                        VISION_NEURAL_ERROR_MAX,
                        -EPROTO,
                        "the model's reply has %zu items, more than %zu",
                        n,
                        tasks[task].max);
        items = json_object_new_array();
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *it = json_object_array_get_idx(reply, i), *v = NULL, *out;
                double conf = 0, b[4];

                if (!json_object_is_type(it, json_type_object))
                        return error_message_buf(
                                error, VISION_NEURAL_ERROR_MAX, -EPROTO, "reply[%zu]: must be an object", i);
                out = json_object_new_object();
                if (!out || json_object_array_add(items, out) < 0) {
                        json_object_put(out);
                        return -ENOMEM;
                }
                if (tasks[task].label) {
                        if (!json_object_object_get_ex(it, "label", &v) ||
                            !json_object_is_type(v, json_type_string) ||
                            !label_ok(json_object_get_string(v), (size_t) json_object_get_string_len(v)))
                                return error_message_buf(
                                        error,
                                        VISION_NEURAL_ERROR_MAX,
                                        -EPROTO,
                                        "reply[%zu].label: must be a string of 1 to %d printable bytes",
                                        i,
                                        NEURAL_LABEL_MAX);
                        json_object_object_add(
                                out, "label", json_object_new_string(json_object_get_string(v)));
                }
                if (!json_object_object_get_ex(it, "confidence", &v) || !number_in(v, 0, 1, &conf))
                        return error_message_buf(
                                error,
                                VISION_NEURAL_ERROR_MAX,
                                -EPROTO,
                                "reply[%zu].confidence: must be a number in 0..1",
                                i);
                json_object_object_add(out, "confidence", vision_json_double(conf, 4));
                best = MAX(best, conf);
                if (!tasks[task].box)
                        continue;
                if (!json_object_object_get_ex(it, "box", &v) || !json_object_is_type(v, json_type_array) ||
                    json_object_array_length(v) != 4)
                        return error_message_buf(
                                error,
                                VISION_NEURAL_ERROR_MAX,
                                -EPROTO,
                                "reply[%zu].box: must be an array [x, y, w, h]",
                                i);
                for (size_t k = 0; k < 4; k++)
                        if (!number_in(json_object_array_get_idx(v, k), 0, 1, &b[k]))
                                return error_message_buf(
                                        error,
                                        VISION_NEURAL_ERROR_MAX,
                                        -EPROTO,
                                        "reply[%zu].box[%zu]: must be a number in 0..1",
                                        i,
                                        k);
                if (b[2] <= 0 || b[3] <= 0 || b[0] + b[2] > 1 + NEURAL_EDGE_SLACK ||
                    b[1] + b[3] > 1 + NEURAL_EDGE_SLACK)
                        return error_message_buf(
                                error,
                                VISION_NEURAL_ERROR_MAX,
                                -EPROTO,
                                "reply[%zu].box: [x, y, w, h] must have w, h > 0 and stay inside the image "
                                "(x + w <= 1, y + h <= 1)",
                                i);
                b[2] = MIN(b[2], 1 - b[0]);
                b[3] = MIN(b[3], 1 - b[1]);
                {
                        json_object *px = json_object_new_object();
                        json_object_object_add(out, "box", box_json(b));
                        json_object_object_add(px, "x", json_object_new_int((int) lround(b[0] * width)));
                        json_object_object_add(px, "y", json_object_new_int((int) lround(b[1] * height)));
                        json_object_object_add(px, "width", json_object_new_int((int) lround(b[2] * width)));
                        json_object_object_add(
                                px, "height", json_object_new_int((int) lround(b[3] * height)));
                        json_object_object_add(out, "box_pixels", px);
                }
        }
        json_object_object_add(results, tasks[task].key, TAKE_PTR(items));
        json_object_object_add(results, "count", json_object_new_int((int) n));
        *ret_confidence = best;
        return 0;
}

/* ---- the call ----------------------------------------------------------------------- */

/* The user message: the task's prompt and the image. */
static json_object *user_content(VisionNeuralTask task, const VisionNeuralImage *img) {
        _cleanup_json_ json_object *parts = json_object_new_array();
        json_object *text = json_object_new_object(), *image = json_object_new_object(),
                    *iu = json_object_new_object();

        if (!parts || !text || !image || !iu) {
                json_object_put(text);
                json_object_put(image);
                json_object_put(iu);
                return NULL;
        }
        json_object_object_add(text, "type", json_object_new_string("text"));
        json_object_object_add(text, "text", json_object_new_string(tasks[task].prompt));
        json_object_object_add(iu, "url", json_object_new_string(img->data_url));
        json_object_object_add(image, "type", json_object_new_string("image_url"));
        json_object_object_add(image, "image_url", iu);
        json_object_array_add(parts, text);
        json_object_array_add(parts, image);
        return TAKE_PTR(parts);
}

int vision_neural_ask(
        const VisionNeuralClient *client,
        VisionNeuralTask task,
        const VisionNeuralImage *img,
        const char *request_id,
        char error[static VISION_NEURAL_ERROR_MAX],
        json_object *results,
        double *ret_confidence) {
        _cleanup_free_ char *method = NULL;
        _cleanup_json_ json_object *user = user_content(task, img);
        _cleanup_(llm_client_reply_done) LlmClientReply a = {};
        int r;

        if (!user)
                return -ENOMEM;
        r = llm_client_chat(
                &(LlmClientRequest){
                        .url = client->url,
                        .model = client->model,
                        .system = system_prompt,
                        .user = user,
                        .max_tokens = 2048,
                        .timeout_ms = client->timeout_ms,
                        .max_reply = NEURAL_REPLY_MAX,
                        .request_id = request_id,
                },
                &a);
        if (r == -ETIMEDOUT)
                return error_message_buf(
                        error,
                        VISION_NEURAL_ERROR_MAX,
                        -ETIMEDOUT,
                        "the llm service at %s did not answer within VISION_LLM_TIMEOUT (%llu ms)",
                        a.endpoint,
                        (unsigned long long) client->timeout_ms);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return error_message_buf(
                        error,
                        VISION_NEURAL_ERROR_MAX,
                        -EREMOTEIO,
                        "cannot reach the llm service at %s (VISION_LLM_URL): %s",
                        a.endpoint,
                        a.error[0] ? a.error : strerror(-r));
        if (a.status != 200)
                return error_message_buf(
                        error,
                        VISION_NEURAL_ERROR_MAX,
                        a.status == 503           ? -EAGAIN
                                : a.status == 504 ? -ETIMEDOUT
                                                  : -EREMOTEIO,
                        "the llm service answered %ld: %s",
                        a.status,
                        llm_client_detail(&a));
        if (!a.content || !a.model)
                return error_message_buf(
                        error,
                        VISION_NEURAL_ERROR_MAX,
                        -EREMOTEIO,
                        "the llm service's answer has no choices[0].message.content or model");
        r = vision_neural_parse_reply(
                task, a.content, img->width, img->height, error, results, ret_confidence);
        if (r < 0)
                return r;
        if (asprintf(&method, "llm:%s", a.model) < 0)
                return -ENOMEM;
        json_object_object_add(results, "method", json_object_new_string(method));
        json_object_object_add(results, "model", json_object_new_string(a.model));
        json_object_object_add(results, "width", json_object_new_int(img->width));
        json_object_object_add(results, "height", json_object_new_int(img->height));
        return 0;
}
