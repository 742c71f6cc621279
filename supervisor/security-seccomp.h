/* SPDX-License-Identifier: MIT */
/* security-seccomp.h — validates a Podman/OCI seccomp profile with libseccomp: every
 * system-call name must resolve on this architecture, the filter must build and export
 * as BPF. Argument filters are not used by ai-semble's profiles and are refused. */
#pragma once

#include <stddef.h>

typedef struct SeccompProfileInfo {
        size_t n_allowed; /* distinct names with an allowing action */
        char *bad_name;   /* on failure: the offending name or key (caller frees) */
} SeccompProfileInfo;

void seccomp_profile_info_done(SeccompProfileInfo *info);

/* Loads and checks the profile at path. On failure returns -errno and, when one name
 * or key is to blame, sets info->bad_name: -ENOENT unknown system call, -EINVAL a
 * malformed or unsupported field, -EBADMSG not JSON. */
int seccomp_profile_check(const char *path, SeccompProfileInfo *info);
