/* SPDX-License-Identifier: MIT */
/* ai-semble-token — mints an HS256 bearer token for the orchestrator from the same
 * secret file it verifies with:
 *   ai-semble-token --role operator --sub alice --ttl 1h [--secret-file F] [--issuer I] [--audience A] */
#include <getopt.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <time.h>

#include "auth-jwt.h"
#include "config.h"
#include "macro.h"

static void usage(FILE *f) {
        fputs("Usage: ai-semble-token --role admin|operator|viewer --sub NAME [--ttl 1h]\n"
              "                       [--secret-file FILE] [--issuer ISS] [--audience AUD]\n"
              "Prints an HS256 JWT signed with the secret in FILE (default: $ORCH_JWT_SECRET_FILE).\n"
              "--issuer/--audience default to $ORCH_JWT_ISSUER/$ORCH_JWT_AUDIENCE.\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "role", required_argument, NULL, 'r' },   { "sub", required_argument, NULL, 's' },
                { "ttl", required_argument, NULL, 't' },    { "secret-file", required_argument, NULL, 'f' },
                { "issuer", required_argument, NULL, 'i' }, { "audience", required_argument, NULL, 'a' },
                { "help", no_argument, NULL, 'h' },         {},
        };
        const char *role = NULL, *sub = NULL, *ttl = "1h", *file = getenv("ORCH_JWT_SECRET_FILE");
        const char *issuer = getenv("ORCH_JWT_ISSUER"), *audience = getenv("ORCH_JWT_AUDIENCE");
        _cleanup_free_ char *token = NULL;
        char *secret = NULL;
        size_t secret_len;
        uint64_t ttl_ms;
        int c, r;

        while ((c = getopt_long(argc, argv, "r:s:t:f:i:a:h", options, NULL)) >= 0)
                switch (c) {
                case 'r':
                        role = optarg;
                        break;
                case 's':
                        sub = optarg;
                        break;
                case 't':
                        ttl = optarg;
                        break;
                case 'f':
                        file = optarg;
                        break;
                case 'i':
                        issuer = optarg;
                        break;
                case 'a':
                        audience = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind < argc || !role || !sub) {
                usage(stderr);
                return 2;
        }
        if (auth_role_from_string(role) == AUTH_ROLE_NONE) {
                fprintf(stderr, "ai-semble-token: --role must be admin, operator or viewer\n");
                return 2;
        }
        if (config_parse_duration_ms(ttl, &ttl_ms) < 0 || ttl_ms < 1000 || ttl_ms > 366ULL * 86400 * 1000) {
                fprintf(stderr, "ai-semble-token: --ttl must be a duration between 1s and 366 days\n");
                return 2;
        }
        if (!file || !*file) {
                fprintf(stderr, "ai-semble-token: no secret file (--secret-file or ORCH_JWT_SECRET_FILE)\n");
                return 2;
        }
        r = auth_read_secret_file(file, &secret, &secret_len);
        if (r < 0) {
                fprintf(stderr,
                        "ai-semble-token: cannot use secret file %s: %s%s\n",
                        file,
                        strerror(-r),
                        r == -EINVAL ? " (needs at least 32 bytes)" : "");
                return 1;
        }
        r = auth_jwt_mint_hs256(
                secret,
                secret_len,
                sub,
                role,
                issuer && *issuer ? issuer : NULL,
                audience && *audience ? audience : NULL,
                (int64_t) time(NULL),
                ttl_ms / 1000,
                &token);
        OPENSSL_clear_free(secret, secret_len);
        if (r < 0) {
                fprintf(stderr, "ai-semble-token: %s\n", strerror(-r));
                return 1;
        }
        puts(token);
        return 0;
}
