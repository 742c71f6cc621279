/* SPDX-License-Identifier: MIT */
/* error-message.h — the message a failing parser or loader hands its caller, who decides
 * whether and how to log or show it (only the top caller logs). */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Sets *ret_error (unless ret_error is NULL) to the formatted message, owned by the caller,
 * and returns r; -ENOMEM with *ret_error = NULL when the message cannot be allocated. */
int error_message(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
/* The same into a caller's buffer (truncated to size); returns r. */
int error_message_buf(char *buf, size_t size, int r, const char *fmt, ...) _printf_(4, 5);
