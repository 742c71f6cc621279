/* SPDX-License-Identifier: MIT */
/* metrics.c — Prometheus registry and text exposition (format 0.0.4). */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/resource.h>

#include "metrics.h"

typedef enum MetricsType {
        METRICS_COUNTER,
        METRICS_GAUGE,
        METRICS_HISTOGRAM,
} MetricsType;

typedef struct MetricsSeries {
        char **values;
        double value;      /* counter / gauge */
        uint64_t *buckets; /* histogram: per-bucket (not cumulative) counts, n_buckets + 1 (+Inf) */
        double sum;
        uint64_t count;
        struct MetricsSeries *next;
} MetricsSeries;

struct MetricsFamily {
        char *name, *help;
        MetricsType type;
        char *labels[METRICS_MAX_LABELS];
        size_t n_labels;
        double *bounds;
        size_t n_bounds;
        pthread_mutex_t lock;
        MetricsSeries *series, *series_tail;
        size_t n_series;
        struct MetricsFamily *next;
};

typedef struct MetricsCollectorEntry {
        MetricsCollector cb;
        void *userdata;
        struct MetricsCollectorEntry *next;
} MetricsCollectorEntry;

struct MetricsRegistry {
        pthread_mutex_t lock;
        MetricsFamily *families, *families_tail;
        MetricsCollectorEntry *collectors, *collectors_tail;
};

static const double default_buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };

int metrics_registry_new(MetricsRegistry **ret) {
        MetricsRegistry *r = calloc(1, sizeof(MetricsRegistry));

        if (!r)
                return -ENOMEM;
        pthread_mutex_init(&r->lock, NULL);
        *ret = r;
        return 0;
}

static void series_free(MetricsSeries *s, size_t n_labels) {
        for (size_t i = 0; i < n_labels; i++)
                free(s->values[i]);
        free(s->values);
        free(s->buckets);
        free(s);
}

static void family_free(MetricsFamily *f) {
        MetricsSeries *s = f->series;

        while (s) {
                MetricsSeries *n = s->next;
                series_free(s, f->n_labels);
                s = n;
        }
        for (size_t i = 0; i < f->n_labels; i++)
                free(f->labels[i]);
        free(f->bounds);
        free(f->name);
        free(f->help);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

void metrics_registry_free(MetricsRegistry *r) {
        if (!r)
                return;
        for (MetricsFamily *f = r->families; f;) {
                MetricsFamily *n = f->next;
                family_free(f);
                f = n;
        }
        for (MetricsCollectorEntry *c = r->collectors; c;) {
                MetricsCollectorEntry *n = c->next;
                free(c);
                c = n;
        }
        pthread_mutex_destroy(&r->lock);
        free(r);
}

static bool metric_name_valid(const char *s) {
        if (isempty(s) || !(isalpha((unsigned char) s[0]) || s[0] == '_' || s[0] == ':'))
                return false;
        for (const char *c = s; *c; c++)
                if (!(isalnum((unsigned char) *c) || *c == '_' || *c == ':'))
                        return false;
        return true;
}

static bool label_name_valid(const char *s) {
        if (isempty(s) || !(isalpha((unsigned char) s[0]) || s[0] == '_') || startswith(s, "__"))
                return false;
        for (const char *c = s; *c; c++)
                if (!(isalnum((unsigned char) *c) || *c == '_'))
                        return false;
        return true;
}

static int family_new(
        MetricsRegistry *r,
        MetricsType type,
        const char *name,
        const char *help,
        const char *const *label_names,
        const double *bounds,
        size_t n_bounds,
        MetricsFamily **ret) {
        MetricsFamily *f;

        if (!metric_name_valid(name) || isempty(help))
                return -EINVAL;
        if (type == METRICS_COUNTER) {
                const char *t = strstr(name, "_total");
                if (!t || t[6] != '\0')
                        return -EINVAL;
        }
        for (size_t i = 1; i < n_bounds; i++)
                if (!(bounds[i] > bounds[i - 1]))
                        return -EINVAL;
        for (size_t i = 0; i < n_bounds; i++)
                if (!isfinite(bounds[i]))
                        return -EINVAL;

        f = calloc(1, sizeof(MetricsFamily));
        if (!f)
                return -ENOMEM;
        pthread_mutex_init(&f->lock, NULL);
        f->type = type;
        f->name = strdup(name);
        f->help = strdup(help);
        if (!f->name || !f->help)
                goto oom;
        for (const char *const *l = label_names; l && *l; l++) {
                if (f->n_labels >= METRICS_MAX_LABELS || !label_name_valid(*l) ||
                    (type == METRICS_HISTOGRAM && streq(*l, "le"))) {
                        family_free(f);
                        return -EINVAL;
                }
                f->labels[f->n_labels] = strdup(*l);
                if (!f->labels[f->n_labels])
                        goto oom;
                f->n_labels++;
        }
        if (type == METRICS_HISTOGRAM) {
                f->n_bounds = n_bounds;
                f->bounds = calloc(MAX(n_bounds, (size_t) 1), sizeof(double));
                if (!f->bounds)
                        goto oom;
                memcpy(f->bounds, bounds, n_bounds * sizeof(double));
        }

        pthread_mutex_lock(&r->lock);
        for (MetricsFamily *i = r->families; i; i = i->next)
                if (streq(i->name, name)) {
                        pthread_mutex_unlock(&r->lock);
                        family_free(f);
                        return -EEXIST;
                }
        if (r->families_tail)
                r->families_tail->next = f;
        else
                r->families = f;
        r->families_tail = f;
        pthread_mutex_unlock(&r->lock);

        if (ret)
                *ret = f;
        return 0;
oom:
        family_free(f);
        return -ENOMEM;
}

int metrics_counter_new(
        MetricsRegistry *r,
        const char *name,
        const char *help,
        const char *const *label_names,
        MetricsFamily **ret) {
        return family_new(r, METRICS_COUNTER, name, help, label_names, NULL, 0, ret);
}

int metrics_gauge_new(
        MetricsRegistry *r,
        const char *name,
        const char *help,
        const char *const *label_names,
        MetricsFamily **ret) {
        return family_new(r, METRICS_GAUGE, name, help, label_names, NULL, 0, ret);
}

int metrics_histogram_new(
        MetricsRegistry *r,
        const char *name,
        const char *help,
        const char *const *label_names,
        const double *buckets,
        size_t n_buckets,
        MetricsFamily **ret) {
        if (!buckets) {
                buckets = default_buckets;
                n_buckets = ELEMENTSOF(default_buckets);
        }
        return family_new(r, METRICS_HISTOGRAM, name, help, label_names, buckets, n_buckets, ret);
}

/* Finds or creates the series; called with f->lock held. */
static int series_get(MetricsFamily *f, const char *const *values, MetricsSeries **ret) {
        MetricsSeries *s;

        for (size_t i = 0; i < f->n_labels; i++)
                if (!values || !values[i])
                        return -EINVAL;

        for (s = f->series; s; s = s->next) {
                bool match = true;
                for (size_t i = 0; i < f->n_labels && match; i++)
                        match = streq(s->values[i], values[i]);
                if (match) {
                        *ret = s;
                        return 0;
                }
        }
        if (f->n_series >= METRICS_MAX_SERIES)
                return -E2BIG;

        s = calloc(1, sizeof(MetricsSeries));
        if (!s)
                return -ENOMEM;
        s->values = calloc(MAX(f->n_labels, (size_t) 1), sizeof(char *));
        if (!s->values) {
                free(s);
                return -ENOMEM;
        }
        for (size_t i = 0; i < f->n_labels; i++) {
                s->values[i] = strdup(values[i]);
                if (!s->values[i]) {
                        series_free(s, f->n_labels);
                        return -ENOMEM;
                }
        }
        if (f->type == METRICS_HISTOGRAM) {
                s->buckets = calloc(f->n_bounds + 1, sizeof(uint64_t));
                if (!s->buckets) {
                        series_free(s, f->n_labels);
                        return -ENOMEM;
                }
        }
        if (f->series_tail)
                f->series_tail->next = s;
        else
                f->series = s;
        f->series_tail = s;
        f->n_series++;
        *ret = s;
        return 0;
}

typedef enum Op {
        OP_ADD,
        OP_SET,
        OP_OBSERVE,
} Op;

static int family_update(MetricsFamily *f, MetricsType want, const char *const *values, Op op, double v) {
        MetricsSeries *s;
        int r;

        if (!f || f->type != want)
                return -EINVAL;
        if (isnan(v) || (want == METRICS_COUNTER && v < 0))
                return -EINVAL;

        pthread_mutex_lock(&f->lock);
        r = series_get(f, values, &s);
        if (r >= 0) {
                switch (op) {
                case OP_ADD:
                        s->value += v;
                        break;
                case OP_SET:
                        s->value = v;
                        break;
                case OP_OBSERVE: {
                        size_t i = 0;
                        while (i < f->n_bounds && v > f->bounds[i])
                                i++;
                        s->buckets[i]++;
                        s->sum += v;
                        s->count++;
                        break;
                }
                }
        }
        pthread_mutex_unlock(&f->lock);
        return r;
}

int metrics_counter_add(MetricsFamily *f, const char *const *label_values, double v) {
        return family_update(f, METRICS_COUNTER, label_values, OP_ADD, v);
}

int metrics_gauge_set(MetricsFamily *f, const char *const *label_values, double v) {
        return family_update(f, METRICS_GAUGE, label_values, OP_SET, v);
}

int metrics_gauge_add(MetricsFamily *f, const char *const *label_values, double delta) {
        return family_update(f, METRICS_GAUGE, label_values, OP_ADD, delta);
}

int metrics_histogram_observe(MetricsFamily *f, const char *const *label_values, double v) {
        return family_update(f, METRICS_HISTOGRAM, label_values, OP_OBSERVE, v);
}

int metrics_family_get(MetricsFamily *f, const char *const *label_values, double *ret) {
        int r = -ENOENT;

        pthread_mutex_lock(&f->lock);
        for (MetricsSeries *s = f->series; s; s = s->next) {
                bool match = true;
                for (size_t i = 0; i < f->n_labels && match; i++)
                        match = label_values && label_values[i] && streq(s->values[i], label_values[i]);
                if (match) {
                        *ret = f->type == METRICS_HISTOGRAM ? (double) s->count : s->value;
                        r = 0;
                        break;
                }
        }
        pthread_mutex_unlock(&f->lock);
        return r;
}

int metrics_registry_add_collector(MetricsRegistry *r, MetricsCollector cb, void *userdata) {
        MetricsCollectorEntry *c = calloc(1, sizeof(MetricsCollectorEntry));

        if (!c)
                return -ENOMEM;
        c->cb = cb;
        c->userdata = userdata;
        pthread_mutex_lock(&r->lock);
        if (r->collectors_tail)
                r->collectors_tail->next = c;
        else
                r->collectors = c;
        r->collectors_tail = c;
        pthread_mutex_unlock(&r->lock);
        return 0;
}

/* ---- exposition --------------------------------------------------------------- */

static void write_escaped(FILE *f, const char *s, bool quote) {
        for (; *s; s++)
                switch (*s) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '"':
                        fputs(quote ? "\\\"" : "\"", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

void metrics_write_header(FILE *f, const char *name, const char *help, const char *type) {
        fprintf(f, "# HELP %s ", name);
        write_escaped(f, help, false);
        fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void metrics_write_label_value(FILE *f, const char *value) {
        fputc('"', f);
        write_escaped(f, value, true);
        fputc('"', f);
}

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void format_double(char *buf, size_t size, double v) {
        snprintf(buf, size, "%.15g", v);
        if (strtod(buf, NULL) != v)
                snprintf(buf, size, "%.17g", v);
}

void metrics_write_value(FILE *f, double v) {
        char buf[64];

        if (isnan(v))
                fputs("NaN", f);
        else if (isinf(v))
                fputs(v > 0 ? "+Inf" : "-Inf", f);
        else if (v == floor(v) && fabs(v) < 1e15)
                fprintf(f, "%.0f", v);
        else {
                format_double(buf, sizeof(buf), v);
                fputs(buf, f);
        }
}

static void write_labels(FILE *f, const MetricsFamily *fam, const MetricsSeries *s, const char *le) {
        if (fam->n_labels == 0 && !le)
                return;
        fputc('{', f);
        for (size_t i = 0; i < fam->n_labels; i++) {
                fprintf(f, "%s%s=", i ? "," : "", fam->labels[i]);
                metrics_write_label_value(f, s->values[i]);
        }
        if (le)
                fprintf(f, "%sle=\"%s\"", fam->n_labels ? "," : "", le);
        fputc('}', f);
}

static void render_family(FILE *f, MetricsFamily *fam) {
        static const char *const type_names[] = {
                [METRICS_COUNTER] = "counter", [METRICS_GAUGE] = "gauge", [METRICS_HISTOGRAM] = "histogram"
        };

        pthread_mutex_lock(&fam->lock);
        metrics_write_header(f, fam->name, fam->help, type_names[fam->type]);
        for (MetricsSeries *s = fam->series; s; s = s->next) {
                if (fam->type != METRICS_HISTOGRAM) {
                        fputs(fam->name, f);
                        write_labels(f, fam, s, NULL);
                        fputc(' ', f);
                        metrics_write_value(f, s->value);
                        fputc('\n', f);
                        continue;
                }
                uint64_t cum = 0;
                for (size_t i = 0; i <= fam->n_bounds; i++) {
                        char le[64];

                        cum += s->buckets[i];
                        if (i < fam->n_bounds)
                                format_double(le, sizeof(le), fam->bounds[i]);
                        else
                                snprintf(le, sizeof(le), "+Inf");
                        fprintf(f, "%s_bucket", fam->name);
                        write_labels(f, fam, s, le);
                        fprintf(f, " %llu\n", (unsigned long long) cum);
                }
                fprintf(f, "%s_sum", fam->name);
                write_labels(f, fam, s, NULL);
                fputc(' ', f);
                metrics_write_value(f, s->sum);
                fprintf(f, "\n%s_count", fam->name);
                write_labels(f, fam, s, NULL);
                fprintf(f, " %llu\n", (unsigned long long) s->count);
        }
        pthread_mutex_unlock(&fam->lock);
}

int metrics_registry_render(MetricsRegistry *r, char **ret, size_t *ret_size) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        pthread_mutex_lock(&r->lock);
        for (MetricsFamily *fam = r->families; fam; fam = fam->next)
                render_family(f, fam);
        for (MetricsCollectorEntry *c = r->collectors; c; c = c->next)
                (void) c->cb(f, c->userdata);
        pthread_mutex_unlock(&r->lock);
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        if (ret_size)
                *ret_size = size;
        return 0;
}

/* ---- process collector -------------------------------------------------------- */

static int read_file_small(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return 0;
}

static double boot_time(void) {
        char buf[8192];
        const char *p;

        if (read_file_small("/proc/stat", buf, sizeof(buf)) < 0)
                return 0;
        p = strstr(buf, "\nbtime ");
        return p ? strtod(p + 7, NULL) : 0;
}

static int count_open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static int process_collector(FILE *f, void *userdata) {
        char buf[4096];
        const char *p;
        unsigned long long utime = 0, stime = 0, starttime = 0, vsize = 0;
        long long rss = 0;
        long tck = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
        struct rlimit rl;
        int fds;

        if (read_file_small("/proc/self/stat", buf, sizeof(buf)) < 0)
                return -EIO;
        p = strrchr(buf, ')'); /* comm may contain spaces and parentheses */
        if (!p ||
            sscanf(p + 2,
                   "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s %*s %*s %llu %llu "
                   "%lld",
                   &utime,
                   &stime,
                   &starttime,
                   &vsize,
                   &rss) != 5)
                return -EIO;
        if (tck <= 0)
                tck = 100;

        metrics_write_header(
                f,
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                "counter");
        fputs("process_cpu_seconds_total ", f);
        metrics_write_value(f, (double) (utime + stime) / (double) tck);
        fputc('\n', f);
        metrics_write_header(f, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
        fputs("process_resident_memory_bytes ", f);
        metrics_write_value(f, (double) rss * (double) page);
        fputc('\n', f);
        metrics_write_header(f, "process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
        fputs("process_virtual_memory_bytes ", f);
        metrics_write_value(f, (double) vsize);
        fputc('\n', f);
        fds = count_open_fds();
        if (fds >= 0) {
                metrics_write_header(f, "process_open_fds", "Number of open file descriptors.", "gauge");
                fprintf(f, "process_open_fds %d\n", fds);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) >= 0) {
                metrics_write_header(
                        f, "process_max_fds", "Maximum number of open file descriptors.", "gauge");
                fputs("process_max_fds ", f);
                metrics_write_value(f, rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double) rl.rlim_cur);
                fputc('\n', f);
        }
        metrics_write_header(
                f,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                "gauge");
        fputs("process_start_time_seconds ", f);
        metrics_write_value(f, boot_time() + (double) starttime / (double) tck);
        fputc('\n', f);
        return 0;
}

int metrics_registry_add_process_collector(MetricsRegistry *r) {
        return metrics_registry_add_collector(r, process_collector, NULL);
}
