/* SPDX-License-Identifier: MIT */
/* nlp-utf8.c — UTF-8 validation, decoding and coarse character classes. The classes
 * follow Unicode's blocks rather than the full UCD tables: enough to split words in
 * Latin, Greek, Cyrillic and CJK text without a dependency on ICU. */
#include "nlp-utf8.h"

#include <stdlib.h>
#include <string.h>

bool nlp_utf8_valid(const char *s, size_t len, size_t *ret_offset) {
        const unsigned char *p = (const unsigned char *) s;
        size_t i = 0;

        while (i < len) {
                unsigned char c = p[i];
                size_t n;
                uint32_t cp, min;

                if (c == 0)
                        goto bad;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 2;
                        cp = c & 0x1F;
                        min = 0x80;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 3;
                        cp = c & 0x0F;
                        min = 0x800;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 4;
                        cp = c & 0x07;
                        min = 0x10000;
                } else
                        goto bad;
                if (i + n > len)
                        goto bad;
                for (size_t k = 1; k < n; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                goto bad;
                        cp = (cp << 6) | (p[i + k] & 0x3F);
                }
                if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        goto bad;
                i += n;
        }
        return true;
bad:
        if (ret_offset)
                *ret_offset = i;
        return false;
}

size_t nlp_utf8_decode(const char *s, size_t len, uint32_t *ret_cp) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = 1;
        uint32_t cp = p[0];

        if (cp >= 0xF0 && len >= 4) {
                n = 4;
                cp &= 0x07;
        } else if (cp >= 0xE0 && len >= 3) {
                n = 3;
                cp &= 0x0F;
        } else if (cp >= 0xC0 && len >= 2) {
                n = 2;
                cp &= 0x1F;
        } else {
                *ret_cp = cp;
                return 1;
        }
        for (size_t k = 1; k < n; k++)
                cp = (cp << 6) | (p[k] & 0x3F);
        *ret_cp = cp;
        return n;
}

size_t nlp_utf8_encode(uint32_t cp, char *buf) {
        unsigned char *b = (unsigned char *) buf;

        if (cp < 0x80) {
                b[0] = cp;
                return 1;
        }
        if (cp < 0x800) {
                b[0] = 0xC0 | (cp >> 6);
                b[1] = 0x80 | (cp & 0x3F);
                return 2;
        }
        if (cp < 0x10000) {
                b[0] = 0xE0 | (cp >> 12);
                b[1] = 0x80 | ((cp >> 6) & 0x3F);
                b[2] = 0x80 | (cp & 0x3F);
                return 3;
        }
        b[0] = 0xF0 | (cp >> 18);
        b[1] = 0x80 | ((cp >> 12) & 0x3F);
        b[2] = 0x80 | ((cp >> 6) & 0x3F);
        b[3] = 0x80 | (cp & 0x3F);
        return 4;
}

size_t nlp_utf8_count(const char *s, size_t len) {
        size_t n = 0;

        for (size_t i = 0; i < len; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        n++;
        return n;
}

bool nlp_utf8_is_kana(uint32_t cp) {
        return (cp >= 0x3041 && cp <= 0x309F && cp != 0x309B && cp != 0x309C) ||
                (cp >= 0x30A0 && cp <= 0x30FF && cp != 0x30FB) || (cp >= 0xFF66 && cp <= 0xFF9D);
}

bool nlp_utf8_is_han(uint32_t cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x2FA1F) || cp == 0x3005;
}

NlpCharClass nlp_utf8_class(uint32_t cp) {
        if (cp < 0x80) {
                if (cp == ' ' || (cp >= '\t' && cp <= '\r'))
                        return NLP_CHAR_SPACE;
                if (cp >= '0' && cp <= '9')
                        return NLP_CHAR_DIGIT;
                if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
                        return NLP_CHAR_LETTER;
                return NLP_CHAR_PUNCT;
        }
        if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
            cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
                return NLP_CHAR_SPACE;
        if (cp >= 0xFF10 && cp <= 0xFF19) /* full-width digits */
                return NLP_CHAR_DIGIT;
        if ((cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A))
                return NLP_CHAR_LETTER;
        if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7 || (cp >= 0x2000 && cp <= 0x2BFF) ||
            (cp >= 0x3000 && cp <= 0x303F && cp != 0x3005) || (cp >= 0xFE30 && cp <= 0xFE4F) ||
            (cp >= 0xFF00 && cp <= 0xFF65) || cp == 0x30FB || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
            (cp >= 0xE000 && cp <= 0xF8FF))
                return NLP_CHAR_PUNCT;
        return NLP_CHAR_LETTER;
}

uint32_t nlp_utf8_lower(uint32_t cp) {
        if (cp < 0x80)
                return (cp >= 'A' && cp <= 'Z') ? cp + 0x20 : cp;
        if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
            (cp >= 0x410 && cp <= 0x42F) || (cp >= 0xFF21 && cp <= 0xFF3A))
                return cp + 0x20;
        if (cp >= 0x400 && cp <= 0x40F)
                return cp + 0x50;
        if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x138 && cp != 0x149 && cp != 0x17F)
                return (cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E) ? cp + (cp & 1) : cp | 1;
        return cp;
}

bool nlp_utf8_is_upper(uint32_t cp) {
        return nlp_utf8_lower(cp) != cp;
}

char *nlp_utf8_lower_dup(const char *s, size_t len) {
        char *out = malloc(len + 1), *q = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < len;) {
                uint32_t cp;
                size_t n = nlp_utf8_decode(s + i, len - i, &cp);
                uint32_t l = nlp_utf8_lower(cp);
                char buf[4];
                size_t m = nlp_utf8_encode(l, buf);

                /* Lower-casing within these blocks never grows the encoding. */
                if (m == n)
                        memcpy(q, buf, m);
                else
                        memcpy(q, s + i, (m = n));
                q += m;
                i += n;
        }
        *q = 0;
        return out;
}
