/* SPDX-License-Identifier: MIT */
/* unit-install.c — publish/env rewriting and both install flavors. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "argv-util.h"
#include "error-message.h"
#include "fileio.h"
#include "paths.h"
#include "pod-services.h"
#include "podman-args.h"
#include "podman.h"
#include "security-selinux.h"
#include "unit-install.h"

/* The pod's services and their ports (services/pod-services.txt): with --dev every one is
 * published on loopback, besides the orchestrator's (seed contract). */
static const struct {
        const char *name;
        unsigned port;
} pod_services[] = { AI_SEMBLE_SERVICE_TABLE };

static bool valid_port(const char *s, size_t n) {
        unsigned long v = 0;

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

/* "[ip:]hostport[:8080]", ip possibly "[v6]" → the ListenStream= value "[ip:]hostport". */
static int listen_item(const char *item, char ***list) {
        const char *rest = item, *colon;
        _cleanup_free_ char *ip = NULL;
        size_t n;

        if (item[0] == '[') {
                const char *e = strchr(item, ']');
                if (!e || e[1] != ':')
                        return -EINVAL;
                ip = strndup(item, (size_t) (e - item + 1));
                rest = e + 2;
        } else {
                /* count colons: 0 → port; 1 → ip:port or port:port; 2 → ip:port:port */
                size_t colons = 0;
                for (const char *p = item; *p; p++)
                        colons += *p == ':';
                if (colons == 2 || (colons == 1 && strchr(item, '.'))) {
                        colon = strchr(item, ':');
                        ip = strndup(item, (size_t) (colon - item));
                        rest = colon + 1;
                } else if (colons > 2)
                        return -EINVAL;
        }
        if (rest != item && !ip)
                return -ENOMEM;
        if (ip && isempty(ip))
                return -EINVAL;

        colon = strchr(rest, ':');
        n = colon ? (size_t) (colon - rest) : strlen(rest);
        if (!valid_port(rest, n) || (colon && !valid_port(colon + 1, strlen(colon + 1))))
                return -EINVAL;
        /* The socket is passed into the container: there is no container port to pick. */
        if (colon && strtoul(colon + 1, NULL, 10) != AI_SEMBLE_PORT_ORCHESTRATOR)
                return -EINVAL;
        return ip ? argv_pushf(list, "%s:%.*s", ip, (int) n, rest) : argv_pushf(list, "%.*s", (int) n, rest);
}

int unit_install_listen_list(const char *publish, char ***ret) {
        _cleanup_argv_free_ char **list = NULL;
        _cleanup_free_ char *copy = NULL;
        char *save = NULL;
        int r;

        if (isempty(publish))
                return -EINVAL;
        copy = strdup(publish);
        if (!copy)
                return -ENOMEM;
        for (char *item = strtok_r(copy, ", ", &save); item; item = strtok_r(NULL, ", ", &save)) {
                r = listen_item(item, &list);
                if (r < 0)
                        return r;
        }
        if (!list)
                return -EINVAL;
        *ret = TAKE_PTR(list);
        return 0;
}

int unit_install_dev_publish_list(bool dev, char ***ret) {
        _cleanup_argv_free_ char **list = NULL;
        int r;

        for (size_t i = 0; dev && i < ELEMENTSOF(pod_services); i++) {
                if (pod_services[i].port == AI_SEMBLE_PORT_ORCHESTRATOR)
                        continue;
                r = argv_pushf(&list, "127.0.0.1:%u:%u", pod_services[i].port, pod_services[i].port);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(list);
        return 0;
}

static const char *key_of(const char *line, const char *key) {
        const char *p = line;

        while (*p == ' ' || *p == '\t')
                p++;
        p = startswith(p, key);
        if (!p)
                return NULL;
        while (*p == ' ' || *p == '\t')
                p++;
        return *p == '=' ? p + 1 : NULL;
}

int unit_install_rewrite(
        const char *text,
        const char *section,
        const char *key,
        char *const *values,
        const char *env_file,
        char **ret) {
        _cleanup_free_ char *out = NULL, *copy = strdup(text);
        bool in_section = false, written = false;
        size_t len = 0;
        FILE *f;

        if (!copy)
                return -ENOMEM;
        f = open_memstream(&out, &len);
        if (!f)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return -ENOMEM;

        for (char *p = copy; p;) {
                char *nl = strchr(p, '\n'), *line = p;
                const char *s = line;
                bool last = !nl || !nl[1];

                if (nl)
                        *nl = 0;
                p = nl && nl[1] ? nl + 1 : NULL;
                while (*s == ' ' || *s == '\t')
                        s++;

                if (*s == '[') {
                        if (in_section && !written)
                                for (size_t i = 0; values && values[i]; i++)
                                        fprintf(f, "%s=%s\n", key, values[i]);
                        written = written || in_section;
                        in_section = section && startswith(s, section) != NULL;
                        fprintf(f, "%s\n", line);
                } else if (in_section && key_of(s, key)) {
                        if (!written)
                                for (size_t i = 0; values && values[i]; i++)
                                        fprintf(f, "%s=%s\n", key, values[i]);
                        written = true;
                } else if (env_file && *s != '#' && key_of(s, "EnvironmentFile"))
                        fprintf(f, "EnvironmentFile=%s\n", env_file);
                else
                        fprintf(f, "%s%s", line, last && !nl ? "" : "\n");
        }
        if (in_section && !written)
                for (size_t i = 0; values && values[i]; i++)
                        fprintf(f, "%s=%s\n", key, values[i]);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(out);
        return 0;
}

void install_source_done(InstallSource *s) {
        unit_set_free(s->set);
        argv_free(s->texts);
        *s = (InstallSource){};
}

int unit_install_add_label(const char *text, const char *type, char **ret) {
        const char *h = strstr(text, "[Container]\n");

        while (h && h != text && h[-1] != '\n')
                h = strstr(h + 1, "[Container]\n");
        if (!h)
                return -ENOENT;
        h += strlen("[Container]\n");
        return asprintf(ret, "%.*sSecurityLabelType=%s\n%s", (int) (h - text), text, type, h) < 0 ? -ENOMEM
                                                                                                  : 0;
}

/* "ai-semble-nlp.container" → "nlp" */
static int container_service(const char *name, char **ret) {
        const char *p = startswith(name, "ai-semble-");
        const char *dot = p ? strrchr(p, '.') : NULL;

        if (!p || !dot || dot == p)
                return -EINVAL;
        *ret = strndup(p, dot - p);
        return *ret ? 0 : -ENOMEM;
}

int unit_install_load(const InstallOptions *o, InstallSource *ret, char **ret_error) {
        _cleanup_(install_source_done) InstallSource src = {};
        _cleanup_(unit_set_freep) UnitSet *names = NULL;
        _cleanup_argv_free_ char **listen = NULL, **publish = NULL;
        int r;

        r = unit_install_listen_list(o->publish, &listen);
        if (r == -EINVAL)
                return error_message(
                        ret_error, r, "AI_SEMBLE_PUBLISH=%s is not [ip:]port[:8080][,...]", o->publish);
        if (r >= 0)
                r = unit_install_dev_publish_list(o->dev, &publish);
        if (r < 0)
                return r;

        /* load once for the file list and the refusal of unsupported types */
        r = unit_source_load_dir(o->source_dir, &names, ret_error);
        if (r < 0)
                return r;
        if (names->n_files == 0)
                return error_message(ret_error, -ENOENT, "%s holds no quadlet files", o->source_dir);

        src.set = calloc(1, sizeof(UnitSet));
        if (!src.set)
                return -ENOMEM;
        src.set->files = calloc(names->n_files, sizeof(UnitFile *));
        if (!src.set->files)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return -ENOMEM;
        for (size_t i = 0; i < names->n_files; i++) {
                _cleanup_free_ char *path = NULL, *text = NULL, *rewritten = NULL;
                UnitFile *u = NULL;

                if (asprintf(&path, "%s/%s", o->source_dir, names->files[i]->name) < 0)
                        /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                        return -ENOMEM;
                r = read_full_file(path, SIZE_MAX, &text, NULL);
                if (r < 0)
                        return error_message(ret_error, r, "cannot read %s", path);
                /* The pod publishes only --dev's ports; the orchestrator's address is its
                 * socket unit's (AI_SEMBLE_PUBLISH), passed into the container. */
                if (names->files[i]->kind == UNIT_KIND_POD)
                        r = unit_install_rewrite(
                                text, "[Pod]", "PublishPort", publish, o->env_file, &rewritten);
                else if (streq(names->files[i]->name, ORCHESTRATOR_SOCKET))
                        r = unit_install_rewrite(
                                text, "[Socket]", "ListenStream", listen, o->env_file, &rewritten);
                else
                        r = unit_install_rewrite(text, NULL, NULL, NULL, o->env_file, &rewritten);
                if (r < 0)
                        return r;
                if (o->selinux_domains && names->files[i]->kind == UNIT_KIND_CONTAINER) {
                        _cleanup_free_ char *service = NULL, *type = NULL, *labelled = NULL;
                        r = container_service(names->files[i]->name, &service);
                        if (r < 0)
                                return error_message(
                                        ret_error,
                                        r,
                                        "%s: not named ai-semble-<service>.container",
                                        names->files[i]->name);
                        r = selinux_service_type(service, &type);
                        if (r >= 0)
                                r = unit_install_add_label(rewritten, type, &labelled);
                        if (r < 0)
                                return error_message(
                                        ret_error,
                                        r,
                                        "%s: cannot add SecurityLabelType=",
                                        names->files[i]->name);
                        free(rewritten);
                        rewritten = TAKE_PTR(labelled);
                }
                r = unit_source_parse(names->files[i]->name, rewritten, &u, ret_error);
                if (r < 0)
                        return r;
                src.set->files[src.set->n_files++] = u;
                r = argv_push(&src.texts, rewritten);
                if (r < 0)
                        return r;
        }
        if (!unit_set_pod(src.set))
                return error_message(ret_error, -ENOENT, "%s has no .pod file", o->source_dir);
        *ret = src;
        src = (InstallSource){};
        return 0;
}

int unit_install_manifest(const UnitSet *set, UnitFlavor flavor, Manifest *ret) {
        _cleanup_(manifest_done) Manifest m = { .flavor = flavor };
        const UnitFile *pod = unit_set_pod(set);
        int r;

        if (!pod)
                return -ENOENT;
        r = unit_names_pod_unit(pod, flavor, &m.pod_unit);
        if (r < 0)
                return r;
        for (size_t i = 0; i < set->n_files; i++) {
                _cleanup_free_ char *name = NULL, *unit = NULL;
                if (set->files[i]->kind == UNIT_KIND_SOCKET) {
                        r = argv_push(&m.sockets, set->files[i]->name);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (set->files[i]->kind != UNIT_KIND_CONTAINER)
                        continue;
                r = unit_names_service(pod, set->files[i], &name);
                if (r >= 0)
                        r = unit_names_container_unit(set->files[i], flavor, &unit);
                if (r >= 0)
                        r = argv_push(&m.services, name);
                if (r >= 0)
                        r = argv_push(&m.units, unit);
                if (r < 0)
                        return r;
        }
        *ret = m;
        m = (Manifest){ .flavor = _UNIT_FLAVOR_INVALID };
        return 0;
}

static int write_file_atomic(const char *path, const char *text, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        size_t len = strlen(text);
        int r;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0 || rename(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

/* Writes dir/name (creating dir) and records it in the manifest. */
static int install_text(const char *dir, const char *name, const char *text, Manifest *m, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = paths_mkdir_p(dir, 0755);
        if (r < 0)
                return error_message(ret_error, r, "cannot create %s", dir);
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        r = write_file_atomic(path, text, 0644);
        if (r < 0)
                return error_message(ret_error, r, "cannot write %s", path);
        return argv_push(&m->files, path);
}

/* Socket units go where systemd reads units in both flavors (Quadlet's generator does not
 * take them), next to the service of the same name that they activate. */
static int
install_sockets(const InstallOptions *o, const InstallSource *src, Manifest *m, char **ret_error) {
        int r;

        for (size_t i = 0; i < src->set->n_files; i++) {
                if (src->set->files[i]->kind != UNIT_KIND_SOCKET)
                        continue;
                r = install_text(o->unit_dir, src->set->files[i]->name, src->texts[i], m, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

int unit_install_quadlet(const InstallOptions *o, const InstallSource *src, Manifest *m, char **ret_error) {
        int r;

        for (size_t i = 0; i < src->set->n_files; i++) {
                if (src->set->files[i]->kind == UNIT_KIND_SOCKET)
                        continue;
                r = install_text(o->quadlet_dir, src->set->files[i]->name, src->texts[i], m, ret_error);
                if (r < 0)
                        return r;
        }
        return install_sockets(o, src, m, ret_error);
}

/* Runs podman and turns a non-zero exit into -EPROTO with its stderr in ret_error. */
static int run_checked(
        const InstallOptions *o, char *const *args, const char *cwd, char **ret_stdout, char **ret_error) {
        _cleanup_free_ char *err = NULL, *cmd = NULL;
        int status, r;

        r = podman_run(o->podman, args, cwd, &status, ret_stdout, &err);
        if (r < 0)
                return error_message(ret_error, r, "cannot run %s", o->podman);
        if (status != 0) {
                size_t l = err ? strlen(err) : 0;
                while (l > 0 && err[l - 1] == '\n')
                        err[--l] = 0;
                cmd = argv_join(args, " ");
                return error_message(
                        ret_error,
                        -EPROTO,
                        "'%s %s' exited with %d: %s",
                        o->podman,
                        strempty(cmd),
                        status,
                        strempty(err));
        }
        return 0;
}

int unit_install_generated(
        const InstallOptions *o, const InstallSource *src, Manifest *m, char **ret_error) {
        _cleanup_argv_free_ char **pod_args = NULL, **gen_args = NULL, **rm_args = NULL;
        _cleanup_free_ char *pod_name = NULL, *out = NULL;
        char *save = NULL;
        int r;

        /* translate everything before running anything */
        r = podman_args_check(src->set, o->home, ret_error);
        if (r < 0)
                return r;
        r = podman_args_pod_create(src->set, o->home, &pod_args, ret_error);
        if (r < 0)
                return r;
        r = podman_args_generate(src->set, &gen_args, ret_error);
        if (r < 0)
                return r;
        r = unit_names_pod_name(unit_set_pod(src->set), &pod_name);
        if (r < 0)
                return r;
        r = argv_push_many(&rm_args, "pod", "rm", "--force", "--ignore", pod_name);
        if (r < 0)
                return r;
        r = paths_mkdir_p(o->unit_dir, 0755);
        if (r < 0)
                return error_message(ret_error, r, "cannot create %s", o->unit_dir);

        /* a leftover of an earlier, interrupted install would make pod create fail */
        r = run_checked(o, rm_args, NULL, NULL, ret_error);
        if (r < 0)
                return r;
        r = run_checked(o, pod_args, NULL, NULL, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < src->set->n_files; i++) {
                _cleanup_argv_free_ char **args = NULL;
                if (src->set->files[i]->kind != UNIT_KIND_CONTAINER)
                        continue;
                r = podman_args_container_create(src->set, src->set->files[i], o->home, &args, ret_error);
                if (r >= 0)
                        r = run_checked(o, args, NULL, NULL, ret_error);
        }
        if (r >= 0)
                r = run_checked(o, gen_args, o->unit_dir, &out, ret_error);

        /* the pod only existed to be described; the units create their own */
        if (r < 0) {
                (void) podman_run(o->podman, rm_args, NULL, NULL, NULL, NULL);
                return r;
        }
        r = run_checked(o, rm_args, NULL, NULL, ret_error);
        if (r < 0)
                return r;

        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (line[0] != '/')
                        continue;
                r = argv_push(&m->files, line);
                if (r < 0)
                        return r;
        }
        if (!m->files)
                return error_message(ret_error, -EPROTO, "podman generate systemd wrote no unit files");

        /* What generate cannot write ([Unit] dependencies, WatchdogSec=): a drop-in each. */
        for (size_t i = 0; i < src->set->n_files; i++) {
                const UnitFile *u = src->set->files[i];
                _cleanup_free_ char *dropin = NULL, *unit = NULL, *dir = NULL;

                if (u->kind != UNIT_KIND_CONTAINER)
                        continue;
                r = podman_args_dropin(u, &dropin);
                if (r < 0)
                        return r;
                if (!dropin)
                        continue;
                r = unit_names_container_unit(u, UNIT_FLAVOR_GENERATED, &unit);
                if (r < 0)
                        return r;
                if (asprintf(&dir, "%s/%s.d", o->unit_dir, unit) < 0)
                        return -ENOMEM;
                r = install_text(dir, "50-ai-semble.conf", dropin, m, ret_error);
                if (r < 0)
                        return r;
        }
        return install_sockets(o, src, m, ret_error);
}

int unit_install_ensure_env_file(const char *path) {
        _cleanup_free_ char *dir = strdup(path);
        _cleanup_close_ int fd = -1;
        char *slash;
        int r;

        if (!dir)
                return -ENOMEM;
        if (access(path, F_OK) == 0)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return 0;
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                r = paths_mkdir_p(dir, 0700);
                if (r < 0)
                        return r;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return errno == EEXIST ? 0 : negative_errno();
        return 1;
}
