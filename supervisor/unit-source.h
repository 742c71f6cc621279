/* SPDX-License-Identifier: MIT */
/* unit-source.h — the quadlet files (ai-semble.pod, *.container, *.volume, and the
 * orchestrator's *.socket) parsed with systemd's unit-file syntax. They are the single
 * source of truth for the pod: both install flavors read them, none of their settings
 * are repeated in C. */
#pragma once

#include <stddef.h>

#include "macro.h"

typedef enum UnitKind {
        UNIT_KIND_POD,
        UNIT_KIND_CONTAINER,
        UNIT_KIND_VOLUME,
        UNIT_KIND_SOCKET, /* a systemd socket unit, installed as it is (socket activation) */
} UnitKind;

typedef struct UnitEntry {
        char *section;
        char *key;
        char *value;
        unsigned line;
} UnitEntry;

typedef struct UnitFile {
        char *name; /* file name, e.g. "ai-semble-llm.container" */
        UnitKind kind;
        UnitEntry *entries;
        size_t n_entries;
} UnitFile;

typedef struct UnitSet {
        UnitFile **files; /* sorted by name */
        size_t n_files;
} UnitSet;

/* Parses text in unit-file syntax: [Section] headers, Key=Value lines, '#'/';' comments,
 * lines continued with a trailing backslash (joined with a space), repeated keys kept
 * in order, and an empty assignment ("Key=") dropping the earlier values of that key.
 * name's suffix picks the kind. On a syntax error returns -EBADMSG and, if ret_error
 * is not NULL, a message naming the file and line. */
int unit_source_parse(const char *name, const char *text, UnitFile **ret, char **ret_error);
int unit_source_load_file(const char *path, UnitFile **ret, char **ret_error);
/* Loads every .pod/.container/.volume/.socket in dir. Another quadlet type (.network, .kube,
 * .image, .build) is refused with -EOPNOTSUPP rather than silently ignored. */
int unit_source_load_dir(const char *dir, UnitSet **ret, char **ret_error);

UnitFile *unit_file_free(UnitFile *u);
static inline void unit_file_freep(UnitFile **u) {
        unit_file_free(*u);
}
UnitSet *unit_set_free(UnitSet *s);
static inline void unit_set_freep(UnitSet **s) {
        unit_set_free(*s);
}

/* Last value of section/key, or NULL. */
const char *unit_file_get(const UnitFile *u, const char *section, const char *key);
/* The file name without its suffix ("ai-semble-llm"); returns NULL on OOM. */
char *unit_file_stem(const UnitFile *u);
/* Parses a unit-file boolean; -EINVAL if it is none. */
int unit_parse_bool(const char *v);

const UnitFile *unit_set_find(const UnitSet *s, const char *name);
/* The one .pod of the set, or NULL. */
const UnitFile *unit_set_pod(const UnitSet *s);
