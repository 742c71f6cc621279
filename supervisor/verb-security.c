/* SPDX-License-Identifier: MIT */
/* verb-security.c — `security check [DIR]` and `security apply [DIR]`.
 *
 * check: validates every seccomp profile in DIR (default: the installed
 * ~/.config/ai-semble/seccomp) with libseccomp and reports SELinux's state.
 * apply: validates every profile in DIR (default AI_SEMBLE_SECCOMP_DIR) before
 * installing any, installs them into ~/.config/ai-semble/seccomp, checks that each
 * installed service unit runs under its profile (and, with SELinux, in its domain),
 * then applies the SELinux plan: labels the volumes, or says SELinux is disabled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "log.h"
#include "paths.h"
#include "security-apply.h"
#include "security-selinux.h"
#include "supervisor.h"

static int validate(const char *dir, const char *on_failure, bool print, SeccompApplyList *ret) {
        _cleanup_(seccomp_apply_error_done) SeccompApplyError e = {};
        int r;

        r = seccomp_apply_validate(dir, ret, &e);
        if (r == -ENOENT && !e.file)
                return log_error_errno(r, "No seccomp profiles (*.json) in %s", dir);
        if (r < 0 && !e.file)
                return log_error_errno(r, "Cannot read %s: %m", dir);
        if (r < 0)
                return log_error_errno(
                        r,
                        "seccomp profile %s is invalid: %s: %m%s",
                        e.file,
                        e.name ? e.name : "(see error)",
                        on_failure);
        for (size_t i = 0; print && i < ret->n_profiles; i++)
                printf("seccomp  %-24s ok  %zu system calls allowed\n",
                       ret->profiles[i].file,
                       ret->profiles[i].n_allowed);
        return 0;
}

/* The file that defines service i's container: the generated unit, or the quadlet. */
static int service_unit_path(const Supervisor *s, const Manifest *mf, size_t i, char **ret) {
        if (mf->flavor == UNIT_FLAVOR_QUADLET)
                return asprintf(ret, "%s/ai-semble-%s.container", s->paths.quadlet_dir, mf->services[i]) < 0
                        ? -ENOMEM
                        : 0;
        return asprintf(ret, "%s/%s", s->paths.unit_dir, mf->units[i]) < 0 ? -ENOMEM : 0;
}

/* Each installed service unit must reference its profile in dst (and, with label, its
 * SELinux domain). Reports every unit that does not; -EPERM if any. */
static int check_units(const Supervisor *s, const char *dst, bool label) {
        _cleanup_(manifest_done) Manifest mf = { .flavor = _UNIT_FLAVOR_INVALID };
        int r, bad = 0;

        r = manifest_read(s->paths.manifest, &mf);
        if (r == -ENOENT) {
                log_warning("No units installed yet ('ai-semble-supervisor install'): nothing to check");
                return 0;
        }
        if (r < 0)
                return log_error_errno(r, "Cannot read %s: %m", s->paths.manifest);
        for (size_t i = 0; mf.services && mf.services[i]; i++) {
                _cleanup_free_ char *unit = NULL, *text = NULL, *profile = NULL, *type = NULL;

                r = service_unit_path(s, &mf, i, &unit);
                if (r < 0 || asprintf(&profile, "%s/%s.json", dst, mf.services[i]) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory");
                r = read_full_file(unit, SIZE_MAX, &text, NULL);
                if (r < 0) {
                        log_error_errno(r, "Cannot read %s: %m", unit);
                        bad++;
                        continue;
                }
                if (!seccomp_apply_unit_references(text, s->paths.home, profile)) {
                        log_error(
                                "%s does not run its container under %s (no --security-opt seccomp= / "
                                "SeccompProfile=); run 'ai-semble-supervisor install'",
                                unit,
                                profile);
                        bad++;
                        continue;
                }
                if (access(profile, R_OK) < 0) {
                        log_error_errno(
                                errno, "%s references %s, which is not installed: %m", unit, profile);
                        bad++;
                        continue;
                }
                printf("unit     %-24s seccomp=%s\n", mf.units[i], profile);
                if (label) {
                        r = selinux_service_type(mf.services[i], &type);
                        if (r < 0)
                                return log_error_errno(r, "Bad service name %s", mf.services[i]);
                        if (!strstr(text, type)) {
                                log_error(
                                        "%s does not run in the SELinux domain %s; run "
                                        "'ai-semble-supervisor install'",
                                        unit,
                                        type);
                                bad++;
                        }
                }
        }
        return bad > 0 ? -EPERM : 0;
}

static int label_volumes(const Supervisor *s) {
        static const struct {
                const char *volume, *type;
        } volumes[] = {
                { "ai-semble-data", SELINUX_DATA_VOLUME_TYPE },
                { "ai-semble-models", SELINUX_MODELS_VOLUME_TYPE },
        };
        for (size_t i = 0; i < ELEMENTSOF(volumes); i++) {
                _cleanup_free_ char *dir = NULL;
                int r;
                /* rootless Podman's named volumes, as security/selinux/ai_semble.fc names them */
                if (asprintf(
                            &dir,
                            "%s/.local/share/containers/storage/volumes/%s",
                            s->paths.home,
                            volumes[i].volume) < 0)
                        return log_error_errno(-ENOMEM, "Out of memory");
                if (access(dir, F_OK) < 0) {
                        printf("selinux  %s not created yet: labelled on the next apply\n", dir);
                        continue;
                }
                r = selinux_label_tree(dir, volumes[i].type);
                if (r < 0)
                        return log_error_errno(r, "Cannot label %s as %s: %m", dir, volumes[i].type);
                printf("selinux  %s labelled %s\n", dir, volumes[i].type);
        }
        return 0;
}

int security_install_profiles(const Supervisor *s, const char *src, bool print) {
        _cleanup_(seccomp_apply_list_done) SeccompApplyList l = {};
        _cleanup_free_ char *dst = NULL;
        int r;

        if (asprintf(&dst, "%s/seccomp", s->paths.state_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = validate(src, "; nothing installed", print, &l); /* all of them, before installing any */
        if (r < 0)
                return r;
        r = paths_mkdir_p(s->paths.state_dir, 0700);
        if (r >= 0)
                r = seccomp_apply_install(src, dst, &l);
        if (r < 0)
                return log_error_errno(r, "Cannot install the profiles into %s: %m", dst);
        if (print)
                printf("seccomp  %zu profiles installed in %s\n", l.n_profiles, dst);
        else
                log_info("Installed %zu seccomp profiles in %s", l.n_profiles, dst);
        return 0;
}

static int security_apply(Supervisor *s, const char *src) {
        _cleanup_free_ char *dst = NULL;
        SelinuxState st;
        SelinuxPlan plan;
        int r;

        r = security_install_profiles(s, src, true);
        if (r < 0)
                return r;
        if (asprintf(&dst, "%s/seccomp", s->paths.state_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");

        selinux_state_get(&st);
        plan = selinux_plan(&st);
        r = check_units(s, dst, plan.kind == SELINUX_PLAN_LABEL);
        if (r < 0)
                return r;
        switch (plan.kind) {
        case SELINUX_PLAN_DISABLED:
                printf("selinux  %s\n", plan.message);
                return 0;
        case SELINUX_PLAN_MODULE_MISSING:
                return log_error_errno(-ENOENT, "%s (type %s is unknown)", plan.message, st.missing_type);
        case SELINUX_PLAN_LABEL:
                printf("selinux  %s\n", plan.message);
                return label_volumes(s);
        }
        return 0;
}

int verb_security(Supervisor *s, int argc, char **argv) {
        _cleanup_(seccomp_apply_list_done) SeccompApplyList l = {};
        _cleanup_free_ char *def = NULL;
        SelinuxState st;
        SelinuxPlan plan;
        int r;

        if (argc < 1 || argc > 2 || (!streq(argv[0], "check") && !streq(argv[0], "apply")))
                return log_error_errno(-EINVAL, "usage: security check|apply [DIR]");
        if (streq(argv[0], "apply"))
                return security_apply(s, argc == 2 ? argv[1] : s->cfg.seccomp_dir);

        if (argc == 1 && asprintf(&def, "%s/seccomp", s->paths.state_dir) < 0)
                return log_error_errno(-ENOMEM, "Out of memory");
        r = validate(argc == 2 ? argv[1] : def, "", true, &l);
        if (r < 0)
                return r;
        selinux_state_get(&st);
        plan = selinux_plan(&st);
        printf("selinux  %s%s%s\n",
               plan.message,
               st.missing_type ? "; unknown type: " : "",
               st.missing_type ? st.missing_type : "");
        return 0;
}
