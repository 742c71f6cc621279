#!/usr/bin/env bash
# Builds the libFuzzer targets — the orchestrator's JWT and webhook verifiers, the HTTP
# request parser, and the SQL the data service accepts — with clang (address + undefined
# sanitizers) and runs each for a bounded time, the data target from its seed corpus of
# known attacks.
# Usage: tests/fuzz/run.sh [seconds-per-target]   (default 60); exits non-zero on a crash.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
command -v clang >/dev/null || { echo "clang not installed: skipping" >&2; exit 77; }
work=${FUZZ_WORKDIR:-/tmp/ai-semble-fuzz}
mkdir -p "$work"
orch=$root/services/orchestrator
common=$root/services/common
data=$root/services/data
# shellcheck disable=SC2207
jsonc=($(pkg-config --cflags --libs json-c))
# shellcheck disable=SC2207
datadeps=($(pkg-config --cflags --libs json-c sqlite3 cairo fontconfig libpcre2-8 libcurl libcrypto))
sanitize=-fsanitize=fuzzer,address,undefined
cflags=(-g -O1 "$sanitize" -D_GNU_SOURCE -I"$orch" -I"$common")
clang "${cflags[@]}" -o "$work/fuzz-auth-jwt" "$here/fuzz-auth-jwt.c" "$common/auth-jwt.c" "$common/json-util.c" "$common/base64.c" "${jsonc[@]}" -lcrypto
clang "${cflags[@]}" -o "$work/fuzz-webhook" "$here/fuzz-webhook.c" "$orch/webhook.c" -lcrypto -lpthread
clang "${cflags[@]}" -o "$work/fuzz-http-parse" "$here/fuzz-http-parse.c" "$common/http-parse.c"
# The data service's library as meson builds it (all but main.c), with services/common
# (all but the service's main loop, which the target does not reach).
mapfile -t data_sources < <(find "$data" -name '*.c' ! -name main.c | sort)
mapfile -t common_sources < <(find "$common" -name '*.c' ! -name service.c | sort)
clang "${cflags[@]}" -I"$data" -o "$work/fuzz-data-sql" "$here/fuzz-data-sql.c" "${data_sources[@]}" \
        "${common_sources[@]}" "${datadeps[@]}" -lm -lpthread -ldl
mkdir -p "$work/corpus-fuzz-data-sql"
cp "$here"/seeds-data-sql/* "$work/corpus-fuzz-data-sql/"
for t in fuzz-auth-jwt fuzz-webhook fuzz-http-parse fuzz-data-sql; do
        mkdir -p "$work/corpus-$t"
        extra=()
        [ -f "$here/${t#fuzz-}.dict" ] && extra=(-dict="$here/${t#fuzz-}.dict")
        echo "== $t for ${secs}s"
        # -timeout: no input may run for long; the data target's own deadline is 500 ms.
        (cd "$work" && "./$t" -max_total_time="$secs" -max_len=16384 -timeout=20 "${extra[@]}" "corpus-$t")
done
