/* SPDX-License-Identifier: MIT */
/* fileio.h — whole-file reads: configuration, unit texts, key files, lexicons. */
#pragma once

#include <stddef.h>
#include <stdint.h> /* SIZE_MAX: no cap */

/* Reads all of path into a NUL-terminated buffer (*ret, freed by the caller; *ret_size
 * without the NUL, ret_size may be NULL). -EFBIG when it holds more than max bytes;
 * -errno of fopen() or of the read (-EIO when it gives none), -ENOMEM. Works on pipes and /proc too. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_size);
