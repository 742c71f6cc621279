/* SPDX-License-Identifier: MIT */
/* config.c — the declarative configuration table: parsing, bounds, aliases, and the
 * --help / Markdown printers generated from the same table. */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>

#include "config.h"
#include "error-message.h"
#include "log.h"

static int parse_u64_prefix(const char *s, uint64_t *ret, const char **ret_end) {
        uint64_t v = 0;
        const char *c = s;

        if (!isdigit((unsigned char) *c))
                return -EINVAL;
        for (; isdigit((unsigned char) *c); c++) {
                unsigned d = (unsigned) (*c - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        *ret_end = c;
        return 0;
}

static int mul_check(uint64_t v, uint64_t m, uint64_t *ret) {
        if (m != 0 && v > UINT64_MAX / m)
                return -ERANGE;
        *ret = v * m;
        return 0;
}

int config_parse_duration_ms(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t ms;
        } units[] = {
                { "ms", 1 },    { "s", 1000 },    { "sec", 1000 },
                { "m", 60000 }, { "min", 60000 }, { "h", 3600000 },
        };
        const char *end;
        uint64_t v;
        int r;

        r = parse_u64_prefix(s, &v, &end);
        if (r < 0)
                return r;
        if (*end == '\0')
                return mul_check(v, 1000, ret); /* bare number = seconds */
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(end, units[i].suffix))
                        return mul_check(v, units[i].ms, ret);
        return -EINVAL;
}

int config_parse_size(const char *s, uint64_t *ret) {
        const char *end;
        uint64_t v, m = 1;
        int r;

        r = parse_u64_prefix(s, &v, &end);
        if (r < 0)
                return r;
        switch (toupper((unsigned char) *end)) {
        case '\0':
                return mul_check(v, 1, ret);
        case 'B':
                m = 1;
                break;
        case 'K':
                m = UINT64_C(1) << 10;
                break;
        case 'M':
                m = UINT64_C(1) << 20;
                break;
        case 'G':
                m = UINT64_C(1) << 30;
                break;
        default:
                return -EINVAL;
        }
        if (m > 1) {
                end++;
                /* Accept K, KB, KiB (all binary). */
                if (*end == 'i')
                        end++;
                if (*end == 'B' || *end == 'b')
                        end++;
        } else
                end++;
        if (*end != '\0')
                return -EINVAL;
        return mul_check(v, m, ret);
}

int config_parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "true", "yes", "on" },
                                 *const no[] = { "0", "false", "no", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int config_parse_host_port(const char *s, char **ret_host, uint16_t *ret_port) {
        const char *colon = strrchr(s, ':'), *end;
        uint64_t port;
        size_t hl;

        if (!colon || colon == s)
                return -EINVAL;
        hl = (size_t) (colon - s);
        if (hl > 253)
                return -EINVAL;
        for (const char *c = s; c < colon; c++)
                if (!(isalnum((unsigned char) *c) || *c == '.' || *c == '-'))
                        return -EINVAL;
        if (parse_u64_prefix(colon + 1, &port, &end) < 0 || *end != '\0' || port > 65535 ||
            end - (colon + 1) > 5)
                return -EINVAL;
        if (ret_host) {
                char *h = strndup(s, hl);
                if (!h)
                        return -ENOMEM;
                *ret_host = h;
        }
        *ret_port = (uint16_t) port;
        return 0;
}

static bool has_bounds(const ConfigEntry *e) {
        return !(e->min == 0 && e->max == 0);
}

static int
check_bounds_u64(const ConfigEntry *e, const char *var, const char *value, uint64_t v, char **ret_error) {
        if (!has_bounds(e))
                return 0;
        if (e->min > 0 && v < (uint64_t) e->min)
                return error_message(
                        ret_error, -EINVAL, "%s: '%s' is below the minimum %" PRId64, var, value, e->min);
        if (e->max > 0 && v > (uint64_t) e->max)
                return error_message(
                        ret_error, -EINVAL, "%s: '%s' is above the maximum %" PRId64, var, value, e->max);
        return 0;
}

static char **field_str(const ConfigEntry *e, void *cfg) {
        return (char **) ((uint8_t *) cfg + e->offset);
}

static bool type_is_string(ConfigType t) {
        return t == CONFIG_TYPE_STRING || t == CONFIG_TYPE_URL || t == CONFIG_TYPE_ENUM ||
                t == CONFIG_TYPE_HOST_PORT;
}

/* Parses value into the field of e; var is the name the value came from. */
static int
config_set(const ConfigEntry *e, const char *var, const char *value, void *cfg, char **ret_error) {
        void *field = (uint8_t *) cfg + e->offset;
        uint64_t u;
        int r;

        switch (e->type) {
        case CONFIG_TYPE_STRING:
        case CONFIG_TYPE_URL:
        case CONFIG_TYPE_ENUM:
        case CONFIG_TYPE_HOST_PORT: {
                char *copy;

                if (strlen(value) > 4096)
                        return error_message(ret_error, -EINVAL, "%s: value is longer than 4096 bytes", var);
                if (e->type == CONFIG_TYPE_URL && !startswith(value, "http://") &&
                    !startswith(value, "https://"))
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s: '%s' is not an http:// or https:// URL",
                                var,
                                value);
                if (e->type == CONFIG_TYPE_URL &&
                    (strlen(value) <= strlen("https://") || strpbrk(value, " \t\r\n") != NULL))
                        return error_message(ret_error, -EINVAL, "%s: '%s' is not a valid URL", var, value);
                if (e->type == CONFIG_TYPE_ENUM) {
                        bool found = false;
                        for (const char *const *c = e->choices; c && *c; c++)
                                if (streq(*c, value))
                                        found = true;
                        if (!found)
                                return error_message(
                                        ret_error,
                                        -EINVAL,
                                        "%s: '%s' is not one of the allowed values",
                                        var,
                                        value);
                }
                if (e->type == CONFIG_TYPE_HOST_PORT) {
                        uint16_t port;
                        if (config_parse_host_port(value, NULL, &port) < 0)
                                return error_message(
                                        ret_error,
                                        -EINVAL,
                                        "%s: '%s' is not HOST:PORT (port 0-65535)",
                                        var,
                                        value);
                }
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = copy;
                return 0;
        }
        case CONFIG_TYPE_INT: {
                char *end = NULL;
                long long v;

                errno = 0;
                v = strtoll(value, &end, 10);
                if (errno == ERANGE)
                        return error_message(ret_error, -EINVAL, "%s: '%s' is out of range", var, value);
                if (!end || end == value || *end != '\0' || isspace((unsigned char) value[0]))
                        return error_message(ret_error, -EINVAL, "%s: '%s' is not an integer", var, value);
                if (has_bounds(e) && (v < e->min || v > e->max))
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s: '%s' is out of range %" PRId64 "..%" PRId64,
                                var,
                                value,
                                e->min,
                                e->max);
                *(int64_t *) field = v;
                return 0;
        }
        case CONFIG_TYPE_BOOL:
                if (config_parse_bool(value, (bool *) field) < 0)
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s: '%s' is not a boolean (use true/false)",
                                var,
                                value);
                return 0;
        case CONFIG_TYPE_DURATION:
        case CONFIG_TYPE_SIZE: {
                bool duration = e->type == CONFIG_TYPE_DURATION;

                r = duration ? config_parse_duration_ms(value, &u) : config_parse_size(value, &u);
                if (r < 0)
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s: '%s' is not a valid %s (use e.g. %s)",
                                var,
                                value,
                                duration ? "duration" : "size",
                                duration ? "250ms, 5s, 2m, 1h" : "512, 64K, 16M, 1G");
                r = check_bounds_u64(e, var, value, u, ret_error);
                if (r < 0)
                        return r;
                *(uint64_t *) field = u;
                return 0;
        }
        case CONFIG_TYPE_LOG_LEVEL:
                r = log_level_from_string(value);
                if (r < 0)
                        return error_message(
                                ret_error,
                                -EINVAL,
                                "%s: '%s' is not a log level (debug, info, notice, warning, error, crit or "
                                "0-7)",
                                var,
                                value);
                *(int *) field = r;
                return 0;
        }
        return error_message(ret_error, -EINVAL, "%s: unknown configuration type %d", var, (int) e->type);
}

static const char *env_lookup(const char *name, void *userdata) {
        return getenv(name);
}

int config_load(const ConfigEntry *table, size_t n, void *cfg, char **ret_error) {
        return config_load_from(table, n, cfg, env_lookup, NULL, ret_error);
}

int config_load_from(
        const ConfigEntry *table,
        size_t n,
        void *cfg,
        const char *(*lookup)(const char *name, void *userdata),
        void *userdata,
        char **ret_error) {
        int r;

        for (size_t i = 0; i < n; i++)
                if (type_is_string(table[i].type))
                        *field_str(&table[i], cfg) = NULL;

        for (size_t i = 0; i < n; i++) {
                const ConfigEntry *e = &table[i];
                const char *var = e->name, *value = lookup(e->name, userdata);

                /* Empty means unset: "FOO=" in an env file keeps the default. */
                if (isempty(value) && e->alias) {
                        var = e->alias;
                        value = lookup(e->alias, userdata);
                }
                if (isempty(value)) {
                        var = e->name;
                        value = e->def;
                        if (!value) {
                                if (!type_is_string(e->type))
                                        memset((uint8_t *) cfg + e->offset,
                                               0,
                                               e->type == CONFIG_TYPE_BOOL ? sizeof(bool)
                                                       : e->type == CONFIG_TYPE_LOG_LEVEL
                                                       ? sizeof(int)
                                                       : sizeof(uint64_t));
                                continue;
                        }
                }
                r = config_set(e, var, value, cfg, ret_error);
                if (r < 0) {
                        config_free(table, n, cfg);
                        return r;
                }
        }
        return 0;
}

void config_free(const ConfigEntry *table, size_t n, void *cfg) {
        for (size_t i = 0; i < n; i++)
                if (type_is_string(table[i].type)) {
                        char **p = field_str(&table[i], cfg);
                        free(*p);
                        *p = NULL;
                }
}

static const char *type_name(ConfigType t) {
        switch (t) {
        case CONFIG_TYPE_STRING:
                return "string";
        case CONFIG_TYPE_INT:
                return "integer";
        case CONFIG_TYPE_BOOL:
                return "boolean";
        case CONFIG_TYPE_DURATION:
                return "duration";
        case CONFIG_TYPE_SIZE:
                return "size";
        case CONFIG_TYPE_URL:
                return "url";
        case CONFIG_TYPE_ENUM:
                return "enum";
        case CONFIG_TYPE_LOG_LEVEL:
                return "log-level";
        case CONFIG_TYPE_HOST_PORT:
                return "host:port";
        }
        return "?";
}

static void format_bounds(const ConfigEntry *e, char *buf, size_t size) {
        buf[0] = '\0';
        if (e->type == CONFIG_TYPE_ENUM) {
                size_t off = 0;
                for (const char *const *c = e->choices; c && *c && off < size; c++) {
                        int k = snprintf(buf + off, size - off, "%s%s", off ? "|" : "", *c);
                        if (k < 0)
                                break;
                        off += (size_t) k;
                }
                return;
        }
        if (!has_bounds(e))
                return;
        if (e->type == CONFIG_TYPE_DURATION)
                snprintf(buf, size, "%" PRId64 "ms..%" PRId64 "ms", e->min, e->max);
        else
                snprintf(buf, size, "%" PRId64 "..%" PRId64, e->min, e->max);
}

void config_print_help(const ConfigEntry *table, size_t n, FILE *f) {
        for (size_t i = 0; i < n; i++) {
                const ConfigEntry *e = &table[i];
                char bounds[256];

                format_bounds(e, bounds, sizeof(bounds));
                fprintf(f,
                        "  %-24s %-10s default: %s",
                        e->name,
                        type_name(e->type),
                        e->def ? e->def : "(unset)");
                if (bounds[0])
                        fprintf(f, "  [%s]", bounds);
                fprintf(f, "\n      %s", strempty(e->help));
                if (e->alias)
                        fprintf(f, " (also read from %s)", e->alias);
                fputc('\n', f);
        }
}

void config_print_markdown(const ConfigEntry *table, size_t n, FILE *f) {
        fputs("| Variable | Type | Default | Range | Description |\n", f);
        fputs("|---|---|---|---|---|\n", f);
        for (size_t i = 0; i < n; i++) {
                const ConfigEntry *e = &table[i];
                char bounds[256];

                format_bounds(e, bounds, sizeof(bounds));
                fprintf(f,
                        "| `%s` | %s | %s%s%s | %s | %s%s%s%s |\n",
                        e->name,
                        type_name(e->type),
                        e->def ? "`" : "",
                        e->def ? e->def : "—",
                        e->def ? "`" : "",
                        bounds[0] ? bounds : "—",
                        strempty(e->help),
                        e->alias ? " Also read from `" : "",
                        e->alias ? e->alias : "",
                        e->alias ? "`." : "");
        }
}
