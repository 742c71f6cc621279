/* SPDX-License-Identifier: MIT */
/* base64.h — strict RFC 4648 base64 for image_base64 (an optional "data:...;base64,"
 * prefix is accepted; whitespace, other alphabets and bad padding are not). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* -EBADMSG on anything that is not base64, -EFBIG when the decoded size would exceed max. */
int vision_base64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len);
int vision_base64_encode(const void *data, size_t len, char **ret);
