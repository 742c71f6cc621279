/* SPDX-License-Identifier: MIT */
/* json-number.h — doubles as clients want to read them: rounded to `decimals` and
 * serialized short ("0.964", not json-c's default "0.96399999999999997"). */
#pragma once

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline json_object *vision_json_double(double v, int decimals) {
        char text[64];

        if (!isfinite(v))
                v = 0;
        snprintf(text, sizeof(text), "%.*f", decimals, v);
        /* Trim trailing zeros but keep one digit after the point: valid JSON either way. */
        for (char *e = text + strlen(text) - 1; e > text && *e == '0' && e[-1] != '.'; e--)
                *e = 0;
        return json_object_new_double_s(strtod(text, NULL), text);
}
