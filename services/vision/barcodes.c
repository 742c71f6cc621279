/* SPDX-License-Identifier: MIT */
/* barcodes.c — ZBar (see barcodes.h). A scanner is cheap and not thread-safe, so each
 * request makes its own. */
#include <zbar.h>

#include "barcodes.h"

static void scannerp(zbar_image_scanner_t **s) {
        if (*s)
                zbar_image_scanner_destroy(*s);
}
static void imagep(zbar_image_t **i) {
        if (*i)
                zbar_image_destroy(*i);
}

int vision_barcodes_scan(
        const uint8_t *grey,
        int width,
        int height,
        char error[static VISION_DECODE_ERROR_MAX],
        json_object *results) {
        _cleanup_(scannerp) zbar_image_scanner_t *scanner = zbar_image_scanner_create();
        _cleanup_(imagep) zbar_image_t *image = zbar_image_create();
        json_object *arr;
        int n;

        if (!scanner || !image)
                return -ENOMEM;
        /* Every symbology ZBar knows, including QR. */
        zbar_image_scanner_set_config(scanner, 0, ZBAR_CFG_ENABLE, 1);
        zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
        zbar_image_set_size(image, (unsigned) width, (unsigned) height);
        zbar_image_set_data(image, grey, (unsigned long) width * (unsigned long) height, NULL);

        n = zbar_scan_image(scanner, image);
        if (n < 0) {
                snprintf(error, VISION_DECODE_ERROR_MAX, "ZBar failed to scan the image");
                return -EIO;
        }
        arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        json_object_object_add(results, "barcodes", arr);
        for (const zbar_symbol_t *sym = zbar_image_first_symbol(image); sym; sym = zbar_symbol_next(sym)) {
                json_object *o = json_object_new_object(), *points = json_object_new_array(), *box;
                unsigned np = zbar_symbol_get_loc_size(sym);
                int minx = width, miny = height, maxx = 0, maxy = 0;

                if (!o || !points) {
                        json_object_put(o);
                        json_object_put(points);
                        return -ENOMEM;
                }
                json_object_array_add(arr, o);
                json_object_object_add(
                        o, "type", json_object_new_string(zbar_get_symbol_name(zbar_symbol_get_type(sym))));
                json_object_object_add(
                        o,
                        "data",
                        json_object_new_string_len(
                                zbar_symbol_get_data(sym), (int) zbar_symbol_get_data_length(sym)));
                json_object_object_add(o, "quality", json_object_new_int(zbar_symbol_get_quality(sym)));
                for (unsigned i = 0; i < np; i++) {
                        int x = zbar_symbol_get_loc_x(sym, i), y = zbar_symbol_get_loc_y(sym, i);
                        json_object *pt = json_object_new_array();

                        if (!pt)
                                return -ENOMEM;
                        json_object_array_add(pt, json_object_new_int(x));
                        json_object_array_add(pt, json_object_new_int(y));
                        json_object_array_add(points, pt);
                        minx = MIN(minx, x);
                        miny = MIN(miny, y);
                        maxx = MAX(maxx, x);
                        maxy = MAX(maxy, y);
                }
                /* 2-D symbols give their corners; linear ones a point per scan line,
                 * which only the bounding box summarises usefully. */
                if (np <= 8)
                        json_object_object_add(o, "points", points);
                else
                        json_object_put(points);
                box = json_object_new_object();
                if (!box)
                        return -ENOMEM;
                json_object_object_add(box, "x", json_object_new_int(np ? minx : 0));
                json_object_object_add(box, "y", json_object_new_int(np ? miny : 0));
                json_object_object_add(box, "width", json_object_new_int(np ? maxx - minx + 1 : 0));
                json_object_object_add(box, "height", json_object_new_int(np ? maxy - miny + 1 : 0));
                json_object_object_add(o, "box", box);
        }
        json_object_object_add(results, "count", json_object_new_int((int) json_object_array_length(arr)));
        return 0;
}
