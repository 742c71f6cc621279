/* SPDX-License-Identifier: MIT */
/* thumbnail.c — the `thumbnail` task (see thumbnail.h). vips_thumbnail_buffer shrinks on
 * load where the format allows, so large JPEGs never decode at full size. */
#include "thumbnail.h"
#include "base64.h"

int vision_thumbnail(
        const VisionLimits *limits,
        const uint8_t *buf,
        size_t len,
        const VisionThumbnailOptions *opts,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results) {
        _cleanup_image_ VipsImage *header = NULL, *thumb = NULL;
        _cleanup_free_ void *out = NULL;
        _cleanup_free_ char *b64 = NULL;
        char suffix[64];
        size_t out_len = 0;
        int r;

        /* The header and limits first: the bytes are one of our formats and not a bomb. */
        r = vision_decode_open(limits, buf, len, VIPS_ACCESS_SEQUENTIAL, error, &header, NULL);
        if (r < 0)
                return r;
        r = vision_decode_shrink(buf, len, opts->width, opts->height, error, &thumb);
        if (r < 0)
                return r;

        if (streq(opts->format, "png"))
                snprintf(suffix, sizeof(suffix), ".png[strip]");
        else if (streq(opts->format, "webp"))
                snprintf(suffix, sizeof(suffix), ".webp[Q=%d,strip]", opts->quality);
        else
                snprintf(suffix, sizeof(suffix), ".jpg[Q=%d,strip]", opts->quality);
        if (vips_image_write_to_buffer(thumb, suffix, &out, &out_len, NULL) < 0)
                return vision_decode_vips_error("cannot encode the thumbnail", error);

        r = base64_encode(out, out_len, &b64);
        if (r < 0)
                return r;
        json_object_object_add(results, "format", json_object_new_string(opts->format));
        json_object_object_add(results, "width", json_object_new_int(vips_image_get_width(thumb)));
        json_object_object_add(results, "height", json_object_new_int(vips_image_get_height(thumb)));
        json_object_object_add(results, "bytes", json_object_new_int64((int64_t) out_len));
        json_object_object_add(results, "image_base64", json_object_new_string(b64));
        return 0;
}
