/* SPDX-License-Identifier: MIT */
/* nlp-langid.h — language identification with libexttextcat's fingerprints. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Loads the language list conf (fpdb.conf format) and its fingerprints from dir
 * ("/usr/share/libexttextcat"). */
int nlp_langid_init(const char *conf, const char *dir);
void nlp_langid_done(void);
/* The most likely language of text as an ISO 639 code ("en", "ja", "de", ...) into buf,
 * or "und" when the text is too short or matches nothing. ret_method (may be NULL) is
 * "script" when the script alone decided (kana, hangul), "textcat" otherwise.
 * -ENOTSUP when no fingerprints were loaded. */
int nlp_langid_detect(const char *text, size_t len, char *buf, size_t size, const char **ret_method);
