/* SPDX-License-Identifier: MIT */
/* nlp-utf8.h — the UTF-8 facts the NLP service needs: validation with the offending
 * offset, decoding, a coarse character class and lower-casing for the scripts whose
 * case rules are a fixed offset. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or NULs). Otherwise
 * false and *ret_offset (if non-NULL) is the byte offset of the first bad sequence. */
bool nlp_utf8_valid(const char *s, size_t len, size_t *ret_offset);
/* Decodes the code point at s (valid UTF-8 assumed, at least one byte); returns its
 * length in bytes (1..4). */
size_t nlp_utf8_decode(const char *s, size_t len, uint32_t *ret_cp);
/* Appends cp to buf (at least 4 bytes free); returns the bytes written. */
size_t nlp_utf8_encode(uint32_t cp, char *buf);
/* Number of code points in s[0..len). */
size_t nlp_utf8_count(const char *s, size_t len);

typedef enum NlpCharClass {
        NLP_CHAR_SPACE,
        NLP_CHAR_LETTER,
        NLP_CHAR_DIGIT,
        NLP_CHAR_PUNCT, /* punctuation and symbols */
} NlpCharClass;

NlpCharClass nlp_utf8_class(uint32_t cp);
bool nlp_utf8_is_kana(uint32_t cp);
bool nlp_utf8_is_han(uint32_t cp);
uint32_t nlp_utf8_lower(uint32_t cp);
bool nlp_utf8_is_upper(uint32_t cp);
/* Lower-cased copy of s[0..len) (malloc'ed, NUL-terminated), NULL on OOM. */
char *nlp_utf8_lower_dup(const char *s, size_t len);
