/* SPDX-License-Identifier: MIT */
/* manifest.c — the installed-units record. */
#include <fcntl.h>
#include <stdio.h>

#include "argv-util.h"
#include "manifest.h"

void manifest_done(Manifest *m) {
        free(m->pod_unit);
        argv_free(m->services);
        argv_free(m->units);
        argv_free(m->sockets);
        argv_free(m->files);
        free(m->inputs);
        *m = (Manifest){ .flavor = _UNIT_FLAVOR_INVALID };
}

int manifest_format(const Manifest *m, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t len = 0;
        FILE *f;

        if (!unit_flavor_to_string(m->flavor) || !m->pod_unit)
                return -EINVAL;
        f = open_memstream(&s, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "# written by ai-semble-supervisor install; read by start/stop/status/uninstall\n");
        fprintf(f, "flavor=%s\npod=%s\n", unit_flavor_to_string(m->flavor), m->pod_unit);
        for (size_t i = 0; m->services && m->services[i]; i++)
                fprintf(f, "service=%s %s\n", m->services[i], m->units[i]);
        for (size_t i = 0; m->sockets && m->sockets[i]; i++)
                fprintf(f, "socket=%s\n", m->sockets[i]);
        for (size_t i = 0; m->files && m->files[i]; i++)
                fprintf(f, "file=%s\n", m->files[i]);
        if (m->inputs)
                fprintf(f, "inputs=%s\n", m->inputs);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

int manifest_parse(const char *text, Manifest *ret) {
        _cleanup_(manifest_done) Manifest m = { .flavor = _UNIT_FLAVOR_INVALID };
        _cleanup_free_ char *copy = strdup(text);
        char *save = NULL;
        int r = 0;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *v;

                if (line[0] == '#' || line[0] == 0)
                        continue;
                if ((v = startswith(line, "flavor="))) {
                        m.flavor = unit_flavor_from_string(v);
                        if (m.flavor < 0)
                                return -EBADMSG;
                } else if ((v = startswith(line, "pod="))) {
                        free(m.pod_unit);
                        m.pod_unit = strdup(v);
                        if (!m.pod_unit)
                                return -ENOMEM;
                } else if ((v = startswith(line, "service="))) {
                        const char *sp = strchr(v, ' ');
                        _cleanup_free_ char *name = NULL;
                        if (!sp || sp == v || !sp[1])
                                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                                return -EBADMSG;
                        name = strndup(v, (size_t) (sp - v));
                        if (!name)
                                return -ENOMEM;
                        r = argv_push(&m.services, name);
                        if (r >= 0)
                                r = argv_push(&m.units, sp + 1);
                } else if ((v = startswith(line, "socket=")))
                        r = argv_push(&m.sockets, v);
                else if ((v = startswith(line, "file=")))
                        r = argv_push(&m.files, v);
                else if ((v = startswith(line, "inputs="))) {
                        free(m.inputs);
                        m.inputs = strdup(v);
                        if (!m.inputs)
                                return -ENOMEM;
                } else
                        /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                        return -EBADMSG;
                if (r < 0)
                        return r;
        }
        if (m.flavor < 0 || !m.pod_unit)
                return -EBADMSG;
        *ret = m;
        m = (Manifest){ .flavor = _UNIT_FLAVOR_INVALID };
        return 0;
}

int manifest_write(const char *path, const Manifest *m) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        size_t len;
        int r;

        r = manifest_format(m, &text);
        if (r < 0)
                return r;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return negative_errno();
        len = strlen(text);
        if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int manifest_read(const char *path, Manifest *ret) {
        _cleanup_fclose_ FILE *f = NULL;
        char buf[65536];
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        n = fread(buf, 1, sizeof(buf) - 1, f);
        if (ferror(f))
                /* cppcheck-suppress resourceLeak ; freed by the _cleanup_ attribute */
                return -EIO;
        if (!feof(f))
                /* cppcheck-suppress resourceLeak ; freed by the _cleanup_ attribute */
                return -EFBIG;
        buf[n] = 0;
        /* cppcheck-suppress resourceLeak ; freed by the _cleanup_ attribute */
        return manifest_parse(buf, ret);
}

int manifest_find_service(const Manifest *m, const char *name) {
        for (size_t i = 0; m->services && m->services[i]; i++)
                if (streq(m->services[i], name) || streq(m->units[i], name))
                        return (int) i;
        return -ENOENT;
}
