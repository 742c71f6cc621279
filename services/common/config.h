/* SPDX-License-Identifier: MIT */
/* config.h — one declarative configuration table per binary (redis's config.c style):
 * each entry names an environment variable, its type, default, bounds, help, and the
 * offset of the field it fills. The same table prints --help and the README table. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

typedef enum ConfigType {
        CONFIG_TYPE_STRING,    /* char * (strdup'ed, freed by config_free) */
        CONFIG_TYPE_INT,       /* int64_t, bounded by min/max */
        CONFIG_TYPE_BOOL,      /* bool: 1/0, true/false, yes/no, on/off */
        CONFIG_TYPE_DURATION,  /* uint64_t milliseconds; accepts "250ms", "5s", "2m", "1h", bare number =
                                  seconds; bounded by min/max (ms) */
        CONFIG_TYPE_SIZE,      /* uint64_t bytes; accepts "512", "64K", "16M", "1G"; bounded by min/max */
        CONFIG_TYPE_URL,       /* char *; must start with http:// or https:// */
        CONFIG_TYPE_ENUM,      /* char *; must be one of choices (NULL-terminated) */
        CONFIG_TYPE_LOG_LEVEL, /* int syslog level; accepts names or 0-7 */
        CONFIG_TYPE_HOST_PORT, /* char *; "host:port" with an IPv4 address or name and a port 0-65535 */
} ConfigType;

typedef struct ConfigEntry {
        const char *name;  /* environment variable, e.g. "ORCH_PORT" */
        const char *alias; /* accepted older name (the seed's), or NULL */
        ConfigType type;
        const char *def;            /* default as text, parsed like a user value; NULL = unset */
        int64_t min, max;           /* bounds for INT/DURATION(ms)/SIZE(bytes); min == max == 0 means none */
        const char *const *choices; /* CONFIG_TYPE_ENUM only */
        size_t offset;              /* offsetof(struct, field) */
        const char *help;
} ConfigEntry;

/* One table row per macro call (redis's createIntConfig(...) style):
 *
 *         CONFIG_INT("ORCH_WORKERS", "8", 1, 256, offsetof(OrchConfig, workers), "Worker threads."),
 *
 * def is text parsed like a user value (NULL = unset); min/max bound INT, DURATION (ms) and SIZE
 * (bytes), 0, 0 = none. An optional last argument CONFIG_ALIAS("OLD_NAME") names an older
 * variable read when the new one is unset. */
#define CONFIG_ALIAS(old) .alias = (old)
#define CONFIG_ENTRY_(t, n, d, lo, hi, ch, off, h, ...)                                          \
        {                                                                                        \
                .name = (n), .type = (t), .def = (d), .min = (lo), .max = (hi), .choices = (ch), \
                .offset = (off), .help = (h), __VA_ARGS__                                        \
        }
#define CONFIG_STR(n, d, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_STRING, n, d, 0, 0, NULL, off, h, __VA_ARGS__)
#define CONFIG_URL(n, d, off, h, ...) CONFIG_ENTRY_(CONFIG_TYPE_URL, n, d, 0, 0, NULL, off, h, __VA_ARGS__)
#define CONFIG_HOST_PORT(n, d, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_HOST_PORT, n, d, 0, 0, NULL, off, h, __VA_ARGS__)
#define CONFIG_BOOL(n, d, off, h, ...) CONFIG_ENTRY_(CONFIG_TYPE_BOOL, n, d, 0, 0, NULL, off, h, __VA_ARGS__)
#define CONFIG_LOG_LEVEL(n, d, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_LOG_LEVEL, n, d, 0, 0, NULL, off, h, __VA_ARGS__)
#define CONFIG_INT(n, d, lo, hi, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_INT, n, d, lo, hi, NULL, off, h, __VA_ARGS__)
#define CONFIG_DURATION(n, d, lo, hi, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_DURATION, n, d, lo, hi, NULL, off, h, __VA_ARGS__)
#define CONFIG_SIZE(n, d, lo, hi, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_SIZE, n, d, lo, hi, NULL, off, h, __VA_ARGS__)
#define CONFIG_ENUM(n, d, ch, off, h, ...) \
        CONFIG_ENTRY_(CONFIG_TYPE_ENUM, n, d, 0, 0, ch, off, h, __VA_ARGS__)

/* Fills cfg from the environment (defaults first). On a bad value returns -EINVAL and
 * sets *ret_error to a message naming the variable ("ORCH_PORT: 70000 is above 65535"),
 * which the caller prints and owns. */
int config_load(const ConfigEntry *table, size_t n, void *cfg, char **ret_error);
/* Same but from a lookup function (tests). */
int config_load_from(
        const ConfigEntry *table,
        size_t n,
        void *cfg,
        const char *(*lookup)(const char *name, void *userdata),
        void *userdata,
        char **ret_error);
void config_free(const ConfigEntry *table, size_t n, void *cfg);
/* --help output: one line per variable with type, default, bounds and help. */
void config_print_help(const ConfigEntry *table, size_t n, FILE *f);
/* A Markdown table (README's configuration section). */
void config_print_markdown(const ConfigEntry *table, size_t n, FILE *f);

/* Splits "host:port" (IPv4 address or DNS-ish name; port 0-65535). Returns -EINVAL on
 * anything else. ret_host may be NULL. */
int config_parse_host_port(const char *s, char **ret_host, uint16_t *ret_port);
/* Parsers used by the table, exposed for callers with their own syntax. */
int config_parse_duration_ms(const char *s, uint64_t *ret);
int config_parse_size(const char *s, uint64_t *ret);
int config_parse_bool(const char *s, bool *ret);
