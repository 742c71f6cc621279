/* SPDX-License-Identifier: MIT */
/* fuzz-webhook — libFuzzer target for the webhook verifier: the input is split at the
 * first NUL into a signature header value and a body, tried in both header formats. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static WebhookVerifier *v;
        const uint8_t *nul = memchr(data, 0, size);
        size_t hl = nul ? (size_t) (nul - data) : size;
        char *header = malloc(hl + 1);
        const char *why;
        WebhookEvent ev[4];
        size_t n;

        if (!header)
                return 0;
        if (!v && webhook_verifier_new("whsec", 5, 300, 0, &v) < 0)
                __builtin_trap();
        memcpy(header, data, hl);
        header[hl] = 0;
        (void) webhook_verify(v, header, NULL, data + hl, size - hl, 1800000000, &why);
        (void) webhook_verify(v, NULL, header, data + hl, size - hl, 1800000000, &why);
        (void) webhook_events_parse(header, ev, 4, &n);
        free(header);
        return 0;
}
