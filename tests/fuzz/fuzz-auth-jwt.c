/* SPDX-License-Identifier: MIT */
/* fuzz-auth-jwt — libFuzzer target for the JWT parser/verifier: any bytes as a token,
 * against an HS256 verifier with iss/aud/kid configured. Built by tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth-jwt.h"

static const char SECRET[] = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static AuthJwt *v;
        AuthClaims c;
        const char *why;

        if (!v &&
            auth_jwt_new(
                    &(AuthJwtOptions){ .hs_secret = SECRET,
                                       .hs_secret_len = strlen(SECRET),
                                       .kid = "k1",
                                       .issuer = "iss",
                                       .audience = "aud",
                                       .leeway_s = 30 },
                    &v) < 0)
                __builtin_trap();
        (void) auth_jwt_verify(v, (const char *) data, size, 1800000000, &c, &why);
        return 0;
}
