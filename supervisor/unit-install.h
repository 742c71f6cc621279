/* SPDX-License-Identifier: MIT */
/* unit-install.h — writing the units for the Podman found: the quadlet files themselves
 * for Podman >= 5 (Quadlet generates the units), or `podman generate systemd --new`
 * units for Podman 4, made from the same quadlet files. */
#pragma once

#include "manifest.h"
#include "unit-source.h"

typedef struct InstallOptions {
        const char *source_dir; /* AI_SEMBLE_QUADLET_DIR */
        const char *publish;    /* AI_SEMBLE_PUBLISH: "[ip:]hostport[:containerport][,...]" */
        bool dev;               /* also publish 8081-8084 on 127.0.0.1 */
        const char *env_file;   /* absolute path written into EnvironmentFile= */
        const char *podman;
        const char *home;
        const char *quadlet_dir; /* Quadlet's user directory (target for flavor quadlet) */
        const char *unit_dir;    /* systemd's user unit directory (target for flavor generated) */
        bool selinux_domains;    /* each container gets SecurityLabelType=ai_semble_<svc>_t */
} InstallOptions;

/* The orchestrator's socket unit (socket activation): systemd holds its address and
 * passes it into the container, so connections wait in its queue across restarts. */
#define ORCHESTRATOR_SOCKET "ai-semble-orchestrator.socket"

/* AI_SEMBLE_PUBLISH as that socket's ListenStream= values: "127.0.0.1:8080" as it is,
 * "[::1]:8080", "8080" (every address); an item may still name the container port of the
 * published-port days, which must then be 8080 ("127.0.0.1:9000:8080" → "127.0.0.1:9000").
 * -EINVAL on a malformed item. */
int unit_install_listen_list(const char *publish, char ***ret);
/* The pod's PublishPort= values: with dev, "127.0.0.1:808N:808N" for every service but
 * the orchestrator; none (NULL) otherwise. */
int unit_install_dev_publish_list(bool dev, char ***ret);
/* Rewrites one unit file's text: in [section] (NULL: none), the key= lines become values
 * (NULL: removed); [Container] EnvironmentFile= becomes env_file (NULL: unchanged).
 * Comments are kept. */
int unit_install_rewrite(
        const char *text,
        const char *section,
        const char *key,
        char *const *values,
        const char *env_file,
        char **ret);

/* Adds "SecurityLabelType=type" right after a container file's [Container] header: the
 * Quadlet flavor installs that text, the generated flavor turns it into
 * --security-opt label=type:TYPE. -ENOENT without a [Container] section. */
int unit_install_add_label(const char *text, const char *type, char **ret);

/* The source directory's files, rewritten, as text and parsed. texts[i] belongs to set->files[i]. */
typedef struct InstallSource {
        UnitSet *set;
        char **texts;
} InstallSource;
void install_source_done(InstallSource *s);
int unit_install_load(const InstallOptions *o, InstallSource *ret, char **ret_error);

/* Unit names of a flavor for the set, in the manifest (files left empty). */
int unit_install_manifest(const UnitSet *set, UnitFlavor flavor, Manifest *ret);

/* Podman >= 5: copies the rewritten files into o->quadlet_dir; adds their paths to m->files. */
int unit_install_quadlet(const InstallOptions *o, const InstallSource *src, Manifest *m, char **ret_error);
/* Podman < 5: pod create + create per container, generate systemd into o->unit_dir, then
 * removes the temporary pod; adds the unit files written to m->files. */
int unit_install_generated(const InstallOptions *o, const InstallSource *src, Manifest *m, char **ret_error);
/* Creates an empty env file (0600, directory 0700) when there is none: podman reads it
 * at create time and systemd at every start. Returns 1 if it was created. */
int unit_install_ensure_env_file(const char *path);
