/* SPDX-License-Identifier: MIT */
/* nlp-json.h — scores as JSON numbers with six significant digits: json-c would print
 * 0.5643 as 0.56430000000000002, and clients compare these figures by eye. */
#pragma once

#include <json-c/json.h>
#include <stdio.h>

static inline json_object *nlp_json_double(double v) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%.6g", v);
        return json_object_new_double_s(v, buf);
}
