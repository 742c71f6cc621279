/* SPDX-License-Identifier: MIT */
/* security-apply.c — validate all, then install: a profile that does not load stops
 * the apply before anything is written, so the installed set is never half old, half
 * new. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "argv-util.h"
#include "json-util.h"
#include "paths.h"
#include "security-apply.h"
#include "security-seccomp.h"

void seccomp_apply_error_done(SeccompApplyError *e) {
        free(e->file);
        free(e->name);
        *e = (SeccompApplyError){};
}

void seccomp_apply_list_done(SeccompApplyList *l) {
        for (size_t i = 0; i < l->n_profiles; i++)
                free(l->profiles[i].file);
        free(l->profiles);
        *l = (SeccompApplyList){};
}

static int json_filter(const struct dirent *d) {
        size_t n = strlen(d->d_name);
        return n > 5 && d->d_name[0] != '.' && streq(d->d_name + n - 5, ".json");
}

static void free_dirents(struct dirent **list, int n) {
        for (int i = 0; i < n; i++)
                free(list[i]);
        free(list);
}

int seccomp_apply_validate(const char *dir, SeccompApplyList *ret, SeccompApplyError *ret_error) {
        _cleanup_(seccomp_apply_list_done) SeccompApplyList l = {};
        struct dirent **list = NULL;
        int n, r = 0;

        n = scandir(dir, &list, json_filter, alphasort);
        if (n < 0)
                return negative_errno();
        if (n == 0) {
                free(list);
                return -ENOENT;
        }
        l.profiles = calloc(n, sizeof(SeccompApplyProfile));
        if (!l.profiles) {
                free_dirents(list, n);
                return -ENOMEM;
        }
        for (int i = 0; i < n && r >= 0; i++) {
                _cleanup_(seccomp_profile_info_done) SeccompProfileInfo info = {};
                _cleanup_free_ char *path = NULL;

                if (asprintf(&path, "%s/%s", dir, list[i]->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = seccomp_profile_check(path, &info);
                if (r < 0) {
                        ret_error->file = strdup(path);
                        ret_error->name = info.bad_name ? strdup(info.bad_name) : NULL;
                        break;
                }
                l.profiles[l.n_profiles].file = strdup(list[i]->d_name);
                if (!l.profiles[l.n_profiles].file) {
                        r = -ENOMEM;
                        break;
                }
                l.profiles[l.n_profiles++].n_allowed = info.n_allowed;
        }
        free_dirents(list, n);
        if (r < 0)
                /* cppcheck-suppress memleak ; freed by the _cleanup_ attribute */
                return r;
        *ret = l;
        l = (SeccompApplyList){};
        return 0;
}

static int copy_atomic(const char *src, const char *dst) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        char buf[16384];
        ssize_t n;
        int r = 0;

        if (asprintf(&tmp, "%s.XXXXXX", dst) < 0)
                return -ENOMEM;
        in = open(src, O_RDONLY | O_CLOEXEC);
        if (in < 0)
                return negative_errno();
        out = mkostemp(tmp, O_CLOEXEC);
        if (out < 0)
                return negative_errno();
        while ((n = read(in, buf, sizeof(buf))) > 0)
                if (write(out, buf, n) != n) {
                        r = errno > 0 ? -errno : -EIO;
                        break;
                }
        if (n < 0 && r >= 0)
                r = negative_errno();
        if (r >= 0 && fchmod(out, 0644) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(out) < 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, dst) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int seccomp_apply_install(const char *src_dir, const char *dst_dir, const SeccompApplyList *l) {
        int r;

        r = paths_mkdir_p(dst_dir, 0755);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l->n_profiles; i++) {
                _cleanup_free_ char *src = NULL, *dst = NULL;
                if (asprintf(&src, "%s/%s", src_dir, l->profiles[i].file) < 0 ||
                    asprintf(&dst, "%s/%s", dst_dir, l->profiles[i].file) < 0)
                        return -ENOMEM;
                r = copy_atomic(src, dst);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether value names profile: equal, or "%h/rest" with home + "/rest" equal to it. */
static bool same_path(const char *value, size_t len, const char *home, const char *profile) {
        size_t hl = strlen(home);

        if (len >= 2 && strncmp(value, "%h", 2) == 0) {
                if (strncmp(profile, home, hl) != 0)
                        return false;
                return strlen(profile + hl) == len - 2 && strncmp(profile + hl, value + 2, len - 2) == 0;
        }
        return strlen(profile) == len && strncmp(profile, value, len) == 0;
}

bool seccomp_apply_unit_references(const char *unit_text, const char *home, const char *profile) {
        static const char *const keys[] = { "seccomp=", "SeccompProfile=" };

        for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                for (const char *p = strstr(unit_text, keys[k]); p; p = strstr(p + 1, keys[k])) {
                        const char *v = p + strlen(keys[k]);
                        size_t len = strcspn(v, " \t\n\\\"'");
                        /* "seccomp=" must start an option value, not end another key */
                        if (k == 0 && p > unit_text && !strchr(" \t\"'", p[-1]))
                                continue;
                        if (k == 1 && p > unit_text && p[-1] != '\n')
                                continue;
                        if (same_path(v, len, home, profile))
                                return true;
                }
        return false;
}

int seccomp_apply_syscall_filter(const char *profile, char **ret) {
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_argv_free_ char **names = NULL;
        json_object *syscalls;
        int r;

        root = json_object_from_file(profile);
        if (!root)
                return access(profile, R_OK) < 0 ? negative_errno() : -EBADMSG;
        if (!json_object_object_get_ex(root, "syscalls", &syscalls) ||
            !json_object_is_type(syscalls, json_type_array))
                return -EINVAL;
        for (size_t i = 0; i < json_object_array_length(syscalls); i++) {
                json_object *rule = json_object_array_get_idx(syscalls, i), *action, *list;
                if (!json_object_object_get_ex(rule, "action", &action) ||
                    !streq(json_object_get_string(action), "SCMP_ACT_ALLOW") ||
                    !json_object_object_get_ex(rule, "names", &list) ||
                    !json_object_is_type(list, json_type_array))
                        continue;
                for (size_t j = 0; j < json_object_array_length(list); j++) {
                        r = argv_push(&names, json_object_get_string(json_object_array_get_idx(list, j)));
                        if (r < 0)
                                return r;
                }
        }
        if (!names)
                return -EINVAL;
        *ret = argv_join(names, " ");
        return *ret ? 0 : -ENOMEM;
}
