/* SPDX-License-Identifier: MIT */
/* manifest.h — what `install` wrote, so that start/stop/status/uninstall know the unit
 * names of the flavor in use without guessing: a small key=value file,
 * ~/.config/ai-semble/installed. */
#pragma once

#include "unit-names.h"

typedef struct Manifest {
        UnitFlavor flavor;
        char *pod_unit;
        char **services; /* short names, parallel to units */
        char **units;
        char **sockets; /* socket units: started before the services, stopped after them */
        char **files;   /* absolute paths install wrote */
        char *inputs;   /* digest of what install wrote them from (NULL in older manifests) */
} Manifest;

void manifest_done(Manifest *m);
/* Text form: "flavor=...", "pod=UNIT", "service=NAME UNIT" (one per container),
 * "socket=UNIT", "file=PATH", "inputs=HEX"; '#' comments. */
int manifest_format(const Manifest *m, char **ret);
int manifest_parse(const char *text, Manifest *ret);
int manifest_write(const char *path, const Manifest *m);
/* -ENOENT when nothing is installed. */
int manifest_read(const char *path, Manifest *ret);
/* Index of a service by short name or unit name, or -ENOENT. */
int manifest_find_service(const Manifest *m, const char *name);
