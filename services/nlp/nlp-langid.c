/* SPDX-License-Identifier: MIT */
/* nlp-langid.c — libexttextcat (Cavnar & Trenkle n-gram fingerprints, LibreOffice's
 * 170-odd language models). A textcat handle keeps its scratch state inside, so calls
 * are serialised by a mutex; kana and hangul decide Japanese and Korean by script first,
 * because an n-gram match on a few CJK characters is much weaker than that fact. */
#include <errno.h>
#include <libexttextcat/textcat.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "nlp-langid.h"
#include "nlp-utf8.h"

static void *handle;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* textcat only looks at the first few KiB anyway (TEXTCAT_MAXNGRAMS from the input). */
#define LANGID_MAX_BYTES 4096

int nlp_langid_init(const char *conf, const char *dir) {
        char prefix[1024];
        int n;

        if (handle)
                return 0;
        if (isempty(dir) || isempty(conf))
                return -EINVAL;
        /* special_textcat_Init() prepends the prefix to each fingerprint file name. */
        n = snprintf(prefix, sizeof(prefix), "%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/");
        if (n < 0 || (size_t) n >= sizeof(prefix))
                return -EINVAL;
        handle = special_textcat_Init(conf, prefix);
        return handle ? 0 : -ENOENT;
}

void nlp_langid_done(void) {
        if (handle)
                textcat_Done(handle);
        handle = NULL;
}

/* Fewer letters than this: too short for n-gram fingerprints to mean anything ("ok"
 * scores as Slovak, "great day" as Scots); about four words is where textcat starts to
 * be right on our samples. The caller gets "und" and uses the English pipeline. */
#define LANGID_MIN_LETTERS 20

static const char *script_language(const char *text, size_t len, size_t *ret_letters) {
        size_t kana = 0, hangul = 0, han = 0, letters = 0;

        for (size_t i = 0; i < len;) {
                uint32_t cp;
                i += nlp_utf8_decode(text + i, len - i, &cp);
                letters += nlp_utf8_class(cp) == NLP_CHAR_LETTER;
                if (nlp_utf8_is_kana(cp))
                        kana++;
                else if ((cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF))
                        hangul++;
                else if (nlp_utf8_is_han(cp))
                        han++;
        }
        *ret_letters = letters;
        if (kana > 0 && kana >= hangul)
                return "ja";
        if (hangul > 0)
                return "ko";
        (void) han; /* Han alone is Chinese or Japanese: left to the fingerprints. */
        return NULL;
}

/* textcat lists every candidate within its score margin ("[sco--utf8][en--utf8]"); among
 * those, a language with many writers wins over a close regional relative (Scots vs
 * English, Occitan vs Catalan), which is what the margin means: the fingerprints cannot
 * tell them apart on this text. Otherwise the best-scored candidate. */
static const char *const widely_written[] = {
        "en", "ja", "zh", "es", "fr", "de", "it", "pt", "ru", "ar", "hi", "ko", "nl", "sv", "pl", "tr", "id",
        "vi", "th", "uk", "cs", "el", "he", "fa", "da", "fi", "nb", "hu", "ro", "bg", "ca", "hr", "sk", "ms",
};

static void pick_candidate(const char *res, char *buf, size_t size) {
        const char *first = res + 1;

        for (const char *p = res; p && *p == '['; p = strchr(p + 1, '[')) {
                size_t n = strcspn(p + 1, "-]");
                for (size_t w = 0; w < ELEMENTSOF(widely_written); w++)
                        if (n == strlen(widely_written[w]) && strncmp(p + 1, widely_written[w], n) == 0) {
                                snprintf(buf, size, "%s", widely_written[w]);
                                return;
                        }
        }
        snprintf(buf, size, "%.*s", (int) MIN(strcspn(first, "-]"), size - 1), first);
}

int nlp_langid_detect(const char *text, size_t len, char *buf, size_t size, const char **ret_method) {
        const char *lang, *res;
        size_t letters = 0;

        if (!handle)
                return -ENOTSUP;
        if (len > LANGID_MAX_BYTES) { /* cut at a character boundary */
                len = LANGID_MAX_BYTES;
                while (len > 0 && ((unsigned char) text[len] & 0xC0) == 0x80)
                        len--;
        }
        lang = script_language(text, len, &letters);
        if (lang) {
                snprintf(buf, size, "%s", lang);
                if (ret_method)
                        *ret_method = "script";
                return 0;
        }
        if (ret_method)
                *ret_method = "textcat";
        if (letters < LANGID_MIN_LETTERS) {
                snprintf(buf, size, "und");
                return 0;
        }
        pthread_mutex_lock(&lock);
        res = textcat_Classify(handle, text, len);
        /* "[en--utf8][sco--utf8]", "SHORT" or "UNKNOWN": the first candidate's language. */
        if (!res || res[0] != '[') {
                pthread_mutex_unlock(&lock);
                snprintf(buf, size, "und");
                return 0;
        }
        pick_candidate(res, buf, size);
        pthread_mutex_unlock(&lock);
        return 0;
}
