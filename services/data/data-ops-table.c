/* SPDX-License-Identifier: MIT */
/* data-ops-table.c — the operations of POST /process by name. */
#include "data-ops.h"

static const struct {
        const char *name;
        DataOpFn fn;
} ops[] = {
        { "analyze", data_op_analyze },     { "transform", data_op_transform },
        { "aggregate", data_op_aggregate }, { "filter", data_op_filter },
        { "validate", data_op_validate },   { "query", data_op_query },
        { "convert", data_op_convert },     { "plot", data_op_plot },
};

DataOpFn data_op_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (streq(ops[i].name, name))
                        return ops[i].fn;
        return NULL;
}

const char *data_op_names(void) {
        return "analyze, transform, aggregate, filter, validate, query, convert, plot";
}
