/* SPDX-License-Identifier: MIT */
/* unit-source.c — parser for the quadlet files in systemd's unit-file syntax. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>

#include "fileio.h"
#include "unit-source.h"

static char *strip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                *--e = 0;
        return s;
}

static int kind_from_name(const char *name, UnitKind *ret) {
        static const struct {
                const char *suffix;
                UnitKind kind;
        } table[] = {
                { ".pod", UNIT_KIND_POD },
                { ".container", UNIT_KIND_CONTAINER },
                { ".volume", UNIT_KIND_VOLUME },
                { ".socket", UNIT_KIND_SOCKET },
        };
        size_t l = strlen(name);

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                size_t sl = strlen(table[i].suffix);
                if (l > sl && streq(name + l - sl, table[i].suffix)) {
                        *ret = table[i].kind;
                        return 0;
                }
        }
        return -EOPNOTSUPP;
}

static void entry_done(UnitEntry *e) {
        free(e->section);
        free(e->key);
        free(e->value);
}

UnitFile *unit_file_free(UnitFile *u) {
        if (!u)
                return NULL;
        for (size_t i = 0; i < u->n_entries; i++)
                entry_done(&u->entries[i]);
        free(u->entries);
        free(u->name);
        free(u);
        return NULL;
}

UnitSet *unit_set_free(UnitSet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_files; i++)
                unit_file_free(s->files[i]);
        free(s->files);
        free(s);
        return NULL;
}

static int
unit_file_add(UnitFile *u, const char *section, const char *key, const char *value, unsigned line) {
        UnitEntry *n;

        if (isempty(value)) {
                /* systemd semantics: an empty assignment resets the list built so far */
                size_t j = 0;
                for (size_t i = 0; i < u->n_entries; i++) {
                        UnitEntry *e = &u->entries[i];
                        if (streq(e->section, section) && streq(e->key, key))
                                entry_done(e);
                        else
                                u->entries[j++] = *e;
                }
                u->n_entries = j;
                return 0;
        }

        n = realloc(u->entries, sizeof(UnitEntry) * (u->n_entries + 1));
        if (!n)
                return -ENOMEM;
        u->entries = n;
        n = &u->entries[u->n_entries];
        *n = (UnitEntry){
                .section = strdup(section), .key = strdup(key), .value = strdup(value), .line = line
        };
        if (!n->section || !n->key || !n->value) {
                entry_done(n);
                return -ENOMEM;
        }
        u->n_entries++;
        return 0;
}

static int syntax_error(char **ret_error, const char *name, unsigned line, const char *what) {
        if (ret_error && asprintf(ret_error, "%s:%u: %s", name, line, what) < 0)
                *ret_error = NULL;
        return -EBADMSG;
}

int unit_source_parse(const char *name, const char *text, UnitFile **ret, char **ret_error) {
        _cleanup_(unit_file_freep) UnitFile *u = NULL;
        _cleanup_free_ char *section = NULL, *copy = NULL, *logical = NULL;
        size_t logical_len = 0;
        unsigned lineno = 0, logical_line = 0;
        UnitKind kind;
        int r;

        r = kind_from_name(name, &kind);
        if (r < 0) {
                (void) syntax_error(ret_error, name, 0, "not a .pod, .container, .volume or .socket file");
                return -EOPNOTSUPP;
        }

        u = calloc(1, sizeof(UnitFile));
        if (!u)
                return -ENOMEM;
        u->kind = kind;
        u->name = strdup(name);
        copy = strdup(text);
        if (!u->name || !copy)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return -ENOMEM;

        /* strtok_r would merge empty lines, which only matters for line numbers: walk by hand */
        for (char *p = copy; p;) {
                char *nl = strchr(p, '\n'), *line, *s;
                bool continued;
                size_t l;

                if (nl)
                        *nl = 0;
                line = p;
                p = nl ? nl + 1 : NULL;
                lineno++;

                s = strip(line);
                if (!logical && (*s == '#' || *s == ';' || *s == 0))
                        continue;
                if (logical && (*s == '#' || *s == ';'))
                        continue; /* comments inside a continuation are skipped, like systemd */

                l = strlen(s);
                continued = l > 0 && s[l - 1] == '\\';
                if (continued)
                        s[--l] = 0;

                if (logical) {
                        char *n = realloc(logical, logical_len + 1 + l + 1);
                        if (!n)
                                return -ENOMEM;
                        logical = n;
                        logical[logical_len++] = ' ';
                        memcpy(logical + logical_len, s, l + 1);
                        logical_len += l;
                } else {
                        logical = strdup(s);
                        if (!logical)
                                return -ENOMEM;
                        logical_len = l;
                        logical_line = lineno;
                }
                if (continued && p)
                        continue;

                s = strip(logical);
                if (*s == '[') {
                        char *e = strchr(s, ']');
                        if (!e || e[1] != 0 || e == s + 1)
                                return syntax_error(
                                        ret_error, name, logical_line, "malformed section header");
                        *e = 0;
                        free(section);
                        section = strdup(s + 1);
                        if (!section)
                                return -ENOMEM;
                } else {
                        char *eq = strchr(s, '=');
                        if (!eq)
                                return syntax_error(ret_error, name, logical_line, "expected Key=Value");
                        if (!section)
                                return syntax_error(
                                        ret_error, name, logical_line, "assignment outside of a section");
                        *eq = 0;
                        if (*strip(s) == 0)
                                return syntax_error(ret_error, name, logical_line, "empty key");
                        r = unit_file_add(u, section, strip(s), strip(eq + 1), logical_line);
                        if (r < 0)
                                return r;
                }
                free(logical);
                logical = NULL;
                logical_len = 0;
        }

        *ret = TAKE_PTR(u);
        return 0;
}

int unit_source_load_file(const char *path, UnitFile **ret, char **ret_error) {
        _cleanup_free_ char *buf = NULL;
        const char *name;
        int r;

        r = read_full_file(path, SIZE_MAX, &buf, NULL);
        if (r < 0)
                return r;
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
        return unit_source_parse(name, buf, ret, ret_error);
}

static int cmp_files(const void *a, const void *b) {
        return strcmp((*(UnitFile *const *) a)->name, (*(UnitFile *const *) b)->name);
}

int unit_source_load_dir(const char *dir, UnitSet **ret, char **ret_error) {
        static const char *const refused[] = { ".network", ".kube", ".image", ".build", ".artifact" };
        _cleanup_(unit_set_freep) UnitSet *s = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        s = calloc(1, sizeof(UnitSet));
        if (!s)
                return -ENOMEM;
        d = opendir(dir);
        if (!d)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return negative_errno();
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL;
                UnitFile *u = NULL, **n;
                UnitKind kind;
                const char *dot = strrchr(de->d_name, '.');

                if (de->d_name[0] == '.' || !dot)
                        continue;
                if (kind_from_name(de->d_name, &kind) < 0) {
                        for (size_t i = 0; i < ELEMENTSOF(refused); i++)
                                if (streq(dot, refused[i])) {
                                        if (ret_error &&
                                            asprintf(
                                                    ret_error,
                                                    "%s/%s: quadlet type '%s' is not supported by the "
                                                    "supervisor",
                                                    dir,
                                                    de->d_name,
                                                    dot) < 0)
                                                *ret_error = NULL;
                                        r = -EOPNOTSUPP;
                                        goto finish;
                                }
                        continue; /* README, backups, ... */
                }
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = unit_source_load_file(path, &u, ret_error);
                if (r < 0)
                        goto finish;
                n = realloc(s->files, sizeof(UnitFile *) * (s->n_files + 1));
                if (!n) {
                        unit_file_free(u);
                        r = -ENOMEM;
                        goto finish;
                }
                s->files = n;
                s->files[s->n_files++] = u;
        }
finish:
        closedir(d);
        if (r < 0)
                return r;
        if (s->n_files > 0)
                qsort(s->files, s->n_files, sizeof(UnitFile *), cmp_files);
        *ret = TAKE_PTR(s);
        return 0;
}

const char *unit_file_get(const UnitFile *u, const char *section, const char *key) {
        for (size_t i = u->n_entries; i > 0; i--) {
                const UnitEntry *e = &u->entries[i - 1];
                if (streq(e->section, section) && streq(e->key, key))
                        return e->value;
        }
        return NULL;
}

char *unit_file_stem(const UnitFile *u) {
        const char *dot = strrchr(u->name, '.');
        return strndup(u->name, dot ? (size_t) (dot - u->name) : strlen(u->name));
}

int unit_parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        if (!v)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

const UnitFile *unit_set_find(const UnitSet *s, const char *name) {
        for (size_t i = 0; i < s->n_files; i++)
                if (streq(s->files[i]->name, name))
                        return s->files[i];
        return NULL;
}

const UnitFile *unit_set_pod(const UnitSet *s) {
        for (size_t i = 0; i < s->n_files; i++)
                if (s->files[i]->kind == UNIT_KIND_POD)
                        return s->files[i];
        return NULL;
}
