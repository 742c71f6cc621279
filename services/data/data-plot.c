/* SPDX-License-Identifier: MIT */
/* data-plot.c — plot: line, bar, histogram and scatter charts drawn with cairo as PNG or
 * SVG of the requested size, returned inline (base64) or written under DATA_PLOT_DIR.
 * options {kind, x, y?, format: png|svg, width, height, title?, bins?, output: inline|file,
 * name?}. */
#include <cairo-svg.h>
#include <cairo.h>
#include <fcntl.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <sys/stat.h>

#include "base64.h"
#include "data-ops.h"
#include "json-util.h"

#define PLOT_MAX_POINTS 200000
#define PLOT_MAX_BARS 200
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

typedef struct Buffer {
        unsigned char *data;
        size_t len, cap;
        bool failed;
} Buffer;

static cairo_status_t buffer_write(void *closure, const unsigned char *data, unsigned int length) {
        Buffer *b = closure;

        if (b->len + length > b->cap) {
                size_t ncap = MAX(b->cap * 2, b->len + length + 4096);
                unsigned char *nd = realloc(b->data, ncap);
                if (!nd) {
                        b->failed = true;
                        return CAIRO_STATUS_WRITE_ERROR;
                }
                b->data = nd;
                b->cap = ncap;
        }
        memcpy(b->data + b->len, data, length);
        b->len += length;
        return CAIRO_STATUS_SUCCESS;
}

typedef struct Series {
        double *x, *y;
        char **labels; /* bar categories */
        size_t n, cap;
} Series;

static void series_done(Series *s) {
        for (size_t i = 0; s->labels && i < s->n; i++)
                free(s->labels[i]);
        free(s->labels);
        free(s->x);
        free(s->y);
}

static int series_add(Series *s, double x, double y, const char *label) {
        if (s->n == s->cap) {
                size_t ncap = s->cap ? s->cap * 2 : 256;
                double *nx = realloc(s->x, ncap * sizeof(double)), *ny;
                char **nl;
                if (!nx)
                        return -ENOMEM;
                s->x = nx;
                ny = realloc(s->y, ncap * sizeof(double));
                if (!ny)
                        return -ENOMEM;
                s->y = ny;
                nl = realloc(s->labels, ncap * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                s->labels = nl;
                s->cap = ncap;
        }
        s->labels[s->n] = label ? strdup(label) : NULL;
        if (label && !s->labels[s->n])
                return -ENOMEM;
        s->x[s->n] = x;
        s->y[s->n] = y;
        s->n++;
        return 0;
}

static int load_series(DataOp *op, const char *kind, const char *x, const char *y, int64_t bins, Series *s) {
        _cleanup_free_ char *qx = data_quote_ident(x), *qy = y ? data_quote_ident(y) : NULL, *sql = NULL;
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        size_t max = streq(kind, "bar") ? PLOT_MAX_BARS : PLOT_MAX_POINTS;
        int rc, r;

        if (!qx || (y && !qy))
                return -ENOMEM;
        if (streq(kind, "bar"))
                r = y ? asprintf(
                                &sql,
                                "SELECT CAST(%s AS TEXT), SUM(%s) FROM records WHERE %s IS NOT NULL GROUP BY 1 ORDER BY 1",
                                qx,
                                qy,
                                qx)
                      : asprintf(
                                &sql,
                                "SELECT CAST(%s AS TEXT), COUNT(*) FROM records WHERE %s IS NOT NULL GROUP BY 1 ORDER BY 1",
                                qx,
                                qx);
        else if (streq(kind, "histogram"))
                r = asprintf(
                        &sql, "SELECT %s, 0 FROM records WHERE typeof(%s) IN ('integer', 'real')", qx, qx);
        else
                r = asprintf(
                        &sql,
                        "SELECT %s, %s FROM records WHERE typeof(%s) IN ('integer', 'real') AND "
                        "typeof(%s) IN ('integer', 'real')%s",
                        qx,
                        qy,
                        qx,
                        qy,
                        streq(kind, "line") ? " ORDER BY 1" : "");
        if (r < 0)
                return -ENOMEM;
        if (sqlite3_prepare_v2(op->db, sql, -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (s->n >= max)
                        return data_error(
                                op->error,
                                413,
                                "options.x",
                                "more than %zu %s to draw; filter or aggregate first",
                                max,
                                streq(kind, "bar") ? "bars" : "points");
                r = series_add(
                        s,
                        sqlite3_column_double(st, 0),
                        sqlite3_column_double(st, 1),
                        streq(kind, "bar") ? (const char *) sqlite3_column_text(st, 0) : NULL);
                if (r < 0)
                        return r;
        }
        if (rc != SQLITE_DONE)
                return data_guard_step_error(op->guard, op->db, rc, "operation", op->error);
        if (s->n == 0)
                return data_error(
                        op->error,
                        422,
                        "options.x",
                        "no %s values to plot",
                        streq(kind, "bar") ? "non-null" : "numeric");
        if (streq(kind, "histogram")) {
                /* Turn the values into bins: x = bin start, y = count. */
                double lo = INFINITY, hi = -INFINITY, w;
                _cleanup_free_ double *counts = calloc((size_t) bins, sizeof(double));
                if (!counts)
                        return -ENOMEM;
                for (size_t i = 0; i < s->n; i++) {
                        lo = MIN(lo, s->x[i]);
                        hi = MAX(hi, s->x[i]);
                }
                w = hi > lo ? (hi - lo) / (double) bins : 1;
                for (size_t i = 0; i < s->n; i++) {
                        int64_t b = (int64_t) ((s->x[i] - lo) / w);
                        counts[CLAMP(b, 0, bins - 1)]++;
                }
                for (size_t i = 0; i < s->n; i++)
                        free(s->labels[i]);
                s->n = 0;
                for (int64_t b = 0; b < bins; b++)
                        if ((r = series_add(s, lo + (double) b * w, counts[b], NULL)) < 0)
                                return r;
        }
        return 0;
}

static void nice_range(double *lo, double *hi) {
        if (!(*hi > *lo)) {
                *lo -= 1;
                *hi += 1;
        }
}

static void
draw(cairo_t *cr,
     const char *kind,
     const Series *s,
     int width,
     int height,
     const char *title,
     const char *xlabel,
     const char *ylabel) {
        const double ml = 70, mr = 20, mt = title ? 40 : 20, mb = 50;
        double pw = width - ml - mr, ph = height - mt - mb;
        double xlo = INFINITY, xhi = -INFINITY, ylo = 0, yhi = -INFINITY;
        bool bar = streq(kind, "bar"), hist = streq(kind, "histogram");

        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        for (size_t i = 0; i < s->n; i++) {
                xlo = MIN(xlo, s->x[i]);
                xhi = MAX(xhi, s->x[i]);
                if (!bar && !hist)
                        ylo = i == 0 ? s->y[i] : MIN(ylo, s->y[i]);
                yhi = MAX(yhi, s->y[i]);
        }
        if (bar || hist)
                ylo = MIN(0, ylo);
        if (hist && s->n > 1)
                xhi += s->x[1] - s->x[0];
        nice_range(&xlo, &xhi);
        nice_range(&ylo, &yhi);

        cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (title) {
                cairo_set_font_size(cr, 16);
                cairo_move_to(cr, ml, 26);
                cairo_show_text(cr, title);
        }
        cairo_set_font_size(cr, 11);
        /* axes and five ticks each */
        cairo_set_line_width(cr, 1);
        cairo_move_to(cr, ml, mt);
        cairo_line_to(cr, ml, mt + ph);
        cairo_line_to(cr, ml + pw, mt + ph);
        cairo_stroke(cr);
        for (int t = 0; t <= 4; t++) {
                char buf[32];
                double yv = ylo + (yhi - ylo) * t / 4, py = mt + ph - ph * t / 4;
                snprintf(buf, sizeof(buf), "%.4g", yv);
                cairo_move_to(cr, 8, py + 4);
                cairo_show_text(cr, buf);
                if (!bar) {
                        double xv = xlo + (xhi - xlo) * t / 4, px = ml + pw * t / 4;
                        snprintf(buf, sizeof(buf), "%.4g", xv);
                        cairo_move_to(cr, px - 10, mt + ph + 16);
                        cairo_show_text(cr, buf);
                }
        }
        if (xlabel) {
                cairo_move_to(cr, ml + pw / 2, height - 10);
                cairo_show_text(cr, xlabel);
        }
        if (ylabel) {
                cairo_move_to(cr, 8, mt - 6);
                cairo_show_text(cr, ylabel);
        }

        cairo_set_source_rgb(cr, 0.12, 0.47, 0.71);
#define PX(v) (ml + ((v) -xlo) / (xhi - xlo) * pw)
#define PY(v) (mt + ph - ((v) -ylo) / (yhi - ylo) * ph)
        if (bar) {
                double bw = pw / (double) s->n;
                for (size_t i = 0; i < s->n; i++) {
                        cairo_rectangle(
                                cr, ml + bw * i + bw * 0.1, PY(s->y[i]), bw * 0.8, PY(ylo) - PY(s->y[i]));
                        cairo_fill(cr);
                }
                cairo_set_source_rgb(cr, 0, 0, 0);
                for (size_t i = 0; i < s->n && s->n <= 40; i++) {
                        cairo_move_to(cr, ml + bw * i + bw * 0.1, mt + ph + 16);
                        cairo_show_text(cr, s->labels[i] ? s->labels[i] : "");
                }
        } else if (hist) {
                double w = s->n > 1 ? s->x[1] - s->x[0] : xhi - xlo;
                for (size_t i = 0; i < s->n; i++) {
                        cairo_rectangle(
                                cr,
                                PX(s->x[i]),
                                PY(s->y[i]),
                                PX(s->x[i] + w) - PX(s->x[i]) - 1,
                                PY(ylo) - PY(s->y[i]));
                        cairo_fill(cr);
                }
        } else if (streq(kind, "line")) {
                cairo_set_line_width(cr, 2);
                for (size_t i = 0; i < s->n; i++)
                        (i ? cairo_line_to : cairo_move_to)(cr, PX(s->x[i]), PY(s->y[i]));
                cairo_stroke(cr);
        } else
                for (size_t i = 0; i < s->n; i++) {
                        cairo_arc(cr, PX(s->x[i]), PY(s->y[i]), 2.5, 0, 2 * M_PI);
                        cairo_fill(cr);
                }
#undef PX
#undef PY
}

typedef struct Render {
        const char *kind, *format, *title, *xlabel, *ylabel;
        const Series *series;
        int width, height;
        Buffer *out;
} Render;

/* cairo's text goes through fontconfig and FreeType, whose parsers recurse deeper than
 * an HTTP worker's stack allows: like every operation, this runs on the executor's stack
 * (data-exec.h). */
static int render(Render *j) {
        cairo_surface_t *surface;
        cairo_t *cr;
        int r;

        if (streq(j->format, "png"))
                surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, j->width, j->height);
        else {
                surface = cairo_svg_surface_create_for_stream(buffer_write, j->out, j->width, j->height);
                cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
        }
        cr = cairo_create(surface);
        draw(cr, j->kind, j->series, j->width, j->height, j->title, j->xlabel, j->ylabel);
        cairo_destroy(cr);
        if (streq(j->format, "png"))
                (void) cairo_surface_write_to_png_stream(surface, buffer_write, j->out);
        cairo_surface_finish(surface);
        r = cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS && !j->out->failed ? 0 : -ENOMEM;
        cairo_surface_destroy(surface);
        return r;
}

static int
write_file(DataOp *op, const char *name, const char *format, const Buffer *b, json_object *result) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;

        (void) mkdir(op->config->plot_dir, 0750);
        if (asprintf(&path, "%s/%s.%s", op->config->plot_dir, name, format) < 0 ||
            asprintf(&tmp, "%s/.%s.%s.tmp", op->config->plot_dir, name, format) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return data_error(
                        op->error,
                        503,
                        NULL,
                        "cannot write plots to %s (DATA_PLOT_DIR): %s",
                        op->config->plot_dir,
                        strerror(errno));
        if (write(fd, b->data, b->len) != (ssize_t) b->len || fsync(fd) < 0 || rename(tmp, path) < 0) {
                (void) unlink(tmp);
                return data_error(op->error, 507, NULL, "writing %s failed: %s", path, strerror(errno));
        }
        json_object_object_add(result, "path", json_object_new_string(path));
        return 0;
}

int data_op_plot(DataOp *op) {
        _cleanup_json_ json_object *result = json_object_new_object(), *errs = NULL;
        _cleanup_(series_done) Series s = {};
        Buffer b = {};
        const char *kind = NULL, *x = NULL, *y = NULL, *format = "png", *title = NULL, *output = "inline",
                   *name = NULL;
        int64_t width = 800, height = 600, bins = 20;
        int r;

        if (!result)
                return -ENOMEM;
        if (json_get_string(op->options, "kind", true, &errs, &kind) < 0 ||
            json_get_string(op->options, "x", true, &errs, &x) < 0 ||
            json_get_string(op->options, "y", false, &errs, &y) < 0 ||
            json_get_string(op->options, "format", false, &errs, &format) < 0 ||
            json_get_string_bounded(op->options, "title", false, 0, 200, &errs, &title) < 0 ||
            json_get_string(op->options, "output", false, &errs, &output) < 0 ||
            json_get_string(op->options, "name", false, &errs, &name) < 0 ||
            json_get_int(op->options, "width", false, 64, 4096, &errs, &width) < 0 ||
            json_get_int(op->options, "height", false, 64, 4096, &errs, &height) < 0 ||
            json_get_int(op->options, "bins", false, 1, 1000, &errs, &bins) < 0) {
                op->error->errors = TAKE_PTR(errs);
                return data_error(op->error, 422, NULL, "invalid options");
        }
        if (!streq(kind, "line") && !streq(kind, "bar") && !streq(kind, "histogram") &&
            !streq(kind, "scatter"))
                return data_error(op->error, 422, "options.kind", "must be line, bar, histogram or scatter");
        if (!streq(format, "png") && !streq(format, "svg"))
                return data_error(op->error, 422, "options.format", "must be png or svg");
        if (!streq(output, "inline") && !streq(output, "file"))
                return data_error(op->error, 422, "options.output", "must be inline or file");
        if (streq(output, "file") && !name)
                return data_error(op->error, 422, "options.name", "is required with output \"file\"");
        if (name && (isempty(name) || strlen(name) > 64 || name[strspn(name, NAME_CHARS)] != '\0'))
                return data_error(
                        op->error, 422, "options.name", "must be 1 to 64 letters, digits, _ and -");
        if (!y && (streq(kind, "line") || streq(kind, "scatter")))
                return data_error(op->error, 422, "options.y", "is required for %s charts", kind);
        if ((r = data_op_column(op, x, "options.x")) < 0 ||
            (y && (r = data_op_column(op, y, "options.y")) < 0))
                return r;
        r = load_series(op, kind, x, y, bins, &s);
        if (r < 0)
                return r;

        {
                Render job = { .kind = kind,
                               .series = &s,
                               .format = format,
                               .width = (int) width,
                               .height = (int) height,
                               .title = title,
                               .xlabel = x,
                               .ylabel = y,
                               .out = &b };
                r = render(&job);
        }
        if (r < 0) {
                free(b.data);
                return r;
        }

        json_object_object_add(result, "kind", json_object_new_string(kind));
        json_object_object_add(result, "format", json_object_new_string(format));
        json_object_object_add(
                result,
                "mime_type",
                json_object_new_string(streq(format, "png") ? "image/png" : "image/svg+xml"));
        json_object_object_add(result, "width", json_object_new_int64(width));
        json_object_object_add(result, "height", json_object_new_int64(height));
        json_object_object_add(result, "points", json_object_new_int64((int64_t) s.n));
        json_object_object_add(result, "bytes", json_object_new_int64((int64_t) b.len));
        if (streq(output, "file"))
                r = write_file(op, name, format, &b, result);
        else {
                _cleanup_free_ char *enc = NULL;

                r = base64_encode(b.data, b.len, &enc);
                if (r >= 0)
                        json_object_object_add(result, "data_base64", json_object_new_string(enc));
        }
        free(b.data);
        if (r < 0)
                return r;
        op->result = TAKE_PTR(result);
        return 0;
}

void data_plot_shutdown(void) {
        /* cairo and fontconfig keep font caches for the process' life: free them so that
         * leak checkers see only our own mistakes. */
        cairo_debug_reset_static_data();
        FcFini();
}
