/* SPDX-License-Identifier: MIT */
/* ocr.c — Tesseract through its C API (see ocr.h). A TessBaseAPI is not thread-safe,
 * loading a model costs tens of milliseconds (eng) to seconds (jpn) and a loaded one holds
 * tens of megabytes, so there is one handle per processing worker (VISION_CONCURRENCY of
 * them, not one per HTTP thread), created on first use and kept with its languages. */
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <tesseract/capi.h>

#include "json-number.h"
#include "ocr.h"

typedef struct OcrHandle {
        TessBaseAPI *api; /* NULL until first used */
        bool busy;
        char langs[VISION_OCR_LANGS_MAX];
        char tessdata[256];
} OcrHandle;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static OcrHandle pool[VISION_OCR_POOL_MAX];
static unsigned pool_size = 1;
static atomic_uint handles_created;

unsigned vision_ocr_handles_created(void) {
        return atomic_load(&handles_created);
}

void vision_ocr_pool_init(unsigned workers) {
        pthread_mutex_lock(&pool_lock);
        pool_size = CLAMP(workers, 1u, (unsigned) VISION_OCR_POOL_MAX);
        pthread_mutex_unlock(&pool_lock);
}

void vision_ocr_pool_free(void) {
        pthread_mutex_lock(&pool_lock);
        for (unsigned i = 0; i < VISION_OCR_POOL_MAX; i++) {
                if (pool[i].api) {
                        TessBaseAPIEnd(pool[i].api);
                        TessBaseAPIDelete(pool[i].api);
                }
                pool[i] = (OcrHandle){};
        }
        pthread_mutex_unlock(&pool_lock);
}

/* A free handle, preferring one already loaded with langs, then an unused one. */
static OcrHandle *pool_checkout(const char *tessdata, const char *langs) {
        OcrHandle *pick = NULL;

        pthread_mutex_lock(&pool_lock);
        for (unsigned i = 0; i < pool_size; i++) {
                OcrHandle *h = &pool[i];

                if (h->busy)
                        continue;
                if (h->api && streq(h->langs, langs) && streq(h->tessdata, tessdata)) {
                        pick = h;
                        break;
                }
                if (!pick || (pick->api && !h->api))
                        pick = h;
        }
        if (pick)
                pick->busy = true;
        pthread_mutex_unlock(&pool_lock);
        return pick;
}

static void pool_checkin(OcrHandle *h) {
        pthread_mutex_lock(&pool_lock);
        h->busy = false;
        pthread_mutex_unlock(&pool_lock);
}

static void available_languages(const char *tessdata, char *out, size_t size) {
        DIR *d = opendir(tessdata);
        struct dirent *de;
        size_t used = 0;

        out[0] = 0;
        if (!d)
                return;
        while ((de = readdir(d))) {
                const char *dot = strstr(de->d_name, ".traineddata");
                int n;

                if (!dot || dot[12] != 0 || streq(de->d_name, "osd.traineddata"))
                        continue;
                n = snprintf(
                        out + used,
                        size - used,
                        "%s%.*s",
                        used ? ", " : "",
                        (int) (dot - de->d_name),
                        de->d_name);
                if (n < 0 || (size_t) n >= size - used)
                        break;
                used += (size_t) n;
        }
        closedir(d);
}

int vision_ocr_check_languages(
        const char *tessdata, const char *langs, char error[static VISION_DECODE_ERROR_MAX]) {
        char avail[128];
        const char *p = langs;
        unsigned count = 0;

        if (strlen(langs) >= VISION_OCR_LANGS_MAX)
                goto malformed;
        while (*p) {
                size_t n = 0;
                char path[512];

                while (p[n] && p[n] != '+') {
                        if (!islower((unsigned char) p[n]) && p[n] != '_')
                                goto malformed;
                        n++;
                }
                if (n < 3 || n > 16 || ++count > 4)
                        goto malformed;
                snprintf(path, sizeof(path), "%s/%.*s.traineddata", tessdata, (int) n, p);
                if (access(path, R_OK) < 0) {
                        available_languages(tessdata, avail, sizeof(avail));
                        if (isempty(avail)) {
                                snprintf(
                                        error,
                                        VISION_DECODE_ERROR_MAX,
                                        "OCR is unavailable: no Tesseract models in %s (set VISION_TESSDATA "
                                        "or install tesseract-ocr-eng)",
                                        tessdata);
                                return -ENOMEDIUM;
                        }
                        snprintf(
                                error,
                                VISION_DECODE_ERROR_MAX,
                                "no Tesseract model for '%.*s' in %s (available: %s)",
                                (int) n,
                                p,
                                tessdata,
                                isempty(avail) ? "none" : avail);
                        return -ENOENT;
                }
                p += n;
                if (*p == '+' && *++p == 0)
                        goto malformed;
        }
        if (count > 0)
                return 0;
malformed:
        snprintf(
                error,
                VISION_DECODE_ERROR_MAX,
                "languages must be 1 to 4 Tesseract names like 'eng' or 'eng+jpn'");
        return -EINVAL;
}

/* Makes h ready for langs (a checked-out handle is ours alone: no lock needed). */
static int handle_prepare(
        OcrHandle *h, const char *tessdata, const char *langs, char error[static VISION_DECODE_ERROR_MAX]) {
        if (h->api && streq(h->langs, langs) && streq(h->tessdata, tessdata))
                return 0;
        if (!h->api) {
                h->api = TessBaseAPICreate();
                if (!h->api)
                        return -ENOMEM;
                atomic_fetch_add(&handles_created, 1);
        } else
                TessBaseAPIEnd(h->api);
        h->langs[0] = 0;
        if (TessBaseAPIInit3(h->api, tessdata, langs) != 0) {
                snprintf(
                        error,
                        VISION_DECODE_ERROR_MAX,
                        "Tesseract could not load '%s' from %s",
                        langs,
                        tessdata);
                return -ENOENT;
        }
        /* Tesseract's own chatter ("Estimating resolution ...") is not our log. */
        (void) TessBaseAPISetVariable(h->api, "debug_file", "/dev/null");
        snprintf(h->langs, sizeof(h->langs), "%s", langs);
        snprintf(h->tessdata, sizeof(h->tessdata), "%s", tessdata);
        return 0;
}

static void tess_textp(char **s) {
        if (*s)
                TessDeleteText(*s);
}
static void tess_iteratorp(TessResultIterator **it) {
        if (*it)
                TessResultIteratorDelete(*it);
}

/* One page through a prepared handle; leaves the handle cleared for the next request. */
static int ocr_page(
        OcrHandle *h,
        const uint8_t *grey,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results,
        double *ret_confidence) {
        _cleanup_(tess_textp) char *text = NULL;
        _cleanup_(tess_iteratorp) TessResultIterator *it = NULL;
        json_object *words;
        double sum = 0;
        unsigned n = 0;

        TessBaseAPISetImage(h->api, grey, width, height, 1, width);
        TessBaseAPISetSourceResolution(h->api, 300);
        if (TessBaseAPIRecognize(h->api, NULL) != 0) {
                TessBaseAPIClear(h->api);
                snprintf(error, VISION_DECODE_ERROR_MAX, "Tesseract failed to recognise the page");
                return -EIO;
        }
        text = TessBaseAPIGetUTF8Text(h->api);
        words = json_object_new_array();
        if (!words) {
                TessBaseAPIClear(h->api);
                return -ENOMEM;
        }
        json_object_object_add(results, "words", words);

        it = TessBaseAPIGetIterator(h->api);
        if (it) {
                TessPageIterator *pi = TessResultIteratorGetPageIterator(it);
                do {
                        _cleanup_(tess_textp) char *w = TessResultIteratorGetUTF8Text(it, RIL_WORD);
                        int x0, y0, x1, y1;
                        float conf;
                        json_object *word, *box;

                        if (!w || !TessPageIteratorBoundingBox(pi, RIL_WORD, &x0, &y0, &x1, &y1))
                                continue;
                        conf = TessResultIteratorConfidence(it, RIL_WORD);
                        word = json_object_new_object();
                        box = json_object_new_object();
                        if (!word || !box) {
                                json_object_put(word);
                                json_object_put(box);
                                TessBaseAPIClear(h->api);
                                return -ENOMEM;
                        }
                        json_object_object_add(word, "text", json_object_new_string(w));
                        json_object_object_add(word, "confidence", vision_json_double(conf / 100.0, 3));
                        json_object_object_add(box, "x", json_object_new_int(x0));
                        json_object_object_add(box, "y", json_object_new_int(y0));
                        json_object_object_add(box, "width", json_object_new_int(x1 - x0));
                        json_object_object_add(box, "height", json_object_new_int(y1 - y0));
                        json_object_object_add(word, "box", box);
                        json_object_array_add(words, word);
                        sum += conf;
                        n++;
                } while (TessResultIteratorNext(it, RIL_WORD));
        }
        TessBaseAPIClear(h->api);

        json_object_object_add(results, "text", json_object_new_string(text ? text : ""));
        json_object_object_add(results, "languages", json_object_new_string(h->langs));
        json_object_object_add(results, "word_count", json_object_new_int((int) n));
        *ret_confidence = n > 0 ? sum / n / 100.0 : 0.0;
        return 0;
}

int vision_ocr_run(
        const char *tessdata,
        const char *langs,
        const uint8_t *grey,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results,
        double *ret_confidence) {
        OcrHandle *h;
        int r;

        h = pool_checkout(tessdata, langs);
        if (!h) {
                snprintf(error, VISION_DECODE_ERROR_MAX, "every OCR worker is busy");
                return -EBUSY;
        }
        r = handle_prepare(h, tessdata, langs, error);
        if (r >= 0)
                r = ocr_page(h, grey, width, height, error, results, ret_confidence);
        pool_checkin(h);
        return r;
}
