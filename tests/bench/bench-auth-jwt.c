/* SPDX-License-Identifier: MIT */
/* bench-auth-jwt — cost of one JWT verification (the work the orchestrator's gate adds
 * to every request): HS256, the median of 5 batches, printed as ns per verify. Usage: bench-auth-jwt
 * [iterations] */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth-jwt.h"
#include "macro.h"
#include "time-util.h"

static const char SECRET[] = "bench-secret-bench-secret-bench-secret-0123";

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv) {
        long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
        _cleanup_(auth_jwt_freep) AuthJwt *v = NULL;
        _cleanup_free_ char *tok = NULL;
        AuthClaims c;
        const char *why;
        double per[5];
        int64_t now = (int64_t) time(NULL);

        if (n < 1000)
                n = 1000;
        if (auth_jwt_new(
                    &(AuthJwtOptions){
                            .hs_secret = SECRET, .hs_secret_len = strlen(SECRET), .leeway_s = 30 },
                    &v) < 0 ||
            auth_jwt_mint_hs256(SECRET, strlen(SECRET), "alice", "operator", NULL, NULL, now, 3600, &tok) <
                    0) {
                fprintf(stderr, "setup failed\n");
                return 1;
        }
        for (size_t round = 0; round < ELEMENTSOF(per); round++) {
                double t0 = time_now_s(CLOCK_MONOTONIC) * 1e9;
                for (long i = 0; i < n; i++)
                        if (auth_jwt_verify(v, tok, strlen(tok), now, &c, &why) < 0) {
                                fprintf(stderr, "verify failed: %s\n", why);
                                return 1;
                        }
                per[round] = (time_now_s(CLOCK_MONOTONIC) * 1e9 - t0) / (double) n;
        }
        qsort(per, ELEMENTSOF(per), sizeof(double), cmp_double);
        printf("hs256_verify_ns %.0f (token %zu bytes, median of 5 x %ld)\n", per[2], strlen(tok), n);
        return 0;
}
