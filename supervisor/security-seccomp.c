/* SPDX-License-Identifier: MIT */
/* security-seccomp.c — builds the filter a profile describes, the same way the OCI
 * runtime would (default action, one rule per allowed name), then exports it as BPF to
 * /dev/null: a profile that passes here is one runc can load. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json-util.h"
#include "macro.h"
#include "security-seccomp.h"

void seccomp_profile_info_done(SeccompProfileInfo *info) {
        free(info->bad_name);
        info->bad_name = NULL;
}

static void seccomp_releasep(scmp_filter_ctx *ctx) {
        if (*ctx)
                seccomp_release(*ctx);
}

static int fail(SeccompProfileInfo *info, int r, const char *name) {
        free(info->bad_name);
        info->bad_name = name ? strdup(name) : NULL;
        return r;
}

static int parse_action(json_object *o, const char *errno_key, json_object *parent, uint32_t *ret) {
        const char *s;
        json_object *e;
        int64_t errno_ret = EPERM;

        if (!o || !json_object_is_type(o, json_type_string))
                return -EINVAL;
        s = json_object_get_string(o);
        if (streq(s, "SCMP_ACT_ALLOW"))
                *ret = SCMP_ACT_ALLOW;
        else if (streq(s, "SCMP_ACT_ERRNO")) {
                if (json_object_object_get_ex(parent, errno_key, &e)) {
                        if (!json_object_is_type(e, json_type_int))
                                return -EINVAL;
                        errno_ret = json_object_get_int64(e);
                        if (errno_ret < 0 || errno_ret > 4095)
                                return -EINVAL;
                }
                *ret = SCMP_ACT_ERRNO((uint32_t) errno_ret);
        } else if (streq(s, "SCMP_ACT_KILL") || streq(s, "SCMP_ACT_KILL_THREAD"))
                *ret = SCMP_ACT_KILL;
        else if (streq(s, "SCMP_ACT_KILL_PROCESS"))
                *ret = SCMP_ACT_KILL_PROCESS;
        else if (streq(s, "SCMP_ACT_TRAP"))
                *ret = SCMP_ACT_TRAP;
        else if (streq(s, "SCMP_ACT_LOG"))
                *ret = SCMP_ACT_LOG;
        else
                return -EINVAL;
        return 0;
}

/* "SCMP_ARCH_X86_64" → libseccomp's token, or 0. */
static uint32_t parse_arch(const char *s) {
        static const struct {
                const char *oci;
                uint32_t token;
        } arches[] = {
                { "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 }, { "SCMP_ARCH_X86", SCMP_ARCH_X86 },
                { "SCMP_ARCH_X32", SCMP_ARCH_X32 },       { "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },
                { "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
        };
        for (size_t i = 0; i < ELEMENTSOF(arches); i++)
                if (streq(arches[i].oci, s))
                        return arches[i].token;
        return 0;
}

static int check_arches(json_object *root, SeccompProfileInfo *info) {
        json_object *map, *a, *arch;
        bool native = false;

        if (!json_object_object_get_ex(root, "archMap", &map))
                return 0; /* no archMap: the native architecture only */
        if (!json_object_is_type(map, json_type_array))
                return fail(info, -EINVAL, "archMap");
        for (size_t i = 0; i < json_object_array_length(map); i++) {
                a = json_object_array_get_idx(map, i);
                if (!json_object_object_get_ex(a, "architecture", &arch) ||
                    !json_object_is_type(arch, json_type_string))
                        return fail(info, -EINVAL, "archMap[].architecture");
                uint32_t t = parse_arch(json_object_get_string(arch));
                if (t == 0)
                        return fail(info, -EINVAL, json_object_get_string(arch));
                if (t == seccomp_arch_native())
                        native = true;
        }
        return native ? 0 : fail(info, -EINVAL, "archMap (no entry for this architecture)");
}

static int add_rules(scmp_filter_ctx ctx, json_object *rule, uint32_t def, SeccompProfileInfo *info) {
        json_object *names, *action, *args;
        uint32_t act;
        int r;

        if (!json_object_object_get_ex(rule, "names", &names) ||
            !json_object_is_type(names, json_type_array))
                return fail(info, -EINVAL, "syscalls[].names");
        if (!json_object_object_get_ex(rule, "action", &action) ||
            parse_action(action, "errnoRet", rule, &act) < 0)
                return fail(info, -EINVAL, "syscalls[].action");
        if (json_object_object_get_ex(rule, "args", &args) && json_object_is_type(args, json_type_array) &&
            json_object_array_length(args) > 0)
                return fail(info, -EINVAL, "syscalls[].args (argument filters are not supported)");
        for (size_t i = 0; i < json_object_array_length(names); i++) {
                json_object *n = json_object_array_get_idx(names, i);
                if (!json_object_is_type(n, json_type_string))
                        return fail(info, -EINVAL, "syscalls[].names[]");
                const char *name = json_object_get_string(n);
                int nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR)
                        return fail(info, -ENOENT, name);
                if (act == def)
                        continue; /* libseccomp refuses a rule that repeats the default */
                r = seccomp_rule_add(ctx, act, nr, 0);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return fail(info, r, name);
                if (act == SCMP_ACT_ALLOW)
                        info->n_allowed++;
        }
        return 0;
}

int seccomp_profile_check(const char *path, SeccompProfileInfo *info) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_close_ int null_fd = -EBADF;
        json_object *o, *syscalls;
        uint32_t def;
        int r;

        info->n_allowed = 0;
        info->bad_name = NULL;
        root = json_object_from_file(path);
        if (!root) {
                if (access(path, R_OK) < 0)
                        return -errno;
                return -EBADMSG;
        }
        if (!json_object_is_type(root, json_type_object))
                return -EBADMSG;
        if (!json_object_object_get_ex(root, "defaultAction", &o) ||
            parse_action(o, "defaultErrnoRet", root, &def) < 0)
                return fail(info, -EINVAL, "defaultAction");
        r = check_arches(root, info);
        if (r < 0)
                return r;

        ctx = seccomp_init(def);
        if (!ctx)
                return -ENOMEM;
        if (!json_object_object_get_ex(root, "syscalls", &syscalls) ||
            !json_object_is_type(syscalls, json_type_array))
                return fail(info, -EINVAL, "syscalls");
        for (size_t i = 0; i < json_object_array_length(syscalls); i++) {
                r = add_rules(ctx, json_object_array_get_idx(syscalls, i), def, info);
                if (r < 0)
                        return r;
        }

        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, null_fd);
        if (r < 0)
                return fail(info, r, "(BPF export)");
        return 0;
}
