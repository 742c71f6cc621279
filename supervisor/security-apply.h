/* SPDX-License-Identifier: MIT */
/* security-apply.h — installing the seccomp profiles for the pod's user: every profile
 * is validated before any is installed, then each is written atomically (temporary
 * file + rename, 0644) into ~/.config/ai-semble/seccomp/, and the installed units are
 * checked to reference them. */
#pragma once

#include <stdbool.h>

typedef struct SeccompApplyError {
        char *file; /* the profile that failed (caller frees) */
        char *name; /* the offending system call or key, or NULL */
} SeccompApplyError;

void seccomp_apply_error_done(SeccompApplyError *e);

typedef struct SeccompApplyProfile {
        char *file;       /* "nlp.json" */
        size_t n_allowed; /* system calls the profile allows */
} SeccompApplyProfile;

typedef struct SeccompApplyList {
        SeccompApplyProfile *profiles;
        size_t n_profiles;
} SeccompApplyList;

void seccomp_apply_list_done(SeccompApplyList *l);

/* Validates every *.json in dir with libseccomp (seccomp_profile_check). The first
 * failure returns -errno with ret_error naming the file and the system call; -ENOENT
 * with no file named when dir holds no profile. */
int seccomp_apply_validate(const char *dir, SeccompApplyList *ret, SeccompApplyError *ret_error);
/* Copies each validated profile from src_dir to dst_dir (created 0755), atomically. */
int seccomp_apply_install(const char *src_dir, const char *dst_dir, const SeccompApplyList *l);
/* Whether a unit's text runs its container under profile (an absolute path): a
 * generated unit's `--security-opt seccomp=PATH`, or a quadlet's `SeccompProfile=PATH`
 * where a leading %h stands for home. */
bool seccomp_apply_unit_references(const char *unit_text, const char *home, const char *profile);
/* The names a profile allows, space-separated, for systemd's SystemCallFilter=. */
int seccomp_apply_syscall_filter(const char *profile, char **ret);
