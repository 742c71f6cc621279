/* SPDX-License-Identifier: MIT */
/* bench-auth-jwt — cost of one JWT verification (the work the orchestrator's gate adds
 * to every request): HS256, RS256 (2048) and ES256 (P-256), best-of-N batches, printed as
 * ns per verify. Usage: bench-auth-jwt [iterations] */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth-jwt.h"
#include "macro.h"

static const char SECRET[] = "bench-secret-bench-secret-bench-secret-0123";

static double now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

int main(int argc, char **argv) {
        long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
        _cleanup_(auth_jwt_freep) AuthJwt *v = NULL;
        _cleanup_free_ char *tok = NULL;
        AuthClaims c;
        const char *why;
        double best = 1e18;
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
        for (int round = 0; round < 5; round++) {
                double t0 = now_ns();
                for (long i = 0; i < n; i++)
                        if (auth_jwt_verify(v, tok, strlen(tok), now, &c, &why) < 0) {
                                fprintf(stderr, "verify failed: %s\n", why);
                                return 1;
                        }
                double per = (now_ns() - t0) / (double) n;
                if (per < best)
                        best = per;
        }
        printf("hs256_verify_ns %.0f (token %zu bytes, best of 5 x %ld)\n", best, strlen(tok), n);
        return 0;
}
